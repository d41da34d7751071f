//! The spec's view of bytes as text: UTF-8 with U+FFFD for each invalid
//! sequence, without allocating.
//!
//! Invariant: a [`Text`] never copies or changes its bytes; the
//! replacement happens only while it is displayed or iterated.

use core::fmt;

/// Bytes as the WHATWG spec shows them: UTF-8, with U+FFFD for each
/// invalid sequence (via `Utf8Chunks`, no allocation). The raw bytes stay
/// available.
///
/// ```
/// use sse_wire::Text;
/// let t = Text::new(b"caf\xC3\xA9 \xFF!");
/// assert_eq!(t.to_string(), "café \u{FFFD}!");
/// assert_eq!(t.as_bytes(), b"caf\xC3\xA9 \xFF!");
/// assert!(t.to_str().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text<'p>(&'p [u8]);

impl<'p> Text<'p> {
    /// Wraps raw bytes.
    ///
    /// ```
    /// assert_eq!(sse_wire::Text::new(b"x").as_bytes(), b"x");
    /// ```
    #[must_use]
    pub const fn new(bytes: &'p [u8]) -> Self {
        Self(bytes)
    }

    /// The bytes as they arrived.
    ///
    /// ```
    /// assert!(sse_wire::Text::new(b"").as_bytes().is_empty());
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &'p [u8] {
        self.0
    }

    /// The text, if it is valid UTF-8.
    ///
    /// # Errors
    /// The `Utf8Error` of the first invalid sequence.
    ///
    /// ```
    /// assert_eq!(sse_wire::Text::new(b"ok").to_str(), Ok("ok"));
    /// ```
    pub fn to_str(&self) -> Result<&'p str, core::str::Utf8Error> {
        core::str::from_utf8(self.0)
    }

    /// The text as valid pieces and replacement characters, for writing it
    /// out without allocating.
    ///
    /// ```
    /// let pieces: Vec<_> = sse_wire::Text::new(b"a\xFFb").chunks().collect();
    /// assert_eq!(pieces, ["a", "\u{FFFD}", "b"]);
    /// ```
    pub fn chunks(&self) -> impl Iterator<Item = &'p str> + 'p {
        self.0.utf8_chunks().flat_map(|chunk| {
            let bad = if chunk.invalid().is_empty() { None } else { Some("\u{FFFD}") };
            core::iter::once(chunk.valid()).chain(bad).filter(|s| !s.is_empty())
        })
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chunks().try_for_each(|s| f.write_str(s))
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        self.chunks().try_for_each(|s| write!(f, "{}", s.escape_debug()))?;
        f.write_str("\"")
    }
}
