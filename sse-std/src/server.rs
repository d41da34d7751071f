//! The HTTP layer: an event-stream endpoint serving a [`Hub`], on hyper 1,
//! with a fast path for connections that open with a stream request
//! (`direct.rs`).
//!
//! Invariant: no request is parsed by hand (hyper, or httparse on the fast
//! path) and every response head comes from hyper or sse-core. Every
//! request is bounded: its head
//! by size (431, from hyper) and time (the connection is dropped:
//! slowloris), its body by size (413) and time (408), and the number of
//! open streams by the hub's `max_clients` (503 with `Retry-After`). During
//! shutdown, open streams end cleanly and new stream requests get 204, so
//! browsers stop reconnecting.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

use crate::direct::{self, First, Rewound};
use crate::hub::{Hub, SubscribeError, Subscriber};

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

/// Settings of a [`Server`].
///
/// ```
/// let config = sse_std::ServerConfig { events_path: "/stream".into(), ..Default::default() };
/// assert_eq!(config.max_body_bytes, 1 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Path of the event stream (default `/events`).
    pub events_path: String,
    /// Largest request head accepted; larger gets 431 (default 16 KiB;
    /// hyper's minimum, 8 KiB, applies below that).
    pub max_head_bytes: usize,
    /// Largest request body accepted; larger gets 413 (default 1 MiB).
    pub max_body_bytes: usize,
    /// Time allowed to send a request head; a slower client is dropped
    /// (default 10 s).
    pub header_timeout: Duration,
    /// Time allowed to send a request body; slower gets 408 (default 10 s).
    pub body_timeout: Duration,
    /// `Retry-After` sent with 503 when every stream slot is taken
    /// (default 5 s).
    pub retry_after: Duration,
    /// `Access-Control-Allow-Origin` for every response (default none).
    pub cors_origin: Option<String>,
    /// How long after shutdown starts new stream requests are still
    /// answered (with 204) and open connections may finish (default 2 s).
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    /// `Retry-After` in whole seconds, at least 1, for both paths' 503.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs().max(1)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            events_path: "/events".to_owned(),
            max_head_bytes: 16 * 1024,
            max_body_bytes: 1 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            retry_after: Duration::from_secs(5),
            cors_origin: None,
            shutdown_grace: Duration::from_secs(2),
        }
    }
}

/// A response with a short plain-text body.
///
/// ```
/// let r = sse_std::text_response(http::StatusCode::NOT_FOUND, "no such page");
/// assert_eq!(r.status(), 404);
/// ```
#[must_use]
pub fn text_response(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(format!("{message}\n"))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
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
/// not arrive in time, 400 if the connection fails while reading it.
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

/// A hub subscriber as a stream of body frames.
struct Frames(Subscriber);

impl futures_core::Stream for Frames {
    type Item = Result<Frame<Bytes>, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().0).poll_next(cx).map(|frame| frame.map(|b| Ok(Frame::data(b))))
    }
}

struct Shared {
    hub: Hub,
    config: ServerConfig,
    handler: Option<Handler>,
}

/// An HTTP/1.1 server for a [`Hub`]: `GET` on the events path streams the
/// hub (honouring `Last-Event-ID`); other paths go to the [`Handler`], if
/// any, or get 404.
///
/// A connection that opens with the stream request (as an `EventSource`'s
/// does) is served without hyper: the body is the frames themselves until
/// the connection ends (no chunk framing), written a batch at a time, and
/// the connection costs no HTTP read buffer. Any other first request, and
/// every later request on that connection, goes through hyper.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let hub = sse_std::Hub::new(Default::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let server = sse_std::Server::new(hub.clone(), Default::default());
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// // Call `stop.send(())` to shut down gracefully.
/// server.run(listener, async { let _ = stopped.await; }).await
/// # }
/// ```
pub struct Server {
    shared: Shared,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl Server {
    /// A server for `hub`.
    ///
    /// ```
    /// let server = sse_std::Server::new(sse_std::Hub::new(Default::default()), Default::default());
    /// ```
    #[must_use]
    pub fn new(hub: Hub, config: ServerConfig) -> Self {
        Self { shared: Shared { hub, config, handler: None } }
    }

    /// Serves every other path with `handler`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let server = sse_std::Server::new(sse_std::Hub::new(Default::default()), Default::default())
    ///     .with_handler(Arc::new(|_req| {
    ///         Box::pin(async { sse_std::text_response(http::StatusCode::OK, "hello") })
    ///     }));
    /// ```
    #[must_use]
    pub fn with_handler(mut self, handler: Handler) -> Self {
        self.shared.handler = Some(handler);
        self
    }

    /// Accepts connections until `shutdown` completes, then shuts the hub
    /// down (open streams end; new stream requests get 204) and, after
    /// the grace period, stops accepting and waits up to the grace period
    /// again for connections to close.
    ///
    /// # Errors
    /// Never for accept failures (they are logged and retried); the
    /// `io::Result` is for future listener errors that cannot be retried.
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// let hub = sse_std::Hub::new(Default::default());
    /// sse_std::Server::new(hub, Default::default()).run(listener, std::future::pending()).await
    /// # }
    /// ```
    pub async fn run(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let shared = Arc::new(self.shared);
        let graceful = GracefulShutdown::new();
        // Every connection task holds a sender: all have ended when `recv`
        // returns `None`.
        let (open, mut all_closed) = mpsc::channel::<()>(1);
        let grace = shared.config.shutdown_grace;
        let mut shutdown = pin!(shutdown);
        let mut shutting_down = false;
        let grace_timer = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
        let mut grace_timer = pin!(grace_timer);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tracing::trace!(%peer, "connection");
                        let _ = stream.set_nodelay(true);
                        serve(&shared, stream, &graceful, &open);
                    }
                    Err(e) => {
                        // Out of file descriptors, for example: back off.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut shutdown, if !shutting_down => {
                    tracing::info!("shutting down");
                    shutting_down = true;
                    shared.hub.shutdown();
                    grace_timer.as_mut().reset(crate::hub::deadline(grace));
                }
                () = &mut grace_timer, if shutting_down => break,
            }
        }
        drop(listener);
        drop(open);
        let closed = async {
            graceful.shutdown().await;
            while all_closed.recv().await.is_some() {}
        };
        if tokio::time::timeout(grace, closed).await.is_err() {
            tracing::warn!("connections still open after the grace period");
        }
        Ok(())
    }
}

