//! The validated event.
//!
//! Invariant: every [`Event`] value can be encoded without any caller-given
//! text starting a new field on the client. The event name and id are
//! checked once, here, by [`check_event_name`] and [`check_id`]; the encoder
//! relies on it and does not check again. Comment and data text may contain
//! any line breaks: the encoder splits them into one line per line of text.

use core::fmt;

use crate::error::FieldError;

/// The data of an event: borrowed text, or anything that implements
/// [`Display`](fmt::Display), formatted while encoding without allocating.
///
/// ```
/// use sse_wire::{Data, Event};
/// let t = 21.5;
/// let args = format_args!("{{\"t\":{t}}}");
/// let ev = Event::new().with_data_fmt(&args);
/// assert!(matches!(ev.data(), Some(Data::Display(_))));
/// ```
#[derive(Clone, Copy)]
pub enum Data<'a> {
    /// Text given as a string slice.
    Text(&'a str),
    /// Text produced by a `Display` implementation. It must write the same
    /// text each time it is formatted: the encoder may format it more than
    /// once (to measure it, or to resume it).
    Display(&'a dyn fmt::Display),
}

impl fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => f.debug_tuple("Text").field(t).finish(),
            Self::Display(d) => f.debug_tuple("Display").field(&format_args!("{d}")).finish(),
        }
    }
}

/// One Server-Sent Event: optional comment, event name, id, retry and data.
///
/// Each field maps one to one to a `text/event-stream` field (and to the
/// parameters of Kestrun's `Write-KrSseEvent`: `-Event`, `-Data`, `-id`,
/// `-retryMs`). Absent fields are not written. An event name or id that
/// would let a caller inject a field is refused with a [`FieldError`].
///
/// ```
/// use sse_wire::Event;
/// let ev = Event::new()
///     .with_event("greeting")?
///     .with_id("42")?
///     .with_retry(3000)
///     .with_data("hello\nworld");
/// let mut buf = [0u8; 128];
/// let n = ev.encode(&mut buf).unwrap();
/// assert_eq!(
///     &buf[..n],
///     b"event: greeting\nid: 42\nretry: 3000\ndata: hello\ndata: world\n\n"
/// );
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Event<'a> {
    comment: Option<&'a str>,
    name: Option<&'a str>,
    id: Option<&'a str>,
    retry: Option<u64>,
    data: Option<Data<'a>>,
}

