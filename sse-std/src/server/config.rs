//! Settings of a [`Server`](super::Server): every bound it puts on a peer.
//!
//! Invariant: every wait a peer can cause has a deadline here, and every
//! per-peer resource a bound, on by default.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Verify;
use crate::exchange::Cors;

/// TCP keep-alive probes on accepted connections: a peer that stops
/// answering them (it vanished without a FIN) is dropped after about
/// `idle + interval × retries`.
///
/// ```
/// use std::time::Duration;
/// let probes = sse_std::KeepaliveProbes::default();
/// assert_eq!(probes.idle + probes.interval * probes.retries, Duration::from_secs(60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeepaliveProbes {
    /// Quiet time before the first probe (default 30 s).
    pub idle: Duration,
    /// Time between probes (default 10 s; Linux, Android and the BSDs).
    pub interval: Duration,
    /// Probes without an answer before the connection is dropped
    /// (default 3; Linux and Android).
    pub retries: u32,
}

impl KeepaliveProbes {
    /// Probes after `idle`, every `interval`, `retries` times.
    ///
    /// ```
    /// use std::time::Duration;
    /// let probes = sse_std::KeepaliveProbes::new(Duration::from_secs(60), Duration::from_secs(5), 4);
    /// assert_eq!(probes.retries, 4);
    /// ```
    #[must_use]
    pub const fn new(idle: Duration, interval: Duration, retries: u32) -> Self {
        Self { idle, interval, retries }
    }
}

impl Default for KeepaliveProbes {
    fn default() -> Self {
        Self { idle: Duration::from_secs(30), interval: Duration::from_secs(10), retries: 3 }
    }
}

/// Settings of a [`Server`](super::Server).
///
/// ```
/// let mut config = sse_std::ServerConfig::default();
/// config.events_path = "/stream".into();
/// assert_eq!(config.max_body_bytes, 1 << 20);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Path of the event stream (default `/events`).
    pub events_path: String,
    /// Path of the Mercure subscription endpoint (default: none; Mercure
    /// clients use [`MERCURE_PATH`](crate::MERCURE_PATH)): `GET` there
    /// subscribes with Mercure's parameters ([`mercure_subscription`](crate::mercure_subscription)),
    /// tokens (the `mercureAuthorization` cookie too) and `lastEventID`,
    /// and the response carries `Last-Event-ID`: the newest event the
    /// hub held, or `earliest`. Other methods go to the handler (publishing
    /// needs the application's engine and its publishers' keys).
    pub mercure_path: Option<String>,
    /// Publish Mercure's subscription events through this engine (the
    /// hub itself, or a [`RedisHub`](crate::RedisHub) so that every
    /// instance's subscribers see them) and serve the subscriptions API
    /// below [`mercure_path`](Self::mercure_path) (default: off). Feature
    /// `json`.
    #[cfg(feature = "json")]
    pub mercure_subscriptions: Option<Arc<dyn crate::PublishSink>>,
    /// Largest request head accepted; larger gets 431 (default 16 KiB;
    /// hyper's minimum, 8 KiB, applies below that to requests after the
    /// first on a connection).
    pub max_head_bytes: usize,
    /// Largest request body accepted; larger gets 413 (default 1 MiB).
    pub max_body_bytes: usize,
    /// Time allowed to send a request head, and the longest a kept-alive
    /// connection may wait idle for its next request; a slower client is
    /// dropped (default 10 s).
    pub header_timeout: Duration,
    /// Time allowed to send a request body; slower gets 408 (default 10 s).
    pub body_timeout: Duration,
    /// A response, event stream included, whose client accepts no bytes
    /// for this long while data waits is closed, and counted in
    /// [`ServerStats::stalled`](crate::ServerStats::stalled) (default 30 s;
    /// `None`: never). This is what frees the slot of a client that stopped
    /// reading, under either [`SlowConsumer`](crate::SlowConsumer) policy.
    pub stall_timeout: Option<Duration>,
    /// The shortest time between two writes to one event stream that
    /// opened its connection (plain HTTP/1.1, the usual case; streams
    /// served through hyper, over HTTP/2 or after another request on the
    /// connection, are written as hyper flushes them). Default none: every
    /// frame is written as soon as it is ready.
    /// Frames that become ready sooner after a write wait for the rest of
    /// the interval and go out together in one vectored write: fewer
    /// system calls per delivered event when a stream gets more than one
    /// event per interval, for at most this much added latency. A stream
    /// quieter than that writes at once, as without it. Keep it well below
    /// the hub's `queue_len` divided by the publish rate, or waiting frames
    /// are dropped as lag (and announced with `missed`). Centrifugo PRO's
    /// `client.write_delay` makes the same trade. Without an interval,
    /// streams that keep up are written by a few shared tasks (one per
    /// runtime worker) instead of each by its own; with one, each stream
    /// keeps its own task, which times its writes.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(sse_std::ServerConfig::default().write_interval.is_none());
    /// let mut config = sse_std::ServerConfig::default();
    /// config.write_interval = Some(Duration::from_millis(20));
    /// ```
    pub write_interval: Option<Duration>,
    /// TCP keep-alive probes on accepted connections (default
    /// [`KeepaliveProbes::default`]; `None`: off).
    pub tcp_keepalive: Option<KeepaliveProbes>,
    /// `TCP_USER_TIMEOUT` on Linux and Android: a connection whose sent
    /// data stays unacknowledged this long is dropped by the kernel
    /// (default 60 s; `None`: the kernel's default, many minutes).
    pub tcp_user_timeout: Option<Duration>,
    /// The most connections open at once, streams included; past it a new
    /// connection gets a 503 written without buffering and is closed
    /// (default: the process's open-file limit less 64 for everything
    /// else, at least 16).
    pub max_connections: usize,
    /// When a client refused because every stream slot is taken should
    /// come back (default 5 s): an `EventSource` (`Accept:
    /// text/event-stream`) gets 200 with `retry:` jittered around it and
    /// reconnects by itself; other clients get 503 with `Retry-After`.
    pub retry_after: Duration,
    /// Origins allowed to read the stream and call the other routes from
    /// other sites, with credentials (default none; see [`Cors`]).
    /// Preflight requests from them are answered on every path.
    ///
    /// ```
    /// let mut config = sse_std::ServerConfig::default();
    /// config.cors = sse_std::Cors::allow(["https://app.example"]);
    /// ```
    pub cors: Cors,
    /// How long after shutdown starts new stream requests are still
    /// answered (with 204) and open connections may finish (default 2 s).
    pub shutdown_grace: Duration,
    /// Path that serves the server's and the hub's counters in the
    /// Prometheus text format (feature `metrics`; default none).
    pub metrics_path: Option<String>,
    /// Host names accepted besides the loopback ones. When the server
    /// listens on a loopback address, or when this list is not empty, a
    /// request whose `Host` names neither `localhost`, a loopback address
    /// nor one of these gets 421 on every route: a web page cannot reach a
    /// local server through DNS rebinding (default empty).
    pub allowed_hosts: Vec<String>,
    /// Verifies subscribers' tokens (from the `Authorization` header, the
    /// `authorization` query parameter or the `sse_auth` cookie): a valid
    /// one adds the private events of the topics it grants; a bad one gets
    /// 401. `None`: every subscriber is anonymous, and one that presents a
    /// token gets 401, since nothing can verify it (default none).
    pub subscribe_verifier: Option<Arc<dyn Verify>>,
    /// Serve TLS (feature `tls`; from [`TlsConfig::from_pem_files`](crate::TlsConfig::from_pem_files)):
    /// every connection starts with a handshake (within `header_timeout`),
    /// then speaks HTTP/2 or HTTP/1.1 as ALPN chose. With HTTP/2 a browser
    /// keeps any number of streams to one origin on one connection,
    /// instead of six. Default none: plain HTTP/1.1, with the fast path.
    #[cfg(feature = "tls")]
    pub tls: Option<super::tls::TlsConfig>,
    /// The most streams one HTTP/2 connection may have open at once
    /// (feature `tls`; `SETTINGS_MAX_CONCURRENT_STREAMS`; default 100, as
    /// nginx's `http2_max_concurrent_streams` is 128 and RFC 9113 asks for
    /// at least 100). A page's `EventSource`s beyond it wait for a slot.
    #[cfg(feature = "tls")]
    pub h2_max_streams: u32,
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
            mercure_path: None,
            #[cfg(feature = "json")]
            mercure_subscriptions: None,
            max_head_bytes: 16 * 1024,
            max_body_bytes: 1 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            stall_timeout: Some(Duration::from_secs(30)),
            write_interval: None,
            tcp_keepalive: Some(KeepaliveProbes::default()),
            tcp_user_timeout: Some(Duration::from_secs(60)),
            max_connections: default_max_connections(),
            retry_after: Duration::from_secs(5),
            cors: Cors::default(),
            shutdown_grace: Duration::from_secs(2),
            metrics_path: None,
            allowed_hosts: Vec::new(),
            subscribe_verifier: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            h2_max_streams: 100,
        }
    }
}

