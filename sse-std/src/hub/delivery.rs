//! One published event as the hub keeps it for replay: the encoded frame
//! and who it is for.
//!
//! Invariant: an event for everyone (no topic, public) carries no tag; a
//! tagged event shares one tag among all its copies. The frame is the same
//! `Bytes` that went live.

use std::sync::Arc;

use bytes::Bytes;
use sse_wire::Audience;

use crate::topics::Subscription;

/// An encoded event and its audience.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) frame: Bytes,
    /// `None`: no topic, public.
    pub(crate) tag: Option<Arc<Tag>>,
}

/// The owned form of an [`Audience`] other than [`Audience::EVERYONE`].
#[derive(Debug)]
pub(crate) struct Tag {
    pub(crate) topic: Option<Box<str>>,
    pub(crate) private: bool,
}

impl Delivery {
    /// A frame for `audience`.
    pub(crate) fn new(frame: Bytes, audience: Audience<'_>) -> Self {
        let tag = (audience != Audience::EVERYONE).then(|| {
            Arc::new(Tag { topic: audience.topic_name().map(Box::from), private: audience.private })
        });
        Self { frame, tag }
    }

    /// Its topic, if any.
    pub(crate) fn topic(&self) -> Option<&str> {
        self.tag.as_ref().and_then(|tag| tag.topic.as_deref())
    }

    /// Whether it reaches a subscriber with `subscription`.
    pub(crate) fn reaches(&self, subscription: &Subscription) -> bool {
        match &self.tag {
            None => subscription.admits(Audience::EVERYONE),
            Some(tag) => subscription.admits_parts(tag.topic.as_deref(), tag.private),
        }
    }
}
