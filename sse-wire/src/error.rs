//! Error types: one small `Copy` enum per operation, every variant documented.
//!
//! Invariant: no error value ever means "some of it was done": an operation
//! that returns one of these left its output as it found it, except where the
//! variant's documentation says otherwise.

use core::fmt;

/// Why a field value was refused by [`Event`](crate::Event).
///
/// Each variant names a value that would let the caller inject a field or
/// would be silently ignored by every conforming client.
///
/// ```
/// use sse_wire::{Event, FieldError};
/// let err = Event::new().with_event("a\nid: 7").unwrap_err();
/// assert_eq!(err, FieldError::EventNameLineBreak);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldError {
    /// The event name contains CR or LF, which would end the `event:` line
    /// and start a new field on the client.
    EventNameLineBreak,
    /// The id contains CR or LF, which would end the `id:` line and start a
    /// new field on the client.
    IdLineBreak,
    /// The id contains NUL; the WHATWG parser ignores such an `id` field, so
    /// the client's `Last-Event-ID` would silently not change.
    IdNul,
    /// The id contains another ASCII control character (tab aside). The
    /// WHATWG parser keeps such an id, but no client can send it back: a
    /// `Last-Event-ID` header value may not hold it, so the client could
    /// never resume. Refused on purpose, stricter than the specification.
    IdControl,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EventNameLineBreak => "event name contains CR or LF",
            Self::IdLineBreak => "event id contains CR or LF",
            Self::IdNul => "event id contains NUL",
            Self::IdControl => "event id contains a control character, which Last-Event-ID cannot carry",
        })
    }
}

impl core::error::Error for FieldError {}

/// Why encoding into a fixed buffer failed.
///
/// ```
/// use sse_wire::{EncodeError, Event};
/// let mut buf = [0u8; 4];
/// let err = Event::new().with_data("hello").encode(&mut buf).unwrap_err();
/// assert_eq!(err, EncodeError::BufferTooSmall { needed: 13, available: 4 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The frame needs `needed` bytes and only `available` were free.
    /// Nothing was written (for a `heapless::Vec` its length is unchanged).
    BufferTooSmall {
        /// Exact size of the encoded frame, as [`Event::encoded_len`](crate::Event::encoded_len).
        needed: usize,
        /// Free space that was offered.
        available: usize,
    },
    /// The `Display` implementation given as event data returned an error.
    Format,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: the event needs {needed} bytes, {available} available")
            }
            Self::Format => f.write_str("formatting the event data failed"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why writing an event to an `embedded-io` writer failed.
///
/// ```
/// use sse_wire::WriteError;
/// let e: WriteError<()> = WriteError::Format;
/// assert_eq!(e.to_string(), "formatting the event data failed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteError<E> {
    /// The writer returned this error; an unknown prefix of the frame was
    /// written before it.
    Io(E),
    /// The `Display` implementation given as event data returned an error.
    Format,
}

impl<E: fmt::Debug> fmt::Display for WriteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "writer error: {e:?}"),
            Self::Format => f.write_str("formatting the event data failed"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for WriteError<E> {}

/// Why a response head could not be built.
///
/// ```
/// use sse_wire::{HeadError, ResponseHead};
/// let mut buf = [0u8; 256];
/// let err = ResponseHead::stream()
///     .with_headers(&[("X-Bad", "a\r\nSet-Cookie: x")])
///     .encode(&mut buf)
///     .unwrap_err();
/// assert_eq!(err, HeadError::InvalidHeaderValue { index: 0 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeadError {
    /// Extra header number `index` has a name that is not an RFC 9110 token.
    InvalidHeaderName {
        /// Position in the slice of extra headers.
        index: usize,
    },
    /// Extra header number `index` has a value containing CR, LF, NUL or
    /// another control character other than horizontal tab.
    InvalidHeaderValue {
        /// Position in the slice of extra headers.
        index: usize,
    },
    /// The status code is not three digits, or the reason phrase has a
    /// character other than visible ASCII, space and tab.
    InvalidStatus,
    /// The head needs `needed` bytes and only `available` were offered.
    /// Nothing was written.
    BufferTooSmall {
        /// Exact size of the head.
        needed: usize,
        /// Size of the buffer that was offered.
        available: usize,
    },
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHeaderName { index } => {
                write!(f, "extra header {index} has an invalid name")
            }
            Self::InvalidHeaderValue { index } => {
                write!(f, "extra header {index} has an invalid value")
            }
            Self::InvalidStatus => f.write_str("invalid status code or reason phrase"),
            Self::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: the head needs {needed} bytes, {available} available")
            }
        }
    }
}

