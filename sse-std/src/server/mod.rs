//! The HTTP layer: an event-stream endpoint serving a [`Hub`], on hyper 1,
//! with a fast path for connections that open with a stream request.
//!
//! Invariant: no request is parsed by hand (httparse for the first head of
//! a connection, hyper for the rest) and every response head comes from
//! hyper or sse-wire. Every peer is bounded: the number of connections
//! (`max_connections`: 503, then closed), a request head by size (431) and
//! time (dropped: slowloris), a body by size (413) and time (408), a
//! response by progress (`stall_timeout`: closed), a vanished peer by TCP
//! keep-alive and `TCP_USER_TIMEOUT`, and the number of open streams by
//! the hub's `max_clients` (503 with `Retry-After`). Every such close and
//! every error status is counted ([`ServerStats`]). During shutdown, open
//! streams end cleanly and new stream requests get 204, so browsers stop
//! reconnecting.
//!
//! Modules: `config` (settings), `head` (the first request head), `stream`
//! (what a stream request asks for: topics, token, `Last-Event-ID`), `direct`
//! (the fast path), `conn` (the connection as hyper sees it, socket
//! options), `respond` (bodies and the server's own answers), `stats`,
//! `metrics` (the Prometheus exposition).

mod config;
mod conn;
mod cors;
mod direct;
#[cfg(feature = "tls")]
mod h2;
mod head;
mod host;
#[cfg(feature = "metrics")]
mod metrics;
pub(crate) mod respond;
mod stats;
pub(crate) mod stream;
#[cfg(feature = "tls")]
mod tls;
mod walker;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

pub use config::{KeepaliveProbes, ServerConfig, default_max_clients, default_max_connections};
pub use cors::Cors;
pub(crate) use host::count_problem as host_count_problem;
pub use host::request_host;
pub use respond::{Body, Handler, HandlerFuture, full, read_body, text_response};
pub use stats::{ServerMonitor, ServerStats};
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};

use crate::hub::Hub;
use conn::Conn;
use head::{HeadReader, Verdict};
use host::HostCheck;
use respond::Answer;
use stats::Counters;
use stream::StreamRequest;
use walker::Walkers;

struct Shared {
    hub: Hub,
    config: ServerConfig,
    handler: Option<Handler>,
    counters: Arc<Counters>,
    /// Set by `run` from the listener's address.
    hosts: HostCheck,
}

