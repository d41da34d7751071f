//! A reconnecting EventSource for firmware: connects over any
//! `embedded_io_async::Read + Write` connection the caller opens, reads
//! the stream with sse-wire's parser, and hands each event to the caller
//! as a borrowed [`MessageEvent`], like a browser's `EventSource`.
//!
//! Invariant: all state is in [`EventSource`]'s fixed buffers (the caller
//! picks their sizes); an over-long line or field is skipped and counted,
//! never grown. Every wait has a deadline from the caller's timer: the
//! connection, request and response head within `connect_timeout_ms`,
//! each read of the body within `read_timeout_ms`. Every reconnection
//! waits at least `retry_floor_ms` and sends the `Last-Event-ID` of the
//! last event delivered.

mod backoff;
#[cfg(feature = "smoltcp")]
mod poll;
mod request;
mod response;

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Read, Write};
use sse_wire::{MessageEvent, Output, Parser};

#[cfg(feature = "smoltcp")]
pub use poll::PollClient;
pub use request::{HeaderError, Target, UrlError, check_header};

use crate::deadline::{bounded, within};
use crate::log::{log_debug, log_warn};
use backoff::Backoff;
use response::{Chunked, Framing, Head};

/// Opens connections for an [`EventSource`]: a TCP socket of the caller's
/// network stack (embassy-net's `TcpClient` through [`Nal`], a std
/// `TcpStream` through an adapter, a TLS session), connected to the
/// target's host and port. A connection may borrow the connector (a socket
/// on buffers it lends), for as long as the client uses it.
///
/// ```
/// # use core::convert::Infallible;
/// # struct Socket;
/// # impl embedded_io_async::ErrorType for Socket { type Error = Infallible; }
/// # impl embedded_io_async::Read for Socket { async fn read(&mut self, _: &mut [u8]) -> Result<usize, Infallible> { Ok(0) } }
/// # impl embedded_io_async::Write for Socket { async fn write(&mut self, b: &[u8]) -> Result<usize, Infallible> { Ok(b.len()) } async fn flush(&mut self) -> Result<(), Infallible> { Ok(()) } }
/// struct Net;
/// impl sse_embedded::Connect for Net {
///     type Conn<'c> = Socket;
///     async fn connect(&mut self, _target: &sse_embedded::Target<'_>) -> Option<Socket> {
///         Some(Socket) // resolve the host, open a TCP socket to its port
///     }
/// }
/// ```
pub trait Connect {
    /// An open connection, which may borrow the connector.
    type Conn<'c>: Read + Write
    where
        Self: 'c;

    /// Connects to `target.host`, port `target.port`; `None` if that
    /// failed. The client bounds the wait with its connect timeout.
    #[allow(async_fn_in_trait)]
    async fn connect<'c>(&'c mut self, target: &Target<'_>) -> Option<Self::Conn<'c>>;
}

/// Any `embedded-nal-async` TCP stack as a [`Connect`]: embassy-net's
/// `TcpClient` (which lends each connection one of its socket buffers),
/// or any other `TcpConnect`. The target's host must be an IP address
/// (`http://192.168.1.10:8080/events`, `http://[fd00::1]/events`): there
/// is no name lookup; give a name through your own `Connect` if you need
/// one.
///
/// ```
/// # use core::convert::Infallible;
/// # use core::net::SocketAddr;
/// # struct Socket;
/// # impl embedded_io_async::ErrorType for Socket { type Error = Infallible; }
/// # impl embedded_io_async::Read for Socket { async fn read(&mut self, _: &mut [u8]) -> Result<usize, Infallible> { Ok(0) } }
/// # impl embedded_io_async::Write for Socket { async fn write(&mut self, b: &[u8]) -> Result<usize, Infallible> { Ok(b.len()) } async fn flush(&mut self) -> Result<(), Infallible> { Ok(()) } }
/// # struct TcpClient;
/// # impl embedded_nal_async::TcpConnect for TcpClient {
/// #     type Error = Infallible;
/// #     type Connection<'a> = Socket;
/// #     async fn connect<'a>(&'a self, _: SocketAddr) -> Result<Socket, Infallible> { Ok(Socket) }
/// # }
/// // On a device: embassy_net::tcp::client::TcpClient::new(stack, &STATE)
/// let client = TcpClient;
/// let mut net = sse_embedded::Nal(&client);
/// # fn takes(_: &mut impl sse_embedded::Connect) {}
/// # takes(&mut net);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Nal<T>(pub T);

