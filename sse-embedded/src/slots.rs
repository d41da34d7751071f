//! The rules both servers apply to their streams: whether a stream request
//! is served, which stream makes room for it, and what a client that fell
//! behind the history gets.
//!
//! Invariant: plain functions over numbers (a clock or a logical tick,
//! sequence numbers, counts), so that the smoltcp server and the async
//! broadcaster decide the same way from their own state, and every
//! decision is counted in [`Stats`] here, once.

// Without a server only the types are used.
#![cfg_attr(not(any(feature = "smoltcp", feature = "async")), allow(dead_code))]

use crate::limits::{Limits, SlowClient};
use crate::stats::{Stats, bump};

/// One open stream, as the purge rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    /// The server's name for it (a slot index).
    pub(crate) index: usize,
    /// When it opened (a time or a tick: only the order matters).
    pub(crate) opened: u64,
    /// When its client last took bytes, or nothing waited for it.
    pub(crate) progress: u64,
    /// Bytes wait for its client now.
    pub(crate) waiting: bool,
}

/// The stream to close for a newcomer: of the streams whose client has
/// bytes waiting, the one that took bytes longest ago; if every client
/// takes what it is sent, the oldest stream.
pub(crate) fn stalest(streams: impl Iterator<Item = Held>) -> Option<usize> {
    streams.min_by_key(|h| (!h.waiting, if h.waiting { h.progress } else { h.opened })).map(|h| h.index)
}

/// The answer to a stream request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// A stream slot is free.
    Stream,
    /// Every stream slot is busy: close this stream and serve the request.
    Purge(usize),
    /// Every stream slot is busy: 503.
    Busy,
}

/// Whether a stream request is served when `open` of `slots` stream, and
/// whom it displaces (`victim` is asked only when it matters).
pub(crate) fn admit(
    open: usize,
    slots: usize,
    limits: &Limits,
    stats: &mut Stats,
    victim: impl FnOnce() -> Option<usize>,
) -> Admit {
    if open < limits.streams(slots) {
        return Admit::Stream;
    }
    match victim().filter(|_| limits.purge_stalest) {
        Some(index) => {
            bump(&mut stats.purged);
            Admit::Purge(index)
        }
        None => {
            bump(&mut stats.busy);
            Admit::Busy
        }
    }
}

/// What a stream whose next event is `next_seq` does when the history's
/// oldest event is `oldest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Behind {
    /// Its next event is stored (or not published yet).
    No,
    /// It lost events: send `missed`, then go on from this sequence number.
    Missed(u64),
    /// It lost events and the policy closes it.
    Close,
}

/// Applies the slow-client policy to a stream that may have fallen behind.
pub(crate) fn behind(next_seq: u64, oldest: u64, policy: SlowClient, stats: &mut Stats) -> Behind {
    if next_seq >= oldest {
        return Behind::No;
    }
    stats.missed_events = stats.missed_events.saturating_add(oldest.saturating_sub(next_seq));
    match policy {
        SlowClient::Close => {
            bump(&mut stats.slow_closed);
            Behind::Close
        }
        SlowClient::CatchUp => {
            bump(&mut stats.lagged);
            Behind::Missed(oldest)
        }
    }
}

/// Counts an event whose frame can never fit a client's buffer: it is
/// skipped for that client, which is sent `missed` instead.
pub(crate) fn oversized(stats: &mut Stats) {
    bump(&mut stats.oversized);
    stats.missed_events = stats.missed_events.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(index: usize, opened: u64, progress: u64, waiting: bool) -> Held {
        Held { index, opened, progress, waiting }
    }

    #[test]
    fn the_stalest_waiting_stream_goes_first_then_the_oldest() {
        let streams = [held(0, 1, 50, false), held(1, 2, 30, true), held(2, 3, 10, true)];
        assert_eq!(stalest(streams.into_iter()), Some(2));
        let reading = [held(0, 5, 50, false), held(1, 2, 60, false), held(2, 3, 10, false)];
        assert_eq!(stalest(reading.into_iter()), Some(1));
        assert_eq!(stalest([].into_iter()), None);
    }

    #[test]
    fn admission_purges_only_when_full_and_allowed() {
        let mut stats = Stats::new();
        let limits = Limits::new();
        assert_eq!(admit(2, 4, &limits, &mut stats, || Some(0)), Admit::Stream);
        assert_eq!(admit(3, 4, &limits, &mut stats, || Some(1)), Admit::Purge(1));
        let off = Limits { purge_stalest: false, ..limits };
        assert_eq!(admit(3, 4, &off, &mut stats, || Some(1)), Admit::Busy);
        assert_eq!((stats.purged, stats.busy), (1, 1));
    }

    #[test]
    fn falling_behind_follows_the_policy_and_is_counted() {
        let mut stats = Stats::new();
        assert_eq!(behind(5, 5, SlowClient::CatchUp, &mut stats), Behind::No);
        assert_eq!(behind(2, 5, SlowClient::CatchUp, &mut stats), Behind::Missed(5));
        assert_eq!(behind(4, 5, SlowClient::Close, &mut stats), Behind::Close);
        assert_eq!((stats.missed_events, stats.lagged, stats.slow_closed), (4, 1, 1));
    }
}
