//! Replay from the stream: the `Last-Event-ID`s the local log cannot
//! answer.
//!
//! Invariant: a replay is the entries strictly after the client's id up to
//! and including the newest local event, read with `XRANGE` pages, the
//! first of which must start at the client's own entry (so nothing between
//! was trimmed) and the last end at the local one, all of one epoch;
//! anything else, or no answer in time, is `missed`. What a client can
//! make the hub read and hold is bounded: at most `replay_max_events`
//! entries and `replay_max_bytes` of encoded frames per replay, read a
//! page at a time, and at most `max_concurrent_replays` replays at once;
//! beyond any bound the client gets `missed`, never an unbounded buffer.

use std::sync::Arc;

use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use redis::streams::StreamRangeReply;
use tokio::sync::Semaphore;

use super::Shared;
use super::entry::{Entry, StreamId, parse_id};
use crate::engine::{Replay, ReplaySource};
use crate::hub::encode;
use crate::topics::Subscription;

/// Entries read by one `XRANGE`: what one page can cost is bounded by
/// this many entries of the largest publishable size.
const PAGE: usize = 64;

pub(crate) struct StreamSource {
    connection: ConnectionManager,
    key: String,
    max_events: usize,
    max_bytes: usize,
    timeout: std::time::Duration,
    running: Arc<Semaphore>,
}

impl StreamSource {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        let config = &shared.config;
        Self {
            connection: shared.connection.clone(),
            key: config.key.clone(),
            max_events: config.replay_max_events.max(1),
            max_bytes: config.replay_max_bytes.max(1),
            timeout: config.timeout,
            running: Arc::new(Semaphore::new(config.max_concurrent_replays.max(1))),
        }
    }
}

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSource")
            .field("key", &self.key)
            .field("max_events", &self.max_events)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Why a replay gave `missed`.
enum Refused {
    Gap,
    TooLarge,
}

impl ReplaySource for StreamSource {
    fn replay(&self, after: &str, until: Option<&str>, subscription: &Subscription) -> Replay {
        let bounds = until.and_then(|until| {
            let (epoch, from) = parse_id(after)?;
            let (until_epoch, to) = parse_id(until)?;
            (epoch == until_epoch && from < to).then(|| (epoch.to_owned(), from, to))
        });
        // No permit, no replay: the client gets `missed` at once.
        let permit = Arc::clone(&self.running).try_acquire_owned().ok();
        if bounds.is_some() && permit.is_none() {
            tracing::debug!("replay refused: max_concurrent_replays are running");
        }
        let (mut connection, key, timeout) = (self.connection.clone(), self.key.clone(), self.timeout);
        let (max_events, max_bytes) = (self.max_events, self.max_bytes);
        let subscription = subscription.clone();
        Box::pin(async move {
            let _permit = permit?;
            let (epoch, from, to) = bounds?;
            let read =
                read_range(&mut connection, &key, (&epoch, from, to), (max_events, max_bytes), &subscription);
            match tokio::time::timeout(timeout, read).await {
                Ok(Ok(frames)) => Some(frames),
                Ok(Err(Refused::TooLarge)) => {
                    tracing::debug!(max_events, max_bytes, "replay refused: larger than the bounds");
                    None
                }
                Ok(Err(Refused::Gap)) | Err(_) => None,
            }
        })
    }
}

/// The frames `subscription` admits among the entries after `from` up to
/// and including `to`, read a page at a time.
async fn read_range(
    connection: &mut ConnectionManager,
    key: &str,
    (epoch, from, to): (&str, StreamId, StreamId),
    (max_events, max_bytes): (usize, usize),
    subscription: &Subscription,
) -> Result<Vec<bytes::Bytes>, Refused> {
    let (mut frames, mut bytes, mut entries) = (Vec::new(), 0usize, 0usize);
    // The first page must hold the client's own entry.
    let mut start = from.to_string();
    let mut first = true;
    loop {
        let range: StreamRangeReply = connection
            .xrange_count(key, &start, to.to_string(), PAGE.saturating_add(1))
            .await
            .map_err(|_| Refused::Gap)?;
        let mut page = range.ids.iter();
        if first {
            if page.next().map(|e| e.id.as_str()) != Some(from.to_string().as_str()) {
                return Err(Refused::Gap);
            }
            first = false;
        } else {
            // `start` is the last entry of the previous page: skip it.
            page.next();
        }
        let mut last = None;
        for entry in page {
            entries = entries.saturating_add(1);
            if entries > max_events {
                return Err(Refused::TooLarge);
            }
            let Some(decoded) = Entry::decode(&entry.id, &entry.map) else { continue };
            if decoded.epoch != epoch {
                return Err(Refused::Gap);
            }
            let encoded = decoded.with_event(|update| {
                update.admitted_by(subscription).then(|| encode(&update.event).ok()).flatten()
            });
            if let Some(Some(frame)) = encoded {
                bytes = bytes.saturating_add(frame.len());
                if bytes > max_bytes {
                    return Err(Refused::TooLarge);
                }
                frames.push(frame);
            }
            last = Some(entry.id.clone());
        }
        match last {
            Some(id) if id == to.to_string() => return Ok(frames),
            Some(id) => start = id,
            // The newest local entry is not in the stream any more.
            None => return Err(Refused::Gap),
        }
    }
}