impl<T: embedded_nal_async::TcpConnect> Connect for Nal<T> {
    type Conn<'c>
        = T::Connection<'c>
    where
        Self: 'c;

    async fn connect<'c>(&'c mut self, target: &Target<'_>) -> Option<Self::Conn<'c>> {
        let host = target.host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(target.host);
        let ip: core::net::IpAddr = host.parse().ok()?;
        self.0.connect(core::net::SocketAddr::new(ip, target.port)).await.ok()
    }
}

/// Why [`EventSource::set_last_event_id`] refused an id.
///
/// ```
/// let e = sse_embedded::LastEventIdError::ControlByte;
/// assert_eq!(e, sse_embedded::LastEventIdError::ControlByte);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LastEventIdError {
    /// Longer than the client's id buffer (`ID`).
    TooLong,
    /// It holds a control byte (other than a tab): no server would take it
    /// in a `Last-Event-ID` header.
    ControlByte,
}

impl core::fmt::Display for LastEventIdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TooLong => "the id is longer than the client's id buffer",
            Self::ControlByte => "the id holds a control byte, which no server takes in Last-Event-ID",
        })
    }
}

impl core::error::Error for LastEventIdError {}

/// Settings of an [`EventSource`].
///
/// ```
/// let url = sse_embedded::Target::parse("http://192.168.70.1:8080/events")?;
/// let config = sse_embedded::ClientConfig::new(url);
/// assert_eq!((config.retry_floor_ms, config.read_timeout_ms), (500, Some(60_000)));
/// # Ok::<(), sse_embedded::UrlError>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ClientConfig<'a> {
    /// Where to connect.
    pub target: Target<'a>,
    /// Extra request headers, such as `("Authorization", "Bearer …")`;
    /// checked by [`check_header`] before anything is sent.
    pub headers: &'a [(&'a str, &'a str)],
    /// Time for the connection, the request and the response head
    /// (default 10 s).
    pub connect_timeout_ms: u32,
    /// A stream that sends no byte (not even a keep-alive comment) for
    /// this long is closed and reconnected (default 60 s; `None`: never).
    pub read_timeout_ms: Option<u32>,
    /// The reconnection time until the server sends `retry:` (default
    /// 3 s, as browsers use).
    pub retry_ms: u32,
    /// No reconnection comes sooner than this, whatever the server's
    /// `retry:` says (default 500 ms).
    pub retry_floor_ms: u32,
    /// Nor later than this, however many failures in a row (default 60 s).
    pub retry_cap_ms: u32,
    /// Failed connections in a row after which [`EventSource::run`] gives
    /// up (default `None`: never; `Some(1)`: no reconnection after a
    /// failure).
    pub max_failures: Option<u32>,
    /// Seeds the jitter of the backoff (give each device its own, so that
    /// a fleet does not reconnect in step).
    pub jitter_seed: u32,
    /// Reconnect after a stream ends (default `true`); `false`:
    /// [`EventSource::run`] returns after the first connection.
    pub reconnect: bool,
}

impl<'a> ClientConfig<'a> {
    /// The defaults for `target`.
    ///
    /// ```
    /// let url = sse_embedded::Target::parse("http://h/events")?;
    /// assert_eq!(sse_embedded::ClientConfig::new(url).retry_ms, 3_000);
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub const fn new(target: Target<'a>) -> Self {
        Self {
            target,
            headers: &[],
            connect_timeout_ms: 10_000,
            read_timeout_ms: Some(60_000),
            retry_ms: 3_000,
            retry_floor_ms: 500,
            retry_cap_ms: 60_000,
            max_failures: None,
            jitter_seed: 0x5eed_5eed,
            reconnect: true,
        }
    }
}

