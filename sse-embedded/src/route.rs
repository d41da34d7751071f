//! Requests and responses, shared by the smoltcp server and the async
//! variant: parse a request head with `httparse`, pick the route, and write
//! the response head with sse-wire's `ResponseHead`.
//!
//! Invariant: nothing here does I/O or keeps state; every function is
//! total (no panics on any bytes), and a response head that does not fit
//! the caller's buffer is reported, never truncated.

// Without a server (no `smoltcp`, no `async`) only `Config` and `Page`
// are used.
#![cfg_attr(not(any(feature = "smoltcp", feature = "async")), allow(dead_code))]

use core::fmt::Write as _;

use sse_wire::{Event, HistoryEntry, HistoryIn, MISSED_EVENTS, ResponseHead, Resume};

/// A static page served by the server, such as a firmware dashboard.
///
/// ```
/// const INDEX: sse_embedded::Page<'static> =
///     sse_embedded::Page { path: "/", content_type: "text/html; charset=utf-8", body: b"<h1>hi</h1>" };
/// assert_eq!(INDEX.path, "/");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page<'a> {
    /// The request path it answers, such as `/`.
    pub path: &'a str,
    /// Its `Content-Type`.
    pub content_type: &'a str,
    /// Its bytes.
    pub body: &'a [u8],
}

/// Settings shared by the smoltcp server and the async variant.
///
/// ```
/// let mut config = sse_embedded::Config::new();
/// config.events_path = "/stream";
/// assert_eq!(config.port, 80);
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Config<'a> {
    /// TCP port to listen on (smoltcp server; default 80).
    pub port: u16,
    /// Path of the event stream (default `/events`).
    pub events_path: &'a str,
    /// Static pages (default none).
    pub pages: &'a [Page<'a>],
    /// `retry:` sent first on every new stream, in milliseconds (default
    /// none).
    pub retry_ms: Option<u64>,
    /// `Retry-After` seconds sent with 503 when every stream slot is busy
    /// and [`Limits::purge_stalest`](crate::Limits::purge_stalest) is off
    /// (default 5).
    pub retry_after_secs: u32,
    /// `Access-Control-Allow-Origin` for every response (default none).
    pub cors_origin: Option<&'a str>,
    /// The boot epoch in the ids given to events published without one:
    /// `<epoch as 8 hex digits>-<seq>`, for example `0000002a-17`. Give a
    /// value that differs on every boot (a boot counter kept in flash, an
    /// RTC reading, a random number): a client that resumes after a reboot
    /// with an id of the previous boot then gets `missed`, never a replay
    /// of the unrelated events that carry the same number now. `None` (the
    /// default, for devices with none of these) gives plain `<seq>` ids,
    /// which restart at 0 at every boot.
    pub epoch: Option<u32>,
}

impl Default for Config<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Config<'_> {
    /// The default settings.
    ///
    /// ```
    /// assert_eq!(sse_embedded::Config::new().events_path, "/events");
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            port: 80,
            events_path: "/events",
            pages: &[],
            retry_ms: None,
            retry_after_secs: 5,
            cors_origin: None,
            epoch: None,
        }
    }
}

/// Error responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    BadRequest,
    NotFound,
    MethodNotAllowed,
    HeadTooLarge,
    /// Every stream slot is busy.
    Busy,
}

impl Status {
    /// The status code and reason phrase.
    pub(crate) fn line(self) -> (u16, &'static str) {
        match self {
            Self::BadRequest => (400, "Bad Request"),
            Self::NotFound => (404, "Not Found"),
            Self::MethodNotAllowed => (405, "Method Not Allowed"),
            Self::HeadTooLarge => (431, "Request Header Fields Too Large"),
            Self::Busy => (503, "Service Unavailable"),
        }
    }
}

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a, 'b> {
    /// `GET` on the events path, with the `Last-Event-ID` header if any.
    Stream { last_event_id: Option<&'b [u8]> },
    /// `GET` (or `HEAD`, `head_only`) on a page's path.
    Page { page: &'a Page<'a>, head_only: bool },
    /// An error response.
    Error(Status),
}

/// Result of looking at the bytes of a request so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed<'a, 'b> {
    /// The head is not complete yet.
    Partial,
    /// The head is complete (or broken): answer with this route.
    Done(Route<'a, 'b>),
}

