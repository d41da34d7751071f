//! One published event as the hub keeps it for replay: the encoded frame
//! and who it is for.
//!
//! Invariant: an event for everyone (no topic, public) carries no tag; a
//! tagged event shares one tag among all its copies, holding every topic
//! of the event (the canonical one first). The frame is the same `Bytes`
//! that went live.

use std::sync::Arc;

use bytes::Bytes;
use sse_wire::{Audience, Event, Topic};

use crate::topics::Subscription;

/// An event to publish and who it is for: its canonical topic and privacy
/// (an [`Audience`]), and any alternate topics. The event reaches every
/// subscriber that selects one of its topics, once; a private one, every
/// such subscriber whose grants cover one of them (the Mercure rule).
///
/// ```
/// use sse_wire::{Audience, Event, Topic};
/// let also = [Topic::new("https://example.com/authors/7")?];
/// let update = sse_std::Update::new(Audience::on(Topic::new("https://example.com/books/1")?), Event::new().with_data("x"))
///     .with_alternates(&also);
/// assert_eq!(update.topics().count(), 2);
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Update<'a> {
    /// The canonical topic (if any) and whether the event is private.
    pub audience: Audience<'a>,
    /// Further topics the event belongs to.
    pub alternates: &'a [Topic<'a>],
    /// The event.
    pub event: Event<'a>,
}

impl<'a> Update<'a> {
    /// `event` for `audience`, with no alternate topic.
    ///
    /// ```
    /// let u = sse_std::Update::new(sse_wire::Audience::EVERYONE, sse_wire::Event::new().with_data("x"));
    /// assert_eq!(u.topics().count(), 0);
    /// ```
    #[must_use]
    pub fn new(audience: Audience<'a>, event: Event<'a>) -> Self {
        Self { audience, alternates: &[], event }
    }

    /// The same update, also on `alternates` (ignored for an event
    /// without a canonical topic).
    ///
    /// ```
    /// # use sse_wire::{Audience, Event, Topic};
    /// let also = [Topic::new("b")?];
    /// let u = sse_std::Update::new(Audience::on(Topic::new("a")?), Event::new()).with_alternates(&also);
    /// assert_eq!(u.topics().map(|t| t.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn with_alternates(self, alternates: &'a [Topic<'a>]) -> Self {
        Self { alternates, ..self }
    }

    /// Every topic, the canonical one first.
    ///
    /// ```
    /// # use sse_wire::{Audience, Event, Topic};
    /// let u = sse_std::Update::new(Audience::on(Topic::new("a")?), Event::new());
    /// assert_eq!(u.topics().count(), 1);
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    pub fn topics(&self) -> impl Iterator<Item = Topic<'a>> + Clone + 'a {
        let alternates = if self.audience.topic.is_some() { self.alternates } else { &[] };
        self.audience.topic.into_iter().chain(alternates.iter().copied())
    }

    /// Whether it reaches a subscriber with `subscription`: one of its
    /// topics is selected and, if it is private, one of them is granted.
    ///
    /// ```
    /// # use sse_wire::{Audience, Event, Topic};
    /// use sse_std::{Selectors, Subscription, Update};
    /// let also = [Topic::new("b")?];
    /// let u = Update::new(Audience::on(Topic::new("a")?).private(), Event::new()).with_alternates(&also);
    /// let s = Subscription::new(Selectors::parse(["a"])?).with_grants(Selectors::parse(["b"])?);
    /// assert!(u.admitted_by(&s));
    /// assert!(!u.admitted_by(&Subscription::new(Selectors::parse(["a"])?)));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn admitted_by(&self, subscription: &Subscription) -> bool {
        subscription.admits_topics(self.topics().map(|t| t.as_str()), self.audience.private)
    }
}

/// An encoded event and its audience.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) frame: Bytes,
    /// `None`: no topic, public.
    pub(crate) tag: Option<Arc<Tag>>,
}

/// The owned form of an update's audience other than
/// [`Audience::EVERYONE`].
#[derive(Debug)]
pub(crate) struct Tag {
    /// Every topic, the canonical one first; empty: no topic.
    pub(crate) topics: Box<[Box<str>]>,
    pub(crate) private: bool,
}

impl Delivery {
    /// A frame for `update`'s audience.
    pub(crate) fn new(frame: Bytes, update: &Update<'_>) -> Self {
        let tag = (update.audience != Audience::EVERYONE).then(|| {
            let topics = update.topics().map(|t| Box::from(t.as_str())).collect();
            Arc::new(Tag { topics, private: update.audience.private })
        });
        Self { frame, tag }
    }

    /// Its topics, the canonical one first (none: no topic).
    pub(crate) fn topics(&self) -> &[Box<str>] {
        self.tag.as_ref().map_or(&[], |tag| &tag.topics)
    }

    /// Whether it reaches a subscriber with `subscription`.
    pub(crate) fn reaches(&self, subscription: &Subscription) -> bool {
        match &self.tag {
            None => subscription.admits(Audience::EVERYONE),
            Some(tag) => subscription.admits_topics(tag.topics.iter().map(|t| &**t), tag.private),
        }
    }
}