/// Why a connection failed.
///
/// ```
/// let e = sse_embedded::ClientError::Status(503);
/// assert_eq!(e, sse_embedded::ClientError::Status(503));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ClientError {
    /// [`Connect::connect`] failed.
    Connect,
    /// No connection, request or response head within the connect timeout.
    ConnectTimeout,
    /// No byte within the read timeout.
    ReadTimeout,
    /// Reading or writing failed, or the connection ended before the head.
    Io,
    /// A status other than 200 and 204 (redirects are not followed).
    Status(u16),
    /// 200 without `Content-Type: text/event-stream`.
    WrongType,
    /// A transfer or content coding the client cannot undo.
    Coding,
    /// Not an HTTP/1.x response head, or a malformed chunked body.
    Malformed,
    /// The response head does not fit in the buffer.
    HeadTooLarge,
    /// The request head does not fit in the buffer, or a header is refused
    /// ([`check_header`]): retrying cannot help.
    BadRequest,
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Connect => f.write_str("could not connect"),
            Self::ConnectTimeout => f.write_str("no response head within the connect timeout"),
            Self::ReadTimeout => f.write_str("no bytes within the read timeout"),
            Self::Io => f.write_str("the connection failed"),
            Self::Status(code) => write!(f, "status {code}"),
            Self::WrongType => f.write_str("not text/event-stream"),
            Self::Coding => f.write_str("a coding the client cannot undo"),
            Self::Malformed => f.write_str("malformed response"),
            Self::HeadTooLarge => f.write_str("response head larger than the buffer"),
            Self::BadRequest => f.write_str("request head too large, or a header refused"),
        }
    }
}

/// What the caller's event handler asks for.
///
/// ```
/// assert_ne!(sse_embedded::Control::Continue, sse_embedded::Control::Stop);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Control {
    /// Go on.
    Continue,
    /// Close the connection and return [`Ended::Stopped`].
    Stop,
}

/// Why [`EventSource::run`] returned.
///
/// ```
/// assert_eq!(sse_embedded::Ended::NoContent, sse_embedded::Ended::NoContent);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Ended {
    /// The server answered 204: it asks the client not to reconnect.
    NoContent,
    /// The handler returned [`Control::Stop`].
    Stopped,
    /// `max_failures` failures in a row, or one with `reconnect` off; the
    /// last one.
    GaveUp(ClientError),
    /// The stream ended and `reconnect` is off.
    Closed,
}

/// What an [`EventSource`] has done so far.
///
/// ```
/// let stats = sse_embedded::ClientStats::default();
/// assert_eq!(stats.events, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ClientStats {
    /// Streams opened (a 200 with the right type).
    pub streams: u32,
    /// Events delivered to the handler.
    pub events: u64,
    /// Blocks the parser skipped (a line or field over its capacity).
    pub skipped: u64,
    /// Failed connections, in all.
    pub failures: u32,
    /// The last failure.
    pub last_error: Option<ClientError>,
    /// The last delay waited before reconnecting, in ms.
    pub last_delay_ms: u32,
}

/// How one connection ended.
enum Outcome {
    /// The stream ended (or timed out) after `delivered` events.
    Closed {
        delivered: bool,
        error: Option<ClientError>,
    },
    NoContent,
    Stopped,
}