/// Serves one connection: a first request for the event stream directly
/// (see `direct.rs`), anything else with hyper, watched by `graceful`.
/// `open` is held while the connection lives.
fn serve(shared: &Arc<Shared>, stream: TcpStream, graceful: &GracefulShutdown, open: &mpsc::Sender<()>) {
    let shared = Arc::clone(shared);
    let watcher = graceful.watcher();
    let open = open.clone();
    tokio::spawn(async move {
        let _open = open;
        let config = &shared.config;
        let mut head = Vec::new();
        let first =
            tokio::time::timeout(config.header_timeout, read_first_head(&stream, &mut head, config)).await;
        // Notified when the hub disconnects this connection's subscriber for
        // being too slow: the connection is then dropped even if it is
        // blocked writing to a client that stopped reading.
        let too_slow = Arc::new(Notify::new());
        match first {
            // Slowloris: the head never completed.
            Err(_) => tracing::debug!("request head too slow; connection dropped"),
            Ok(None) => {}
            Ok(Some(First::Stream { last_event_id })) => {
                drop(head);
                direct::serve(stream, &shared.hub, config, last_event_id.as_deref(), too_slow).await;
            }
            Ok(Some(_)) => with_hyper(shared, Rewound::new(head, stream), watcher, too_slow).await,
        }
    });
}

/// Reads until the first request head can be classified; `None` if the
/// client closes first. Past `max_head_bytes` it is hyper's (431).
async fn read_first_head(stream: &TcpStream, head: &mut Vec<u8>, config: &ServerConfig) -> Option<First> {
    loop {
        match direct::classify(head, &config.events_path) {
            First::Partial if head.len() < config.max_head_bytes => {}
            First::Partial => return Some(First::Other),
            decided => return Some(decided),
        }
        stream.readable().await.ok()?;
        let start = head.len();
        // Below `max_head_bytes` here, so the read has room for a byte.
        head.resize(start.saturating_add(1024).min(config.max_head_bytes), 0);
        match stream.try_read(head.get_mut(start..).unwrap_or_default()) {
            Ok(0) => return None,
            Ok(n) => head.truncate(start.saturating_add(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => head.truncate(start),
            Err(_) => return None,
        }
    }
}

/// Serves the rest of a connection with hyper.
async fn with_hyper(shared: Arc<Shared>, stream: Rewound, watcher: Watcher, too_slow: Arc<Notify>) {
    let config = &shared.config;
    let signal = Arc::clone(&too_slow);
    let handler = Arc::clone(&shared);
    let service = service_fn(move |req| {
        let shared = Arc::clone(&handler);
        let signal = Arc::clone(&signal);
        async move { Ok::<_, Infallible>(shared.respond(req, signal).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(config.max_head_bytes.max(8192));
    let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = too_slow.notified() => tracing::debug!("closed a connection too slow to keep up"),
    }
}

impl Shared {
    async fn respond(&self, req: Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let mut response = self.route(req, too_slow).await;
        if let Some(origin) = self.config.cors_origin.as_deref().and_then(|o| HeaderValue::from_str(o).ok()) {
            response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        response
    }

    async fn route(&self, req: Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let max = u64::try_from(self.config.max_body_bytes).unwrap_or(u64::MAX);
        if declared.is_some_and(|len| len > max) {
            return text_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        if req.uri().path() == self.config.events_path {
            return self.events(&req, too_slow);
        }
        match &self.handler {
            Some(handler) => handler(req).await,
            None => text_response(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn events(&self, req: &Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        if req.method() != Method::GET {
            let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
            return response;
        }
        // The WHATWG client sends `Last-Event-ID` only when not empty.
        let last_event_id = req
            .headers()
            .get("last-event-id")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .filter(|id| !id.is_empty());
        match self.hub.subscribe(last_event_id.as_deref()) {
            Ok(mut subscriber) => {
                subscriber.set_disconnect_signal(too_slow);
                let mut response = Response::new(UnsyncBoxBody::new(StreamBody::new(Frames(subscriber))));
                for (name, value) in sse_core::STREAM_HEADERS {
                    response.headers_mut().insert(*name, HeaderValue::from_static(value));
                }
                response
            }
            Err(SubscribeError::ShutDown) => {
                let mut response = Response::new(full(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
            Err(e @ SubscribeError::TooManyClients) => {
                let mut response = text_response(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
                let secs = self.config.retry_after_secs();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                response
            }
        }
    }
}