/// An HTTP/1.1 server for a [`Hub`]: `GET` on the events path streams the
/// hub (honouring `Last-Event-ID`, `?topic=` selectors and a subscriber
/// token; see [`stream_subscription`](crate::stream_subscription)); the metrics path, if configured,
/// serves the counters; other paths go to the [`Handler`], if any, or get
/// 404.
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
        let hosts = HostCheck::new(None, &config.allowed_hosts);
        Self { shared: Shared { hub, config, handler: None, counters: Arc::default(), hosts } }
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

    /// A handle that reads this server's counters while it runs.
    ///
    /// ```
    /// let server = sse_std::Server::new(sse_std::Hub::new(Default::default()), Default::default());
    /// let monitor = server.monitor();
    /// assert_eq!(monitor.stats().open_connections, 0);
    /// ```
    #[must_use]
    pub fn monitor(&self) -> ServerMonitor {
        ServerMonitor { counters: Arc::clone(&self.shared.counters) }
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
        let mut shared = self.shared;
        let local = listener.local_addr().ok().map(|addr| addr.ip());
        shared.hosts = HostCheck::new(local, &shared.config.allowed_hosts);
        let shared = Arc::new(shared);
        let graceful = GracefulShutdown::new();
        // Every connection task holds a sender: all have ended when `recv`
        // returns `None`.
        let (open, mut all_closed) = mpsc::channel::<()>(1);
        let grace = shared.config.shutdown_grace;
        let busy = Answer::busy(&shared.config, "too many connections")
            .with(shared.config.cors.headers(None))
            .to_bytes();
        // Streams that keep up are written by walkers, one per runtime
        // worker (see `walker.rs`); with a write interval each stream
        // keeps its own task, which times its writes.
        let walkers = shared
            .config
            .write_interval
            .is_none()
            .then(|| Arc::new(Walkers::start(tokio::runtime::Handle::current().metrics().num_workers())));
        let mut shutdown = pin!(shutdown);
        let mut shutting_down = false;
        let grace_timer = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
        let mut grace_timer = pin!(grace_timer);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tracing::trace!(%peer, "connection");
                        match shared.counters.open(shared.config.max_connections) {
                            Some(counted) => serve(&shared, stream, counted, &graceful, &open, walkers.as_ref()),
                            // No task and no buffer: one non-blocking write.
                            None => {
                                tracing::debug!(%peer, "connection refused at max_connections");
                                let _ = stream.try_write(&busy);
                            }
                        }
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
/// (see `direct.rs`, written by `walkers` while it keeps up), anything
/// else valid with hyper, watched by `graceful`. `open` is held while the
/// connection lives.
fn serve(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    counted: stats::OpenConnection,
    graceful: &GracefulShutdown,
    open: &mpsc::Sender<()>,
    walkers: Option<&Arc<Walkers>>,
) {
    let shared = Arc::clone(shared);
    let watcher = graceful.watcher();
    let open = open.clone();
    let walkers = walkers.cloned();
    tokio::spawn(async move {
        let _open = (open, counted);
        let config = &shared.config;
        conn::tune(&stream, config);
        // Notified when the hub disconnects this connection's subscriber for
        // being too slow: the connection is then dropped even if it is
        // blocked writing to a client that stopped reading.
        let too_slow = Arc::new(Notify::new());
        // The TLS and hyper paths are boxed: a task is as large as its
        // largest state, and an event stream on the fast path (most
        // connections) should not carry theirs.
        #[cfg(feature = "tls")]
        if let Some(tls) = config.tls.clone() {
            Box::pin(with_tls(shared, stream, tls, watcher, too_slow)).await;
            return;
        }
        let mut head = HeadReader::new(config.max_head_bytes);
        let first =
            tokio::time::timeout(config.header_timeout, read_first_head(&stream, &mut head, &shared)).await;
        match first {
            // Slowloris: the head never completed.
            Err(_) => {
                shared.counters.head_timeout();
                tracing::debug!("request head too slow; connection dropped");
            }
            Ok(None) => {}
            Ok(Some(Verdict::Stream(request))) => {
                drop(head);
                let (hub, counters) = (&shared.hub, &shared.counters);
                direct::serve(stream, hub, config, counters, &request, too_slow, walkers.as_deref()).await;
            }
            Ok(Some(Verdict::Refuse(status, reason))) => {
                tracing::debug!(%status, reason, "request refused");
                shared.counters.status(status.as_u16());
                let answer = Answer::text(status, reason).with(config.cors.headers(None)).to_bytes();
                conn::answer_and_close(&mut stream, &answer, config.header_timeout).await;
            }
            Ok(Some(Verdict::Other)) => {
                let conn =
                    Conn::new(head.into_bytes(), stream, config.stall_timeout, Arc::clone(&shared.counters));
                Box::pin(with_hyper(shared, conn, watcher, too_slow)).await;
            }
        }
    });
}

/// The fuzz targets' view of [`HeadReader`].
pub(crate) fn fuzz_first_head(pieces: &[&[u8]], max: usize) -> crate::fuzzing::FirstHead {
    use crate::fuzzing::FirstHead;
    let mut head = HeadReader::new(max);
    let hosts = HostCheck::new(None, &[]);
    match pieces.iter().find_map(|piece| head.feed(piece, "/events", &hosts)) {
        None => FirstHead::Undecided,
        Some(Verdict::Stream(request)) => FirstHead::Stream(request.last_event_id),
        Some(Verdict::Other) => FirstHead::Other,
        Some(Verdict::Refuse(status, _)) => FirstHead::Refused(status.as_u16()),
    }
}

/// Reads until the first request head can be judged; `None` if the client
/// closes first.
async fn read_first_head(stream: &TcpStream, head: &mut HeadReader, shared: &Shared) -> Option<Verdict> {
    loop {
        stream.readable().await.ok()?;
        match stream.try_read(head.spare()) {
            Ok(0) => return None,
            Ok(n) => {
                if let Some(verdict) = head.advance(n, &shared.config.events_path, &shared.hosts) {
                    return Some(verdict);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
}

/// The service hyper calls for each request of a connection.
fn service(
    shared: &Arc<Shared>,
    too_slow: &Arc<Notify>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
> + Clone
+ Send
+ 'static {
    let (shared, signal) = (Arc::clone(shared), Arc::clone(too_slow));
    service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let signal = Arc::clone(&signal);
        async move { Ok::<_, Infallible>(shared.respond(req, signal).await) }
    })
}

/// Counts how a hyper connection ended, or that the hub closed it.
async fn finish<F>(shared: &Shared, connection: F, too_slow: Arc<Notify>)
where
    F: Future<Output = Result<(), hyper::Error>>,
{
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
                // hyper answered these itself (or dropped the connection).
                if e.is_parse_too_large() {
                    shared.counters.status(431);
                } else if e.is_parse() {
                    shared.counters.status(400);
                } else if e.is_timeout() {
                    shared.counters.head_timeout();
                }
            }
        }
        () = too_slow.notified() => tracing::debug!("closed a connection too slow to keep up"),
    }
}

