//! A shared history behind the hub's own replay log: what answers a
//! `Last-Event-ID` the local log no longer (or never) held, for example
//! the Redis stream that several instances share.
//!
//! Invariant: a source replays exactly the events after `after` up to and
//! including `until` (the newest event in the local log when the
//! subscriber joined, whose successors reach it live), filtered by the
//! subscription, or answers `None` and the subscriber gets `missed`. So a
//! resume through the source has no gap and no duplicate.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::topics::Subscription;

/// The frames a source replays, or `None` for `missed`.
pub(crate) type Replay = Pin<Box<dyn Future<Output = Option<Vec<Bytes>>> + Send>>;

/// A history shared beyond this hub.
pub(crate) trait ReplaySource: Send + Sync {
    /// The events after `after` up to `until` (`None`: the local log is
    /// empty) that `subscription` admits, encoded.
    fn replay(&self, after: &str, until: Option<&str>, subscription: &Subscription) -> Replay;
}
