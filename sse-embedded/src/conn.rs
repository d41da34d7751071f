//! The async variant: serve one connection over any
//! `embedded_io_async::Read + Write` (an embassy-net TCP socket, say),
//! with the same routing and response code as the smoltcp server.
//!
//! Invariant: the connection's buffer holds the request head, then each
//! response piece in turn; nothing is kept between connections, and where
//! events come from (and when to send a keep-alive) is the
//! [`StreamSource`]'s business, so this works with any executor.

use embedded_io_async::{Read, Write};
use sse_core::{HistoryIn, KEEP_ALIVE, MISSED_EVENTS, Slot};

use crate::route::{self, Config, Parsed, Route, Status};

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
/// [`sse_core::History`] plus a signal that new events arrived.
///
/// ```
/// use sse_embedded::{Next, StreamSource};
/// /// Sends one event, then ends.
/// struct Once(bool);
/// impl StreamSource for Once {
///     fn start(&mut self, _last_event_id: Option<&[u8]>) -> (u64, bool) { (0, false) }
///     async fn next(&mut self, next_seq: u64, buf: &mut [u8]) -> Next {
///         if std::mem::replace(&mut self.0, true) { return Next::End; }
///         let n = sse_core::Event::new().with_data("hi").encode(buf).unwrap();
///         Next::Frames { len: n, next_seq: next_seq + 1 }
///     }
/// }
/// ```
pub trait StreamSource {
    /// A stream starts with this `Last-Event-ID` (if any): returns the
    /// sequence number of the first event to send, and whether the client
    /// missed events (its id is too old or unknown).
    fn start(&mut self, last_event_id: Option<&[u8]>) -> (u64, bool);

    /// Waits for what to send after `next_seq` and encodes it into `buf`.
    #[allow(async_fn_in_trait)]
    async fn next(&mut self, next_seq: u64, buf: &mut [u8]) -> Next;
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

/// Serves one connection: reads a request head into `buf` (431 if it does
/// not fit), routes it like the smoltcp server, and answers: a page, an
/// error, or a stream fed by `source` until it ends. Time limits are the
/// caller's (wrap the call in the executor's timeout).
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
/// async fn handle<C: embedded_io_async::Read + embedded_io_async::Write>(mut socket: C) {
///     let mut buf = [0u8; 1024];
///     let config = sse_embedded::Config::new();
///     let _ = sse_embedded::serve_connection(&mut socket, &config, &mut buf, &mut Nothing).await;
/// }
/// ```
pub async fn serve_connection<C, S>(
    conn: &mut C,
    config: &Config<'_>,
    buf: &mut [u8],
    source: &mut S,
) -> Result<Served, ConnError<C::Error>>
where
    C: Read + Write,
    S: StreamSource,
{
    let mut len = 0usize;
    let decision = loop {
        let Some(free) = buf.get_mut(len..) else { return Err(ConnError::BufferTooSmall) };
        if !free.is_empty() {
            let n = conn.read(free).await.map_err(ConnError::Io)?;
            if n == 0 {
                return Ok(Served::Closed);
            }
            len = len.saturating_add(n);
        }
        let full = len >= buf.len();
        match route::route(buf.get(..len).unwrap_or_default(), full, config) {
            Parsed::Partial => {}
            Parsed::Done(Route::Stream { last_event_id }) => {
                break Decision::Stream(source.start(last_event_id));
            }
            Parsed::Done(Route::Page { page, head_only }) => {
                break Decision::Page(page.body, head_only, page.content_type);
            }
            Parsed::Done(Route::Error(status)) => break Decision::Error(status),
        }
    };
    match decision {
        Decision::Error(status) => {
            let n = route::write_error(buf, config, status).map_err(|_| ConnError::BufferTooSmall)?;
            send(conn, buf.get(..n).unwrap_or_default()).await?;
            Ok(Served::Status(status_code(status)))
        }
        Decision::Page(body, head_only, content_type) => {
            let n = route::write_simple(buf, config, (200, "OK"), Some(content_type), body.len(), None)
                .map_err(|_| ConnError::BufferTooSmall)?;
            send(conn, buf.get(..n).unwrap_or_default()).await?;
            if !head_only {
                send(conn, body).await?;
            }
            Ok(Served::Page)
        }
        Decision::Stream((mut next_seq, missed)) => {
            let n = route::write_stream_start(buf, config, missed).map_err(|_| ConnError::BufferTooSmall)?;
            send(conn, buf.get(..n).unwrap_or_default()).await?;
            loop {
                match source.next(next_seq, buf).await {
                    Next::Frames { len, next_seq: next } => {
                        send(conn, buf.get(..len).unwrap_or_default()).await?;
                        next_seq = next;
                    }
                    Next::Missed { next_seq: next } => {
                        send(conn, MISSED_EVENTS).await?;
                        next_seq = next;
                    }
                    Next::KeepAlive => send(conn, KEEP_ALIVE).await?,
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
/// let mut history: sse_core::History<4, 256> = sse_core::History::new();
/// history.push(&sse_core::Event::new().with_id("a").unwrap().with_data("x")).unwrap();
/// assert_eq!(sse_embedded::resume_point(&history, Some(b"a")), (1, false));
/// assert_eq!(sse_embedded::resume_point(&history, Some(b"zz")), (1, true));
/// assert_eq!(sse_embedded::resume_point(&history, None), (1, false));
/// ```
pub fn resume_point<I, B>(history: &HistoryIn<I, B>, last_event_id: Option<&[u8]>) -> (u64, bool)
where
    I: AsRef<[Slot]> + AsMut<[Slot]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    let start = route::stream_start(history, last_event_id);
    (start.next_seq, start.missed)
}

/// Copies the stored events from `next_seq` on into `buf`, as many whole
/// frames as fit: `None` when there is nothing new (wait, then ask again);
/// [`Next::Missed`] when `next_seq` was evicted. Use it in
/// [`StreamSource::next`]. A frame larger than `buf` is skipped.
///
/// ```
/// let mut history: sse_core::History<4, 256> = sse_core::History::new();
/// history.push(&sse_core::Event::new().with_data("x")).unwrap();
/// let mut buf = [0u8; 64];
/// assert_eq!(sse_embedded::frames_after(&history, 0, &mut buf), Some(sse_embedded::Next::Frames { len: 9, next_seq: 1 }));
/// assert_eq!(sse_embedded::frames_after(&history, 1, &mut buf), None);
/// ```
pub fn frames_after<I, B>(history: &HistoryIn<I, B>, next_seq: u64, buf: &mut [u8]) -> Option<Next>
where
    I: AsRef<[Slot]> + AsMut<[Slot]>,
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
            None if len == 0 => next = stored.seq.saturating_add(1),
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

fn status_code(status: Status) -> u16 {
    match status {
        Status::BadRequest => 400,
        Status::NotFound => 404,
        Status::MethodNotAllowed => 405,
        Status::HeadTooLarge => 431,
        Status::Busy => 503,
    }
}

async fn send<C: Write>(conn: &mut C, bytes: &[u8]) -> Result<(), ConnError<C::Error>> {
    conn.write_all(bytes).await.map_err(ConnError::Io)?;
    conn.flush().await.map_err(ConnError::Io)
}