/// Parses the request head in `buf` and routes it. A head that is still
/// partial when `buf` is full is [`Status::HeadTooLarge`].
pub(crate) fn route<'a, 'b>(buf: &'b [u8], full: bool, config: &Config<'a>) -> Parsed<'a, 'b> {
    let mut headers = [httparse::EMPTY_HEADER; 24];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Partial) if full => Parsed::Done(Route::Error(Status::HeadTooLarge)),
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Done(Route::Error(Status::HeadTooLarge)),
        Err(_) => Parsed::Done(Route::Error(Status::BadRequest)),
        Ok(httparse::Status::Complete(_)) => {
            let (Some(method), Some(target)) = (request.method, request.path) else {
                return Parsed::Done(Route::Error(Status::BadRequest));
            };
            // The path is the target up to any query string.
            let path = target.split('?').next().unwrap_or(target);
            let get = method == "GET";
            if path == config.events_path {
                if !get {
                    return Parsed::Done(Route::Error(Status::MethodNotAllowed));
                }
                let last_event_id = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("last-event-id"))
                    .map(|h| h.value)
                    .filter(|v| !v.is_empty());
                return Parsed::Done(Route::Stream { last_event_id });
            }
            match config.pages.iter().find(|p| p.path == path) {
                Some(page) if get || method == "HEAD" => Parsed::Done(Route::Page { page, head_only: !get }),
                Some(_) => Parsed::Done(Route::Error(Status::MethodNotAllowed)),
                None => Parsed::Done(Route::Error(Status::NotFound)),
            }
        }
    }
}

/// A response head did not fit the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooSmall;

/// Appends `bytes` to `buf[*len..]`.
fn append(buf: &mut [u8], len: &mut usize, bytes: &[u8]) -> Result<(), TooSmall> {
    let end = len.checked_add(bytes.len()).ok_or(TooSmall)?;
    buf.get_mut(*len..end).ok_or(TooSmall)?.copy_from_slice(bytes);
    *len = end;
    Ok(())
}

fn head(buf: &mut [u8], len: &mut usize, head: ResponseHead<'_>) -> Result<(), TooSmall> {
    let rest = buf.get_mut(*len..).ok_or(TooSmall)?;
    let n = head.encode(rest).map_err(|_| TooSmall)?;
    *len = len.checked_add(n).ok_or(TooSmall)?;
    Ok(())
}

/// Writes the head of a page or error response into `buf`; returns its
/// length.
pub(crate) fn write_simple(
    buf: &mut [u8],
    config: &Config<'_>,
    status: (u16, &str),
    content_type: Option<&str>,
    body_len: usize,
    extra: Option<(&str, &str)>,
) -> Result<usize, TooSmall> {
    let mut length: heapless::String<20> = heapless::String::new();
    write!(length, "{body_len}").map_err(|_| TooSmall)?;
    let mut headers: heapless::Vec<(&str, &str), 6> = heapless::Vec::new();
    let mut add = |h| headers.push(h).map_err(|_| TooSmall);
    if let Some(kind) = content_type {
        add(("Content-Type", kind))?;
    }
    add(("Content-Length", length.as_str()))?;
    add(("Cache-Control", "no-cache"))?;
    add(("Connection", "close"))?;
    if let Some(header) = extra {
        add(header)?;
    }
    if let Some(origin) = config.cors_origin {
        add(("Access-Control-Allow-Origin", origin))?;
    }
    let mut len = 0;
    head(buf, &mut len, ResponseHead::status(status.0, status.1).with_headers(&headers))?;
    Ok(len)
}

/// Writes an error response (head and a one-line body) into `buf`.
pub(crate) fn write_error(buf: &mut [u8], config: &Config<'_>, status: Status) -> Result<usize, TooSmall> {
    let (code, reason) = status.line();
    let mut retry_after: heapless::String<12> = heapless::String::new();
    let extra = match status {
        Status::MethodNotAllowed => Some(("Allow", "GET")),
        Status::Busy => {
            write!(retry_after, "{}", config.retry_after_secs).map_err(|_| TooSmall)?;
            Some(("Retry-After", retry_after.as_str()))
        }
        _ => None,
    };
    let body_len = reason.len().saturating_add(1);
    let mut len =
        write_simple(buf, config, (code, reason), Some("text/plain; charset=utf-8"), body_len, extra)?;
    append(buf, &mut len, reason.as_bytes())?;
    append(buf, &mut len, b"\n")?;
    Ok(len)
}

/// Where a new stream starts in the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamStart {
    /// Sequence number of the first event to send.
    pub(crate) next_seq: u64,
    /// The client resumed from an id the history no longer holds.
    pub(crate) missed: bool,
}

/// Resolves a `Last-Event-ID` against the history.
pub(crate) fn stream_start<I, B>(history: &HistoryIn<I, B>, last_event_id: Option<&[u8]>) -> StreamStart
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    let next_seq = history.next_seq();
    let Some(id) = last_event_id else { return StreamStart { next_seq, missed: false } };
    let resume = core::str::from_utf8(id).map_or(Resume::Missed, |id| history.resume_after(id));
    match resume {
        Resume::UpToDate => StreamStart { next_seq, missed: false },
        Resume::From(seq) => StreamStart { next_seq: seq, missed: false },
        Resume::Missed => StreamStart { next_seq, missed: true },
    }
}

