//! The async variant: serve one connection over any
//! `embedded_io_async::Read + Write` (an embassy-net TCP socket, say),
//! with the same routing and response code as the smoltcp server.
//!
//! Invariant: the connection's buffer holds the request head, then each
//! response piece in turn; nothing is kept between connections, and where
//! events come from (and when to send a keep-alive) is the
//! [`StreamSource`]'s business, so this works with any executor. Every
//! wait on the client has a deadline from the caller's timer (any
//! `embedded_hal_async::delay::DelayNs`, such as embassy-time's `Delay`):
//! the request head must arrive within the request timeout, and every
//! write must see the client take a byte within the stall timeout (or the
//! source end the stream, [`StreamSource::poll_end`]).

use core::future::poll_fn;
use core::pin::pin;
use core::task::{Context, Poll};

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Read, Write};
use sse_wire::{HistoryEntry, HistoryIn, KEEP_ALIVE, MISSED_EVENTS};

use crate::deadline::within;
use crate::limits::Limits;
use crate::log::log_debug;
use crate::route::{self, Config, Parsed, Route, Status};
use crate::stats::{Stats, bump};

/// What a stream sends next, from [`StreamSource::next`].
///
/// ```
/// let next = sse_embedded::Next::KeepAlive;
/// assert_eq!(next, sse_embedded::Next::KeepAlive);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Next {
    /// The first `len` bytes of the buffer hold encoded frames; the stream
    /// goes on from `next_seq`.
    Frames {
        /// Bytes of the buffer to send.
        len: usize,
        /// Sequence number of the next event to ask for.
        next_seq: u64,
    },
    /// Events before `next_seq` are gone: send [`MISSED_EVENTS`].
    Missed {
        /// Sequence number of the next event to ask for.
        next_seq: u64,
    },
    /// Nothing happened for a while: send a keep-alive comment.
    KeepAlive,
    /// End the stream (for example, shutting down).
    End,
}

/// Where a stream's events come from: typically a shared
/// [`sse_wire::History`] plus a signal that new events arrived.
///
/// ```
/// use sse_embedded::{Next, StreamSource};
/// /// Sends one event, then ends.
/// struct Once(bool);
/// impl StreamSource for Once {
///     fn start(&mut self, _last_event_id: Option<&[u8]>) -> (u64, bool) { (0, false) }
///     async fn next(&mut self, next_seq: u64, buf: &mut [u8]) -> Next {
///         if std::mem::replace(&mut self.0, true) { return Next::End; }
///         let n = sse_wire::Event::new().with_data("hi").encode(buf).unwrap();
///         Next::Frames { len: n, next_seq: next_seq + 1 }
///     }
/// }
/// ```
pub trait StreamSource {
    /// Whether a stream request is served at all (`false`: 503 with
    /// `Retry-After`). Asked before [`start`](Self::start); by default
    /// every request is.
    ///
    /// ```
    /// # use sse_embedded::{Next, StreamSource};
    /// /// At most one stream at a time.
    /// struct One { open: bool }
    /// impl StreamSource for One {
    ///     fn admit(&mut self) -> bool { !std::mem::replace(&mut self.open, true) }
    ///     fn start(&mut self, _: Option<&[u8]>) -> (u64, bool) { (0, false) }
    ///     async fn next(&mut self, _: u64, _: &mut [u8]) -> Next { Next::End }
    /// }
    /// let mut source = One { open: false };
    /// assert!(source.admit() && !source.admit());
    /// ```
    fn admit(&mut self) -> bool {
        true
    }

    /// A stream starts with this `Last-Event-ID` (if any): returns the
    /// sequence number of the first event to send, and whether the client
    /// missed events (its id is too old or unknown).
    fn start(&mut self, last_event_id: Option<&[u8]>) -> (u64, bool);

    /// Waits for what to send after `next_seq` and encodes it into `buf`.
    #[allow(async_fn_in_trait)]
    async fn next(&mut self, next_seq: u64, buf: &mut [u8]) -> Next;

