//! The JSON publish format shared by `POST /publish` and `sse serve
//! --stdin --json`.
//!
//! Invariant: a request is parsed and every item validated (with the
//! sse-wire predicates) before anything is returned, so a caller publishes
//! either all items of a request or none. Errors name the item and the
//! problem.

use serde::Deserialize;
use sse_wire::{Audience, Event, FieldError, Topic, TopicError};

/// One event to publish: `{"data": string, "event"?: string, "id"?:
/// string, "retry"?: integer, "topic"?: string, "private"?: bool}`.
/// Unknown fields are refused, so that a typo does not pass unnoticed.
/// The topic and the private flag decide who receives the event (see
/// [`Subscription`](crate::Subscription)); neither is written on the wire.
///
/// ```
/// let items = sse_std::parse_publish(br#"{"data":"hi","event":"greet"}"#).unwrap();
/// assert_eq!(items[0].event.as_deref(), Some("greet"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishItem {
    /// The data (any text; line breaks become several `data:` lines).
    pub data: String,
    /// The event name (no CR or LF).
    pub event: Option<String>,
    /// The id (no CR, LF or NUL); the hub assigns one when absent.
    pub id: Option<String>,
    /// The reconnection time in milliseconds.
    pub retry: Option<u64>,
    /// The topic (see [`Topic`]); none: only subscribers of `*` (and
    /// those that chose no topic) receive it.
    pub topic: Option<String>,
    /// Only for subscribers granted the topic.
    #[serde(default)]
    pub private: bool,
}

impl PublishItem {
    /// The event this item describes.
    ///
    /// # Errors
    /// The [`FieldError`] of an invalid name or id.
    ///
    /// ```
    /// let items = sse_std::parse_publish(br#"{"data":"x","id":"7"}"#).unwrap();
    /// assert_eq!(items[0].to_event().unwrap().id(), Some("7"));
    /// ```
    pub fn to_event(&self) -> Result<Event<'_>, FieldError> {
        let mut event = Event::new().with_data(&self.data);
        if let Some(name) = &self.event {
            event = event.with_event(name)?;
        }
        if let Some(id) = &self.id {
            event = event.with_id(id)?;
        }
        if let Some(ms) = self.retry {
            event = event.with_retry(ms);
        }
        Ok(event)
    }

    /// Who the event is for: its topic and private flag.
    ///
    /// # Errors
    /// The [`TopicError`] of an invalid topic (never for an item from
    /// [`parse_publish`], which checked it).
    ///
    /// ```
    /// let items = sse_std::parse_publish(br#"{"data":"x","topic":"a/b","private":true}"#).unwrap();
    /// let audience = items[0].audience().unwrap();
    /// assert_eq!((audience.topic_name(), audience.private), (Some("a/b"), true));
    /// ```
    pub fn audience(&self) -> Result<Audience<'_>, TopicError> {
        let topic = self.topic.as_deref().map(Topic::new).transpose()?;
        Ok(Audience { topic, private: self.private })
    }
}

/// Why a publish body was refused; `Display` gives a message for the
/// client.
///
/// ```
/// let err = sse_std::parse_publish(br#"[{"data":"ok"},{"data":"x","id":"1\n2"}]"#).unwrap_err();
/// assert_eq!(err.to_string(), "item 1: id: event id contains CR or LF");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishBodyError {
    /// The body is not JSON, or not an object or array of objects.
    Json(String),
    /// Item `index` has a missing, unknown or mistyped field.
    Item {
        /// Position in the array (0 for a single object).
        index: usize,
        /// What is wrong, from the JSON deserializer.
        message: String,
    },
    /// Item `index` has an event name or id that could inject a field.
    Field {
        /// Position in the array (0 for a single object).
        index: usize,
        /// `"event"` or `"id"`.
        field: &'static str,
        /// Why it was refused.
        error: FieldError,
    },
    /// Item `index` has an invalid topic.
    Topic {
        /// Position in the array (0 for a single object).
        index: usize,
        /// Why it was refused.
        error: TopicError,
    },
}

impl std::fmt::Display for PublishBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(message) => write!(f, "invalid JSON: {message}"),
            Self::Item { index, message } => write!(f, "item {index}: {message}"),
            Self::Field { index, field, error } => write!(f, "item {index}: {field}: {error}"),
            Self::Topic { index, error } => write!(f, "item {index}: topic: {error}"),
        }
    }
}

