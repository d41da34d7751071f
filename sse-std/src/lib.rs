#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]
// On docs.rs every feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

/// Equality, order and hash of a compiled selector by its `source` text
/// (what the selector says, not how it was compiled).
macro_rules! by_source {
    ($type:ty) => {
        impl PartialEq for $type {
            fn eq(&self, other: &Self) -> bool {
                self.source == other.source
            }
        }

        impl Eq for $type {}

        impl PartialOrd for $type {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $type {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.source.cmp(&other.source)
            }
        }

        impl std::hash::Hash for $type {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.source.hash(state);
            }
        }
    };
}

mod auth;
mod engine;
mod exchange;
mod hub;
mod mercure;
mod pattern;
#[cfg(feature = "json")]
mod publish;
#[cfg(feature = "redis")]
mod redis;
mod server;
mod template;
mod topics;
mod web;
mod writer;

pub use auth::{
    AUTH_COOKIE, AUTH_QUERY, AuthError, Grant, INSUFFICIENT_SCOPE, MAX_STREAM_TOPICS, MERCURE_COOKIE,
    StreamAccess, StreamRefusal, Verify, bearer_token, stream_subscription, subscriber_token,
};
#[cfg(feature = "jwt")]
pub use auth::{JWT_LEEWAY_SECS, JwtKey, JwtVerifier, KeyError, MIN_HMAC_SECRET};
pub use engine::{EngineError, PublishSink, Publishing, Replay, ReplaySource, encode_frame};
pub use exchange::{Body, Cors, Handler, HandlerFuture, full, read_body, request_host, text_response};
pub use hub::{
    EARLIEST, Hub, HubConfig, HubStats, IdForm, MAX_QUEUE_LEN, PublishError, Published, SlowConsumer,
    SubscribeError, Subscriber, Update,
};
pub use mercure::{
    MAX_STREAM_PATTERNS, MAX_UPDATE_TOPICS, MERCURE_PATH, MercureError, MercureUpdate, mercure_reserved,
    mercure_resume_id, mercure_subscription,
};
pub use pattern::UrlPatternSelector;
#[cfg(feature = "json")]
pub use publish::{PublishBodyError, PublishItem, parse_publish};
#[cfg(feature = "redis")]
pub use redis::{RedisConfig, RedisError, RedisHub};
pub use server::{
    KeepaliveProbes, Server, ServerConfig, ServerMonitor, ServerStats, default_max_clients,
    default_max_connections,
};
#[cfg(feature = "tls")]
pub use server::{TlsConfig, TlsError};
pub use template::{MAX_TEMPLATE_LEN, Template, TemplateError};
pub use topics::{Selectors, Subscription};
#[cfg(feature = "axum")]
pub use web::LastEventId;
pub use web::{EventStream, HubService, OwnedEvent};
pub use writer::{SseWriter, WriteError};

/// Entry points for the cargo-fuzz targets in `fuzz/`; not part of the
/// API and not covered by semver.
#[doc(hidden)]
pub mod fuzzing {
    /// What the server decides about a connection's first request head.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum FirstHead {
        /// No decision yet: more bytes are needed.
        Undecided,
        /// A stream request, with its `Last-Event-ID`.
        Stream(Option<String>),
        /// A valid request for hyper.
        Other,
        /// Refused with this status.
        Refused(u16),
    }

    /// Feeds `pieces` to the first-head reader as successive reads (heads
    /// of at most `max` bytes, stream path `/events`).
    ///
    /// ```
    /// use sse_std::fuzzing::{FirstHead, first_head};
    /// assert_eq!(first_head(&[b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n"], 1024), FirstHead::Stream(None));
    /// ```
    #[must_use]
    pub fn first_head(pieces: &[&[u8]], max: usize) -> FirstHead {
        crate::server::fuzz_first_head(pieces, max)
    }
}
