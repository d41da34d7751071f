//! An owned event for per-request streams: the same fields and the same
//! validation as sse-wire's [`Event`], in owned strings, so that a
//! `Stream` can yield it.
//!
//! Invariant: an `OwnedEvent` holds only values sse-wire's predicates
//! accept, so encoding it can never inject a field.

use sse_wire::{Event, FieldError};

/// One event of a per-request stream, owned (see [`EventStream`](crate::EventStream)).
///
/// ```
/// let event = sse_std::OwnedEvent::data("21.5").with_event("temperature")?.with_id("7")?;
/// assert_eq!(&event.encode()[..], b"event: temperature\nid: 7\ndata: 21.5\n\n");
/// assert!(sse_std::OwnedEvent::data("x").with_id("a\nid: 9").is_err());
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedEvent {
    name: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
    comment: Option<String>,
}

impl OwnedEvent {
    /// An event with this data (line breaks become several `data:` lines).
    ///
    /// ```
    /// assert_eq!(&sse_std::OwnedEvent::data("a\nb").encode()[..], b"data: a\ndata: b\n\n");
    /// ```
    #[must_use]
    pub fn data(data: impl Into<String>) -> Self {
        Self { data: Some(data.into()), ..Self::default() }
    }

    /// A comment alone (no event is dispatched by clients).
    ///
    /// ```
    /// assert_eq!(&sse_std::OwnedEvent::comment("hi").encode()[..], b": hi\n\n");
    /// ```
    #[must_use]
    pub fn comment(text: impl Into<String>) -> Self {
        Self { comment: Some(text.into()), ..Self::default() }
    }

    /// Sets the event name.
    ///
    /// # Errors
    /// As [`sse_wire::check_event_name`].
    ///
    /// ```
    /// assert!(sse_std::OwnedEvent::data("x").with_event("a\rb").is_err());
    /// ```
    pub fn with_event(mut self, name: impl Into<String>) -> Result<Self, FieldError> {
        let name = name.into();
        sse_wire::check_event_name(&name)?;
        self.name = Some(name);
        Ok(self)
    }

    /// Sets the id.
    ///
    /// # Errors
    /// As [`sse_wire::check_id`].
    ///
    /// ```
    /// assert!(sse_std::OwnedEvent::data("x").with_id("1\0").is_err());
    /// ```
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Self, FieldError> {
        let id = id.into();
        sse_wire::check_id(&id)?;
        self.id = Some(id);
        Ok(self)
    }

    /// Sets the reconnection time in milliseconds.
    ///
    /// ```
    /// assert_eq!(&sse_std::OwnedEvent::data("x").with_retry(500).encode()[..], b"retry: 500\ndata: x\n\n");
    /// ```
    #[must_use]
    pub fn with_retry(mut self, milliseconds: u64) -> Self {
        self.retry = Some(milliseconds);
        self
    }

    /// Calls `f` with the event as sse-wire's [`Event`]; `None` only if a
    /// field fails validation, which the constructors rule out.
    fn with_event_ref<R>(&self, f: impl FnOnce(&Event<'_>) -> R) -> Option<R> {
        let mut event = Event::new();
        if let Some(comment) = &self.comment {
            event = event.with_comment(comment);
        }
        if let Some(name) = &self.name {
            event = event.with_event(name).ok()?;
        }
        if let Some(id) = &self.id {
            event = event.with_id(id).ok()?;
        }
        if let Some(retry) = self.retry {
            event = event.with_retry(retry);
        }
        if let Some(data) = &self.data {
            event = event.with_data(data);
        }
        Some(f(&event))
    }

    /// The encoded frame, as sse-wire's encoder writes it.
    ///
    /// ```
    /// assert_eq!(&sse_std::OwnedEvent::data("x").encode()[..], b"data: x\n\n");
    /// ```
    #[must_use]
    pub fn encode(&self) -> bytes::Bytes {
        self.with_event_ref(|event| crate::hub::encode(event).ok()).flatten().unwrap_or_default()
    }
}
