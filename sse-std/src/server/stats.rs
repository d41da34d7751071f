//! The server's counters: connections open now, and every close or refusal
//! made for a bound, as atomics read into one [`ServerStats`] snapshot.
//!
//! Invariant: every connection the server closes for a bound (stall, head
//! timeout, connection cap) and every error status it answers is counted
//! exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Error statuses counted by code: 400 to 599.
const STATUSES: usize = 200;

/// Counters of a [`Server`](super::Server), from [`ServerMonitor::stats`].
///
/// ```
/// let server = sse_std::Server::new(sse_std::Hub::new(Default::default()), Default::default());
/// let stats = server.monitor().stats();
/// assert_eq!((stats.open_connections, stats.stalled), (0, 0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections open now (event streams included).
    pub open_connections: usize,
    /// Connections accepted since the server started.
    pub accepted: u64,
    /// Connections refused at `max_connections` (503, then closed).
    pub refused_connections: u64,
    /// Responses closed because the client accepted no bytes for
    /// `stall_timeout` while data waited.
    pub stalled: u64,
    /// Connections dropped because a request head did not arrive within
    /// `header_timeout` (slowloris, or an idle kept-alive connection).
    pub head_timeouts: u64,
    /// Responses with an error status (4xx and 5xx, the 503s of a full hub
    /// and of the connection cap included), as `(status, count)` in
    /// ascending order of status, only those seen.
    pub errors: Vec<(u16, u64)>,
}

impl ServerStats {
    /// How many responses had this `status`.
    ///
    /// ```
    /// let stats = sse_std::ServerStats::default();
    /// assert_eq!(stats.responses(503), 0);
    /// ```
    #[must_use]
    pub fn responses(&self, status: u16) -> u64 {
        self.errors.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n)
    }
}

pub(crate) struct Counters {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    stalled: AtomicU64,
    head_timeouts: AtomicU64,
    errors: [AtomicU64; STATUSES],
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            stalled: AtomicU64::new(0),
            head_timeouts: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Marks a connection open while it lives.
pub(crate) struct OpenConnection(Arc<Counters>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Counters {
    /// Counts a new connection as open, unless `max` are open already.
    pub(crate) fn open(self: &Arc<Self>, max: usize) -> Option<OpenConnection> {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then(|| n.saturating_add(1)));
        match taken {
            Ok(_) => Some(OpenConnection(Arc::clone(self))),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                self.status(503);
                None
            }
        }
    }

    pub(crate) fn stalled(&self) {
        self.stalled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn head_timeout(&self) {
        self.head_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response with `status`, if it is an error status.
    pub(crate) fn status(&self, status: u16) {
        let index = usize::from(status).checked_sub(400);
        if let Some(counter) = index.and_then(|i| self.errors.get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> ServerStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let errors = (400u16..)
            .zip(self.errors.iter())
            .map(|(status, n)| (status, read(n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        ServerStats {
            open_connections: self.open.load(Ordering::Relaxed),
            accepted: read(&self.accepted),
            refused_connections: read(&self.refused),
            stalled: read(&self.stalled),
            head_timeouts: read(&self.head_timeouts),
            errors,
        }
    }
}

/// Reads a server's counters while it runs: made by
/// [`Server::monitor`](super::Server::monitor) before
/// [`run`](super::Server::run) takes the server. Cheap to clone.
///
/// ```
/// let server = sse_std::Server::new(sse_std::Hub::new(Default::default()), Default::default());
/// let monitor = server.monitor();
/// assert_eq!(monitor.stats().accepted, 0);
/// ```
#[derive(Clone)]
pub struct ServerMonitor {
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for ServerMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMonitor").field("stats", &self.stats()).finish()
    }
}

impl ServerMonitor {
    /// The server's counters now.
    ///
    /// ```
    /// let server = sse_std::Server::new(sse_std::Hub::new(Default::default()), Default::default());
    /// assert!(server.monitor().stats().errors.is_empty());
    /// ```
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }
}