    /// Ready when the stream must end now, even while a write waits for
    /// the client (the source gave its slot to another client, say). By
    /// default never.
    ///
    /// ```
    /// # use core::task::{Context, Poll};
    /// # use sse_embedded::{Next, StreamSource};
    /// /// Ends every stream once `closing` is set (by a shutdown, say).
    /// struct Closing { closing: bool }
    /// impl StreamSource for Closing {
    ///     fn start(&mut self, _: Option<&[u8]>) -> (u64, bool) { (0, false) }
    ///     async fn next(&mut self, _: u64, _: &mut [u8]) -> Next { Next::KeepAlive }
    ///     fn poll_end(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
    ///         // A real source also keeps `cx.waker()` to wake when it changes.
    ///         if self.closing { Poll::Ready(()) } else { Poll::Pending }
    ///     }
    /// }
    /// let mut source = Closing { closing: true };
    /// assert_eq!(source.poll_end(&mut Context::from_waker(std::task::Waker::noop())), Poll::Ready(()));
    /// ```
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Pending
    }
}

/// Where a connection's counters go: the caller's [`Stats`], or a shared
/// set behind a lock.
pub(crate) trait Count {
    fn count(&mut self, f: impl FnOnce(&mut Stats));
}

impl Count for &mut Stats {
    fn count(&mut self, f: impl FnOnce(&mut Stats)) {
        f(self);
    }
}

/// How a connection was served, from [`serve_connection`].
///
/// ```
/// let served = sse_embedded::Served::Status(404);
/// assert_eq!(served, sse_embedded::Served::Status(404));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Served {
    /// A stream, until the source ended it.
    Stream,
    /// A page.
    Page,
    /// An error response with this status.
    Status(u16),
    /// The client closed the connection before a whole request arrived.
    Closed,
    /// The request head did not arrive, or the page or error was not
    /// taken, within the request timeout.
    TimedOut,
    /// The client took no byte for the stall timeout while a response or
    /// stream waited.
    Stalled,
}

/// Why [`serve_connection`] failed.
///
/// ```
/// let e: sse_embedded::ConnError<()> = sse_embedded::ConnError::BufferTooSmall;
/// assert_eq!(e, sse_embedded::ConnError::BufferTooSmall);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConnError<E> {
    /// The connection failed.
    Io(E),
    /// A response head did not fit the buffer (give at least 256 bytes).
    BufferTooSmall,
}

/// The deadlines and counters of one connection, and the caller's timer.
///
/// ```
/// # struct Timer;
/// # impl embedded_hal_async::delay::DelayNs for Timer { async fn delay_ns(&mut self, _: u32) {} }
/// let mut stats = sse_embedded::Stats::new();
/// let mut timer = Timer; // embassy_time::Delay on a device
/// let guard = sse_embedded::Guard { limits: Default::default(), timer: &mut timer, stats: &mut stats };
/// ```
#[derive(Debug)]
pub struct Guard<'g, T> {
    /// The deadlines (the request and stall timeouts; keep-alives and
    /// the stream policies are the source's).
    pub limits: Limits,
    /// The timer that measures them.
    pub timer: &'g mut T,
    /// The counters to add to.
    pub stats: &'g mut Stats,
}

/// Serves one connection: reads a request head into `buf` (431 if it does
/// not fit), routes it like the smoltcp server, and answers: a page, an
/// error, or a stream fed by `source` until it ends, the client goes, or a
/// deadline of `guard` passes. The head must arrive, and a page or error
/// be taken whole, within the request timeout; a stream's writes are
/// bounded by the stall timeout. The timer is cloned to measure the
/// page's deadline beside each write's (embassy-time's `Delay` is `Copy`).
///
/// # Errors
/// [`ConnError::Io`] when the connection fails, [`ConnError::BufferTooSmall`].
///
/// ```
/// # use sse_embedded::{Next, StreamSource, Served};
/// # struct Nothing;
/// # impl StreamSource for Nothing {
/// #     fn start(&mut self, _: Option<&[u8]>) -> (u64, bool) { (0, false) }
/// #     async fn next(&mut self, _: u64, _: &mut [u8]) -> Next { Next::End }
/// # }
/// async fn handle<C, T>(mut socket: C, timer: &mut T, stats: &mut sse_embedded::Stats)
/// where
///     C: embedded_io_async::Read + embedded_io_async::Write,
///     T: embedded_hal_async::delay::DelayNs + Clone,
/// {
///     let mut buf = [0u8; 1024];
///     let config = sse_embedded::Config::new();
///     let guard = sse_embedded::Guard { limits: Default::default(), timer, stats };
///     let _ = sse_embedded::serve_connection(&mut socket, &config, &mut buf, &mut Nothing, guard).await;
/// }
/// ```
pub async fn serve_connection<C, S, T>(
    conn: &mut C,
    config: &Config<'_>,
    buf: &mut [u8],
    source: &mut S,
    guard: Guard<'_, T>,
) -> Result<Served, ConnError<C::Error>>
where
    C: Read + Write,
    S: StreamSource,
    T: DelayNs + Clone,
{
    let Guard { limits, timer, stats } = guard;
    serve_with(conn, config, buf, source, &limits, timer, stats).await
}

