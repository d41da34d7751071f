//! A Mercure update as a publisher posts it: an
//! `application/x-www-form-urlencoded` body with `topic` (one or more),
//! `data`, `private`, `id`, `type` and `retry`.
//!
//! Invariant: a [`MercureUpdate`] holds only what the protocol allows: at
//! least one topic and at most [`MAX_UPDATE_TOPICS`], each a valid topic
//! that is not `*` and does not address the hub's reserved namespace; an
//! id that is neither `earliest` nor a fragment; a type other than
//! `mercure`; a retry of digits only; and fields that make a valid event.
//! So an update that parses publishes, and one that does not changes
//! nothing.

use std::fmt;

use sse_wire::{Audience, Event, FieldError, Topic, TopicError};

use crate::hub::{EARLIEST, Update};
use crate::topics::Selectors;

/// The most `topic` fields one update may have (more: 413).
///
/// ```
/// let body: String = (0..=sse_std::MAX_UPDATE_TOPICS).map(|i| format!("topic=t{i}&")).collect();
/// let e = sse_std::MercureUpdate::parse(body.as_bytes(), sse_std::MERCURE_PATH).unwrap_err();
/// assert_eq!(e.status(), 413);
/// ```
pub const MAX_UPDATE_TOPICS: usize = 32;

/// Why an update was refused.
///
/// ```
/// let e = sse_std::MercureUpdate::parse(b"data=x", sse_std::MERCURE_PATH).unwrap_err();
/// assert_eq!((e.status(), e.to_string().as_str()), (400, "missing \"topic\" field"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MercureError {
    /// No `topic` field.
    NoTopic,
    /// More than [`MAX_UPDATE_TOPICS`] `topic` fields (413).
    TooManyTopics,
    /// A topic is not valid.
    Topic(String, TopicError),
    /// A topic is `*`, which names every topic.
    Wildcard,
    /// A topic addresses the hub's reserved namespace.
    Reserved(String),
    /// The `id` is `earliest`, starts with `#`, or is not a valid id.
    Id,
    /// The `type` is `mercure`, which only the hub uses, or is not a
    /// valid event type.
    Type,
    /// The `retry` is not ASCII digits.
    Retry,
    /// Another field does not make a valid event.
    Field(FieldError),
}

impl MercureError {
    /// The HTTP status that answers it: 413 for too many topics, 400
    /// otherwise.
    ///
    /// ```
    /// assert_eq!(sse_std::MercureError::Wildcard.status(), 400);
    /// ```
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::TooManyTopics => 413,
            _ => 400,
        }
    }
}

impl fmt::Display for MercureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTopic => f.write_str("missing \"topic\" field"),
            Self::TooManyTopics => write!(f, "more than {MAX_UPDATE_TOPICS} \"topic\" fields"),
            Self::Topic(topic, e) => write!(f, "topic {topic:?}: {e}"),
            Self::Wildcard => f.write_str("\"*\" is not a topic: it selects every topic"),
            Self::Reserved(topic) => write!(f, "topic {topic:?} is in the hub's reserved namespace"),
            Self::Id => f.write_str("id: not \"earliest\", not starting with '#', no control character"),
            Self::Type => f.write_str("type: \"mercure\" is reserved, and no control character"),
            Self::Retry => f.write_str("retry: ASCII digits only"),
            Self::Field(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MercureError {}

/// A Mercure update, parsed and checked (see the module's invariant).
///
/// ```
/// let body = b"topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=https%3A%2F%2Fexample.com%2Fauthors%2F7&data=%7B%22title%22%3A1%7D&private=on";
/// let update = sse_std::MercureUpdate::parse(body, sse_std::MERCURE_PATH)?;
/// assert_eq!(update.topics(), ["https://example.com/books/1", "https://example.com/authors/7"]);
/// assert!(update.is_private());
/// # Ok::<(), sse_std::MercureError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MercureUpdate {
    topics: Vec<String>,
    data: Option<String>,
    private: bool,
    id: Option<String>,
    kind: Option<String>,
    retry: Option<u64>,
}

