//! Responses: the body type, the helpers handlers use, and [`Answer`], the
//! one writer of the server's own short answers (a refusal with 4xx, 503
//! with `Retry-After`, 204 during shutdown) for both transports.
//!
//! Invariant: an answer is described once and rendered either as a hyper
//! `Response` or as bytes whose head comes from sse-wire, with the same
//! status, headers (CORS included) and body. A stream refused for
//! capacity is answered so that an `EventSource` comes back by itself:
//! 200 with a jittered `retry:` and nothing else, then the end of the
//! response (a browser treats any other status as fatal); a client that
//! does not ask for `text/event-stream` gets 503 with `Retry-After`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, Limited, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;

use crate::hub::SubscribeError;

/// The response body type of the server and its handlers.
///
/// ```
/// let body: sse_std::Body = sse_std::full(bytes::Bytes::from_static(b"ok"));
/// ```
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// What a [`Handler`] returns.
///
/// ```
/// let future: sse_std::HandlerFuture =
///     Box::pin(async { sse_std::text_response(http::StatusCode::OK, "ok") });
/// ```
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Serves the requests that are not for the event stream (for example a
/// publish endpoint or a dashboard page). Its body has already passed the
/// `Content-Length` check; read it with [`read_body`].
///
/// ```
/// use std::sync::Arc;
/// let handler: sse_std::Handler = Arc::new(|req| {
///     let path = req.uri().path().to_owned();
///     Box::pin(async move { sse_std::text_response(http::StatusCode::OK, &path) })
/// });
/// ```
pub type Handler = Arc<dyn Fn(Request<Incoming>) -> HandlerFuture + Send + Sync>;

/// A response with a short plain-text body.
///
/// ```
/// let r = sse_std::text_response(http::StatusCode::NOT_FOUND, "no such page");
/// assert_eq!(r.status(), 404);
/// ```
#[must_use]
pub fn text_response(status: StatusCode, message: &str) -> Response<Body> {
    Answer::text(status, message).into_response()
}

/// A body with these bytes.
///
/// ```
/// let body = sse_std::full(bytes::Bytes::from_static(b"hi"));
/// ```
#[must_use]
pub fn full(bytes: Bytes) -> Body {
    UnsyncBoxBody::new(Full::new(bytes))
}

/// Reads a whole request body, at most `max` bytes within `timeout`.
///
/// # Errors
/// A ready response: 413 if the body is larger than `max`, 408 if it does
/// not arrive in time, 400 if the connection fails while reading it (a
/// bad chunk size, or a body shorter than its `Content-Length`).
///
/// ```no_run
/// # async fn handler(req: http::Request<hyper::body::Incoming>) -> http::Response<sse_std::Body> {
/// use std::time::Duration;
/// let body = match sse_std::read_body(req.into_body(), 1024, Duration::from_secs(5)).await {
///     Ok(body) => body,
///     Err(response) => return response,
/// };
/// sse_std::text_response(http::StatusCode::OK, &format!("{} bytes", body.len()))
/// # }
/// ```
pub async fn read_body(body: Incoming, max: usize, timeout: Duration) -> Result<Bytes, Response<Body>> {
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Err(_) => Err(text_response(StatusCode::REQUEST_TIMEOUT, "request body too slow")),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(text_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"))
        }
        Ok(Err(_)) => Err(text_response(StatusCode::BAD_REQUEST, "request body could not be read")),
    }
}