/// Descriptors kept free for the listener, files and outgoing connections.
const RESERVED_FILES: u64 = 64;

/// The process's open-file limit (`RLIMIT_NOFILE`, soft) less 64
/// descriptors kept for everything else, at least 16: the default
/// [`ServerConfig::max_connections`].
///
/// ```
/// assert!(sse_std::default_max_connections() >= 16);
/// ```
#[must_use]
pub fn default_max_connections() -> usize {
    #[cfg(unix)]
    let limit = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    #[cfg(not(unix))]
    let limit = 10_000u64;
    usize::try_from(limit.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(usize::MAX)
}

/// Memory one open stream is allowed in the default
/// [`default_max_clients`]: its share of the hub's queues, the socket's
/// kernel buffers and an HTTP/2 send buffer, with room to spare.
const STREAM_BUDGET: u64 = 64 * 1024;

/// A bound on open streams for a server that was given none: the
/// connection bound ([`default_max_connections`]), and no more streams
/// than half of the memory available now holds at 64 KiB each (at least
/// 16). `sse serve` uses it when `--max-clients` is not given; with
/// HTTP/2 many streams share a connection, so the memory bound is the one
/// that holds them.
///
/// ```
/// assert!(sse_std::default_max_clients() >= 16);
/// ```
#[must_use]
pub fn default_max_clients() -> usize {
    let by_memory = available_memory().map_or(u64::MAX, |bytes| (bytes / 2 / STREAM_BUDGET).max(16));
    default_max_connections().min(usize::try_from(by_memory).unwrap_or(usize::MAX))
}

/// `MemAvailable` of `/proc/meminfo`, in bytes, where there is one.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}
