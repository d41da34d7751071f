//! The poll-driven client over one smoltcp TCP socket, for a main loop
//! without an executor (like the poll-driven [`Server`](crate::Server)).
//!
//! Invariant: one state per connection phase, each with its deadline on
//! the caller's clock (`now`): connecting, sending the request and reading
//! the response head within `connect_timeout_ms`; each byte of the body
//! within `read_timeout_ms` of the last; waiting out the reconnection
//! delay. The bytes and decisions are the async client's ([`Core`],
//! [`Body`]), so both behave the same on the wire.

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use sse_wire::MessageEvent;

use super::{Body, ClientConfig, ClientError, ClientStats, Control, Core, Ended, Outcome, response};

/// First and last local port the client connects from (the IANA dynamic
/// range), one after another so that a new connection never meets the old
/// one's TIME-WAIT.
const PORTS: (u16, u16) = (49152, 65535);

/// Where a [`PollClient`] is.
enum State {
    /// Connecting at this time.
    Waiting(Instant),
    /// Connecting, then sending the request (`len` bytes of the buffer,
    /// `sent` sent), then reading the response head (`read` bytes, once
    /// the request is out), all before `deadline`.
    Opening { deadline: Instant, len: usize, sent: usize, read: Option<usize> },
    /// Reading the body; its last byte came at `last`.
    Streaming { body: Body, last: Instant },
    /// Finished for good.
    Done(Ended),
}

/// A reconnecting SSE client driven by the caller's poll loop over a
/// smoltcp TCP socket it owns (`BUF`, `DATA`, `EVENT`, `ID` as for
/// [`EventSource`](crate::EventSource)). The caller resolves the host: the
/// client connects to `remote` and names `config.target` in the request.
///
/// ```
/// use smoltcp::iface::SocketSet;
/// use smoltcp::socket::tcp;
/// use smoltcp::wire::{IpAddress, IpEndpoint};
/// use sse_embedded::{ClientConfig, PollClient, Target};
///
/// let mut sockets = SocketSet::new(Vec::new());
/// let socket = sockets.add(tcp::Socket::new(
///     tcp::SocketBuffer::new(vec![0; 2048]),
///     tcp::SocketBuffer::new(vec![0; 512]),
/// ));
/// let config = ClientConfig::new(Target::parse("http://192.168.70.1:8080/events")?);
/// let remote = IpEndpoint::new(IpAddress::v4(192, 168, 70, 1), 8080);
/// let client: PollClient<1024, 512> = PollClient::new(&config, socket, remote);
/// // In the main loop, after `iface.poll(…)`:
/// // if let Some(ended) = client.poll(now, &mut iface, &mut sockets, &config, |event| { …; Control::Continue }) { … }
/// // and sleep until the earliest of `iface.poll_at(…)` and `client.poll_at()`.
/// assert!(client.poll_at().is_some());
/// # Ok::<(), sse_embedded::UrlError>(())
/// ```
pub struct PollClient<const BUF: usize, const DATA: usize, const EVENT: usize = 64, const ID: usize = 128> {
    core: Core<DATA, EVENT, ID>,
    buf: [u8; BUF],
    socket: SocketHandle,
    remote: IpEndpoint,
    state: State,
    port: u16,
    /// `config.read_timeout_ms`, for `poll_at`.
    read_timeout_ms: Option<u32>,
}

