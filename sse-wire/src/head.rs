//! HTTP/1.1 response heads for event streams.
//!
//! Invariant: a head is written only after every extra header has been
//! checked (RFC 9110 token for the name; no CR, LF, NUL or other control
//! character but HTAB in the value), so no caller text can add a header or
//! end the head early. Nothing is written when anything fails.

use crate::error::HeadError;

/// The headers every event-stream response carries: the content type, no
/// caching and no transformation (`no-transform`: compressing proxies and
/// middleware must pass the stream through as it is, event by event), and
/// no buffering by nginx-style proxies. No `Content-Encoding`
/// and no `Content-Length` are ever sent: the stream is not compressed and
/// ends when the connection does. Adapters built on an HTTP library use
/// this list so that all of them send the same headers.
///
/// ```
/// assert_eq!(sse_wire::STREAM_HEADERS[0], ("Content-Type", "text/event-stream"));
/// ```
pub const STREAM_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "text/event-stream"),
    ("Cache-Control", "no-cache, no-transform"),
    ("X-Accel-Buffering", "no"),
];

const CRLF: &[u8] = b"\r\n";
const STATUS_200: &[u8] = b"HTTP/1.1 200 OK\r\n";
const STATUS_204: &[u8] = b"HTTP/1.1 204 No Content\r\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Stream,
    NoContent,
    /// Any other status, with only the caller's headers.
    Status {
        digits: [u8; 3],
    },
}

/// An HTTP/1.1 response head, as Kestrun's `Start-KrSseResponse` sends it,
/// with room for extra headers such as CORS.
///
/// ```
/// use sse_wire::ResponseHead;
/// let mut buf = [0u8; 256];
/// let n = ResponseHead::stream()
///     .with_headers(&[("Access-Control-Allow-Origin", "*")])
///     .encode(&mut buf)
///     .unwrap();
/// assert_eq!(
///     &buf[..n],
///     b"HTTP/1.1 200 OK\r\n\
///       Content-Type: text/event-stream\r\n\
///       Cache-Control: no-cache, no-transform\r\n\
///       X-Accel-Buffering: no\r\n\
///       Access-Control-Allow-Origin: *\r\n\
///       \r\n"
/// );
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ResponseHead<'h> {
    kind: Kind,
    headers: &'h [(&'h str, &'h str)],
    reason: &'h str,
}

impl<'h> ResponseHead<'h> {
    /// The `200 OK` head that starts an event stream, with
    /// [`STREAM_HEADERS`].
    ///
    /// ```
    /// let head = sse_wire::ResponseHead::stream();
    /// assert_eq!(head.encoded_len(), Ok(114));
    /// ```
    #[must_use]
    pub const fn stream() -> Self {
        Self { kind: Kind::Stream, headers: &[], reason: "OK" }
    }

    /// The `204 No Content` head: an EventSource that receives it stops
    /// reconnecting (use it while shutting down).
    ///
    /// ```
    /// let mut buf = [0u8; 64];
    /// let n = sse_wire::ResponseHead::no_content().encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"HTTP/1.1 204 No Content\r\nCache-Control: no-cache\r\n\r\n");
    /// ```
    #[must_use]
    pub const fn no_content() -> Self {
        Self { kind: Kind::NoContent, headers: &[], reason: "No Content" }
    }

    /// Any other response head (a page, an error), with only the headers
    /// given to [`with_headers`](Self::with_headers): servers without an
    /// HTTP library (such as sse-embedded) use it for 404, 503 and pages.
    /// The status code must be three digits (100 to 999) and the reason
    /// phrase visible characters and spaces.
    ///
    /// ```
    /// let mut buf = [0u8; 64];
    /// let head = sse_wire::ResponseHead::status(503, "Service Unavailable")
    ///     .with_headers(&[("Retry-After", "5")]);
    /// let n = head.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n");
    /// assert!(sse_wire::ResponseHead::status(42, "Nope").encoded_len().is_err());
    /// ```
    #[must_use]
    pub const fn status(code: u16, reason: &'h str) -> Self {
        // Out-of-range codes are kept as 000, which `pieces` refuses.
        let digits = if code >= 100 && code <= 999 {
            // Each digit is below 10, so `wrapping_add` never wraps.
            [
                b'0'.wrapping_add((code / 100) as u8),
                b'0'.wrapping_add((code / 10 % 10) as u8),
                b'0'.wrapping_add((code % 10) as u8),
            ]
        } else {
            [b'0'; 3]
        };
        Self { kind: Kind::Status { digits }, headers: &[], reason }
    }

    /// Adds extra headers, written after the standard ones in this order.
    ///
    /// ```
    /// let head = sse_wire::ResponseHead::no_content().with_headers(&[("Vary", "Origin")]);
    /// assert!(head.encoded_len().is_ok());
    /// ```
    #[must_use]
    pub const fn with_headers(mut self, headers: &'h [(&'h str, &'h str)]) -> Self {
        self.headers = headers;
        self
    }

