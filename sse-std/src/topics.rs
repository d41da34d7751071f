//! Owned selector sets and subscriptions: what a subscriber selected and
//! what its credentials grant, checked against each event's audience.
//!
//! Invariant: every selector in a [`Selectors`] was validated once, when
//! the set was made (sse-wire's [`Selector::parse`], or a URI
//! [`Template`] compiled once), and is kept in its parsed form (sorted,
//! without duplicates), so matching never parses again and equal sets
//! compare (and hash) equal. Every match goes through one rule
//! ([`Selectors::covers`], on sse-wire's [`Selector::matches`]), so live
//! fan-out, replay and publisher authorization cannot disagree. An event
//! may have several topics: a set covers it when it covers one of them.

use sse_wire::{Audience, Selection, Selector, Topic, TopicError};

use crate::pattern::UrlPatternSelector;
use crate::template::{Template, TemplateError};

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
    /// A URI template (Mercure's selectors): any topic it can expand to.
    Template(Template),
    /// A URL pattern (Mercure's `urlpattern` matchers).
    UrlPattern(UrlPatternSelector),
}

impl Parsed {
    pub(crate) fn matches(&self, topic: Option<&str>) -> bool {
        match self {
            Self::Under(prefix) => Selector::Under(prefix).matches(topic),
            Self::Exact(exact) => topic == Some(&**exact),
            Self::Template(template) => topic.is_some_and(|topic| template.matches(topic)),
            Self::UrlPattern(pattern) => topic.is_some_and(|topic| pattern.matches(topic)),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Under(prefix) => format!("{prefix}*"),
            Self::Exact(topic) => topic.to_string(),
            Self::Template(template) => template.as_str().to_owned(),
            Self::UrlPattern(pattern) => pattern.as_str().to_owned(),
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
        Ok(set.normalized())
    }

    /// Reads selectors written the Mercure way, as the Mercure hub does:
    /// `*` (every topic), a URI template (RFC 6570, such as
    /// `https://example.com/books/{id}`), or else one exact topic (any
    /// string, a malformed template included; one that is not a valid
    /// topic name, such as `a/*`, can only match itself, which no topic
    /// is).
    ///
    /// # Errors
    /// [`TemplateError::TooLong`] for a selector longer than
    /// [`MAX_TEMPLATE_LEN`](crate::MAX_TEMPLATE_LEN).
    ///
    /// ```
    /// let set = sse_std::Selectors::parse_mercure(["https://example.com/books/{id}", "urn:news"])?;
    /// assert!(set.covers(Some("https://example.com/books/1")));
    /// assert!(set.covers(Some("urn:news")));
    /// assert!(!set.covers(Some("https://example.com/books/1/reviews")));
    /// assert!(!sse_std::Selectors::parse_mercure(["news/*"])?.covers(Some("news/eu")));
    /// // Not a template: an exact topic, as the Mercure hub takes it.
    /// assert!(sse_std::Selectors::parse_mercure(["urn:{x"])?.covers(Some("urn:{x")));
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    pub fn parse_mercure<I, S>(selectors: I) -> Result<Self, TemplateError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::none();
        for text in selectors {
            let text = text.as_ref();
            if text.len() > crate::MAX_TEMPLATE_LEN {
                return Err(TemplateError::TooLong);
            }
            if text == "*" {
                set.all = true;
            } else if let (true, Ok(template)) = (text.contains(['{', '}']), Template::parse(text)) {
                set.selectors.push(Parsed::Template(template));
            } else if Topic::new(text).is_ok() {
                set.selectors.push(Parsed::Exact(Box::from(text)));
            }
            // Anything else can only match itself, which no topic is.
        }
        Ok(set.normalized())
    }