/// A reconnecting SSE client with fixed buffers: `BUF` bytes for the
/// request head, the response head and each read; `DATA`, `EVENT` and
/// `ID` bound an event's data, type and id as in sse-wire's [`Parser`].
///
/// ```no_run
/// # use core::convert::Infallible;
/// # struct Socket;
/// # impl embedded_io_async::ErrorType for Socket { type Error = Infallible; }
/// # impl embedded_io_async::Read for Socket { async fn read(&mut self, _: &mut [u8]) -> Result<usize, Infallible> { Ok(0) } }
/// # impl embedded_io_async::Write for Socket { async fn write(&mut self, b: &[u8]) -> Result<usize, Infallible> { Ok(b.len()) } async fn flush(&mut self) -> Result<(), Infallible> { Ok(()) } }
/// # struct Net;
/// # impl sse_embedded::Connect for Net {
/// #     type Conn<'c> = Socket;
/// #     async fn connect(&mut self, _: &sse_embedded::Target<'_>) -> Option<Socket> { Some(Socket) }
/// # }
/// # struct Timer;
/// # impl embedded_hal_async::delay::DelayNs for Timer { async fn delay_ns(&mut self, _: u32) {} }
/// use sse_embedded::{ClientConfig, Control, EventSource, Target};
/// # async fn demo(net: &mut Net, timer: &mut Timer) -> Result<(), sse_embedded::UrlError> {
/// let mut config = ClientConfig::new(Target::parse("http://192.168.70.1:8080/events")?);
/// config.headers = &[("Authorization", "Bearer eyJ…")];
/// let mut source: EventSource<1024, 512> = EventSource::new(&config);
/// let ended = source
///     .run(&config, net, timer, |event| {
///         // event.event_type(), event.data(), event.last_event_id()
///         let _ = event.data();
///         Control::Continue
///     })
///     .await;
/// # let _ = ended;
/// # Ok(())
/// # }
/// ```
pub struct EventSource<const BUF: usize, const DATA: usize, const EVENT: usize = 64, const ID: usize = 128> {
    core: Core<DATA, EVENT, ID>,
    buf: [u8; BUF],
}

/// What every client variant keeps between connections: the parser (and
/// with it the last event id), the reconnection time, the backoff and the
/// counters.
struct Core<const DATA: usize, const EVENT: usize, const ID: usize> {
    parser: Parser<DATA, EVENT, ID>,
    retry_ms: u32,
    backoff: Backoff,
    stats: ClientStats,
}

impl<const DATA: usize, const EVENT: usize, const ID: usize> Core<DATA, EVENT, ID> {
    fn new(config: &ClientConfig<'_>) -> Self {
        Self {
            parser: Parser::new(),
            retry_ms: config.retry_ms,
            backoff: Backoff::new(config.jitter_seed),
            stats: ClientStats::default(),
        }
    }

    /// Writes the next request head into `buf`: its length, or `None`.
    fn request(&self, buf: &mut [u8], config: &ClientConfig<'_>) -> Option<usize> {
        request::write_head(buf, &config.target, config.headers, self.parser.last_event_id().as_bytes())
    }

    /// After a connection that ended (`error`: how it failed, if it did):
    /// the delay before the next one, or why the client stops.
    fn after(
        &mut self,
        config: &ClientConfig<'_>,
        delivered: bool,
        error: Option<ClientError>,
    ) -> Result<u32, Ended> {
        // An event not yet complete is dropped, as the specification says.
        self.parser.end_of_stream();
        if let Some(error) = error {
            self.stats.failures = self.stats.failures.saturating_add(1);
            self.stats.last_error = Some(error);
            log_warn!("sse-embedded: client: {}", error);
            if error == ClientError::BadRequest || !config.reconnect {
                return Err(Ended::GaveUp(error));
            }
        } else if !config.reconnect {
            return Err(Ended::Closed);
        }
        let delay =
            self.backoff.next_delay(self.retry_ms, delivered, config.retry_floor_ms, config.retry_cap_ms);
        if let Some(max) = config.max_failures
            && self.backoff.failures >= max
        {
            return Err(Ended::GaveUp(error.unwrap_or(ClientError::Io)));
        }
        self.stats.last_delay_ms = delay;
        log_debug!("sse-embedded: client reconnects in {} ms", delay);
        Ok(delay)
    }

    /// A stream opened.
    fn opened(&mut self) {
        self.stats.streams = self.stats.streams.saturating_add(1);
        log_debug!("sse-embedded: client streaming");
    }
}