impl MercureUpdate {
    /// Reads a form body; `hub_path` is the path the hub serves Mercure
    /// on, whose namespace publishers may not use.
    ///
    /// # Errors
    /// The [`MercureError`] of the first field that is not allowed.
    ///
    /// ```
    /// use sse_std::{MercureUpdate, MERCURE_PATH};
    /// assert!(MercureUpdate::parse(b"topic=*", MERCURE_PATH).is_err());
    /// assert!(MercureUpdate::parse(b"topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx", MERCURE_PATH).is_err());
    /// assert!(MercureUpdate::parse(b"topic=a&type=mercure", MERCURE_PATH).is_err());
    /// assert!(MercureUpdate::parse(b"topic=a&retry=1e3", MERCURE_PATH).is_err());
    /// ```
    pub fn parse(body: &[u8], hub_path: &str) -> Result<Self, MercureError> {
        let mut update =
            Self { topics: Vec::new(), data: None, private: false, id: None, kind: None, retry: None };
        for (name, value) in form_urlencoded::parse(body) {
            match &*name {
                "topic" => {
                    if update.topics.len() == MAX_UPDATE_TOPICS {
                        return Err(MercureError::TooManyTopics);
                    }
                    update.topics.push(value.into_owned());
                }
                "data" => update.data = Some(value.into_owned()),
                // Its presence, whatever its value.
                "private" => update.private = true,
                "id" => update.id = Some(value.into_owned()),
                "type" => update.kind = Some(value.into_owned()),
                "retry" => {
                    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(MercureError::Retry);
                    }
                    update.retry = Some(value.parse().unwrap_or(u64::MAX));
                }
                // Unknown fields are ignored, as the protocol requires.
                _ => {}
            }
        }
        if update.topics.is_empty() {
            return Err(MercureError::NoTopic);
        }
        for topic in &update.topics {
            if topic == "*" {
                return Err(MercureError::Wildcard);
            }
            Topic::new(topic).map_err(|e| MercureError::Topic(topic.clone(), e))?;
            if mercure_reserved(topic, hub_path) {
                return Err(MercureError::Reserved(topic.clone()));
            }
        }
        if update.id.as_deref().is_some_and(|id| id == EARLIEST || id.starts_with('#')) {
            return Err(MercureError::Id);
        }
        if update.kind.as_deref() == Some("mercure") {
            return Err(MercureError::Type);
        }
        // Every field makes a valid event, or nothing is published.
        update.with_update(|_| ())?;
        Ok(update)
    }

    /// The topics, the canonical one first.
    ///
    /// ```
    /// let u = sse_std::MercureUpdate::parse(b"topic=a&topic=b", sse_std::MERCURE_PATH)?;
    /// assert_eq!(u.topics(), ["a", "b"]);
    /// # Ok::<(), sse_std::MercureError>(())
    /// ```
    #[must_use]
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Whether the update is private.
    ///
    /// ```
    /// assert!(!sse_std::MercureUpdate::parse(b"topic=a", sse_std::MERCURE_PATH)?.is_private());
    /// # Ok::<(), sse_std::MercureError>(())
    /// ```
    #[must_use]
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// Whether `grants` (a publisher's) cover every topic of the update:
    /// a publisher may not reach the subscribers of a topic it was not
    /// granted by adding it as an alternate.
    ///
    /// ```
    /// let u = sse_std::MercureUpdate::parse(b"topic=https%3A%2F%2Fa.example%2F1&topic=urn%3Ab", sse_std::MERCURE_PATH)?;
    /// let some = sse_std::Selectors::parse_mercure(["https://a.example/{id}"]).unwrap();
    /// assert!(!u.granted_by(&some));
    /// assert!(u.granted_by(&some.union(&sse_std::Selectors::parse_mercure(["urn:b"]).unwrap())));
    /// # Ok::<(), sse_std::MercureError>(())
    /// ```
    #[must_use]
    pub fn granted_by(&self, grants: &Selectors) -> bool {
        self.topics.iter().all(|topic| grants.covers(Some(topic)))
    }

    /// Calls `f` with the update in the hub's terms.
    ///
    /// # Errors
    /// [`MercureError`] if a field does not make a valid event (checked
    /// by [`parse`](Self::parse), so never for a parsed update).
    ///
    /// ```
    /// let u = sse_std::MercureUpdate::parse(b"topic=a&topic=b&data=hi&type=note", sse_std::MERCURE_PATH)?;
    /// let hub = sse_std::Hub::new(Default::default());
    /// let published = u.with_update(|update| hub.publish_update(update))?.unwrap();
    /// assert_eq!(published.seq, 0);
    /// # Ok::<(), sse_std::MercureError>(())
    /// ```
    pub fn with_update<R>(&self, f: impl FnOnce(&Update<'_>) -> R) -> Result<R, MercureError> {
        let topics: Vec<Topic<'_>> = self
            .topics
            .iter()
            .map(|t| Topic::new(t).map_err(|e| MercureError::Topic(t.clone(), e)))
            .collect::<Result<_, _>>()?;
        let Some((&canonical, alternates)) = topics.split_first() else { return Err(MercureError::NoTopic) };
        let mut event = Event::new();
        if let Some(kind) = &self.kind {
            event = event.with_event(kind).map_err(|_| MercureError::Type)?;
        }
        if let Some(id) = &self.id {
            event = event.with_id(id).map_err(|_| MercureError::Id)?;
        }
        if let Some(retry) = self.retry {
            event = event.with_retry(retry);
        }
        if let Some(data) = &self.data {
            event = event.with_data(data);
        }
        let audience = Audience { topic: Some(canonical), private: self.private };
        Ok(f(&Update::new(audience, event).with_alternates(alternates)))
    }
}

