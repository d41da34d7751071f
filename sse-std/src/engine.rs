//! Scale-out engines: the two halves through which a [`Hub`] shares its
//! events with other instances. A [`PublishSink`] stores published events
//! somewhere every instance reads (Redis Streams in [`RedisHub`](crate::RedisHub),
//! or the hub itself when there is one instance); each instance's follower
//! puts what it reads into its local hub with [`Hub::publish_to`] (the
//! events carry the ids the engine gave them) and calls
//! [`Hub::announce_gap`] when it loses continuity. A [`ReplaySource`]
//! answers the `Last-Event-ID`s the local history cannot.
//!
//! Invariant: a source replays exactly the events after `after` up to and
//! including `until` (the newest event in the local history when the
//! subscriber joined, whose successors reach it live), filtered by the
//! subscription, or answers `None` and the subscriber gets `missed`; so a
//! resume through a source has no gap and no duplicate. A sink stores a
//! request's events all or none, and answers with exactly the ids its
//! events will carry on every instance.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use sse_wire::Event;

use crate::hub::{Hub, Update};
use crate::topics::Subscription;

/// The frames a [`ReplaySource`] replays (each one encoded event, see
/// [`encode_frame`]), or `None` for `missed`.
///
/// ```
/// let nothing: sse_std::Replay = Box::pin(std::future::ready(None));
/// ```
pub type Replay = Pin<Box<dyn Future<Output = Option<Vec<Bytes>>> + Send>>;

/// A history shared beyond one hub, which answers the `Last-Event-ID`s
/// the hub's own history cannot (set it with [`Hub::set_replay_source`]).
/// It must not hold the hub itself (the hub holds it).
///
/// ```
/// use sse_std::{Replay, ReplaySource, Subscription};
/// /// A source that never has anything: every such resume gets `missed`.
/// #[derive(Debug)]
/// struct Forgetful;
/// impl ReplaySource for Forgetful {
///     fn replay(&self, _after: &str, _until: Option<&str>, _subscription: &Subscription) -> Replay {
///         Box::pin(std::future::ready(None))
///     }
/// }
/// let hub = sse_std::Hub::new(Default::default());
/// hub.set_replay_source(std::sync::Arc::new(Forgetful));
/// ```
pub trait ReplaySource: Send + Sync + fmt::Debug {
    /// The events after `after` up to and including `until` (`None`: the
    /// local history is empty, so everything after `after`) that
    /// `subscription` admits ([`Subscription::admits`]), encoded, in
    /// order; `None` if any of them cannot be had (the client then gets
    /// `missed`). Bound what a client can make this cost: it chooses
    /// `after`.
    fn replay(&self, after: &str, until: Option<&str>, subscription: &Subscription) -> Replay;
}

/// Why a [`PublishSink`] did not store a request.
///
/// ```
/// let e = sse_std::EngineError::Unavailable("no answer in time".into());
/// assert_eq!(e.to_string(), "engine unavailable: no answer in time");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineError {
    /// The engine could not store the events now; nothing was stored
    /// (503: the publisher may retry).
    Unavailable(String),
    /// The engine will never store these events as they are (400).
    Refused(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(reason) => write!(f, "engine unavailable: {reason}"),
            Self::Refused(reason) => write!(f, "refused: {reason}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// A publish under way: the ids of the events, in order, or why nothing
/// was stored. It borrows nothing of the events.
///
/// ```
/// let done: sse_std::Publishing = Box::pin(std::future::ready(Ok(vec!["e-0".to_owned()])));
/// ```
pub type Publishing = Pin<Box<dyn Future<Output = Result<Vec<String>, EngineError>> + Send>>;

/// Where published events go: stored all or none, then delivered to every
/// instance's hub. [`Hub`] is the sink of a single instance;
/// [`RedisHub`](crate::RedisHub) shares a Redis stream.
///
/// ```
/// use sse_std::PublishSink as _;
/// use sse_wire::{Audience, Event};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let hub = sse_std::Hub::new(Default::default());
/// let ids = hub.publish_all(&[sse_std::Update::new(Audience::EVERYONE, Event::new().with_data("hi"))]).await?;
/// assert_eq!(ids.len(), 1);
/// # Ok::<(), sse_std::EngineError>(()) }).unwrap();
/// ```
pub trait PublishSink: Send + Sync + fmt::Debug {
    /// Stores `items`, all or none, and answers their ids.
    fn publish_all(&self, items: &[Update<'_>]) -> Publishing;
}

impl PublishSink for Hub {
    /// Publishes each item to this hub; an event that cannot be published
    /// (it does not encode) stops the request there.
    fn publish_all(&self, items: &[Update<'_>]) -> Publishing {
        let mut ids = Vec::with_capacity(items.len());
        for update in items {
            match self.publish_update(update) {
                Ok(published) => ids.push(published.id),
                Err(e) => return Box::pin(std::future::ready(Err(EngineError::Unavailable(e.to_string())))),
            }
        }
        Box::pin(std::future::ready(Ok(ids)))
    }
}

/// One event encoded as a frame, as the hub sends it: what a
/// [`ReplaySource`] replays.
///
/// # Errors
/// [`PublishError::Format`](crate::PublishError::Format) if the event
/// cannot be encoded.
///
/// ```
/// let frame = sse_std::encode_frame(&sse_wire::Event::new().with_id("7").unwrap().with_data("x"))?;
/// assert_eq!(&frame[..], b"id: 7\ndata: x\n\n");
/// # Ok::<(), sse_std::PublishError>(())
/// ```
pub fn encode_frame(event: &Event<'_>) -> Result<Bytes, crate::PublishError> {
    crate::hub::encode(event)
}
