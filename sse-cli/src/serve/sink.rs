//! Where `sse serve` publishes: its own hub, or the Redis stream that
//! every instance follows (`--redis`).
//!
//! Invariant: a request is published whole or not at all, and its answer
//! carries exactly the ids its events get on every stream.

use std::future::Future;
use std::pin::Pin;

use sse_core::{Audience, Event};
use sse_std::{Hub, RedisError, RedisHub};

/// Why a publish failed, as an HTTP status and a message.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) status: http::StatusCode,
    pub(crate) message: String,
}

/// A publish under way: the ids, or why it failed.
pub(crate) type Publishing = Pin<Box<dyn Future<Output = Result<Vec<String>, Failed>> + Send>>;

/// The destination of published events.
#[derive(Clone, Debug)]
pub(crate) enum Sink {
    /// This process's hub.
    Local(Hub),
    /// The Redis stream; the local hub receives what it holds.
    Redis(RedisHub),
}

impl Sink {
    /// The hub that serves this instance's streams.
    pub(crate) fn hub(&self) -> &Hub {
        match self {
            Self::Local(hub) => hub,
            Self::Redis(shared) => shared.hub(),
        }
    }

    /// Publishes every item; the ids, in order. The future borrows
    /// nothing of `items`.
    pub(crate) fn publish(&self, items: &[(Audience<'_>, Event<'_>)]) -> Publishing {
        match self {
            Self::Local(hub) => {
                let mut ids = Vec::with_capacity(items.len());
                for (audience, event) in items {
                    match hub.publish_to(*audience, event) {
                        Ok(published) => ids.push(published.id),
                        Err(e) => {
                            let failed = Failed {
                                status: http::StatusCode::SERVICE_UNAVAILABLE,
                                message: e.to_string(),
                            };
                            return Box::pin(std::future::ready(Err(failed)));
                        }
                    }
                }
                Box::pin(std::future::ready(Ok(ids)))
            }
            Self::Redis(shared) => {
                let publishing = shared.publish(items);
                Box::pin(async move {
                    publishing.await.map_err(|e| Failed {
                        status: match e {
                            RedisError::PublisherId => http::StatusCode::BAD_REQUEST,
                            _ => http::StatusCode::SERVICE_UNAVAILABLE,
                        },
                        message: e.to_string(),
                    })
                })
            }
        }
    }
}
