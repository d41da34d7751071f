//! What the smoltcp server allows each connection: its deadlines, how many
//! connections may stream, and what happens to a client that falls behind.
//!
//! Invariant: every state a connection can be in has a deadline here
//! (request, stall, TCP timeout), on by default.

use smoltcp::time::Duration;

/// What to do with a streaming client whose next event was evicted from
/// the history before its TX buffer had room for it.
///
/// Either way a client that accepts no bytes at all for
/// [`Limits::stall_timeout`] is closed.
///
/// ```
/// let policy = sse_embedded::SlowClient::default();
/// assert_eq!(policy, sse_embedded::SlowClient::CatchUp);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlowClient {
    /// Send it [`MISSED_EVENTS`](sse_wire::MISSED_EVENTS) (an event of type
    /// `missed`) and go on from the oldest event still stored. Counted in
    /// [`Stats::lagged`](crate::Stats::lagged).
    #[default]
    CatchUp,
    /// Close its connection; its EventSource reconnects with
    /// `Last-Event-ID`. Counted in [`Stats::slow_closed`](crate::Stats::slow_closed).
    Close,
}

/// Per-connection limits and policies of the smoltcp
/// [`Server`](crate::Server).
///
/// ```
/// use smoltcp::time::Duration;
/// let limits = sse_embedded::Limits { stall_timeout: Some(Duration::from_secs(10)), ..Default::default() };
/// assert_eq!(limits.request_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request head must arrive, and a page be sent, within this time;
    /// slower connections are dropped (default 5 s).
    pub request_timeout: Duration,
    /// A stream whose client accepts no bytes for this long while data
    /// waits in its TX buffer is closed, under either [`SlowClient`] policy
    /// (default 30 s; `None`: never). Counted in
    /// [`Stats::stalled`](crate::Stats::stalled).
    pub stall_timeout: Option<Duration>,
    /// Keep-alive comment after this long without traffic on a stream
    /// (default 15 s; `None`: never). It also gives the stall timeout
    /// data to wait on when no events are published.
    pub keep_alive: Option<Duration>,
    /// TCP keep-alive probes after this long without a packet from the
    /// client (smoltcp's `set_keep_alive`; default 10 s; `None`: off).
    pub tcp_keep_alive: Option<Duration>,
    /// A connection whose client sends no packet for this long, while
    /// probes or data wait for it, is aborted (smoltcp's `set_timeout`;
    /// default 30 s; `None`: never): a client that vanished without a FIN
    /// gives its slot back.
    pub tcp_timeout: Option<Duration>,
    /// Most streams at once (default: every slot but the
    /// [`page_slots`](Self::page_slots)).
    pub max_streams: Option<usize>,
    /// Slots kept for requests that are not streams, so that a full house
    /// of streams still serves pages and answers further stream requests
    /// with 503 and `Retry-After` (default 1). At least one slot can
    /// always stream.
    pub page_slots: usize,
    /// The slow-client policy.
    pub slow_client: SlowClient,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            stall_timeout: Some(Duration::from_secs(30)),
            keep_alive: Some(Duration::from_secs(15)),
            tcp_keep_alive: Some(Duration::from_secs(10)),
            tcp_timeout: Some(Duration::from_secs(30)),
            max_streams: None,
            page_slots: 1,
            slow_client: SlowClient::CatchUp,
        }
    }
}

impl Limits {
    /// How many of `slots` may stream at once.
    pub(crate) fn streams(&self, slots: usize) -> usize {
        let unreserved = slots.saturating_sub(self.page_slots).max(1);
        self.max_streams.map_or(unreserved, |max| max.min(unreserved)).max(1)
    }
}
