//! Topics, selectors and audiences: who an event is for.
//!
//! Invariant: a [`Topic`] is a validated name (1 to [`MAX_TOPIC_LEN`]
//! bytes, no ASCII control character, no `*`), so a [`Selector`] can never
//! be mistaken for one. Matching is one rule for every caller, live
//! fan-out and replay alike: an event reaches a subscriber when one of its
//! selected selectors matches the event's topic and, if the event is
//! private, one of its granted selectors matches too. The topic is
//! routing information only; it is never written into a frame.

use core::fmt;

/// The longest topic name, in bytes.
///
/// ```
/// assert!(sse_wire::Topic::new(&"t".repeat(sse_wire::MAX_TOPIC_LEN)).is_ok());
/// assert!(sse_wire::Topic::new(&"t".repeat(sse_wire::MAX_TOPIC_LEN + 1)).is_err());
/// ```
pub const MAX_TOPIC_LEN: usize = 1024;

/// Why a topic name or a selector was refused.
///
/// ```
/// assert_eq!(sse_wire::Topic::new(""), Err(sse_wire::TopicError::Empty));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TopicError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_TOPIC_LEN`] bytes.
    TooLong,
    /// The name contains an ASCII control character.
    Control,
    /// The name contains `*`, which only selectors use (`*` alone, or a
    /// final `/*`).
    Wildcard,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "topic is empty",
            Self::TooLong => "topic is longer than 1024 bytes",
            Self::Control => "topic contains a control character",
            Self::Wildcard => "topic contains '*' (only '*' alone or a final '/*' selects many topics)",
        })
    }
}

impl core::error::Error for TopicError {}

#[cfg(feature = "defmt")]
impl defmt::Format for TopicError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "{=str}",
            match self {
                Self::Empty => "topic is empty",
                Self::TooLong => "topic too long",
                Self::Control => "topic contains a control character",
                Self::Wildcard => "topic contains '*'",
            }
        );
    }
}

/// A validated topic name, such as `sensors/room1/t3` or
/// `https://example.com/books/1`.
///
/// ```
/// let topic = sse_wire::Topic::new("sensors/room1")?;
/// assert_eq!(topic.as_str(), "sensors/room1");
/// assert!(sse_wire::Topic::new("a\nb").is_err());
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Topic<'a>(&'a str);

impl<'a> Topic<'a> {
    /// Validates `name` as a topic.
    ///
    /// # Errors
    /// The [`TopicError`] that says what is wrong.
    ///
    /// ```
    /// assert_eq!(sse_wire::Topic::new("a*"), Err(sse_wire::TopicError::Wildcard));
    /// ```
    pub const fn new(name: &'a str) -> Result<Self, TopicError> {
        match check_topic(name) {
            Ok(()) => Ok(Self(name)),
            Err(e) => Err(e),
        }
    }

    /// The name.
    ///
    /// ```
    /// assert_eq!(sse_wire::Topic::new("t")?.as_str(), "t");
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.0
    }
}

/// The one predicate for topic names (see [`Topic`]).
///
/// ```
/// assert!(sse_wire::check_topic("news/eu").is_ok());
/// assert!(sse_wire::check_topic("news/*").is_err());
/// ```
///
/// # Errors
/// The [`TopicError`] that says what is wrong.
pub const fn check_topic(name: &str) -> Result<(), TopicError> {
    if name.is_empty() {
        return Err(TopicError::Empty);
    }
    if name.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    let mut rest = name.as_bytes();
    while let [byte, tail @ ..] = rest {
        if byte.is_ascii_control() {
            return Err(TopicError::Control);
        }
        if *byte == b'*' {
            return Err(TopicError::Wildcard);
        }
        rest = tail;
    }
    Ok(())
}