impl<const BUF: usize, const DATA: usize, const EVENT: usize, const ID: usize>
    EventSource<BUF, DATA, EVENT, ID>
{
    /// A client that has not connected yet.
    ///
    /// ```
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://h/")?);
    /// let source: sse_embedded::EventSource<512, 256> = sse_embedded::EventSource::new(&config);
    /// assert!(source.last_event_id().is_empty());
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub fn new(config: &ClientConfig<'_>) -> Self {
        Self { core: Core::new(config), buf: [0; BUF] }
    }

    /// The id sent as `Last-Event-ID` on the next connection: that of the
    /// last event delivered (empty: none).
    ///
    /// ```
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://h/")?);
    /// let mut source: sse_embedded::EventSource<512, 256> = sse_embedded::EventSource::new(&config);
    /// source.set_last_event_id(b"42").unwrap();
    /// assert_eq!(source.last_event_id(), b"42");
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> &[u8] {
        self.core.parser.last_event_id().as_bytes()
    }

    /// Resumes from an id kept elsewhere (across a reboot, say).
    ///
    /// # Errors
    /// [`LastEventIdError::TooLong`] if it is longer than `ID`,
    /// [`LastEventIdError::ControlByte`] if a server would refuse it as a
    /// header value; the id in use stays.
    ///
    /// ```
    /// use sse_embedded::LastEventIdError;
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://h/")?);
    /// let mut source: sse_embedded::EventSource<512, 256, 64, 4> = sse_embedded::EventSource::new(&config);
    /// assert_eq!(source.set_last_event_id(b"12345"), Err(LastEventIdError::TooLong));
    /// assert_eq!(source.set_last_event_id(b"1\x7f"), Err(LastEventIdError::ControlByte));
    /// assert_eq!(source.set_last_event_id(b"1\t2"), Ok(()));
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), LastEventIdError> {
        if !request::header_safe(id) {
            return Err(LastEventIdError::ControlByte);
        }
        self.core.parser.set_last_event_id(id).map_err(|_| LastEventIdError::TooLong)
    }

    /// Draws the reconnection jitter from your RNG (a hardware RNG, such as
    /// embassy-stm32's `Rng` or esp-hal's): every reconnection waits a
    /// random part more, so that a fleet whose server restarted does not
    /// come back in step. Without it the jitter comes from
    /// [`ClientConfig::jitter_seed`].
    ///
    /// ```
    /// # struct Hw;
    /// # impl rand_core::RngCore for Hw {
    /// #     fn next_u32(&mut self) -> u32 { 4 } fn next_u64(&mut self) -> u64 { 4 }
    /// #     fn fill_bytes(&mut self, d: &mut [u8]) { d.fill(4) }
    /// # }
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://h/")?);
    /// let mut source: sse_embedded::EventSource<512, 256> = sse_embedded::EventSource::new(&config);
    /// source.seed_jitter(&mut Hw);
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[cfg(feature = "rand_core")]
    pub fn seed_jitter(&mut self, rng: &mut impl rand_core::RngCore) {
        self.core.backoff.reseed(rng.next_u32());
    }

    /// The reconnection time in force (the server's last `retry:` within
    /// the floor and cap, or the configured one).
    ///
    /// ```
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://h/")?);
    /// let source: sse_embedded::EventSource<512, 256> = sse_embedded::EventSource::new(&config);
    /// assert_eq!(source.retry_ms(), 3_000);
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub const fn retry_ms(&self) -> u32 {
        self.core.retry_ms
    }

    /// What the client has done so far.
    ///
    /// ```
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://h/")?);
    /// let source: sse_embedded::EventSource<512, 256> = sse_embedded::EventSource::new(&config);
    /// assert_eq!(source.stats().streams, 0);
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub const fn stats(&self) -> ClientStats {
        self.core.stats
    }

    /// Connects, delivers every event to `on_event`, and reconnects after
    /// the stream ends or fails (waiting the reconnection time, or a
    /// growing backoff after failures), until the server answers 204, the
    /// handler returns [`Control::Stop`], `max_failures` failures come in a
    /// row, or (with `reconnect` off) the first connection ends.
    pub async fn run<C, T, F>(
        &mut self,
        config: &ClientConfig<'_>,
        net: &mut C,
        timer: &mut T,
        mut on_event: F,
    ) -> Ended
    where
        C: Connect,
        T: DelayNs,
        F: FnMut(&MessageEvent<'_>) -> Control,
    {
        loop {
            let (delivered, error) = match self.connect_once(config, net, timer, &mut on_event).await {
                Outcome::NoContent => return Ended::NoContent,
                Outcome::Stopped => return Ended::Stopped,
                Outcome::Closed { delivered, error } => (delivered, error),
            };
            match self.core.after(config, delivered, error) {
                Ok(delay) => timer.delay_ms(delay).await,
                Err(ended) => return ended,
            }
        }
    }

    /// One connection, from connecting to its end.
    async fn connect_once<C, T, F>(
        &mut self,
        config: &ClientConfig<'_>,
        net: &mut C,
        timer: &mut T,
        on_event: &mut F,
    ) -> Outcome
    where
        C: Connect,
        T: DelayNs,
        F: FnMut(&MessageEvent<'_>) -> Control,
    {
        let closed = |error| Outcome::Closed { delivered: false, error: Some(error) };
        let Some(len) = self.core.request(&mut self.buf, config) else {
            return closed(ClientError::BadRequest);
        };
        let opened =
            within!(open(net, config, &mut self.buf, len), timer.delay_ms(config.connect_timeout_ms));
        let (mut conn, head, read) = match opened {
            None => return closed(ClientError::ConnectTimeout),
            Some(Err(error)) => return closed(error),
            Some(Ok(opened)) => opened,
        };
        let mut body = match Body::for_head(head) {
            Ok(body) => body,
            Err(outcome) => return outcome,
        };
        self.core.opened();
        let mut error = None;
        // The bytes that came with the head, then each read.
        let mut pending = body.body_at..read;
        loop {
            let piece = self.buf.get(pending.clone()).unwrap_or_default();
            let fed = body.feed(piece, &mut self.core, config, on_event);
            if body.stopped {
                self.core.parser.end_of_stream();
                return Outcome::Stopped;
            }
            match fed {
                Err(e) => {
                    error = Some(e);
                    break;
                }
                Ok(true) => break,
                Ok(false) => {}
            }
            match bounded!(conn.read(&mut self.buf), &mut *timer, config.read_timeout_ms) {
                None => {
                    error = Some(ClientError::ReadTimeout);
                    break;
                }
                Some(Ok(0)) => {
                    error = body.cut_short();
                    break;
                }
                Some(Ok(n)) => pending = 0..n,
                Some(Err(_)) => {
                    error = Some(ClientError::Io);
                    break;
                }
            }
        }
        Outcome::Closed { delivered: body.delivered, error }
    }
}

/// Connects, sends the request head (the first `len` bytes of `buf`) and
/// reads the response head into `buf`: the connection, the judged head
/// and the number of bytes read (the body starts after the head).
async fn open<'c, C: Connect>(
    net: &'c mut C,
    config: &ClientConfig<'_>,
    buf: &mut [u8],
    len: usize,
) -> Result<(C::Conn<'c>, Head, usize), ClientError> {
    let mut conn = net.connect(&config.target).await.ok_or(ClientError::Connect)?;
    conn.write_all(buf.get(..len).unwrap_or_default()).await.map_err(|_| ClientError::Io)?;
    conn.flush().await.map_err(|_| ClientError::Io)?;
    let mut read = 0usize;
    loop {
        let free = buf.get_mut(read..).filter(|free| !free.is_empty()).ok_or(ClientError::HeadTooLarge)?;
        let n = conn.read(free).await.map_err(|_| ClientError::Io)?;
        if n == 0 {
            return Err(ClientError::Io);
        }
        read = read.saturating_add(n);
        if let Some(head) = response::judge(buf.get(..read).unwrap_or_default()) {
            return Ok((conn, head, read));
        }
    }
}