impl std::error::Error for PublishBodyError {}

/// Parses a publish body: one item object or an array of them, every item
/// validated.
///
/// # Errors
/// The first problem found; see [`PublishBodyError`].
///
/// ```
/// let items = sse_std::parse_publish(br#"[{"data":"a"},{"data":"b","retry":1000}]"#).unwrap();
/// assert_eq!(items.len(), 2);
/// assert!(sse_std::parse_publish(br#"{"data":"x","event":"a\rb"}"#).is_err());
/// assert!(sse_std::parse_publish(br#"{"data":5}"#).is_err());
/// ```
pub fn parse_publish(body: &[u8]) -> Result<Vec<PublishItem>, PublishBodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| PublishBodyError::Json(e.to_string()))?;
    let values = match value {
        serde_json::Value::Array(values) => values,
        value @ serde_json::Value::Object(_) => vec![value],
        _ => return Err(PublishBodyError::Json("expected an object or an array of objects".to_owned())),
    };
    let mut items = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let item: PublishItem = serde_json::from_value(value)
            .map_err(|e| PublishBodyError::Item { index, message: e.to_string() })?;
        if let Some(name) = &item.event {
            sse_wire::check_event_name(name).map_err(|error| PublishBodyError::Field {
                index,
                field: "event",
                error,
            })?;
        }
        if let Some(id) = &item.id {
            sse_wire::check_id(id).map_err(|error| PublishBodyError::Field { index, field: "id", error })?;
        }
        if let Some(topic) = &item.topic {
            sse_wire::check_topic(topic).map_err(|error| PublishBodyError::Topic { index, error })?;
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_or_array() {
        assert_eq!(parse_publish(br#"{"data":""}"#).unwrap().len(), 1);
        assert_eq!(parse_publish(br#"[]"#).unwrap().len(), 0);
        let items = parse_publish(br#"[{"data":"a","event":"e","id":"","retry":0}]"#).unwrap();
        assert_eq!(
            items[0],
            PublishItem {
                data: "a".into(),
                event: Some("e".into()),
                id: Some(String::new()),
                retry: Some(0),
                topic: None,
                private: false,
            }
        );
    }

    #[test]
    fn every_problem_is_named() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "invalid JSON"),
            (b"\"a string\"", "invalid JSON: expected an object or an array of objects"),
            (b"[1]", "item 0: invalid type: integer `1`"),
            (br#"{"event":"x"}"#, "item 0: missing field `data`"),
            (br#"{"data":5}"#, "item 0: invalid type: integer `5`, expected a string"),
            (br#"{"data":"x","retry":-1}"#, "item 0: invalid value: integer `-1`"),
            (br#"{"data":"x","retry":"1"}"#, "item 0: invalid type: string \"1\""),
            (br#"{"data":"x","evnt":"typo"}"#, "item 0: unknown field `evnt`"),
            (br#"[{"data":"x"},{"data":"x","event":"a\nb"}]"#, "item 1: event: event name contains CR or LF"),
            (br#"{"data":"x","id":"a\rb"}"#, "item 0: id: event id contains CR or LF"),
            (br#"{"data":"x","id":"a\u0000b"}"#, "item 0: id: event id contains NUL"),
            (br#"{"data":"x","topic":""}"#, "item 0: topic: topic is empty"),
            (br#"{"data":"x","topic":"a/*"}"#, "item 0: topic: topic contains '*'"),
            (br#"[{"data":"x"},{"data":"x","topic":"a\nb"}]"#, "item 1: topic: topic contains a control"),
            (br#"{"data":"x","topic":5}"#, "item 0: invalid type: integer `5`, expected a string"),
            (br#"{"data":"x","private":"yes"}"#, "item 0: invalid type: string \"yes\", expected a boolean"),
        ];
        for (body, want) in cases {
            let message = parse_publish(body).unwrap_err().to_string();
            assert!(message.starts_with(want), "{message:?} should start with {want:?}");
        }
    }

    #[test]
    fn data_may_hold_anything() {
        let items = parse_publish(br#"{"data":"a\r\nb\u0000 data: x\n\nid: 9"}"#).unwrap();
        let event = items[0].to_event().unwrap();
        let mut buf = [0u8; 64];
        let n = event.encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"data: a\ndata: b\0 data: x\ndata: \ndata: id: 9\n\n");
    }
}
