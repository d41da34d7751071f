//! The protocol builders: hyper's HTTP/1.1 for every request that is not
//! a first stream request, TLS with HTTP/2 (`h2.rs`) or HTTP/1.1 by ALPN,
//! and how a hyper connection's end is counted.

#[cfg(feature = "tls")]
use std::time::Duration;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
#[cfg(feature = "tls")]
use tokio::net::TcpStream;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::sync::Notify;

use super::Shared;
#[cfg(feature = "tls")]
use super::TlsConfig;
use super::conn::Conn;
#[cfg(feature = "tls")]
use super::h2;
use crate::exchange::Body;

/// The service hyper calls for each request of a connection.
pub(super) fn service(
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
pub(super) async fn finish<F>(shared: &Shared, connection: F, too_slow: Arc<Notify>)
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
pub(super) async fn with_hyper<S>(shared: Arc<Shared>, conn: Conn<S>, watcher: Watcher, too_slow: Arc<Notify>)
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
pub(super) async fn with_tls(
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