/// Which topics a subscriber selects, or a token grants.
///
/// - `*`: every event, those without a topic included;
/// - `prefix/*`: every topic under `prefix/`, at any depth;
/// - anything else: that one topic.
///
/// ```
/// use sse_wire::Selector;
/// let sensors = Selector::parse("sensors/*")?;
/// assert!(sensors.matches(Some("sensors/room1/t3")));
/// assert!(!sensors.matches(Some("sensors")));
/// assert!(!sensors.matches(Some("sensorsX")));
/// assert!(!sensors.matches(Some("other/sensors/t4")));
/// assert!(!sensors.matches(None));
/// assert!(Selector::parse("*")?.matches(None));
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Selector<'a> {
    /// `*`: every event.
    All,
    /// `prefix/*`: holds the prefix with its final `/`.
    Under(&'a str),
    /// One topic.
    Exact(Topic<'a>),
}

impl<'a> Selector<'a> {
    /// Reads a selector.
    ///
    /// # Errors
    /// The [`TopicError`] of the topic or prefix: `*` elsewhere than alone
    /// or at the end after `/`, an empty prefix (`/*`), control characters,
    /// more than [`MAX_TOPIC_LEN`] bytes.
    ///
    /// ```
    /// use sse_wire::{Selector, TopicError};
    /// assert_eq!(Selector::parse("a/*")?, Selector::Under("a/"));
    /// assert_eq!(Selector::parse("a*"), Err(TopicError::Wildcard));
    /// assert_eq!(Selector::parse("/*"), Err(TopicError::Empty));
    /// # Ok::<(), TopicError>(())
    /// ```
    pub fn parse(text: &'a str) -> Result<Self, TopicError> {
        if text == "*" {
            return Ok(Self::All);
        }
        match text.strip_suffix("/*") {
            Some(prefix) => {
                check_topic(prefix)?;
                Ok(Self::Under(text.get(..prefix.len().saturating_add(1)).unwrap_or(prefix)))
            }
            None => Topic::new(text).map(Self::Exact),
        }
    }

    /// Whether an event on `topic` (`None`: an event without a topic) is
    /// selected.
    ///
    /// ```
    /// let one = sse_wire::Selector::parse("a")?;
    /// assert!(one.matches(Some("a")) && !one.matches(Some("a/b")) && !one.matches(None));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, topic: Option<&str>) -> bool {
        match (self, topic) {
            (Self::All, _) => true,
            (_, None) => false,
            (Self::Exact(exact), Some(topic)) => exact.as_str() == topic,
            (Self::Under(prefix), Some(topic)) => {
                topic.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty())
            }
        }
    }
}

impl fmt::Display for Selector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Under(prefix) => write!(f, "{prefix}*"),
            Self::Exact(topic) => f.write_str(topic.as_str()),
        }
    }
}

/// A set of selectors: a subscriber's topics, or what a token grants.
/// Implemented for slices of [`Selector`]s here and for owned sets in
/// adapters.
///
/// ```
/// use sse_wire::{Selection, Selector};
/// let chosen = [Selector::parse("a")?, Selector::parse("b/*")?];
/// assert!(chosen[..].selects(Some("b/1")) && !chosen[..].selects(Some("c")));
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
pub trait Selection {
    /// Whether any selector of the set matches `topic`.
    fn selects(&self, topic: Option<&str>) -> bool;
}

impl Selection for [Selector<'_>] {
    fn selects(&self, topic: Option<&str>) -> bool {
        self.iter().any(|selector| selector.matches(topic))
    }
}

impl Selection for Selector<'_> {
    fn selects(&self, topic: Option<&str>) -> bool {
        self.matches(topic)
    }
}

/// Who an event is for: its topic (if any) and whether it is private.
/// A public event reaches every subscriber that selects its topic; a
/// private one only those whose grants cover the topic too.
///
/// ```
/// use sse_wire::{Audience, Selector, Topic};
/// let everyone = [Selector::All];
/// let nothing: [Selector; 0] = [];
/// let public = Audience::on(Topic::new("p")?);
/// let private = public.private();
/// assert!(public.reaches(&everyone[..], &nothing[..]));
/// assert!(!private.reaches(&everyone[..], &nothing[..]));
/// assert!(private.reaches(&everyone[..], &everyone[..]));
/// assert!(Audience::EVERYONE.reaches(&everyone[..], &nothing[..]));
/// # Ok::<(), sse_wire::TopicError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Audience<'a> {
    /// The event's topic; `None`: no topic (only `*` selects it).
    pub topic: Option<Topic<'a>>,
    /// Only for subscribers granted the topic.
    pub private: bool,
}

