//! What both servers allow each connection: its deadlines, how many
//! connections may stream, and what happens to a client that falls behind
//! or holds a slot another client needs.
//!
//! Invariant: every state a connection can be in has a deadline here
//! (request, stall, TCP timeout), on by default, and the numbers mean the
//! same for the poll server and the async [`Broadcaster`](crate::Broadcaster).

/// What to do with a streaming client whose next event was evicted from
/// the history before it had room for it.
///
/// Either way a client that accepts no bytes at all for
/// [`Limits::stall_timeout_ms`] is closed.
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

/// Per-connection limits and policies of both servers (the smoltcp
/// [`Server`](crate::Server) and the async
/// [`Broadcaster`](crate::Broadcaster)), in milliseconds.
///
/// ```
/// let limits = sse_embedded::Limits { stall_timeout_ms: Some(10_000), ..Default::default() };
/// assert_eq!(limits.request_timeout_ms, 5_000);
/// assert!(limits.purge_stalest);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// A request head must arrive, and a page be sent, within this time;
    /// slower connections are dropped (default 5 s).
    pub request_timeout_ms: u32,
    /// A stream whose client accepts no bytes for this long while data
    /// waits for it is closed, under either [`SlowClient`] policy (default
    /// 30 s; `None`: never). Counted in
    /// [`Stats::stalled`](crate::Stats::stalled).
    pub stall_timeout_ms: Option<u32>,
    /// Keep-alive comment after this long without traffic on a stream
    /// (default 15 s; `None`: never). It also gives the stall timeout
    /// data to wait on when no events are published.
    pub keep_alive_ms: Option<u32>,
    /// TCP keep-alive probes after this long without a packet from the
    /// client (smoltcp server: `set_keep_alive`; default 10 s; `None`:
    /// off). With the async server, set it on your socket (embassy-net's
    /// `TcpSocket::set_keep_alive`).
    pub tcp_keep_alive_ms: Option<u32>,
    /// A connection whose client sends no packet for this long, while
    /// probes or data wait for it, is aborted (smoltcp server:
    /// `set_timeout`; default 30 s; `None`: never): a client that vanished
    /// without a FIN gives its slot back. With the async server, set it on
    /// your socket (`TcpSocket::set_timeout`).
    pub tcp_timeout_ms: Option<u32>,
    /// Most streams at once (default: every slot but the
    /// [`page_slots`](Self::page_slots)).
    pub max_streams: Option<usize>,
    /// Slots kept for requests that are not streams, so that a full house
    /// of streams still serves pages and takes further stream requests
    /// (default 1). At least one slot can always stream.
    pub page_slots: usize,
    /// The slow-client policy.
    pub slow_client: SlowClient,
    /// When every stream slot is busy and a stream request arrives, close
    /// the stream that has gone longest without its client taking bytes
    /// (if every client takes bytes, the oldest stream) and serve the
    /// newcomer (default on, as ESP-IDF's `lru_purge_enable`). The closed
    /// client's EventSource reconnects with `Last-Event-ID` and resumes.
    /// Counted in [`Stats::purged`](crate::Stats::purged). Off: the
    /// newcomer gets 503 with `Retry-After`.
    ///
    /// A client that stops reading is found out by the stall timeout only
    /// once its TCP window closes, which behind a host's TCP stack (a NAT,
    /// QEMU's user networking, a proxy) can take hours: without this a few
    /// such clients keep a device with four sockets full.
    pub purge_stalest: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

impl Limits {
    /// The default limits, usable in a `const` or `static`.
    ///
    /// ```
    /// const LIMITS: sse_embedded::Limits =
    ///     sse_embedded::Limits { keep_alive_ms: Some(10_000), ..sse_embedded::Limits::new() };
    /// assert_eq!(LIMITS.page_slots, 1);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            request_timeout_ms: 5_000,
            stall_timeout_ms: Some(30_000),
            keep_alive_ms: Some(15_000),
            tcp_keep_alive_ms: Some(10_000),
            tcp_timeout_ms: Some(30_000),
            max_streams: None,
            page_slots: 1,
            slow_client: SlowClient::CatchUp,
            purge_stalest: true,
        }
    }

    /// How many of `slots` may stream at once.
    pub(crate) fn streams(&self, slots: usize) -> usize {
        let unreserved = slots.saturating_sub(self.page_slots).max(1);
        self.max_streams.map_or(unreserved, |max| max.min(unreserved)).max(1)
    }
}
