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
//! the hub's `max_clients` (an `EventSource` is told when to come back).
//! Every such close and every error status is counted ([`ServerStats`]).
//! During shutdown, open streams end cleanly and new stream requests get
//! 204, so browsers stop reconnecting.
//!
//! Modules: `config` (settings), `accept` (the accept loop), `dispatch`
//! (one connection: TLS, fast path, refusal or hyper), `head` (the first
//! request head), `direct` (the fast path) and `walker` (the tasks that
//! write streams that keep up), `protocols` (hyper's HTTP/1.1, TLS with
//! HTTP/2 or HTTP/1.1, `h2` for per-stream control), `router` (requests
//! served through hyper), `conn` (the connection as hyper sees it, socket
//! options), `stats`, `metrics` (the Prometheus exposition), `tls`. What
//! the server shares with the other stacks' adapters (responses, the
//! reading of a stream request, CORS, `Host`) is in `crate::exchange`.

mod accept;
mod config;
mod conn;
mod direct;
mod dispatch;
#[cfg(feature = "tls")]
mod h2;
mod head;
#[cfg(feature = "metrics")]
mod metrics;
mod open;
mod protocols;
mod router;
mod stats;
#[cfg(feature = "tls")]
mod tls;
mod walker;

pub(crate) use dispatch::fuzz_first_head;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{KeepaliveProbes, ServerConfig, default_max_clients, default_max_connections};
pub use stats::{ServerMonitor, ServerStats};
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};

use crate::exchange::{Handler, HostCheck};
use crate::hub::Hub;
use stats::Counters;

struct Shared {
    hub: Hub,
    config: ServerConfig,
    handler: Option<Handler>,
    counters: Arc<Counters>,
    /// Set by `run` from the listener's address.
    hosts: HostCheck,
    /// Mercure's active subscriptions, when they are published.
    #[cfg(feature = "json")]
    presence: Option<Arc<crate::mercure::Presence>>,
}

/// An HTTP/1.1 server for a [`Hub`]: `GET` on the events path streams the
/// hub (honouring `Last-Event-ID`, `?topic=` selectors and a subscriber
/// token; see [`stream_subscription`](crate::stream_subscription)); the metrics path, if configured,
/// serves the counters; other paths go to the [`Handler`], if any, or get
/// 404.
///
/// A connection that opens with a stream request (as an `EventSource`'s
/// does), on the events path or the Mercure path, is served without
/// hyper: the body is the frames, a batch per write and per chunk
/// (HTTP/1.0: until the connection ends), and the connection costs no
/// HTTP read buffer. Any other first request, and
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
        #[cfg(feature = "json")]
        let presence = match (&config.mercure_path, &config.mercure_subscriptions) {
            (Some(path), Some(sink)) => Some(Arc::new(crate::mercure::Presence::new(path, Arc::clone(sink)))),
            _ => None,
        };
        Self {
            shared: Shared {
                hub,
                config,
                handler: None,
                counters: Arc::default(),
                hosts,
                #[cfg(feature = "json")]
                presence,
            },
        }
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
        accept::accept_loop(self.shared, listener, shutdown).await
    }
}
