//! JSON event data from `serde::Serialize` values, via `serde-json-core`.
//!
//! Invariant: the JSON is serialized into a caller-provided scratch buffer
//! and the event borrows it, so no heap is used; serde-json-core escapes
//! control characters in strings, so the data is one line.

use core::fmt;

use crate::event::Event;

/// Why a value could not become JSON event data.
///
/// ```
/// let mut scratch = [0u8; 2];
/// let err = sse_wire::Event::new().with_json(&"too long", &mut scratch).unwrap_err();
/// assert_eq!(err, sse_wire::JsonError::BufferFull);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonError {
    /// The scratch buffer is too small for the serialized value.
    BufferFull,
    /// The value's `Serialize` implementation failed or produced something
    /// serde-json-core cannot write.
    Serialize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferFull => "JSON scratch buffer too small",
            Self::Serialize => "value could not be serialized as JSON",
        })
    }
}

impl core::error::Error for JsonError {}

#[cfg(feature = "defmt")]
impl defmt::Format for JsonError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "{=str}",
            match self {
                Self::BufferFull => "JSON scratch buffer too small",
                Self::Serialize => "value could not be serialized as JSON",
            }
        )
    }
}

impl<'a> Event<'a> {
    /// Sets the data to `value` serialized as JSON into `scratch`.
    ///
    /// # Errors
    /// [`JsonError::BufferFull`] if `scratch` is too small,
    /// [`JsonError::Serialize`] if serialization fails.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Reading { t: f32, rh: u8 }
    /// let mut scratch = [0u8; 64];
    /// let ev = sse_wire::Event::new().with_json(&Reading { t: 21.5, rh: 40 }, &mut scratch)?;
    /// let mut buf = [0u8; 64];
    /// let n = ev.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"data: {\"t\":21.5,\"rh\":40}\n\n");
    /// # Ok::<(), sse_wire::JsonError>(())
    /// ```
    pub fn with_json<T: serde::Serialize + ?Sized>(
        self,
        value: &T,
        scratch: &'a mut [u8],
    ) -> Result<Self, JsonError> {
        let len = serde_json_core::to_slice(value, scratch).map_err(|e| match e {
            serde_json_core::ser::Error::BufferFull => JsonError::BufferFull,
            _ => JsonError::Serialize,
        })?;
        let scratch: &'a [u8] = scratch;
        let json = scratch.get(..len).ok_or(JsonError::BufferFull)?;
        let text = core::str::from_utf8(json).map_err(|_| JsonError::Serialize)?;
        Ok(self.with_data(text))
    }
}