/// Writes the head that starts a stream, then `retry:` if configured, then
/// the missed-events signal if the client's id is stale.
pub(crate) fn write_stream_start(
    buf: &mut [u8],
    config: &Config<'_>,
    missed: bool,
) -> Result<usize, TooSmall> {
    let cors = config.cors_origin.map(|origin| [("Access-Control-Allow-Origin", origin)]);
    let extra: &[(&str, &str)] = match &cors {
        Some(headers) => headers,
        None => &[],
    };
    let mut len = 0;
    head(buf, &mut len, ResponseHead::stream().with_headers(extra))?;
    if let Some(ms) = config.retry_ms {
        let rest = buf.get_mut(len..).ok_or(TooSmall)?;
        let n = Event::new().with_retry(ms).encode(rest).map_err(|_| TooSmall)?;
        len = len.checked_add(n).ok_or(TooSmall)?;
    }
    if missed {
        append(buf, &mut len, MISSED_EVENTS)?;
    }
    Ok(len)
}

/// Pushes `event` into `history` (which is also the broadcast queue),
/// giving it `<epoch>-<seq>` as id when it has none (see
/// [`Config::epoch`]), exactly as `Server::broadcast` does; returns the
/// sequence number. Use it to publish for `serve_connection` streams.
///
/// # Errors
/// As [`sse_wire::History::push`].
///
/// ```
/// let mut history: sse_wire::History<4, 256> = sse_wire::History::new();
/// let seq = sse_embedded::publish(&mut history, Some(42), &sse_wire::Event::new().with_data("x")).unwrap();
/// assert_eq!(history.get(seq).unwrap().frame, b"id: 0000002a-0\ndata: x\n\n");
/// let seq = sse_embedded::publish(&mut history, None, &sse_wire::Event::new().with_data("y")).unwrap();
/// assert_eq!(history.get(seq).unwrap().frame, b"id: 1\ndata: y\n\n");
/// ```
pub fn publish<I, B>(
    history: &mut HistoryIn<I, B>,
    epoch: Option<u32>,
    event: &Event<'_>,
) -> Result<u64, sse_wire::HistoryError>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    if event.id().is_some() {
        return history.push(event);
    }
    // 8 hex digits, a dash and at most 20 decimal digits: this cannot fail.
    let mut id: heapless::String<29> = heapless::String::new();
    let _ = match epoch {
        Some(epoch) => write!(id, "{epoch:08x}-{}", history.next_seq()),
        None => write!(id, "{}", history.next_seq()),
    };
    match event.with_id(&id) {
        Ok(with_id) => history.push(&with_id),
        Err(_) => history.push(event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGES: &[Page<'static>] = &[Page { path: "/", content_type: "text/html", body: b"<p>hi</p>" }];
    const CONFIG: Config<'static> = Config { pages: PAGES, ..Config::new() };

    #[test]
    fn routes() {
        fn r(req: &[u8]) -> Parsed<'static, '_> {
            route(req, false, &CONFIG)
        }
        assert_eq!(r(b"GET /events HTTP/1.1\r\n\r\n"), Parsed::Done(Route::Stream { last_event_id: None }));
        assert_eq!(
            r(b"GET /events?x=1 HTTP/1.1\r\nLast-Event-ID: 7\r\n\r\n"),
            Parsed::Done(Route::Stream { last_event_id: Some(b"7") })
        );
        assert_eq!(
            r(b"GET /events HTTP/1.1\r\nlast-event-id:\r\n\r\n"),
            Parsed::Done(Route::Stream { last_event_id: None })
        );
        assert_eq!(r(b"POST /events HTTP/1.1\r\n\r\n"), Parsed::Done(Route::Error(Status::MethodNotAllowed)));
        assert_eq!(
            r(b"GET / HTTP/1.1\r\n\r\n"),
            Parsed::Done(Route::Page { page: &PAGES[0], head_only: false })
        );
        assert_eq!(
            r(b"HEAD / HTTP/1.1\r\n\r\n"),
            Parsed::Done(Route::Page { page: &PAGES[0], head_only: true })
        );
        assert_eq!(r(b"DELETE / HTTP/1.1\r\n\r\n"), Parsed::Done(Route::Error(Status::MethodNotAllowed)));
        assert_eq!(r(b"GET /nope HTTP/1.1\r\n\r\n"), Parsed::Done(Route::Error(Status::NotFound)));
        assert_eq!(r(b"GET /events HTTP/1.1\r\nHost"), Parsed::Partial);
        assert_eq!(
            route(b"GET /events HTTP/1.1\r\nHost", true, &CONFIG),
            Parsed::Done(Route::Error(Status::HeadTooLarge))
        );
        assert_eq!(r(b"\x00\x01garbage\r\n\r\n"), Parsed::Done(Route::Error(Status::BadRequest)));
    }

    #[test]
    fn error_heads() {
        let mut buf = [0u8; 256];
        let config = Config { retry_after_secs: 9, ..CONFIG };
        let n = write_error(&mut buf, &config, Status::Busy).unwrap();
        assert_eq!(
            &buf[..n],
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\n\
              Cache-Control: no-cache\r\nConnection: close\r\nRetry-After: 9\r\n\r\nService Unavailable\n"
        );
        assert_eq!(write_error(&mut buf[..40], &config, Status::NotFound), Err(TooSmall));
    }
}