impl<const BUF: usize, const DATA: usize, const EVENT: usize, const ID: usize>
    PollClient<BUF, DATA, EVENT, ID>
{
    /// A client that connects at its first poll, with `socket` (which it
    /// aborts and reconnects as needed) to `remote`.
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut sockets = SocketSet::new(Vec::new());
    /// # let socket = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 64]), tcp::SocketBuffer::new(vec![0; 64])));
    /// let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://10.0.2.2/events")?);
    /// let remote = smoltcp::wire::IpEndpoint::new(smoltcp::wire::IpAddress::v4(10, 0, 2, 2), 80);
    /// let client: sse_embedded::PollClient<512, 256> = sse_embedded::PollClient::new(&config, socket, remote);
    /// assert!(client.last_event_id().is_empty());
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub fn new(config: &ClientConfig<'_>, socket: SocketHandle, remote: IpEndpoint) -> Self {
        // Start somewhere in the range that depends on the jitter seed, so
        // that a reboot does not reuse the last connection's port.
        let span = PORTS.1.saturating_sub(PORTS.0);
        let offset = u16::try_from(config.jitter_seed.checked_rem(u32::from(span)).unwrap_or(0)).unwrap_or(0);
        Self {
            core: Core::new(config),
            buf: [0; BUF],
            socket,
            remote,
            state: State::Waiting(Instant::ZERO),
            port: PORTS.0.saturating_add(offset),
            read_timeout_ms: config.read_timeout_ms,
        }
    }

    /// The id sent as `Last-Event-ID` on the next connection.
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut sockets = SocketSet::new(Vec::new());
    /// # let socket = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 64]), tcp::SocketBuffer::new(vec![0; 64])));
    /// # let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://10.0.2.2/events")?);
    /// # let remote = smoltcp::wire::IpEndpoint::new(smoltcp::wire::IpAddress::v4(10, 0, 2, 2), 80);
    /// let mut client: sse_embedded::PollClient<512, 256> = sse_embedded::PollClient::new(&config, socket, remote);
    /// client.set_last_event_id(b"7").unwrap();
    /// assert_eq!(client.last_event_id(), b"7");
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> &[u8] {
        self.core.parser.last_event_id().as_bytes()
    }

    /// Resumes from an id kept elsewhere.
    ///
    /// # Errors
    /// [`sse_wire::IdTooLong`] if it is longer than `ID`.
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut sockets = SocketSet::new(Vec::new());
    /// # let socket = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 64]), tcp::SocketBuffer::new(vec![0; 64])));
    /// # let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://10.0.2.2/events")?);
    /// # let remote = smoltcp::wire::IpEndpoint::new(smoltcp::wire::IpAddress::v4(10, 0, 2, 2), 80);
    /// let mut client: sse_embedded::PollClient<512, 256, 64, 2> = sse_embedded::PollClient::new(&config, socket, remote);
    /// assert!(client.set_last_event_id(b"123").is_err());
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), sse_wire::IdTooLong> {
        self.core.parser.set_last_event_id(id)
    }

    /// What the client has done so far.
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut sockets = SocketSet::new(Vec::new());
    /// # let socket = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 64]), tcp::SocketBuffer::new(vec![0; 64])));
    /// # let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://10.0.2.2/events")?);
    /// # let remote = smoltcp::wire::IpEndpoint::new(smoltcp::wire::IpAddress::v4(10, 0, 2, 2), 80);
    /// let client: sse_embedded::PollClient<512, 256> = sse_embedded::PollClient::new(&config, socket, remote);
    /// assert_eq!(client.stats().events, 0);
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub const fn stats(&self) -> ClientStats {
        self.core.stats
    }

    /// When the client next needs a poll without network traffic (a
    /// deadline or the end of a reconnection delay; the read timeout as
    /// configured at `new`); `None` once done.
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut sockets = SocketSet::new(Vec::new());
    /// # let socket = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 64]), tcp::SocketBuffer::new(vec![0; 64])));
    /// # let config = sse_embedded::ClientConfig::new(sse_embedded::Target::parse("http://10.0.2.2/events")?);
    /// # let remote = smoltcp::wire::IpEndpoint::new(smoltcp::wire::IpAddress::v4(10, 0, 2, 2), 80);
    /// let client: sse_embedded::PollClient<512, 256> = sse_embedded::PollClient::new(&config, socket, remote);
    /// assert_eq!(client.poll_at(), Some(smoltcp::time::Instant::ZERO));
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    #[must_use]
    pub fn poll_at(&self) -> Option<Instant> {
        match &self.state {
            State::Waiting(at) => Some(*at),
            State::Opening { deadline, .. } => Some(*deadline),
            State::Streaming { last, .. } => self.read_timeout_ms.map(|ms| later(*last, ms)),
            State::Done(_) => None,
        }
    }

    /// Advances the client: connects when due, sends the request, judges
    /// the head, hands each event of the body to `on_event`, and applies
    /// every deadline. Returns `Some` once the client has finished for
    /// good (204, [`Control::Stop`], or as [`EventSource::run`](crate::EventSource::run) gives up).
    pub fn poll<F>(
        &mut self,
        now: Instant,
        iface: &mut Interface,
        sockets: &mut SocketSet<'_>,
        config: &ClientConfig<'_>,
        mut on_event: F,
    ) -> Option<Ended>
    where
        F: FnMut(&MessageEvent<'_>) -> Control,
    {
        // Each pass moves through at most one phase; a few cover a
        // connection that opens and streams within one poll.
        for _ in 0..4 {
            let socket = sockets.get_mut::<tcp::Socket<'_>>(self.socket);
            let next = match &mut self.state {
                State::Done(ended) => return Some(*ended),
                State::Waiting(at) => {
                    if now < *at {
                        return None;
                    }
                    socket.abort();
                    match self.core.request(&mut self.buf, config) {
                        None => Step::End(Outcome::Closed {
                            delivered: false,
                            error: Some(ClientError::BadRequest),
                        }),
                        Some(len) => {
                            let port = self.port;
                            self.port = if port >= PORTS.1 { PORTS.0 } else { port.saturating_add(1) };
                            match socket.connect(iface.context(), self.remote, port) {
                                Ok(()) => Step::To(State::Opening {
                                    deadline: later(now, config.connect_timeout_ms),
                                    len,
                                    sent: 0,
                                    read: None,
                                }),
                                Err(_) => failed(ClientError::Connect),
                            }
                        }
                    }
                }
                State::Opening { deadline, len, sent, read } => {
                    open(socket, &mut self.buf, now, *deadline, *len, sent, read)
                }
                State::Streaming { body, last } => {
                    stream(socket, &mut self.buf, &mut self.core, body, last, now, config, &mut on_event)
                }
            };
            match next {
                Step::Wait => return None,
                Step::To(state) => self.state = state,
                Step::Head { body, read } => {
                    self.core.opened();
                    let mut body = body;
                    let leftover = self.buf.get(body.body_at..read).unwrap_or_default();
                    let fed = body.feed(leftover, &mut self.core, config, &mut on_event);
                    self.state = match settle(&body, fed) {
                        Some(outcome) => self.end(outcome, now, config, sockets),
                        None => State::Streaming { body, last: now },
                    };
                }
                Step::End(outcome) => self.state = self.end(outcome, now, config, sockets),
            }
        }
        None
    }

    /// Closes the connection after `outcome` and decides what comes next.
    fn end(
        &mut self,
        outcome: Outcome,
        now: Instant,
        config: &ClientConfig<'_>,
        sockets: &mut SocketSet<'_>,
    ) -> State {
        let socket = sockets.get_mut::<tcp::Socket<'_>>(self.socket);
        match outcome {
            Outcome::NoContent => {
                socket.close();
                State::Done(Ended::NoContent)
            }
            Outcome::Stopped => {
                socket.close();
                self.core.parser.end_of_stream();
                State::Done(Ended::Stopped)
            }
            Outcome::Closed { delivered, error } => {
                if error.is_some() {
                    socket.abort();
                } else {
                    socket.close();
                }
                match self.core.after(config, delivered, error) {
                    Ok(delay) => State::Waiting(later(now, delay)),
                    Err(ended) => State::Done(ended),
                }
            }
        }
    }
}

