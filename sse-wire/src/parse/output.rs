//! What the parser reports: dispatched events, reconnection times, skipped
//! blocks.
//!
//! Invariant: these are views into the parser's buffers (or plain values);
//! nothing here allocates or copies event data.

use core::fmt;

use crate::text::Text;

/// A dispatched event (§9.2.6 "dispatch the event"), borrowing the parser.
///
/// ```
/// use sse_wire::{Output, Parser};
/// let mut p: Parser<256> = Parser::new();
/// let (_, out) = p.parse(b"id: 3\ndata: hi\n\n");
/// let Some(Output::Event(ev)) = out else { panic!() };
/// assert_eq!(ev.event_type().to_str(), Ok("message"));
/// assert_eq!(ev.data().as_bytes(), b"hi");
/// assert_eq!(ev.last_event_id().to_string(), "3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageEvent<'p> {
    pub(super) event_type: &'p [u8],
    pub(super) data: &'p [u8],
    pub(super) last_event_id: &'p [u8],
}

impl<'p> MessageEvent<'p> {
    /// The event type: the last `event` field's value, or `message`.
    ///
    /// ```
    /// # let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// # let Some(sse_wire::Output::Event(ev)) = p.parse(b"event: x\ndata\n\n").1 else { panic!() };
    /// assert_eq!(ev.event_type().as_bytes(), b"x");
    /// ```
    #[must_use]
    pub fn event_type(&self) -> Text<'p> {
        Text::new(if self.event_type.is_empty() { b"message" } else { self.event_type })
    }

    /// The data: the `data` lines joined with LF.
    ///
    /// ```
    /// # let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// # let Some(sse_wire::Output::Event(ev)) = p.parse(b"data: a\ndata:b\n\n").1 else { panic!() };
    /// assert_eq!(ev.data().as_bytes(), b"a\nb");
    /// ```
    #[must_use]
    pub const fn data(&self) -> Text<'p> {
        Text::new(self.data)
    }

    /// The stream's last event id when this event was dispatched.
    ///
    /// ```
    /// # let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// # let Some(sse_wire::Output::Event(ev)) = p.parse(b"data\n\n").1 else { panic!() };
    /// assert!(ev.last_event_id().as_bytes().is_empty());
    /// ```
    #[must_use]
    pub const fn last_event_id(&self) -> Text<'p> {
        Text::new(self.last_event_id)
    }
}

/// Why a block was skipped instead of dispatched. The parser goes on after
/// the next blank line; the skipped block's data, type and id take no
/// effect (a `retry` line read before the limit was hit has already been
/// reported: like a browser, the parser applies `retry` at once).
///
/// ```
/// use sse_wire::{Output, Parser, Skipped};
/// let mut p: Parser<4> = Parser::new();
/// let (_, out) = p.parse(b"data: too long\n\n");
/// assert_eq!(out, Some(Output::Skipped(Skipped::DataTooLong)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Skipped {
    /// A line (with its line end) was longer than the parser's maximum
    /// line length.
    LineTooLong,
    /// The event's data (each `data` line plus one LF) exceeded `DATA`.
    DataTooLong,
    /// An `event` value exceeded `EVENT` bytes.
    EventTypeTooLong,
    /// An `id` value exceeded `ID` bytes.
    IdTooLong,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LineTooLong => "event skipped: line too long",
            Self::DataTooLong => "event skipped: data too long",
            Self::EventTypeTooLong => "event skipped: event type too long",
            Self::IdTooLong => "event skipped: id too long",
        })
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Skipped {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "{=str}",
            match self {
                Self::LineTooLong => "event skipped: line too long",
                Self::DataTooLong => "event skipped: data too long",
                Self::EventTypeTooLong => "event skipped: event type too long",
                Self::IdTooLong => "event skipped: id too long",
            }
        )
    }
}

/// [`Parser::set_last_event_id`](crate::Parser::set_last_event_id) was given an id longer than the parser's
/// `ID` capacity.
///
/// ```
/// let mut p: sse_wire::Parser<64, 8, 4> = sse_wire::Parser::new();
/// assert_eq!(p.set_last_event_id(b"12345"), Err(sse_wire::IdTooLong { len: 5, capacity: 4 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdTooLong {
    /// Length of the id given.
    pub len: usize,
    /// The parser's `ID` capacity.
    pub capacity: usize,
}

impl fmt::Display for IdTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "last event id of {} bytes exceeds the capacity of {}", self.len, self.capacity)
    }
}

impl core::error::Error for IdTooLong {}

#[cfg(feature = "defmt")]
impl defmt::Format for IdTooLong {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "last event id of {=usize} bytes exceeds the capacity of {=usize}",
            self.len,
            self.capacity
        )
    }
}

/// What [`Parser::parse`](crate::Parser::parse) found.
///
/// ```
/// use sse_wire::{Output, Parser};
/// let mut p: Parser<64> = Parser::new();
/// assert_eq!(p.parse(b"retry: 5000\n").1, Some(Output::Retry(5000)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output<'p> {
    /// An event was dispatched.
    Event(MessageEvent<'p>),
    /// A valid `retry` field set the reconnection time (milliseconds;
    /// values beyond `u64::MAX` saturate).
    Retry(u64),
    /// A block is being skipped; see [`Skipped`].
    Skipped(Skipped),
}