impl<'a> Event<'a> {
    /// An event with no fields. Encoded alone it is a single blank line.
    ///
    /// ```
    /// assert_eq!(sse_wire::Event::new().encoded_len(), 1);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self { comment: None, name: None, id: None, retry: None, data: None }
    }

    /// Sets the event name (the client's event type; absent means `message`).
    ///
    /// # Errors
    /// [`FieldError::EventNameLineBreak`] if `name` contains CR or LF.
    ///
    /// ```
    /// use sse_wire::{Event, FieldError};
    /// assert!(Event::new().with_event("sensor").is_ok());
    /// assert_eq!(Event::new().with_event("a\rb").unwrap_err(), FieldError::EventNameLineBreak);
    /// ```
    pub const fn with_event(mut self, name: &'a str) -> Result<Self, FieldError> {
        match check_event_name(name) {
            Ok(()) => {
                self.name = Some(name);
                Ok(self)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the id. An empty id is valid: it resets the client's last event
    /// id, so it sends no `Last-Event-ID` when it reconnects.
    ///
    /// # Errors
    /// As [`check_id`]: [`FieldError::IdLineBreak`] if `id` contains CR or
    /// LF, [`FieldError::IdNul`] if it contains NUL, [`FieldError::IdControl`]
    /// for another control character but tab.
    ///
    /// ```
    /// use sse_wire::{Event, FieldError};
    /// let mut buf = [0u8; 16];
    /// let n = Event::new().with_id("")?.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"id: \n\n");
    /// assert_eq!(Event::new().with_id("1\0").unwrap_err(), FieldError::IdNul);
    /// # Ok::<(), FieldError>(())
    /// ```
    pub const fn with_id(mut self, id: &'a str) -> Result<Self, FieldError> {
        match check_id(id) {
            Ok(()) => {
                self.id = Some(id);
                Ok(self)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the client's reconnection time in milliseconds.
    ///
    /// ```
    /// let mut buf = [0u8; 32];
    /// let n = sse_wire::Event::new().with_retry(5000).encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"retry: 5000\n\n");
    /// ```
    #[must_use]
    pub const fn with_retry(mut self, milliseconds: u64) -> Self {
        self.retry = Some(milliseconds);
        self
    }

    /// Sets the data. Every CR, LF or CRLF in it starts a new `data:` line
    /// (CRLF is one break); the client joins the lines with LF. Empty data is
    /// a valid event that the client dispatches with empty data.
    ///
    /// ```
    /// let mut buf = [0u8; 64];
    /// let n = sse_wire::Event::new().with_data(" a\r\nb\rc").encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"data:  a\ndata: b\ndata: c\n\n");
    /// ```
    #[must_use]
    pub const fn with_data(mut self, data: &'a str) -> Self {
        self.data = Some(Data::Text(data));
        self
    }

    /// Sets the data to the output of a `Display` value, such as
    /// `format_args!`, formatted while encoding: no allocation, no size limit
    /// of its own, and line breaks are split exactly as for
    /// [`with_data`](Self::with_data) however the formatter chunks its output.
    ///
    /// ```
    /// let t = 21.5;
    /// let mut buf = [0u8; 64];
    /// let n = sse_wire::Event::new()
    ///     .with_data_fmt(&format_args!("{{\"t\":{t}}}"))
    ///     .encode(&mut buf)
    ///     .unwrap();
    /// assert_eq!(&buf[..n], b"data: {\"t\":21.5}\n\n");
    /// ```
    #[must_use]
    pub const fn with_data_fmt(mut self, data: &'a dyn fmt::Display) -> Self {
        self.data = Some(Data::Display(data));
        self
    }

    /// Sets a comment, written first as one `: ` line per line of text.
    /// Clients ignore comments; proxies see traffic.
    ///
    /// ```
    /// let mut buf = [0u8; 32];
    /// let n = sse_wire::Event::new().with_comment("hi\nthere").encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b": hi\n: there\n\n");
    /// ```
    #[must_use]
    pub const fn with_comment(mut self, text: &'a str) -> Self {
        self.comment = Some(text);
        self
    }

    /// The event name, if set.
    ///
    /// ```
    /// assert_eq!(sse_wire::Event::new().with_event("x")?.event(), Some("x"));
    /// # Ok::<(), sse_wire::FieldError>(())
    /// ```
    #[must_use]
    pub const fn event(&self) -> Option<&'a str> {
        self.name
    }

    /// The id, if set.
    ///
    /// ```
    /// assert_eq!(sse_wire::Event::new().id(), None);
    /// ```
    #[must_use]
    pub const fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// The reconnection time in milliseconds, if set.
    ///
    /// ```
    /// assert_eq!(sse_wire::Event::new().with_retry(7).retry(), Some(7));
    /// ```
    #[must_use]
    pub const fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The data, if set.
    ///
    /// ```
    /// use sse_wire::{Data, Event};
    /// assert!(matches!(Event::new().with_data("x").data(), Some(Data::Text("x"))));
    /// ```
    #[must_use]
    pub const fn data(&self) -> Option<Data<'a>> {
        self.data
    }

    /// The comment, if set.
    ///
    /// ```
    /// assert_eq!(sse_wire::Event::new().with_comment("c").comment(), Some("c"));
    /// ```
    #[must_use]
    pub const fn comment(&self) -> Option<&'a str> {
        self.comment
    }
}

/// The one predicate for event names: refuses CR and LF.
///
/// ```
/// assert!(sse_wire::check_event_name("update").is_ok());
/// assert!(sse_wire::check_event_name("a\nb").is_err());
/// ```
///
/// # Errors
/// [`FieldError::EventNameLineBreak`] if `name` contains CR or LF.
pub const fn check_event_name(name: &str) -> Result<(), FieldError> {
    let mut rest = name.as_bytes();
    while let [byte, tail @ ..] = rest {
        if matches!(byte, b'\r' | b'\n') {
            return Err(FieldError::EventNameLineBreak);
        }
        rest = tail;
    }
    Ok(())
}

/// The one predicate for ids: refuses CR, LF, NUL and every other ASCII
/// control character but tab, so that every id can come back as a
/// `Last-Event-ID` header.
///
/// ```
/// assert!(sse_wire::check_id("").is_ok());
/// assert!(sse_wire::check_id("a\tb").is_ok());
/// assert!(sse_wire::check_id("7\0").is_err());
/// assert_eq!(sse_wire::check_id("7\x1b"), Err(sse_wire::FieldError::IdControl));
/// ```
///
/// # Errors
/// [`FieldError::IdLineBreak`] if `id` contains CR or LF,
/// [`FieldError::IdNul`] if it contains NUL, [`FieldError::IdControl`]
/// for another control character (checked in that order).
pub const fn check_id(id: &str) -> Result<(), FieldError> {
    let mut rest = id.as_bytes();
    let (mut nul, mut control) = (false, false);
    while let [byte, tail @ ..] = rest {
        match byte {
            b'\r' | b'\n' => return Err(FieldError::IdLineBreak),
            0 => nul = true,
            b'\t' => {}
            byte if byte.is_ascii_control() => control = true,
            _ => {}
        }
        rest = tail;
    }
    if nul {
        Err(FieldError::IdNul)
    } else if control {
        Err(FieldError::IdControl)
    } else {
        Ok(())
    }
}