/// What a phase of `poll` leads to.
enum Step {
    /// Nothing more until the next poll.
    Wait,
    /// Go on in this state.
    To(State),
    /// The response head says stream: its body (`read` bytes of the buffer
    /// hold the head and what followed it).
    Head { body: Body, read: usize },
    /// The connection ends so.
    End(Outcome),
}

fn failed(error: ClientError) -> Step {
    Step::End(Outcome::Closed { delivered: false, error: Some(error) })
}

/// `t + ms`, saturating.
fn later(t: Instant, ms: u32) -> Instant {
    crate::server::later(t, Some(ms)).unwrap_or(t)
}

/// Connecting, sending the request, reading the head.
fn open(
    socket: &mut tcp::Socket<'_>,
    buf: &mut [u8],
    now: Instant,
    deadline: Instant,
    len: usize,
    sent: &mut usize,
    read: &mut Option<usize>,
) -> Step {
    if now >= deadline {
        return failed(ClientError::ConnectTimeout);
    }
    if !socket.is_active() {
        // Refused (RST) or closed before a head.
        return failed(if read.is_some() { ClientError::Io } else { ClientError::Connect });
    }
    if *sent < len {
        if socket.can_send() {
            let n = socket.send_slice(buf.get(*sent..len).unwrap_or_default()).unwrap_or(0);
            *sent = sent.saturating_add(n);
        }
        if *sent < len {
            return Step::Wait;
        }
    }
    let mut have = read.unwrap_or(0);
    while socket.can_recv() {
        let Some(free) = buf.get_mut(have..).filter(|free| !free.is_empty()) else {
            return failed(ClientError::HeadTooLarge);
        };
        let n = socket.recv_slice(free).unwrap_or(0);
        if n == 0 {
            break;
        }
        have = have.saturating_add(n);
        if let Some(head) = response::judge(buf.get(..have).unwrap_or_default()) {
            return match Body::for_head(head) {
                Ok(body) => Step::Head { body, read: have },
                Err(outcome) => Step::End(outcome),
            };
        }
    }
    *read = Some(have);
    if !socket.may_recv() {
        return failed(ClientError::Io);
    }
    Step::Wait
}