/// A stream's body being read.
struct Body {
    framing: Framing,
    /// Where the body starts in the buffer that holds the head.
    body_at: usize,
    chunked: Chunked,
    delivered: bool,
    stopped: bool,
}

impl Body {
    /// The body of a response with this head, or how the connection ends.
    fn for_head(head: Head) -> Result<Self, Outcome> {
        let closed = |error| Outcome::Closed { delivered: false, error: Some(error) };
        match head {
            Head::Stream { framing, body_at } => {
                Ok(Self { framing, body_at, chunked: Chunked::default(), delivered: false, stopped: false })
            }
            Head::NoContent => Err(Outcome::NoContent),
            Head::Status(code) => Err(closed(ClientError::Status(code))),
            Head::WrongType => Err(closed(ClientError::WrongType)),
            Head::Coding => Err(closed(ClientError::Coding)),
            Head::Malformed => Err(closed(ClientError::Malformed)),
        }
    }

    /// The connection ended: a chunked or sized body cut short is a
    /// failure; a body delimited by the connection ends here.
    fn cut_short(&self) -> Option<ClientError> {
        (!matches!(self.framing, Framing::Close)).then_some(ClientError::Io)
    }

    /// Feeds body bytes to the parser; `Ok(true)` when the body is
    /// complete (the last chunk, or the announced length).
    fn feed<const DATA: usize, const EVENT: usize, const ID: usize, F>(
        &mut self,
        bytes: &[u8],
        core: &mut Core<DATA, EVENT, ID>,
        config: &ClientConfig<'_>,
        on_event: &mut F,
    ) -> Result<bool, ClientError>
    where
        F: FnMut(&MessageEvent<'_>) -> Control,
    {
        let mut sink =
            Sink { core, config, on_event, delivered: &mut self.delivered, stopped: &mut self.stopped };
        match &mut self.framing {
            Framing::Close => {
                sink.parse(bytes);
                Ok(false)
            }
            Framing::Length(left) => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(bytes.len());
                sink.parse(bytes.get(..take).unwrap_or_default());
                *left = left.saturating_sub(take as u64);
                Ok(*left == 0)
            }
            Framing::Chunked => {
                self.chunked.decode(bytes, |data| sink.parse(data)).map_err(|_| ClientError::Malformed)?;
                Ok(self.chunked.is_done())
            }
        }
    }
}

