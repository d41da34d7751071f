//! The hub's counters: atomics updated where things happen, read as one
//! [`HubStats`] snapshot.
//!
//! Invariant: every event a subscriber does not get is counted in
//! `dropped`, and every `missed` signal sent in `missed_sent`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counters of a [`Hub`](super::Hub), from [`Hub::stats`](super::Hub::stats).
///
/// ```
/// let hub = sse_std::Hub::new(Default::default());
/// assert_eq!(hub.stats().published, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Subscribers connected now.
    pub clients: usize,
    /// Events published since the hub was made.
    pub published: u64,
    /// Bytes of encoded frames published (each counted once, however many
    /// subscribers receive it).
    pub published_bytes: u64,
    /// Events that slow subscribers never received: those dropped from
    /// their queue ([`SlowConsumer::DropOldest`](crate::SlowConsumer)), and
    /// those not yet read when a subscriber was disconnected
    /// ([`SlowConsumer::Disconnect`](crate::SlowConsumer)).
    pub dropped: u64,
    /// Subscribers ended by [`SlowConsumer::Disconnect`](crate::SlowConsumer).
    pub slow_disconnects: u64,
    /// Subscribers ended because the token that opened them expired
    /// ([`Subscriber::end_at`](crate::Subscriber::end_at)).
    pub expired: u64,
    /// Stream requests refused because every client slot was taken
    /// ([`HubConfig::max_clients`](crate::HubConfig::max_clients)).
    pub refused_full: u64,
    /// Subscribers that resumed from an id the history no longer had (or
    /// never had), and were sent [`MISSED_EVENTS`](sse_wire::MISSED_EVENTS).
    pub stale_resumes: u64,
    /// Subscribers that resumed with an id the history had, and were sent
    /// the events after it.
    pub replays: u64,
    /// [`MISSED_EVENTS`](sse_wire::MISSED_EVENTS) signals sent, for stale
    /// resumes and for lag alike.
    pub missed_sent: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) clients: AtomicUsize,
    pub(crate) published: AtomicU64,
    pub(crate) published_bytes: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) slow_disconnects: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) refused_full: AtomicU64,
    pub(crate) stale_resumes: AtomicU64,
    pub(crate) replays: AtomicU64,
    pub(crate) missed_sent: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> HubStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HubStats {
            clients: self.clients.load(Ordering::Relaxed),
            published: read(&self.published),
            published_bytes: read(&self.published_bytes),
            dropped: read(&self.dropped),
            slow_disconnects: read(&self.slow_disconnects),
            expired: read(&self.expired),
            refused_full: read(&self.refused_full),
            stale_resumes: read(&self.stale_resumes),
            replays: read(&self.replays),
            missed_sent: read(&self.missed_sent),
        }
    }
}
