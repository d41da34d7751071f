//! Where `sse serve` publishes: through its engine, which is its own hub
//! or the Redis stream that every instance follows (`--redis`).
//!
//! Invariant: a request is published whole or not at all, and its answer
//! carries exactly the ids its events get on every stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sse_std::{EngineError, Hub, PublishSink, Update};

/// Why a publish failed, as an HTTP status and a message.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) status: http::StatusCode,
    pub(crate) message: String,
}

/// A publish under way: the ids, or why it failed.
pub(crate) type Publishing = Pin<Box<dyn Future<Output = Result<Vec<String>, Failed>> + Send>>;

/// The hub that serves this instance's streams, and the engine its
/// events are published through.
#[derive(Clone, Debug)]
pub(crate) struct Sink {
    hub: Hub,
    engine: Arc<dyn PublishSink>,
}

impl Sink {
    /// Publishing through `engine`, serving `hub`.
    pub(crate) fn new(hub: Hub, engine: Arc<dyn PublishSink>) -> Self {
        Self { hub, engine }
    }

    /// The engine it publishes through.
    pub(crate) fn engine(&self) -> Arc<dyn PublishSink> {
        Arc::clone(&self.engine)
    }

    /// The hub that serves this instance's streams.
    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Publishes every item; the ids, in order. The future borrows
    /// nothing of `items`.
    pub(crate) fn publish(&self, items: &[Update<'_>]) -> Publishing {
        let publishing = self.engine.publish_all(items);
        Box::pin(async move {
            publishing.await.map_err(|e| Failed {
                status: match e {
                    EngineError::Refused(_) => http::StatusCode::BAD_REQUEST,
                    _ => http::StatusCode::SERVICE_UNAVAILABLE,
                },
                message: e.to_string(),
            })
        })
    }
}