    /// URL patterns (Mercure's `match_urlpattern` parameters and
    /// `urlpattern` matchers), `*` (every topic) aside.
    ///
    /// # Errors
    /// The first invalid pattern's [`TemplateError`].
    ///
    /// ```
    /// let set = sse_std::Selectors::url_patterns(["https://example.com/books/:id"])?;
    /// assert!(set.covers(Some("https://example.com/books/1")));
    /// assert!(sse_std::Selectors::url_patterns(["*"])?.covers(Some("anything")));
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    pub fn url_patterns<I, S>(patterns: I) -> Result<Self, TemplateError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::none();
        for text in patterns {
            match text.as_ref() {
                "*" => set.all = true,
                text => set.selectors.push(Parsed::UrlPattern(UrlPatternSelector::parse(text)?)),
            }
        }
        Ok(set.normalized())
    }

    /// Exact topics only (Mercure's `match` parameters): each selects the
    /// one topic equal to it, whatever it holds; a string no topic can be
    /// (empty, or with `*` or a control character) selects nothing, and
    /// `*` selects every topic.
    ///
    /// ```
    /// let set = sse_std::Selectors::exact(["https://example.com/{id}", "a/*"]);
    /// assert!(set.covers(Some("https://example.com/{id}")));
    /// assert!(!set.covers(Some("https://example.com/1")) && !set.covers(Some("a/b")));
    /// ```
    pub fn exact<I, S>(topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::none();
        for topic in topics {
            set.all |= topic.as_ref() == "*";
            if let Ok(topic) = Topic::new(topic.as_ref()) {
                set.selectors.push(Parsed::Exact(Box::from(topic.as_str())));
            }
        }
        set.normalized()
    }

    /// Both sets' selectors.
    ///
    /// ```
    /// let a = sse_std::Selectors::parse(["a"])?;
    /// let both = a.union(&sse_std::Selectors::parse(["b/*"])?);
    /// assert!(both.covers(Some("a")) && both.covers(Some("b/c")));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        let selectors = self.selectors.iter().chain(&other.selectors).cloned().collect();
        Self { selectors, all: self.all || other.all }.normalized()
    }

    /// The same set in its one form: sorted, without duplicates.
    fn normalized(mut self) -> Self {
        self.selectors.sort_unstable();
        self.selectors.dedup();
        self
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

    /// The selectors as written, each once: `*` first if present, then
    /// the `prefix/*` selectors, the exact topics and the URI templates,
    /// each sorted.
    ///
    /// ```
    /// let set = sse_std::Selectors::parse(["b", "a/*", "*", "*", "a"])?;
    /// let texts: Vec<String> = set.iter().collect();
    /// assert_eq!(texts, ["*", "a/*", "a", "b"]);
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = String> + '_ {
        let all = self.all.then(|| "*".to_owned());
        all.into_iter().chain(self.selectors.iter().map(Parsed::text))
    }

    /// How many selectors no index can hold (URI templates, URL patterns):
    /// each costs every publish a match.
    pub(crate) fn unindexed(&self) -> usize {
        self.selectors.iter().filter(|p| matches!(p, Parsed::Template(_) | Parsed::UrlPattern(_))).count()
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
        self.all || self.selectors.iter().any(|parsed| parsed.matches(topic))
    }

    /// Whether a selector of the set matches one of `topics` (an event
    /// with several topics; none: an event without a topic).
    ///
    /// ```
    /// let set = sse_std::Selectors::parse(["b"])?;
    /// assert!(set.covers_any(&["a", "b"]) && !set.covers_any(&["a"]));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn covers_any<S: AsRef<str>>(&self, topics: &[S]) -> bool {
        self.covers_some(topics.iter().map(AsRef::as_ref))
    }

    /// [`covers_any`](Self::covers_any) over an iterator (nothing
    /// collected).
    fn covers_some<'t>(&self, mut topics: impl Iterator<Item = &'t str>) -> bool {
        match topics.next() {
            None => self.covers(None),
            Some(first) => self.covers(Some(first)) || topics.any(|topic| self.covers(Some(topic))),
        }
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

    /// Whether an event with these topics (none: no topic) and privacy
    /// reaches this subscriber: one of its topics is selected and, if it
    /// is private, one of them is granted (Mercure's rule for updates with
    /// several topics: the audience is the union of the topics').
    pub(crate) fn admits_topics<'t>(
        &self,
        topics: impl Iterator<Item = &'t str> + Clone,
        private: bool,
    ) -> bool {
        self.topics.covers_some(topics.clone()) && (!private || self.grants.covers_some(topics))
    }
}
