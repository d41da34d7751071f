//! Responses: the body type, the helpers handlers use, and [`Answer`], the
//! one writer of the server's own short answers (a refusal with 4xx, 503
//! with `Retry-After`, 204 during shutdown) for both transports.
//!
//! Invariant: an answer is described once and rendered either as a hyper
//! `Response` or as bytes whose head comes from sse-core, with the same
//! status, headers (the configured CORS origin included) and body.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;

use super::config::ServerConfig;
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
    Answer::text(status, message).into_response(None)
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
    /// reconnecting), 503 with `Retry-After` when every slot is taken.
    /// `Retry-After: retry_after_secs` goes with the 503.
    pub(crate) fn refused_after(error: SubscribeError, retry_after_secs: u64) -> Self {
        match error {
            SubscribeError::ShutDown => Self {
                status: StatusCode::NO_CONTENT,
                headers: vec![("cache-control", "no-cache".to_owned())],
                body: Bytes::new(),
            },
            SubscribeError::TooManyClients => Self::busy_after(retry_after_secs, &error.to_string()),
        }
    }

    /// 401 with the `WWW-Authenticate` challenge of `error`.
    pub(crate) fn unauthorized(error: &crate::auth::AuthError) -> Self {
        let mut answer = Self::text(StatusCode::UNAUTHORIZED, &error.to_string());
        answer.headers.push(("www-authenticate", error.challenge()));
        answer
    }

    /// 503 with `Retry-After`.
    pub(crate) fn busy(config: &ServerConfig, message: &str) -> Self {
        Self::busy_after(config.retry_after_secs(), message)
    }

    /// 503 with `Retry-After: retry_after_secs` (at least 1).
    pub(crate) fn busy_after(retry_after_secs: u64, message: &str) -> Self {
        let mut answer = Self::text(StatusCode::SERVICE_UNAVAILABLE, message);
        answer.headers.push(("retry-after", retry_after_secs.max(1).to_string()));
        answer
    }

    /// As a hyper response, with `cors_origin` if it is a valid value.
    pub(crate) fn into_response(self, cors_origin: Option<&str>) -> Response<Body> {
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
        if let Some(origin) = cors_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        response
    }

    /// As the bytes of a whole response that closes the connection, its
    /// head from sse-core (the CORS origin left out if it is not a valid
    /// header value).
    pub(crate) fn to_bytes(&self, cors_origin: Option<&str>) -> Vec<u8> {
        let reason = self.status.canonical_reason().unwrap_or("");
        let length = self.body.len().to_string();
        let mut headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        if self.status != StatusCode::NO_CONTENT {
            headers.push(("content-length", &length));
        }
        headers.push(("connection", "close"));
        let head = sse_core::ResponseHead::status(self.status.as_u16(), reason);
        let mut bytes = head_bytes(head, &headers, cors_origin);
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The bytes of `head` with `headers` and the CORS origin, which is left
/// out if it is not a valid header value; the one place the fast path
/// encodes a response head.
pub(crate) fn head_bytes(
    head: sse_core::ResponseHead<'_>,
    headers: &[(&str, &str)],
    cors_origin: Option<&str>,
) -> Vec<u8> {
    let encode = |headers: &[(&str, &str)]| {
        let head = head.with_headers(headers);
        let mut bytes = vec![0u8; head.encoded_len().ok()?];
        let n = head.encode(&mut bytes).ok()?;
        bytes.truncate(n);
        Some(bytes)
    };
    let with_cors = cors_origin.and_then(|origin| {
        let mut with_cors = headers.to_vec();
        with_cors.push(("Access-Control-Allow-Origin", origin));
        encode(&with_cors)
    });
    with_cors.or_else(|| encode(headers)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_say_the_same() {
        let config = ServerConfig { cors_origin: Some("https://app.example".into()), ..Default::default() };
        let answer = Answer::refused_after(SubscribeError::TooManyClients, config.retry_after_secs());
        let bytes = String::from_utf8(answer.to_bytes(config.cors_origin.as_deref())).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{bytes}");
        for line in [
            "retry-after: 5\r\n",
            "content-length: 17\r\n",
            "connection: close\r\n",
            "access-control-allow-origin: https://app.example\r\n",
        ] {
            assert!(bytes.to_ascii_lowercase().contains(line), "{line} in {bytes}");
        }
        assert!(bytes.ends_with("\r\n\r\ntoo many clients\n"), "{bytes}");
        let response = answer.into_response(config.cors_origin.as_deref());
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example");

        let gone = Answer::refused_after(SubscribeError::ShutDown, config.retry_after_secs());
        let bytes = String::from_utf8(gone.to_bytes(Some("bad\r\nvalue"))).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 204 No Content\r\n") && !bytes.contains("content-length"));
        assert!(!bytes.contains("bad"), "an invalid origin is left out: {bytes}");
    }
}