/// Where parsed output goes during one `Body::feed`.
struct Sink<'s, 'c, const DATA: usize, const EVENT: usize, const ID: usize, F> {
    core: &'s mut Core<DATA, EVENT, ID>,
    config: &'s ClientConfig<'c>,
    on_event: &'s mut F,
    delivered: &'s mut bool,
    stopped: &'s mut bool,
}

impl<const DATA: usize, const EVENT: usize, const ID: usize, F> Sink<'_, '_, DATA, EVENT, ID, F>
where
    F: FnMut(&MessageEvent<'_>) -> Control,
{
    /// Parses `input` one output at a time, so that nothing after a
    /// [`Control::Stop`] is taken (the last delivered event's id stays the
    /// one to resume from).
    fn parse(&mut self, mut input: &[u8]) {
        while !input.is_empty() && !*self.stopped {
            let (used, output) = self.core.parser.parse(input);
            input = input.get(used..).unwrap_or_default();
            match output {
                Some(Output::Event(event)) => {
                    *self.delivered = true;
                    self.core.stats.events = self.core.stats.events.saturating_add(1);
                    if (self.on_event)(&event) == Control::Stop {
                        *self.stopped = true;
                    }
                }
                Some(Output::Retry(ms)) => {
                    let (floor, cap) = (self.config.retry_floor_ms, self.config.retry_cap_ms);
                    self.core.retry_ms = u32::try_from(ms).unwrap_or(u32::MAX).clamp(floor, cap.max(floor));
                }
                Some(Output::Skipped(_)) => {
                    self.core.stats.skipped = self.core.stats.skipped.saturating_add(1)
                }
                None => {}
            }
            if used == 0 && output.is_none() {
                break;
            }
        }
    }
}