/// [`serve_connection`], counting into any [`Count`].
pub(crate) async fn serve_with<C, S, T, K>(
    conn: &mut C,
    config: &Config<'_>,
    buf: &mut [u8],
    source: &mut S,
    limits: &Limits,
    timer: &mut T,
    mut stats: K,
) -> Result<Served, ConnError<C::Error>>
where
    C: Read + Write,
    S: StreamSource,
    T: DelayNs + Clone,
    K: Count,
{
    let head = within!(read_head(conn, config, buf, source), timer.delay_ms(limits.request_timeout_ms));
    let decision = match head {
        None => {
            stats.count(|s| bump(&mut s.timeouts));
            log_debug!("sse-embedded: request timed out");
            return Ok(Served::TimedOut);
        }
        Some(Err(e)) => return Err(e),
        Some(Ok(None)) => return Ok(Served::Closed),
        Some(Ok(Some(decision))) => decision,
    };
    // A page or an error must be sent whole within the request timeout, as
    // in the poll server: a client that takes a byte now and then cannot
    // hold the slot. A stream has the stall timeout only.
    // Both futures are pinned where they are made and raced in place:
    // handing `answer`'s future to another future by value would make room
    // for it twice in this one (half a kilobyte per connection).
    let mut page_timer = timer.clone();
    let streams = matches!(decision, Decision::Stream(_));
    let mut out = Out { conn, timer, stall_ms: limits.stall_timeout_ms };
    let served = {
        let mut answering = pin!(answer(&mut out, config, buf, source, decision, &mut stats));
        let mut page_deadline = pin!(page_timer.delay_ms(limits.request_timeout_ms));
        poll_fn(|cx| {
            if let Poll::Ready(served) = answering.as_mut().poll(cx) {
                return Poll::Ready(served);
            }
            if !streams && page_deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Failure::TimedOut));
            }
            Poll::Pending
        })
        .await
    };
    match served {
        Ok(Served::Page | Served::Status(_)) => stats.count(|s| bump(&mut s.responses)),
        Err(Failure::TimedOut) => {
            stats.count(|s| bump(&mut s.timeouts));
            log_debug!("sse-embedded: a response was not taken within the request timeout");
        }
        Err(Failure::Stalled) => {
            stats.count(|s| bump(&mut s.stalled));
            log_debug!("sse-embedded: closing a stream whose client stopped reading");
        }
        _ => {}
    }
    match served {
        Ok(served) => Ok(served),
        Err(Failure::Stalled) => Ok(Served::Stalled),
        Err(Failure::TimedOut) => Ok(Served::TimedOut),
        Err(Failure::Ended) => Ok(Served::Stream),
        Err(Failure::Io(e)) => Err(ConnError::Io(e)),
        Err(Failure::BufferTooSmall) => Err(ConnError::BufferTooSmall),
    }
}

/// Why answering stopped early.
enum Failure<E> {
    Io(E),
    Stalled,
    /// The source ended the stream while a write waited.
    Ended,
    /// A page or an error was not sent whole within the request timeout.
    TimedOut,
    BufferTooSmall,
}

