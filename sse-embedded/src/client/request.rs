//! The client's side of HTTP/1.1 before the body: the target URL and the
//! request head, written into a caller's buffer.
//!
//! Invariant: a head is written only from a [`Target`] that parsed and
//! headers that passed [`check_header`], so no caller value can add a
//! line, a header or a second request (CR, LF and NUL are refused, names
//! must be HTTP tokens).

/// Where a client connects: `http://host[:port]/path?query`.
///
/// ```
/// let target = sse_embedded::Target::parse("http://10.0.2.2:8080/events?topic=a")?;
/// assert_eq!((target.host, target.port, target.path), ("10.0.2.2", 8080, "/events?topic=a"));
/// # Ok::<(), sse_embedded::UrlError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Target<'a> {
    /// Host name or address (an IPv6 address keeps its brackets).
    pub host: &'a str,
    /// Port (80 when the URL names none).
    pub port: u16,
    /// Path and query, `/` when the URL has none.
    pub path: &'a str,
}

/// Why a URL was refused.
///
/// ```
/// assert_eq!(sse_embedded::Target::parse("https://x/"), Err(sse_embedded::UrlError::NotHttp));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UrlError {
    /// Not an `http://` URL (TLS is the connection's business: give the
    /// client a TLS connection and an `http://` URL naming the host).
    NotHttp,
    /// No host, or a host or path with bytes a request line cannot carry.
    BadHost,
    /// A port that is not a number from 1 to 65535.
    BadPort,
}

impl core::fmt::Display for UrlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NotHttp => "not an http:// URL",
            Self::BadHost => "no host, or bytes a request cannot carry",
            Self::BadPort => "port is not a number from 1 to 65535",
        })
    }
}

impl<'a> Target<'a> {
    /// Parses `http://host[:port][/path][?query]` (a fragment is dropped).
    ///
    /// # Errors
    /// [`UrlError`] for another scheme, a missing or malformed host, a bad
    /// port, or control bytes or spaces anywhere.
    ///
    /// ```
    /// let t = sse_embedded::Target::parse("http://[::1]/")?;
    /// assert_eq!((t.host, t.port, t.path), ("[::1]", 80, "/"));
    /// # Ok::<(), sse_embedded::UrlError>(())
    /// ```
    pub fn parse(url: &'a str) -> Result<Self, UrlError> {
        let rest = strip_prefix_ignore_case(url, "http://").ok_or(UrlError::NotHttp)?;
        let rest = rest.split('#').next().unwrap_or_default();
        if rest.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::BadHost);
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        let path =
            if path.starts_with('?') || path.is_empty() { return Err(UrlError::BadHost) } else { path };
        if authority.contains('@') {
            return Err(UrlError::BadHost);
        }
        let (host, port) = match authority.rfind(':') {
            // A colon inside brackets belongs to an IPv6 address.
            Some(at) if !authority.get(at..).unwrap_or_default().contains(']') => {
                let (host, port) = authority.split_at(at);
                let port = port.get(1..).unwrap_or_default();
                let port = port.parse::<u16>().ok().filter(|&p| p != 0).ok_or(UrlError::BadPort)?;
                (host, port)
            }
            _ => (authority, 80),
        };
        let bracketed = host.starts_with('[') && host.ends_with(']');
        let plain = host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if host.is_empty() || !(bracketed || plain) {
            return Err(UrlError::BadHost);
        }
        Ok(Self { host, port, path })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s.get(prefix.len()..)).flatten()
}

/// Why an extra header was refused.
///
/// ```
/// use sse_embedded::{HeaderError, check_header};
/// assert_eq!(check_header("Authorization", "Bearer x\r\nX: y"), Err(HeaderError::BadValue));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HeaderError {
    /// The name is empty or not an HTTP token.
    BadName,
    /// The value holds CR, LF or NUL (or another control byte but tab).
    BadValue,
    /// A header the client writes itself (`Host`, `Accept`,
    /// `Cache-Control`, `Last-Event-ID`, `Connection`, `Content-Length`,
    /// `Transfer-Encoding`).
    Reserved,
}

impl core::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BadName => "header name is not an HTTP token",
            Self::BadValue => "header value holds CR, LF, NUL or another control byte",
            Self::Reserved => "header is written by the client itself",
        })
    }
}

const RESERVED: [&str; 7] =
    ["host", "accept", "cache-control", "last-event-id", "connection", "content-length", "transfer-encoding"];

/// Checks an extra request header: a token name the client does not
/// write itself, and a value without control bytes (tab allowed).
///
/// # Errors
/// [`HeaderError`] says which part is refused.
///
/// ```
/// assert!(sse_embedded::check_header("Authorization", "Bearer abc").is_ok());
/// ```
pub fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(HeaderError::BadName);
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HeaderError::Reserved);
    }
    if value.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
        return Err(HeaderError::BadValue);
    }
    Ok(())
}