impl core::error::Error for HeadError {}

/// Why the [`History`](crate::History) could not keep an event.
///
/// ```
/// use sse_wire::{Event, History, HistoryError};
/// let mut history: History<4, 16> = History::new();
/// let big = Event::new().with_id("1")?.with_data("far too long for sixteen bytes");
/// assert!(matches!(history.push(&big), Err(HistoryError::TooLarge { .. })));
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HistoryError {
    /// The encoded event (with its id) needs `needed` bytes of history
    /// storage but the whole store has `capacity`. The history was cleared,
    /// so that no client can resume across the missing event without being
    /// told that it missed events.
    TooLarge {
        /// Bytes the entry needs.
        needed: usize,
        /// Total byte capacity of the history.
        capacity: usize,
    },
    /// The `Display` implementation given as event data returned an error.
    /// The history is unchanged.
    Format,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { needed, capacity } => {
                write!(f, "event needs {needed} bytes of history, capacity is {capacity}; history cleared")
            }
            Self::Format => f.write_str("formatting the event data failed"),
        }
    }
}

impl core::error::Error for HistoryError {}

#[cfg(feature = "defmt")]
mod defmt_impls {
    use super::*;

    impl defmt::Format for FieldError {
        fn format(&self, f: defmt::Formatter<'_>) {
            defmt::write!(
                f,
                "{=str}",
                match self {
                    Self::EventNameLineBreak => "event name contains CR or LF",
                    Self::IdLineBreak => "event id contains CR or LF",
                    Self::IdNul => "event id contains NUL",
                    Self::IdControl => "event id contains a control character",
                }
            )
        }
    }

    impl defmt::Format for EncodeError {
        fn format(&self, f: defmt::Formatter<'_>) {
            match self {
                Self::BufferTooSmall { needed, available } => defmt::write!(
                    f,
                    "buffer too small: needs {=usize}, {=usize} available",
                    needed,
                    available
                ),
                Self::Format => defmt::write!(f, "formatting the event data failed"),
            }
        }
    }

    impl<E: defmt::Format> defmt::Format for WriteError<E> {
        fn format(&self, f: defmt::Formatter<'_>) {
            match self {
                Self::Io(e) => defmt::write!(f, "writer error: {}", e),
                Self::Format => defmt::write!(f, "formatting the event data failed"),
            }
        }
    }

    impl defmt::Format for HeadError {
        fn format(&self, f: defmt::Formatter<'_>) {
            match self {
                Self::InvalidHeaderName { index } => {
                    defmt::write!(f, "extra header {=usize} has an invalid name", index)
                }
                Self::InvalidHeaderValue { index } => {
                    defmt::write!(f, "extra header {=usize} has an invalid value", index)
                }
                Self::InvalidStatus => defmt::write!(f, "invalid status code or reason phrase"),
                Self::BufferTooSmall { needed, available } => defmt::write!(
                    f,
                    "buffer too small: needs {=usize}, {=usize} available",
                    needed,
                    available
                ),
            }
        }
    }

    impl defmt::Format for HistoryError {
        fn format(&self, f: defmt::Formatter<'_>) {
            match self {
                Self::TooLarge { needed, capacity } => defmt::write!(
                    f,
                    "event needs {=usize} bytes of history, capacity {=usize}",
                    needed,
                    capacity
                ),
                Self::Format => defmt::write!(f, "formatting the event data failed"),
            }
        }
    }
}
