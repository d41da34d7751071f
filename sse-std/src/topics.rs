//! Owned selector sets and subscriptions: what a subscriber selected and
//! what its credentials grant, checked against each event's audience.
//!
//! Invariant: every selector in a [`Selectors`] was validated by
//! sse-wire's [`Selector::parse`] once, when the set was made, and is kept
//! in its parsed form (sorted, without duplicates), so matching never
//! parses again and equal sets compare (and hash) equal. Every match goes
//! through sse-wire's one rule ([`Selector::matches`],
//! [`Audience::reaches`]), so live fan-out, replay and publisher
//! authorization cannot disagree.

use sse_wire::{Audience, Selection, Selector, Topic, TopicError};

/// An owned set of topic selectors (see [`Selector`]): the topics a
/// subscriber chose, or what a token grants.
///
/// ```
/// let sensors = sse_std::Selectors::parse(["sensors/*", "alerts"])?;
/// assert!(sensors.covers(Some("sensors/room1/t3")));
/// assert!(!sensors.covers(Some("sensorsX")));
/// assert!(!sensors.covers(None));
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selectors {
    /// Sorted, without duplicates.
    selectors: Vec<Parsed>,
    /// Holds `*`: every topic matches.
    all: bool,
}

/// A selector other than `*`, owned and already parsed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Parsed {
    /// `prefix/*`: the prefix with its final `/`.
    Under(Box<str>),
    /// One topic.
    Exact(Box<str>),
}

impl Parsed {
    /// sse-wire's selector for it (validated when the set was made).
    fn selector(&self) -> Selector<'_> {
        match self {
            Self::Under(prefix) => Selector::Under(prefix),
            // Validated by `Selector::parse` when the set was made.
            Self::Exact(topic) => Topic::new(topic).map_or(Selector::Under(topic), Selector::Exact),
        }
    }
}

impl Selectors {
    /// `*`: every event, those without a topic included.
    ///
    /// ```
    /// assert!(sse_std::Selectors::all().covers(None));
    /// ```
    #[must_use]
    pub fn all() -> Self {
        Self { selectors: Vec::new(), all: true }
    }

    /// No selector: matches nothing.
    ///
    /// ```
    /// assert!(!sse_std::Selectors::none().covers(Some("t")));
    /// ```
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Validates every selector.
    ///
    /// # Errors
    /// The first invalid one's [`TopicError`].
    ///
    /// ```
    /// assert!(sse_std::Selectors::parse(["a", "b/*"]).is_ok());
    /// assert!(sse_std::Selectors::parse(["a*"]).is_err());
    /// ```
    pub fn parse<I, S>(selectors: I) -> Result<Self, TopicError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::none();
        for text in selectors {
            let text = text.as_ref();
            match Selector::parse(text)? {
                Selector::All => set.all = true,
                Selector::Under(prefix) => set.selectors.push(Parsed::Under(Box::from(prefix))),
                Selector::Exact(topic) => set.selectors.push(Parsed::Exact(Box::from(topic.as_str()))),
            }
        }
        set.selectors.sort_unstable();
        set.selectors.dedup();
        Ok(set)
    }

    /// Whether there is no selector.
    ///
    /// ```
    /// assert!(sse_std::Selectors::none().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.all && self.selectors.is_empty()
    }

    /// The selectors, each once: `*` first if present, then the
    /// `prefix/*` selectors, then the exact topics, each sorted.
    ///
    /// ```
    /// let set = sse_std::Selectors::parse(["b", "a/*", "*", "*", "a"])?;
    /// let texts: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    /// assert_eq!(texts, ["*", "a/*", "a", "b"]);
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Selector<'_>> + '_ {
        let all = self.all.then_some(Selector::All);
        all.into_iter().chain(self.selectors.iter().map(Parsed::selector))
    }

    /// Whether `*` is among the selectors.
    pub(crate) fn has_all(&self) -> bool {
        self.all
    }

    /// The selectors other than `*`, parsed.
    pub(crate) fn parsed(&self) -> &[Parsed] {
        &self.selectors
    }

    /// Whether a selector of the set matches `topic` (`None`: an event
    /// without a topic, which only `*` matches).
    ///
    /// ```
    /// let set = sse_std::Selectors::parse(["a"])?;
    /// assert!(set.covers(Some("a")) && !set.covers(Some("b")));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn covers(&self, topic: Option<&str>) -> bool {
        self.all || self.selectors.iter().any(|parsed| parsed.selector().matches(topic))
    }
}

impl Selection for Selectors {
    fn selects(&self, topic: Option<&str>) -> bool {
        self.covers(topic)
    }
}

/// What a subscriber receives: the public events of the topics it
/// selected, and the private events of those among them its grants cover.
/// The default is every public event (`*`, no grants).
///
/// ```
/// use sse_wire::{Audience, Topic};
/// use sse_std::{Selectors, Subscription};
/// let s = Subscription::new(Selectors::parse(["orders/*"])?)
///     .with_grants(Selectors::parse(["orders/42"])?);
/// let order = |t| Audience::on(Topic::new(t).unwrap());
/// assert!(s.admits(order("orders/42").private()));
/// assert!(s.admits(order("orders/7")));
/// assert!(!s.admits(order("orders/7").private()));
/// assert!(!s.admits(order("news")));
/// assert!(Subscription::default().admits(Audience::EVERYONE));
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// The topics selected.
    pub topics: Selectors,
    /// The topics whose private events this subscriber may receive.
    pub grants: Selectors,
}

impl Default for Subscription {
    fn default() -> Self {
        Self { topics: Selectors::all(), grants: Selectors::none() }
    }
}

impl Subscription {
    /// The public events of `topics`.
    ///
    /// ```
    /// let s = sse_std::Subscription::new(sse_std::Selectors::parse(["a"])?);
    /// assert!(s.grants.is_empty());
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn new(topics: Selectors) -> Self {
        Self { topics, grants: Selectors::none() }
    }

    /// The same subscription, also receiving the private events of the
    /// selected topics that `grants` covers.
    ///
    /// ```
    /// let s = sse_std::Subscription::default().with_grants(sse_std::Selectors::all());
    /// assert!(s.admits(sse_wire::Audience::EVERYONE.private()));
    /// ```
    #[must_use]
    pub fn with_grants(self, grants: Selectors) -> Self {
        Self { grants, ..self }
    }

    /// Whether an event for `audience` reaches this subscriber.
    ///
    /// ```
    /// assert!(!sse_std::Subscription::default().admits(sse_wire::Audience::EVERYONE.private()));
    /// ```
    #[must_use]
    pub fn admits(&self, audience: Audience<'_>) -> bool {
        audience.reaches(&self.topics, &self.grants)
    }

    /// Whether an event stored with this topic name and flag reaches this
    /// subscriber (a name that is not a valid topic reaches nobody).
    pub(crate) fn admits_parts(&self, topic: Option<&str>, private: bool) -> bool {
        match topic.map(Topic::new) {
            None => self.admits(Audience { topic: None, private }),
            Some(Ok(topic)) => self.admits(Audience { topic: Some(topic), private }),
            Some(Err(_)) => false,
        }
    }
}