/// How feeding ended: `None` to go on reading.
fn settle(body: &Body, fed: Result<bool, ClientError>) -> Option<Outcome> {
    if body.stopped {
        return Some(Outcome::Stopped);
    }
    match fed {
        Err(error) => Some(Outcome::Closed { delivered: body.delivered, error: Some(error) }),
        Ok(true) => Some(Outcome::Closed { delivered: body.delivered, error: None }),
        Ok(false) => None,
    }
}

/// Reading the body.
#[allow(clippy::too_many_arguments)]
fn stream<const DATA: usize, const EVENT: usize, const ID: usize, F>(
    socket: &mut tcp::Socket<'_>,
    buf: &mut [u8],
    core: &mut Core<DATA, EVENT, ID>,
    body: &mut Body,
    last: &mut Instant,
    now: Instant,
    config: &ClientConfig<'_>,
    on_event: &mut F,
) -> Step
where
    F: FnMut(&MessageEvent<'_>) -> Control,
{
    while socket.can_recv() {
        let n = socket.recv_slice(buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        *last = now;
        let fed = body.feed(buf.get(..n).unwrap_or_default(), core, config, on_event);
        if let Some(outcome) = settle(body, fed) {
            return Step::End(outcome);
        }
    }
    if !socket.may_recv() {
        return Step::End(Outcome::Closed { delivered: body.delivered, error: body.cut_short() });
    }
    if let Some(ms) = config.read_timeout_ms
        && now >= later(*last, ms)
    {
        return Step::End(Outcome::Closed {
            delivered: body.delivered,
            error: Some(ClientError::ReadTimeout),
        });
    }
    Step::Wait
}