/// The connection's sending side, each write bounded by the stall timeout.
struct Out<'o, C, T> {
    conn: &'o mut C,
    timer: &'o mut T,
    stall_ms: Option<u32>,
}

/// Runs the I/O future `$work` unless the client takes nothing for the
/// stall timeout (`Ok(None)`) or `$source` ends the stream
/// (`Err(Failure::Ended)`). A macro, so that the futures are pinned where
/// they are made (see `crate::deadline`).
macro_rules! stall_or_end {
    ($out:expr, $source:expr, $work:expr) => {{
        let stall_ms = $out.stall_ms;
        let timer = &mut *$out.timer;
        let mut work = pin!($work);
        let mut stall = pin!(async move {
            match stall_ms {
                Some(ms) => timer.delay_ms(ms).await,
                None => core::future::pending::<()>().await,
            }
        });
        poll_fn(|cx| {
            if let Poll::Ready(output) = work.as_mut().poll(cx) {
                return Poll::Ready(Ok(Some(output)));
            }
            if stall.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(None));
            }
            $source.poll_end(cx).map(|()| Err(Failure::Ended))
        })
        .await
    }};
}

impl<C: Write, T: DelayNs> Out<'_, C, T> {
    /// Writes all of `bytes`; fails if the client takes none for the stall
    /// timeout, or if `source` ends the stream meanwhile.
    async fn send<S: StreamSource>(
        &mut self,
        mut bytes: &[u8],
        source: &mut S,
    ) -> Result<(), Failure<C::Error>> {
        while !bytes.is_empty() {
            let written = stall_or_end!(self, source, self.conn.write(bytes))?;
            match written {
                None => return Err(Failure::Stalled),
                Some(Err(e)) => return Err(Failure::Io(e)),
                Some(Ok(0)) => return Err(Failure::Stalled),
                Some(Ok(n)) => bytes = bytes.get(n..).unwrap_or_default(),
            }
        }
        match stall_or_end!(self, source, self.conn.flush())? {
            None => Err(Failure::Stalled),
            Some(result) => result.map_err(Failure::Io),
        }
    }
}

/// Reads the request head into `buf` and decides the answer; `None` if the
/// client closed first.
async fn read_head<'a, C, S>(
    conn: &mut C,
    config: &Config<'a>,
    buf: &mut [u8],
    source: &mut S,
) -> Result<Option<Decision<'a>>, ConnError<C::Error>>
where
    C: Read,
    S: StreamSource,
{
    let mut len = 0usize;
    let decision = loop {
        let Some(free) = buf.get_mut(len..) else { return Err(ConnError::BufferTooSmall) };
        if !free.is_empty() {
            let n = conn.read(free).await.map_err(ConnError::Io)?;
            if n == 0 {
                return Ok(None);
            }
            len = len.saturating_add(n);
        }
        let full = len >= buf.len();
        match route::route(buf.get(..len).unwrap_or_default(), full, config) {
            Parsed::Partial => {}
            Parsed::Done(Route::Stream { .. }) if !source.admit() => break Decision::Error(Status::Busy),
            Parsed::Done(Route::Stream { last_event_id }) => {
                break Decision::Stream(source.start(last_event_id));
            }
            Parsed::Done(Route::Page { page, head_only }) => {
                break Decision::Page(page.body, head_only, page.content_type);
            }
            Parsed::Done(Route::Error(status)) => break Decision::Error(status),
        }
    };
    Ok(Some(decision))
}

