//! The Mercure protocol's face of the hub: the same hub, subscribed to and
//! published to the way Mercure clients and publishers do, at
//! [`MERCURE_PATH`].
//!
//! Invariant: nothing here routes or stores events: a Mercure request is
//! read into the hub's own terms (a [`Subscription`](crate::Subscription)
//! and a resume id; an [`Update`](crate::Update) checked against the
//! publisher's grants) and the hub does the rest, so a Mercure subscriber
//! and a subscriber of the hub's own stream receive the same events, ids
//! and `missed` signals. Every refusal is a typed error with its HTTP
//! status.
//!
//! Modules: `subscribe` (the query of a subscription), `publish` (the form
//! of an update), `presence` (active subscriptions: their events and API).

#[cfg(feature = "json")]
mod presence;
mod publish;
mod subscribe;

#[cfg(feature = "json")]
pub(crate) use presence::Presence;
#[cfg(feature = "json")]
pub(crate) use subscribe::selector_texts;

pub use publish::{MAX_UPDATE_TOPICS, MercureError, MercureUpdate, mercure_reserved};
pub use subscribe::{MAX_STREAM_PATTERNS, mercure_resume_id, mercure_subscription};

/// Where Mercure clients find a hub (the path the protocol defines), and
/// the root of the namespace reserved for what the hub itself publishes.
///
/// ```
/// assert_eq!(sse_std::MERCURE_PATH, "/.well-known/mercure");
/// ```
pub const MERCURE_PATH: &str = "/.well-known/mercure";