    fn fixed(&self) -> &'static [(&'static str, &'static str)] {
        match self.kind {
            Kind::Stream => STREAM_HEADERS,
            Kind::NoContent => &[("Cache-Control", "no-cache")],
            Kind::Status { .. } => &[],
        }
    }

    /// Feeds every piece of the head to `put`, after validating.
    fn pieces(&self, mut put: impl FnMut(&[u8])) -> Result<(), HeadError> {
        for (index, (name, value)) in self.headers.iter().enumerate() {
            if !is_token(name) {
                return Err(HeadError::InvalidHeaderName { index });
            }
            if !is_field_value(value) {
                return Err(HeadError::InvalidHeaderValue { index });
            }
        }
        match &self.kind {
            Kind::Stream => put(STATUS_200),
            Kind::NoContent => put(STATUS_204),
            Kind::Status { digits } => {
                if digits.first() == Some(&b'0') {
                    return Err(HeadError::InvalidStatus);
                }
                if !self.reason.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
                    return Err(HeadError::InvalidStatus);
                }
                put(b"HTTP/1.1 ");
                put(digits);
                put(b" ");
                put(self.reason.as_bytes());
                put(CRLF);
            }
        }
        for (name, value) in self.fixed().iter().chain(self.headers) {
            put(name.as_bytes());
            put(b": ");
            put(value.as_bytes());
            put(CRLF);
        }
        put(CRLF);
        Ok(())
    }

    /// The exact length of the head.
    ///
    /// # Errors
    /// [`HeadError::InvalidHeaderName`] or [`HeadError::InvalidHeaderValue`]
    /// for the first extra header that is invalid.
    ///
    /// ```
    /// assert_eq!(sse_wire::ResponseHead::no_content().encoded_len(), Ok(52));
    /// ```
    pub fn encoded_len(&self) -> Result<usize, HeadError> {
        let mut len = 0usize;
        self.pieces(|piece| len = len.saturating_add(piece.len()))?;
        Ok(len)
    }

    /// Writes the head into `buf` and returns its length.
    ///
    /// # Errors
    /// As [`encoded_len`](Self::encoded_len), or
    /// [`HeadError::BufferTooSmall`]; nothing is written then.
    ///
    /// ```
    /// use sse_wire::{HeadError, ResponseHead};
    /// let mut small = [0u8; 10];
    /// assert_eq!(
    ///     ResponseHead::stream().encode(&mut small),
    ///     Err(HeadError::BufferTooSmall { needed: 114, available: 10 })
    /// );
    /// ```
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, HeadError> {
        let needed = self.encoded_len()?;
        let available = buf.len();
        if needed > available {
            return Err(HeadError::BufferTooSmall { needed, available });
        }
        let mut rest = &mut *buf;
        self.pieces(|piece| {
            let taken = core::mem::take(&mut rest);
            if let Some((dst, tail)) = taken.split_at_mut_checked(piece.len()) {
                dst.copy_from_slice(piece);
                rest = tail;
            }
        })?;
        Ok(needed)
    }
}

/// RFC 9110 §5.6.2 `token`: one or more tchar.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 §5.5 field value: visible characters, spaces, tabs and
/// obs-text; no CR, LF, NUL or other controls.
fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_head_has_the_sse_headers_and_no_length_or_encoding() {
        let mut buf = [0u8; 256];
        let n = ResponseHead::stream().encode(&mut buf).unwrap();
        let head = core::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\n\
             X-Accel-Buffering: no\r\n\r\n"
        );
        assert!(!head.contains("Content-Length") && !head.contains("Content-Encoding"));
    }

    #[test]
    fn injected_headers_are_refused_and_nothing_is_written() {
        let bad: &[&[(&str, &str)]] =
            &[&[("X-A", "ok"), ("X-B", "a\nb")], &[("X-A", "a\rb")], &[("X-A", "a\0b")]];
        for headers in bad {
            let mut buf = [0xAAu8; 256];
            let err = ResponseHead::stream().with_headers(headers).encode(&mut buf).unwrap_err();
            assert!(matches!(err, HeadError::InvalidHeaderValue { .. }), "{headers:?}");
            assert!(buf.iter().all(|&b| b == 0xAA));
        }
        for name in ["", "X A", "X:A", "X\r\nA", "Ä"] {
            let err = ResponseHead::no_content().with_headers(&[("X-Ok", "1"), (name, "v")]).encoded_len();
            assert_eq!(err, Err(HeadError::InvalidHeaderName { index: 1 }), "{name:?}");
        }
        // Tabs and obs-text are allowed in values.
        assert!(ResponseHead::stream().with_headers(&[("X-A", "a\tb é")]).encoded_len().is_ok());
    }

    #[test]
    fn exact_size_buffer_is_enough() {
        let head = ResponseHead::no_content().with_headers(&[("Access-Control-Allow-Origin", "*")]);
        let len = head.encoded_len().unwrap();
        let mut buf = std::vec![0u8; len];
        assert_eq!(head.encode(&mut buf), Ok(len));
        assert!(buf.ends_with(b"Access-Control-Allow-Origin: *\r\n\r\n"));
        assert_eq!(
            head.encode(&mut buf[..len - 1]),
            Err(HeadError::BufferTooSmall { needed: len, available: len - 1 })
        );
    }

    #[test]
    fn status_heads_validate_code_and_reason() {
        let mut buf = [0u8; 128];
        let n = ResponseHead::status(404, "Not Found")
            .with_headers(&[("Content-Length", "0"), ("Connection", "close")])
            .encode(&mut buf)
            .unwrap();
        assert_eq!(&buf[..n], b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        for (code, reason) in [(99, "x"), (1000, "x"), (0, "x"), (200, "O\r\nK"), (200, "caf\u{e9}")] {
            assert_eq!(ResponseHead::status(code, reason).encoded_len(), Err(HeadError::InvalidStatus));
        }
        assert_eq!(ResponseHead::status(999, "").encoded_len(), Ok(b"HTTP/1.1 999 \r\n\r\n".len()));
    }
}
