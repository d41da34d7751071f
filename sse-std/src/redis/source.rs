//! Replay from the stream: the `Last-Event-ID`s the local log cannot
//! answer.
//!
//! Invariant: a replay is the entries strictly after the client's id up to
//! and including the newest local event, read with one `XRANGE` that must
//! start at the client's own entry (so nothing between was trimmed) and
//! end at the local one, all of one epoch; anything else, or no answer in
//! time, is `missed`.

use std::sync::Arc;

use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use redis::streams::StreamRangeReply;

use super::Shared;
use super::entry::{Entry, parse_id};
use crate::hub::{Replay, ReplaySource, encode};
use crate::topics::Subscription;

/// The fewest events a replay from the stream may hold before it gives
/// `missed` instead.
const MIN_REPLAY: usize = 10_000;

pub(crate) struct StreamSource {
    connection: ConnectionManager,
    key: String,
    max_len: usize,
    timeout: std::time::Duration,
}

impl StreamSource {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        Self {
            connection: shared.connection.clone(),
            key: shared.config.key.clone(),
            // Instances may keep shorter logs than the stream: replay up
            // to the stream's length, or at least `MIN_REPLAY` events.
            max_len: shared.config.max_len.max(MIN_REPLAY),
            timeout: shared.config.timeout,
        }
    }
}

impl ReplaySource for StreamSource {
    fn replay(&self, after: &str, until: Option<&str>, subscription: &Subscription) -> Replay {
        let bounds = until.and_then(|until| {
            let (epoch, from) = parse_id(after)?;
            let (until_epoch, to) = parse_id(until)?;
            (epoch == until_epoch && from < to).then(|| (epoch.to_owned(), from.to_string(), to.to_string()))
        });
        let (mut connection, key, timeout) = (self.connection.clone(), self.key.clone(), self.timeout);
        // The client's entry, the newest local one, and at most the whole
        // stream between them.
        let count = self.max_len.saturating_add(2);
        let subscription = subscription.clone();
        Box::pin(async move {
            let (epoch, from, to) = bounds?;
            let range: StreamRangeReply =
                tokio::time::timeout(timeout, connection.xrange_count(&key, &from, &to, count))
                    .await
                    .ok()?
                    .ok()?;
            let (first, rest) = range.ids.split_first()?;
            if first.id != from || range.ids.last().map(|e| e.id.as_str()) != Some(to.as_str()) {
                return None;
            }
            let mut frames = Vec::new();
            for entry in rest {
                let Some(decoded) = Entry::decode(&entry.id, &entry.map) else { continue };
                if decoded.epoch != epoch {
                    return None;
                }
                let encoded = decoded.with_event(|audience, event| {
                    subscription.admits(audience).then(|| encode(event).ok()).flatten()
                });
                if let Some(Some(bytes)) = encoded {
                    frames.push(bytes);
                }
            }
            Some(frames)
        })
    }
}