/// Serves the rest of a connection with hyper's HTTP/1.1.
async fn with_hyper<S>(shared: Arc<Shared>, conn: Conn<S>, watcher: Watcher, too_slow: Arc<Notify>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = &shared.config;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(config.max_head_bytes.max(8192));
    let connection = watcher.watch(builder.serve_connection(TokioIo::new(conn), service(&shared, &too_slow)));
    finish(&shared, connection, too_slow).await;
}

/// Bytes hyper buffers per HTTP/2 stream before it waits for the client:
/// small, so that thousands of open streams stay cheap (the hub's queue
/// holds what waits).
#[cfg(feature = "tls")]
const H2_SEND_BUFFER: usize = 64 * 1024;

/// A TLS connection: the handshake within the head deadline, then HTTP/2
/// or HTTP/1.1 as ALPN chose.
#[cfg(feature = "tls")]
async fn with_tls(
    shared: Arc<Shared>,
    stream: TcpStream,
    tls: TlsConfig,
    watcher: Watcher,
    too_slow: Arc<Notify>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.rustls());
    let tls_stream = match tokio::time::timeout(shared.config.header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls_stream)) => tls_stream,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            shared.counters.head_timeout();
            return;
        }
    };
    let h2 = tls_stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let conn = Conn::new(Vec::new(), tls_stream, shared.config.stall_timeout, Arc::clone(&shared.counters));
    if !h2 {
        return with_hyper(shared, conn, watcher, too_slow).await;
    }
    let config = &shared.config;
    let executor = h2::StreamExecutor::new();
    let mut builder = hyper::server::conn::http2::Builder::new(executor.clone());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.h2_max_streams)
        .max_pending_accept_reset_streams(h2::MAX_PENDING_RESETS)
        .max_local_error_reset_streams(h2::MAX_LOCAL_RESETS)
        .max_send_buf_size(H2_SEND_BUFFER)
        .max_header_list_size(u32::try_from(config.max_head_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let connection = watcher.watch(builder.serve_connection(TokioIo::new(conn), service(&shared, &too_slow)));
    // Each stream's own stall ends that stream; the connection's socket
    // stall (in `Conn`) ends the connection.
    let sweep = executor.sweep_stalls(config.stall_timeout, &shared.counters);
    tokio::select! {
        () = finish(&shared, connection, too_slow) => {}
        () = sweep => {}
    }
}

impl Shared {
    async fn respond(&self, req: Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = self.route(req, too_slow).await;
        self.counters.status(response.status().as_u16());
        self.config.cors.apply(origin.as_ref().map(HeaderValue::as_bytes), response.headers_mut());
        response
    }

    async fn route(&self, req: Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let hosts = req.headers().get_all(header::HOST).iter().count();
        if let Some(reason) = host::count_problem(hosts, req.version() == http::Version::HTTP_11) {
            return text_response(StatusCode::BAD_REQUEST, reason);
        }
        if !self.hosts.accepts(request_host(&req)) {
            return text_response(StatusCode::MISDIRECTED_REQUEST, head::MISDIRECTED);
        }
        if let Some(preflight) = self.config.cors.preflight(req.method(), req.headers()) {
            return preflight.map(|()| full(bytes::Bytes::new()));
        }
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
        #[cfg(feature = "metrics")]
        if self.config.metrics_path.as_deref() == Some(req.uri().path()) {
            return metrics::respond(&req, &self.hub, &self.counters);
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
        let request = StreamRequest::from_parts(req.uri(), req.headers());
        let verifier = self.config.subscribe_verifier.as_deref();
        match request.subscribe(&self.hub, verifier, self.config.retry_after_secs()) {
            Ok(mut subscriber) => {
                // An HTTP/2 stream is ended on its own, never its connection.
                #[cfg(feature = "tls")]
                if let Some(control) = h2::StreamControl::current() {
                    subscriber.set_disconnect_signal(control.stop_signal());
                    return crate::web::stream_response(h2::Watched { inner: subscriber, control });
                }
                subscriber.set_disconnect_signal(too_slow);
                crate::web::stream_response(subscriber)
            }
            Err(answer) => answer.into_response(),
        }
    }
}