/// Writes the request head into `buf` and returns its length, or `None`
/// if it does not fit or a header or the id is refused (ids with CR, LF
/// or NUL are not sent: the WHATWG parser never produces one).
/// Whether `value` can be a header value: no control byte but the tab
/// (bytes from 0x80 are obs-text, which servers take).
pub(crate) fn header_safe(value: &[u8]) -> bool {
    value.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

pub(crate) fn write_head(
    buf: &mut [u8],
    target: &Target<'_>,
    headers: &[(&str, &str)],
    last_event_id: &[u8],
) -> Option<usize> {
    let mut out = Out { buf, len: 0 };
    out.put(b"GET ")?;
    out.put(target.path.as_bytes())?;
    out.put(b" HTTP/1.1\r\nHost: ")?;
    out.put(target.host.as_bytes())?;
    if target.port != 80 {
        out.put(b":")?;
        let mut digits = [0u8; 5];
        out.put(port_digits(target.port, &mut digits))?;
    }
    out.put(b"\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n")?;
    // An id no server would take (a server may send one) is not sent:
    // the request would be refused, and every reconnection with it.
    if !last_event_id.is_empty() && header_safe(last_event_id) {
        out.put(b"Last-Event-ID: ")?;
        out.put(last_event_id)?;
        out.put(b"\r\n")?;
    }
    for (name, value) in headers {
        check_header(name, value).ok()?;
        out.put(name.as_bytes())?;
        out.put(b": ")?;
        out.put(value.as_bytes())?;
        out.put(b"\r\n")?;
    }
    out.put(b"\r\n")?;
    Some(out.len)
}

fn port_digits(mut port: u16, digits: &mut [u8; 5]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start = start.saturating_sub(1);
        if let Some(d) = digits.get_mut(start) {
            // `port % 10` is a single digit.
            *d = b'0'.saturating_add((port % 10) as u8);
        }
        port /= 10;
        if port == 0 || start == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or_default()
}

struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ok =
            |url, host, port, path| assert_eq!(Target::parse(url), Ok(Target { host, port, path }), "{url}");
        ok("http://example.com", "example.com", 80, "/");
        ok("HTTP://a:81/x?y=1#frag", "a", 81, "/x?y=1");
        ok("http://[fe80::1]:8080/e", "[fe80::1]", 8080, "/e");
        ok("http://h/?q", "h", 80, "/?q");
        for (url, err) in [
            ("https://h/", UrlError::NotHttp),
            ("ftp://h/", UrlError::NotHttp),
            ("http:///x", UrlError::BadHost),
            ("http://h x/", UrlError::BadHost),
            ("http://h/a b", UrlError::BadHost),
            ("http://h/\r\nX: y", UrlError::BadHost),
            ("http://u@h/", UrlError::BadHost),
            ("http://h?q", UrlError::BadHost),
            ("http://h:0/", UrlError::BadPort),
            ("http://h:65536/", UrlError::BadPort),
            ("http://h:/", UrlError::BadPort),
        ] {
            assert_eq!(Target::parse(url), Err(err), "{url}");
        }
    }

    #[test]
    fn head_has_the_fields_and_refuses_injection() {
        let target = Target::parse("http://h:8080/events").unwrap();
        let mut buf = [0u8; 256];
        let n = write_head(&mut buf, &target, &[("Authorization", "Bearer t")], b"42").unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "GET /events HTTP/1.1\r\nHost: h:8080\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\
             Last-Event-ID: 42\r\nAuthorization: Bearer t\r\n\r\n"
        );
        for bad in [("X", "a\rb"), ("X", "a\nb"), ("X", "a\0b"), ("X Y", "v"), ("", "v"), ("Host", "evil")] {
            assert_eq!(write_head(&mut buf, &target, &[bad], b""), None, "{bad:?}");
        }
        // An id no server would take is left out, never sent broken.
        for bad_id in [&b"a\nb"[..], b"a\x01b", b"\x7f", b"a\rb"] {
            let n = write_head(&mut buf, &target, &[], bad_id).unwrap();
            assert!(!buf[..n].windows(14).any(|w| w == b"Last-Event-ID:"), "{bad_id:?}");
        }
        let n = write_head(&mut buf, &target, &[], "caf\u{e9}\t1".as_bytes()).unwrap();
        assert!(buf[..n].windows(21).any(|w| w == "Last-Event-ID: caf\u{e9}\t".as_bytes()));
        // Too small a buffer: refused, never cut.
        assert_eq!(write_head(&mut buf[..20], &target, &[], b""), None);
        let default_port = Target::parse("http://h/").unwrap();
        let n = write_head(&mut buf, &default_port, &[], b"").unwrap();
        assert!(buf[..n].starts_with(b"GET / HTTP/1.1\r\nHost: h\r\n"));
    }

    #[test]
    fn ports() {
        let mut d = [0u8; 5];
        assert_eq!(port_digits(1, &mut d), b"1");
        assert_eq!(port_digits(65535, &mut d), b"65535");
        assert_eq!(port_digits(8080, &mut d), b"8080");
    }
}