/// Sends the answer `decision` asks for.
async fn answer<C, S, T, K>(
    out: &mut Out<'_, C, T>,
    config: &Config<'_>,
    buf: &mut [u8],
    source: &mut S,
    decision: Decision<'_>,
    stats: &mut K,
) -> Result<Served, Failure<C::Error>>
where
    C: Write,
    S: StreamSource,
    T: DelayNs,
    K: Count,
{
    match decision {
        Decision::Error(status) => {
            let n = route::write_error(buf, config, status).map_err(|_| Failure::BufferTooSmall)?;
            out.send(buf.get(..n).unwrap_or_default(), source).await?;
            Ok(Served::Status(status.line().0))
        }
        Decision::Page(body, head_only, content_type) => {
            let n = route::write_simple(buf, config, (200, "OK"), Some(content_type), body.len(), None)
                .map_err(|_| Failure::BufferTooSmall)?;
            out.send(buf.get(..n).unwrap_or_default(), source).await?;
            if !head_only {
                out.send(body, source).await?;
            }
            Ok(Served::Page)
        }
        Decision::Stream((mut next_seq, missed)) => {
            let n = route::write_stream_start(buf, config, missed).map_err(|_| Failure::BufferTooSmall)?;
            if missed {
                stats.count(|s| bump(&mut s.missed_sent));
            }
            out.send(buf.get(..n).unwrap_or_default(), source).await?;
            loop {
                match source.next(next_seq, buf).await {
                    Next::Frames { len, next_seq: next } => {
                        out.send(buf.get(..len).unwrap_or_default(), source).await?;
                        next_seq = next;
                    }
                    Next::Missed { next_seq: next } => {
                        stats.count(|s| bump(&mut s.missed_sent));
                        out.send(MISSED_EVENTS, source).await?;
                        next_seq = next;
                    }
                    Next::KeepAlive => out.send(KEEP_ALIVE, source).await?,
                    Next::End => return Ok(Served::Stream),
                }
            }
        }
    }
}

/// Where a stream that presents `last_event_id` starts in `history`: the
/// sequence number of its first event, and whether it missed events. The
/// same rule as the smoltcp server's; use it in [`StreamSource::start`].
///
/// ```
/// let mut history: sse_wire::History<4, 256> = sse_wire::History::new();
/// history.push(&sse_wire::Event::new().with_id("a").unwrap().with_data("x")).unwrap();
/// assert_eq!(sse_embedded::resume_point(&history, Some(b"a")), (1, false));
/// assert_eq!(sse_embedded::resume_point(&history, Some(b"zz")), (1, true));
/// assert_eq!(sse_embedded::resume_point(&history, None), (1, false));
/// ```
pub fn resume_point<I, B>(history: &HistoryIn<I, B>, last_event_id: Option<&[u8]>) -> (u64, bool)
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    let start = route::stream_start(history, last_event_id);
    (start.next_seq, start.missed)
}

/// Copies the stored events from `next_seq` on into `buf`, as many whole
/// frames as fit: `None` when there is nothing new (wait, then ask again);
/// [`Next::Missed`] when `next_seq` was evicted, or when its frame is
/// larger than `buf` and can never be sent (the client is told instead of
/// skipping it silently). Use it in [`StreamSource::next`].
///
/// ```
/// let mut history: sse_wire::History<4, 256> = sse_wire::History::new();
/// history.push(&sse_wire::Event::new().with_data("x")).unwrap();
/// let mut buf = [0u8; 64];
/// assert_eq!(sse_embedded::frames_after(&history, 0, &mut buf), Some(sse_embedded::Next::Frames { len: 9, next_seq: 1 }));
/// assert_eq!(sse_embedded::frames_after(&history, 1, &mut buf), None);
/// ```
pub fn frames_after<I, B>(history: &HistoryIn<I, B>, next_seq: u64, buf: &mut [u8]) -> Option<Next>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    if next_seq < history.oldest_seq() {
        return Some(Next::Missed { next_seq: history.oldest_seq() });
    }
    let mut len = 0usize;
    let mut next = next_seq;
    for stored in history.iter_from(next_seq) {
        let end = len.saturating_add(stored.frame.len());
        match buf.get_mut(len..end) {
            Some(dst) => {
                dst.copy_from_slice(stored.frame);
                len = end;
                next = stored.seq.saturating_add(1);
            }
            // Too big for an empty buffer: it can never be sent.
            None if len == 0 => return Some(Next::Missed { next_seq: stored.seq.saturating_add(1) }),
            None => break,
        }
    }
    (next != next_seq).then_some(Next::Frames { len, next_seq: next })
}

/// A request's answer, no longer borrowing the request.
enum Decision<'a> {
    Stream((u64, bool)),
    Page(&'a [u8], bool, &'a str),
    Error(Status),
}