impl<'a> Audience<'a> {
    /// A public event without a topic.
    ///
    /// ```
    /// assert_eq!(sse_wire::Audience::EVERYONE, sse_wire::Audience::default());
    /// ```
    pub const EVERYONE: Self = Self { topic: None, private: false };

    /// A public event on `topic`.
    ///
    /// ```
    /// let a = sse_wire::Audience::on(sse_wire::Topic::new("t")?);
    /// assert_eq!(a.topic_name(), Some("t"));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub const fn on(topic: Topic<'a>) -> Self {
        Self { topic: Some(topic), private: false }
    }

    /// The same audience, private.
    ///
    /// ```
    /// assert!(sse_wire::Audience::EVERYONE.private().private);
    /// ```
    #[must_use]
    pub const fn private(self) -> Self {
        Self { private: true, ..self }
    }

    /// The topic's name, if any.
    ///
    /// ```
    /// assert_eq!(sse_wire::Audience::EVERYONE.topic_name(), None);
    /// ```
    #[must_use]
    pub fn topic_name(&self) -> Option<&'a str> {
        self.topic.map(|topic| topic.as_str())
    }

    /// Whether a subscriber that selected `topics` and holds `grants`
    /// receives this event.
    ///
    /// ```
    /// use sse_wire::{Audience, Selector, Topic};
    /// let a = [Selector::parse("a")?];
    /// assert!(Audience::on(Topic::new("a")?).reaches(&a[..], &a[..]));
    /// assert!(!Audience::on(Topic::new("b")?).reaches(&a[..], &a[..]));
    /// # Ok::<(), sse_wire::TopicError>(())
    /// ```
    #[must_use]
    pub fn reaches<S: Selection + ?Sized, G: Selection + ?Sized>(&self, topics: &S, grants: &G) -> bool {
        let topic = self.topic_name();
        topics.selects(topic) && (!self.private || grants.selects(topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_as_documented() {
        let cases: &[(&str, Option<&str>, bool)] = &[
            ("*", None, true),
            ("*", Some("x"), true),
            ("sensors/*", Some("sensors/t1"), true),
            ("sensors/*", Some("sensors/room1/t3"), true),
            ("sensors/*", Some("sensors"), false),
            ("sensors/*", Some("sensors/"), false),
            ("sensors/*", Some("sensorsX"), false),
            ("sensors/*", Some("sensorsX/t1"), false),
            ("sensors/*", Some("other/sensors/t4"), false),
            ("sensors/*", None, false),
            ("a/b/*", Some("a/b/c"), true),
            ("a/b/*", Some("a/c"), false),
            ("a", Some("a"), true),
            ("a", Some("A"), false),
            ("a", Some("a/b"), false),
            ("a", None, false),
        ];
        for &(selector, topic, want) in cases {
            assert_eq!(Selector::parse(selector).unwrap().matches(topic), want, "{selector} vs {topic:?}");
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for (text, want) in [
            ("", TopicError::Empty),
            ("/*", TopicError::Empty),
            ("a*", TopicError::Wildcard),
            ("*/a", TopicError::Wildcard),
            ("a/*/b", TopicError::Wildcard),
            ("**", TopicError::Wildcard),
            ("a/**", TopicError::Wildcard),
            ("a\0", TopicError::Control),
            ("a\r\n", TopicError::Control),
            ("\x7f", TopicError::Control),
        ] {
            assert_eq!(Selector::parse(text), Err(want), "{text:?}");
        }
        assert_eq!(Topic::new("*"), Err(TopicError::Wildcard));
        let long = "x".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(Topic::new(&long), Err(TopicError::TooLong));
        assert!(Selector::parse("héllo wörld").unwrap().matches(Some("héllo wörld")));
    }

    #[test]
    fn selectors_print_as_parsed() {
        use std::string::ToString;
        for text in ["*", "a/*", "a/b"] {
            assert_eq!(Selector::parse(text).unwrap().to_string(), text);
        }
    }
}