/// One of the server's own short answers.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Answer {
    /// `status` with a one-line plain-text body.
    pub(crate) fn text(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8".to_owned())],
            body: Bytes::from(format!("{message}\n")),
        }
    }

    /// A refused stream request: 204 during shutdown (an EventSource stops
    /// reconnecting); when every slot is taken, for a client that accepts
    /// `text/event-stream`, 200 with only `retry:` (about
    /// `retry_after_secs`, jittered so that refused clients do not all
    /// come back at once) so that it reconnects, and 503 with
    /// `Retry-After: retry_after_secs` for any other client.
    pub(crate) fn refused_after(error: SubscribeError, retry_after_secs: u64, event_stream: bool) -> Self {
        match error {
            SubscribeError::ShutDown => Self {
                status: StatusCode::NO_CONTENT,
                headers: vec![("cache-control", "no-cache".to_owned())],
                body: Bytes::new(),
            },
            SubscribeError::TooManyClients if event_stream => Self::come_back(retry_after_secs),
            SubscribeError::TooManyClients => Self::busy_after(retry_after_secs, &error.to_string()),
        }
    }

    /// 200, an event stream of one comment and `retry:` between half and
    /// one and a half times `retry_after_secs`: the client's reconnection
    /// delay, whatever it was, becomes that, and its `Last-Event-ID` stays
    /// as it was (no `id:` is sent).
    fn come_back(retry_after_secs: u64) -> Self {
        use std::hash::{BuildHasher as _, Hasher as _};
        let base = retry_after_secs.max(1).saturating_mul(1000);
        // A different random key per call: jitter without a generator.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let retry = (base / 2).saturating_add(random.checked_rem(base).unwrap_or(0));
        let headers = sse_wire::STREAM_HEADERS.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        let body = format!(": every stream slot is taken; come back\nretry: {retry}\n\n");
        Self { status: StatusCode::OK, headers, body: Bytes::from(body) }
    }

    /// The same answer with `extra` headers (CORS, for example).
    pub(crate) fn with(mut self, extra: Vec<(&'static str, String)>) -> Self {
        self.headers.extend(extra);
        self
    }

    /// 401 with the `WWW-Authenticate` challenge of `error`.
    pub(crate) fn unauthorized(error: &crate::auth::AuthError) -> Self {
        let mut answer = Self::text(StatusCode::UNAUTHORIZED, &error.to_string());
        answer.headers.push(("www-authenticate", error.challenge()));
        answer
    }

    /// 503 with `Retry-After: retry_after_secs` (at least 1).
    pub(crate) fn busy_after(retry_after_secs: u64, message: &str) -> Self {
        let mut answer = Self::text(StatusCode::SERVICE_UNAVAILABLE, message);
        answer.headers.push(("retry-after", retry_after_secs.max(1).to_string()));
        answer
    }

    /// As a hyper response.
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = Response::new(full(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
            {
                headers.insert(name, value);
            }
        }
        response
    }

    /// As the bytes of a whole response that closes the connection, its
    /// head from sse-wire.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let reason = self.status.canonical_reason().unwrap_or("");
        let length = self.body.len().to_string();
        let mut headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        if self.status != StatusCode::NO_CONTENT {
            headers.push(("content-length", &length));
        }
        headers.push(("connection", "close"));
        let head = sse_wire::ResponseHead::status(self.status.as_u16(), reason);
        let mut bytes = head_bytes(head, &headers);
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The bytes of `head` with `headers` (empty if a header is not valid,
/// which the server's own headers always are); the one place the fast
/// path encodes a response head.
pub(crate) fn head_bytes(head: sse_wire::ResponseHead<'_>, headers: &[(&str, &str)]) -> Vec<u8> {
    let head = head.with_headers(headers);
    let Ok(len) = head.encoded_len() else { return Vec::new() };
    let mut bytes = vec![0u8; len];
    match head.encode(&mut bytes) {
        Ok(n) => {
            bytes.truncate(n);
            bytes
        }
        Err(_) => Vec::new(),
    }
}

/// 200 with the stream headers and `frames` as the body.
pub(crate) fn stream_response(frames: impl Stream<Item = Bytes> + Send + 'static) -> Response<Body> {
    let body = StreamBody::new(Framed(Box::pin(frames)));
    let mut response = Response::new(UnsyncBoxBody::new(body));
    for (name, value) in sse_wire::STREAM_HEADERS {
        response.headers_mut().insert(*name, HeaderValue::from_static(value));
    }
    response
}

/// Frames as body frames.
struct Framed<S>(Pin<Box<S>>);

impl<S: Stream<Item = Bytes>> Stream for Framed<S> {
    type Item = Result<Frame<Bytes>, std::convert::Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.as_mut().poll_next(cx).map(|frame| frame.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_say_the_same() {
        let cors = crate::Cors::allow(["https://app.example"]).headers(Some(b"https://app.example"));
        let answer = Answer::refused_after(SubscribeError::TooManyClients, 5, false).with(cors);
        let bytes = String::from_utf8(answer.to_bytes()).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{bytes}");
        for line in [
            "retry-after: 5\r\n",
            "content-length: 17\r\n",
            "connection: close\r\n",
            "access-control-allow-origin: https://app.example\r\n",
            "access-control-allow-credentials: true\r\n",
            "vary: origin\r\n",
        ] {
            assert!(bytes.to_ascii_lowercase().contains(line), "{line} in {bytes}");
        }
        assert!(bytes.ends_with("\r\n\r\ntoo many clients\n"), "{bytes}");
        let response = answer.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example");

        let gone = Answer::refused_after(SubscribeError::ShutDown, 5, true);
        let bytes = String::from_utf8(gone.to_bytes()).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 204 No Content\r\n") && !bytes.contains("content-length"));
    }

    /// An EventSource refused for capacity gets a stream that tells it
    /// when to come back (a browser gives up on any other status), each
    /// refused client a different time around `Retry-After`.
    #[test]
    fn a_full_hub_tells_event_streams_when_to_come_back() {
        let mut retries = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let answer = Answer::refused_after(SubscribeError::TooManyClients, 4, true);
            let bytes = String::from_utf8(answer.to_bytes()).unwrap();
            assert!(bytes.starts_with("HTTP/1.1 200 OK\r\n"), "{bytes}");
            assert!(bytes.to_ascii_lowercase().contains("content-type: text/event-stream\r\n"), "{bytes}");
            assert!(bytes.contains("connection: close\r\n"), "{bytes}");
            let retry: u64 = bytes.split("retry: ").nth(1).unwrap().trim_end().parse().unwrap();
            assert!((2000..6000).contains(&retry), "{retry}");
            assert!(!bytes.contains("\nid:") && !bytes.contains("\ndata:"), "{bytes}");
            retries.insert(retry);
        }
        assert!(retries.len() > 10, "jittered: {retries:?}");
    }
}
