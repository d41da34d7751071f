//! The stream's follower: the one path from Redis into the local hub.
//!
//! Invariant: entries reach the hub in stream order, each once, from the
//! position after the last one delivered. Entries are numbered within
//! their epoch, so when the next one read is not the next number (entries
//! were trimmed before this follower read them) or carries another epoch
//! (Redis restarted empty), the follower tells the hub, which sends
//! `missed` to every subscriber and forgets its log, then goes on from
//! what the stream holds. Redis being down only pauses it: it reconnects
//! with backoff, up to a second apart, and reads on from its position.

use std::sync::Arc;
use std::time::Duration;

use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands as _, AsyncConnectionConfig};

use super::entry::Entry;
use super::{RedisError, Shared, unavailable};

/// How long one `XREAD` blocks (and so how soon a shut-down hub's follower
/// notices).
const BLOCK: Duration = Duration::from_secs(2);

/// Entries read per `XREAD`.
const BATCH: usize = 512;

/// Where the follower is: the last entry delivered, its epoch and number.
#[derive(Clone, Debug, Default)]
pub(crate) struct Position {
    /// Stream id of the last entry delivered; `None`: from the start.
    last: Option<String>,
    epoch: Option<String>,
    number: Option<u64>,
}

/// Fills the hub's log with the stream's newest entries (as many as the
/// stream keeps); the position after them.
pub(crate) async fn prefill(shared: &Shared) -> Result<Position, RedisError> {
    let mut connection = shared.connection.clone();
    let count = shared.config.max_len.max(1);
    let newest: StreamRangeReply = tokio::time::timeout(
        shared.config.timeout,
        connection.xrevrange_count(&shared.config.key, "+", "-", count),
    )
    .await
    .map_err(|_| unavailable("no answer in time"))?
    .map_err(unavailable)?;
    let mut position = Position::default();
    for entry in newest.ids.iter().rev() {
        deliver(shared, &mut position, entry);
    }
    Ok(position)
}

/// Publishes one stream entry into the hub and advances `position`.
fn deliver(shared: &Shared, position: &mut Position, entry: &StreamId) {
    position.last = Some(entry.id.clone());
    let Some(decoded) = Entry::decode(&entry.id, &entry.map) else {
        tracing::warn!(id = %entry.id, "skipping a stream entry that is not an event");
        return;
    };
    let same_epoch = position.epoch.as_ref() == Some(&decoded.epoch);
    let follows = position.number.is_none_or(|n| n.checked_add(1) == Some(decoded.number));
    if position.epoch.is_some() && !(same_epoch && follows) {
        tracing::warn!(
            epoch = %decoded.epoch,
            number = decoded.number,
            "entries were lost before this instance read them (trimmed, or Redis restarted empty): \
             subscribers get missed"
        );
        shared.hub.announce_gap();
    }
    position.epoch = Some(decoded.epoch.clone());
    position.number = Some(decoded.number);
    let _ = decoded.with_event(|update| shared.hub.publish_update(update));
}

/// Follows the stream until the hub shuts down.
pub(crate) async fn follow(shared: Arc<Shared>, client: redis::Client, mut position: Position) {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(shared.config.timeout))
        .set_response_timeout(Some(BLOCK.saturating_add(shared.config.timeout)));
    let mut backoff = Duration::from_millis(50);
    let mut connection = None;
    while !shared.hub.is_shut_down() {
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => match client.get_multiplexed_async_connection_with_config(&config).await {
                Ok(conn) => {
                    backoff = Duration::from_millis(50);
                    connection.insert(conn)
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "redis unreachable");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        let options = StreamReadOptions::default().block(BLOCK.as_millis() as usize).count(BATCH);
        let from = position.last.clone().unwrap_or_else(|| "0-0".to_owned());
        let read: Result<Option<StreamReadReply>, _> =
            conn.xread_options(&[&shared.config.key], &[&from], &options).await;
        match read {
            Ok(reply) => {
                for key in reply.map(|r| r.keys).unwrap_or_default() {
                    for entry in &key.ids {
                        deliver(&shared, &mut position, entry);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "redis: reading the stream failed; reconnecting");
                connection = None;
            }
        }
    }
}