/// Whether `topic`, resolved against a hub served at `hub_path`, has a
/// path in the hub's namespace (`hub_path` or below it), after removing
/// dot-segments and decoding percent-encoded unreserved characters, so
/// that `/.well-known/%6Dercure/x` and `/a/../.well-known/mercure/x` are
/// caught whatever the scheme and host. Only the hub publishes there
/// (subscription events): any other way of publishing must refuse such a
/// topic.
///
/// ```
/// assert!(sse_std::mercure_reserved("https://x.example/.well-known/mercure/subscriptions/a/b", sse_std::MERCURE_PATH));
/// assert!(!sse_std::mercure_reserved("orders/42", sse_std::MERCURE_PATH));
/// ```
#[must_use]
pub fn mercure_reserved(topic: &str, hub_path: &str) -> bool {
    let Ok(base) = url::Url::parse("https://hub.invalid/") else { return false };
    let Ok(base) = base.join(hub_path) else { return false };
    let Ok(resolved) = base.join(topic) else { return false };
    let path = decode_unreserved(resolved.path());
    // Decoding may reveal dot-segments: resolve once more.
    let path = base.join(&path).map(|u| u.path().to_owned()).unwrap_or(path);
    let hub = hub_path.trim_end_matches('/');
    path == hub || path.strip_prefix(hub).is_some_and(|rest| rest.starts_with('/'))
}

/// `path` with each `%XX` that encodes an unreserved character (RFC 3986:
/// ALPHA, DIGIT, `-`, `.`, `_`, `~`) decoded.
fn decode_unreserved(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        let (before, tail) = rest.split_at(at);
        out.push_str(before);
        let decoded = tail
            .get(1..3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| b.is_ascii_alphanumeric() || b"-._~".contains(b));
        match decoded {
            Some(b) => {
                out.push(char::from(b));
                rest = tail.get(3..).unwrap_or_default();
            }
            None => {
                out.push('%');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_namespace_is_caught_however_it_is_written() {
        let path = "/.well-known/mercure";
        for topic in [
            "/.well-known/mercure",
            "/.well-known/mercure/subscriptions/a/b",
            "https://other.example/.well-known/mercure/subscriptions/x",
            "/.well-known/%6Dercure/x",
            "/.well-known/%6dercure/x",
            "/a/../.well-known/mercure/x",
            "/.well-known/mercure/./x",
            "mercure/subscriptions/x",
            "/%2E%2E/.well-known/mercure",
        ] {
            assert!(mercure_reserved(topic, path), "{topic}");
        }
        for topic in [
            "https://example.com/books/1",
            "/.well-known/mercurex",
            "/.well-known/mercure%2Fx",
            "urn:uuid:1",
            "books/1",
            "/.well-known/other",
        ] {
            assert!(!mercure_reserved(topic, path), "{topic}");
        }
    }

    #[test]
    fn the_protocols_fields_become_an_event() {
        let body = b"topic=a&data=line1%0Aline2&id=urn%3Ax&type=note&retry=3000&unknown=1";
        let update = MercureUpdate::parse(body, MERCURE_PATH_FOR_TESTS).unwrap();
        let frame = update
            .with_update(|u| {
                let mut buf = vec![0; u.event.encoded_len()];
                let n = u.event.encode(&mut buf).unwrap();
                buf.truncate(n);
                buf
            })
            .unwrap();
        assert_eq!(frame, b"event: note\nid: urn:x\nretry: 3000\ndata: line1\ndata: line2\n\n");
        for bad in [
            &b"topic=a&id=earliest"[..],
            b"topic=a&id=%23x",
            b"topic=a&id=a%0Ab",
            b"topic=a&type=a%0Ab",
            b"topic=a%0Ab",
            b"topic=",
            b"topic=a&retry=",
        ] {
            assert!(
                MercureUpdate::parse(bad, MERCURE_PATH_FOR_TESTS).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    const MERCURE_PATH_FOR_TESTS: &str = "/.well-known/mercure";
}
