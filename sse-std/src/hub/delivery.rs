//! One published event as the hub passes it around: the encoded frame and
//! who it is for.
//!
//! Invariant: an event for everyone (no topic, public) carries no tag, so
//! the default fan-out costs one reference count per subscriber, as a bare
//! `Bytes` would; a tagged event shares one tag among all its copies.

use std::sync::Arc;

use bytes::Bytes;
use sse_core::Audience;

use crate::topics::Subscription;

/// An encoded event and its audience.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) frame: Bytes,
    /// `None`: no topic, public.
    pub(crate) tag: Option<Arc<Tag>>,
    /// A signal for every subscriber whatever its subscription (the
    /// `missed` frame after the hub lost continuity).
    pub(crate) to_all: bool,
}

/// The owned form of an [`Audience`] other than [`Audience::EVERYONE`].
#[derive(Debug)]
pub(crate) struct Tag {
    pub(crate) topic: Option<Box<str>>,
    pub(crate) private: bool,
}

impl Delivery {
    /// A frame for everyone.
    #[cfg(test)]
    pub(crate) fn everyone(frame: Bytes) -> Self {
        Self { frame, tag: None, to_all: false }
    }

    /// A signal frame for every subscriber.
    #[cfg(feature = "redis")]
    pub(crate) fn signal(frame: Bytes) -> Self {
        Self { frame, tag: None, to_all: true }
    }

    /// A frame for `audience`.
    pub(crate) fn new(frame: Bytes, audience: Audience<'_>) -> Self {
        let tag = (audience != Audience::EVERYONE).then(|| {
            Arc::new(Tag { topic: audience.topic_name().map(Box::from), private: audience.private })
        });
        Self { frame, tag, to_all: false }
    }

    /// Whether it reaches a subscriber with `subscription`.
    pub(crate) fn reaches(&self, subscription: &Subscription) -> bool {
        if self.to_all {
            return true;
        }
        match &self.tag {
            None => subscription.admits(Audience::EVERYONE),
            Some(tag) => subscription.admits_parts(tag.topic.as_deref(), tag.private),
        }
    }
}
