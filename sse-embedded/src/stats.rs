//! The counters both servers keep.
//!
//! Invariant: every connection closed for a limit and every event a client
//! did not get is counted once.

/// Counters of the smoltcp [`Server`](crate::Server) or the async
/// [`Broadcaster`](crate::Broadcaster).
///
/// ```
/// let stats = sse_embedded::Stats::new();
/// assert_eq!(stats.streams, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Streams open now.
    pub streams: usize,
    /// Streams opened since start.
    pub streams_opened: u64,
    /// Pages and error responses sent.
    pub responses: u64,
    /// Stream requests refused with 503.
    pub busy: u64,
    /// Streams closed to serve a newcomer when every stream slot was busy
    /// ([`Limits::purge_stalest`](crate::Limits::purge_stalest)).
    pub purged: u64,
    /// Connections dropped for not sending a request (or not reading a
    /// page) within the request timeout.
    pub timeouts: u64,
    /// Streams closed because the client accepted no bytes for the stall
    /// timeout.
    pub stalled: u64,
    /// Times a streaming client fell behind the history
    /// ([`SlowClient::CatchUp`](crate::SlowClient)).
    pub lagged: u64,
    /// Events such clients missed.
    pub missed_events: u64,
    /// Streams closed for being too slow ([`SlowClient::Close`](crate::SlowClient)).
    pub slow_closed: u64,
    /// Event frames larger than a client's whole TX buffer (or the async
    /// server's connection buffer): skipped for that client, which is sent
    /// `missed` instead.
    pub oversized: u64,
    /// `missed` signals sent: for a stale `Last-Event-ID`, lag and
    /// oversized events alike.
    pub missed_sent: u64,
}

impl Stats {
    /// All zero, usable in a `const` or `static`.
    ///
    /// ```
    /// assert_eq!(sse_embedded::Stats::new(), sse_embedded::Stats::default());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            streams: 0,
            streams_opened: 0,
            responses: 0,
            busy: 0,
            purged: 0,
            timeouts: 0,
            stalled: 0,
            lagged: 0,
            missed_events: 0,
            slow_closed: 0,
            oversized: 0,
            missed_sent: 0,
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}
