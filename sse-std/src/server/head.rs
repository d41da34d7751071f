//! The first request head of a connection, read incrementally and checked
//! strictly before anything is done with it.
//!
//! Invariant: every byte is scanned once as it arrives (for bare LF and
//! for the blank line that ends the head), and httparse runs only when a
//! `\r\n\r\n` has arrived, so a head trickled one byte at a time costs
//! O(n), not O(n²). A head is refused (400, or 431 past the size limit)
//! if it could be read two ways by two HTTP implementations: a bare LF
//! line ending, `Content-Length` together with `Transfer-Encoding`, more
//! than one `Content-Length`, a length that is not a decimal number, or
//! anything httparse refuses (obs-fold, control bytes in the target, ...)
//! or a target `http::Uri` refuses (as hyper would), as Node's llhttp
//! does; and, as RFC 9112 §3.2 requires, an HTTP/1.1 head without `Host`
//! or any head with more than one. Only a complete, well-formed `GET <events path>`
//! without a body is a stream; every other valid head goes to hyper with
//! every byte already read.

use http::StatusCode;

use crate::exchange::HostCheck;
use crate::exchange::StreamRequest;

/// Headers accepted in the first request head; more get 431.
const MAX_HEADERS: usize = 64;

/// How much the buffer grows per read.
const READ_CHUNK: usize = 1024;

/// What the first request of a connection is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A stream request, served by the fast path.
    Stream(StreamRequest),
    /// A valid request for hyper.
    Other,
    /// Refused with this status and reason; the connection is closed.
    Refuse(StatusCode, &'static str),
}

/// The paths whose `GET` is a stream request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamPaths<'a> {
    /// The events path.
    pub(crate) events: &'a str,
    /// The Mercure path, if served.
    pub(crate) mercure: Option<&'a str>,
}

impl<'a> StreamPaths<'a> {
    /// The stream paths `config` serves.
    pub(crate) fn of(config: &'a super::ServerConfig) -> Self {
        Self { events: &config.events_path, mercure: config.mercure_path.as_deref() }
    }
}

/// The reason given with 421.
pub(crate) const MISDIRECTED: &str = "this server does not answer for that host";

/// A request head being read: bytes so far and how far they were scanned.
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    /// Bytes of `buf` read from the peer.
    len: usize,
    max: usize,
}

impl HeadReader {
    /// A reader that refuses heads longer than `max` bytes (431).
    pub(crate) fn new(max: usize) -> Self {
        Self { buf: Vec::new(), len: 0, max: max.max(1) }
    }

    /// Where the next read goes: never empty while the head is undecided.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        let end = self.len.saturating_add(READ_CHUNK).min(self.max);
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.buf.get_mut(self.len..).unwrap_or_default()
    }

    /// Takes `n` more bytes written into [`spare`](Self::spare); a verdict
    /// once one can be given.
    pub(crate) fn advance(&mut self, n: usize, paths: StreamPaths<'_>, hosts: &HostCheck) -> Option<Verdict> {
        let start = self.len;
        self.len = self.len.saturating_add(n).min(self.buf.len());
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        for lf in memchr::memchr_iter(b'\n', bytes.get(start..).unwrap_or_default()) {
            let at = start.saturating_add(lf);
            // RFC 9112 §2.2: a recipient may accept a bare LF; we refuse it,
            // since a proxy in front may not.
            if at == 0 || bytes.get(at.saturating_sub(1)) != Some(&b'\r') {
                return Some(Verdict::Refuse(StatusCode::BAD_REQUEST, "bare LF in the request head"));
            }
            let blank_line = at >= 3 && bytes.get(at.saturating_sub(3)..at) == Some(b"\r\n\r");
            if blank_line {
                return Some(judge(bytes.get(..=at).unwrap_or_default(), paths, hosts));
            }
        }
        (self.len >= self.max)
            .then_some(Verdict::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"))
    }

    /// Takes bytes that were read elsewhere, as successive reads would
    /// deliver them; the first verdict.
    pub(crate) fn feed(
        &mut self,
        mut bytes: &[u8],
        paths: StreamPaths<'_>,
        hosts: &HostCheck,
    ) -> Option<Verdict> {
        while !bytes.is_empty() {
            let spare = self.spare();
            let n = spare.len().min(bytes.len());
            let (now, rest) = bytes.split_at(n);
            if let Some(dst) = spare.get_mut(..n) {
                dst.copy_from_slice(now);
            }
            bytes = rest;
            if let Some(verdict) = self.advance(n, paths, hosts) {
                return Some(verdict);
            }
        }
        None
    }

    /// Every byte read so far (the head and anything after it).
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        self.buf.truncate(self.len);
        self.buf
    }
}

/// Judges a head that ends with its blank line.
fn judge(head: &[u8], paths: StreamPaths<'_>, hosts: &HostCheck) -> Verdict {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        // Only empty lines before the request line leave it partial here.
        Ok(httparse::Status::Partial) => {
            return Verdict::Refuse(StatusCode::BAD_REQUEST, "empty lines before the request line");
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Verdict::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many headers");
        }
        Err(_) => return Verdict::Refuse(StatusCode::BAD_REQUEST, "malformed request head"),
    }
    let (mut lengths, mut chunked, mut body) = (0usize, false, false);
    let (mut stream, mut host, mut hosts_seen, mut id_seen) = (StreamRequest::default(), None, 0usize, false);
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            lengths = lengths.saturating_add(1);
            if header.value.is_empty() || !header.value.iter().all(u8::is_ascii_digit) {
                return Verdict::Refuse(StatusCode::BAD_REQUEST, "invalid Content-Length");
            }
            body |= header.value.iter().any(|&b| b != b'0');
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        } else if header.name.eq_ignore_ascii_case("host") {
            hosts_seen = hosts_seen.saturating_add(1);
            host.get_or_insert(header.value);
        } else if header.name.eq_ignore_ascii_case("last-event-id") {
            // The first one decides, even when empty, as on the hyper path.
            if !id_seen {
                id_seen = true;
                stream.header(header.name, header.value);
            }
        } else {
            stream.header(header.name, header.value);
        }
    }
    if lengths > 1 {
        return Verdict::Refuse(StatusCode::BAD_REQUEST, "more than one Content-Length");
    }
    if lengths == 1 && chunked {
        return Verdict::Refuse(StatusCode::BAD_REQUEST, "both Content-Length and Transfer-Encoding");
    }
    if let Some(reason) = crate::exchange::host_count_problem(hosts_seen, request.version == Some(1)) {
        return Verdict::Refuse(StatusCode::BAD_REQUEST, reason);
    }
    // The target as hyper reads it (`http::Uri`), which refuses more than
    // httparse does (`<`, `{`, ...).
    let Some(uri) = request.path.and_then(|target| http::Uri::try_from(target).ok()) else {
        return Verdict::Refuse(StatusCode::BAD_REQUEST, "invalid request target");
    };
    // An absolute-form target's authority wins over `Host` (RFC 9112
    // §3.2.2), as on the hyper path.
    let host = uri.authority().map(|a| a.as_str().as_bytes()).or(host);
    if !hosts.accepts(host) {
        return Verdict::Refuse(StatusCode::MISDIRECTED_REQUEST, MISDIRECTED);
    }
    // The events path wins should both be the same.
    let mercure = uri.path() != paths.events && paths.mercure == Some(uri.path());
    if request.method == Some("GET") && (uri.path() == paths.events || mercure) && !body && !chunked {
        stream.query = uri.query().map(str::to_owned);
        stream.mercure = mercure;
        stream.http10 = request.version == Some(0);
        Verdict::Stream(stream)
    } else {
        Verdict::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` in pieces of `step`, as reads would deliver them.
    fn read(bytes: &[u8], step: usize, max: usize) -> Option<Verdict> {
        let mut reader = HeadReader::new(max);
        let hosts = HostCheck::new(Some([127, 0, 0, 1].into()), &["x".to_owned()]);
        bytes.chunks(step.max(1)).find_map(|piece| reader.feed(piece, PATHS, &hosts))
    }

    const PATHS: StreamPaths<'static> =
        StreamPaths { events: "/events", mercure: Some("/.well-known/mercure") };

    fn bad(reason: &'static str) -> Verdict {
        Verdict::Refuse(StatusCode::BAD_REQUEST, reason)
    }

    fn stream(id: Option<&str>) -> Verdict {
        Verdict::Stream(StreamRequest { last_event_id: id.map(str::to_owned), ..StreamRequest::default() })
    }

    fn cases() -> Vec<(&'static [u8], Option<Verdict>)> {
        vec![
            (b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n", Some(stream(None))),
            (
                b"GET /events?topic=a%2F*&topic=b HTTP/1.0\r\nCookie: sse_auth=t\r\nAuthorization: Bearer x\r\n\r\n",
                Some(Verdict::Stream(StreamRequest {
                    query: Some("topic=a%2F*&topic=b".to_owned()),
                    authorization: Some(b"Bearer x".to_vec()),
                    cookie: Some(b"sse_auth=t".to_vec()),
                    http10: true,
                    ..StreamRequest::default()
                })),
            ),
            (b"\r\nGET /events HTTP/1.1\r\nHost: x\r\n\r\n", Some(stream(None))),
            (
                b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\nLast-Event-ID: 8\r\n\r\n",
                Some(stream(Some("7"))),
            ),
            (b"GET /events HTTP/1.1\r\nHost: x\r\nlast-event-id:\r\n\r\n", Some(stream(None))),
            (b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID:\r\nLast-Event-ID: 8\r\n\r\n", Some(stream(None))),
            (b"GET /events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", Some(stream(None))),
            (b"GET /events HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", Some(Verdict::Other)),
            (b"GET /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", Some(Verdict::Other)),
            (b"POST /events HTTP/1.1\r\nHost: x\r\n\r\n", Some(Verdict::Other)),
            (
                b"GET /.well-known/mercure?topic=*&lastEventID=7 HTTP/1.1\r\nHost: x\r\nCookie: mercureAuthorization=t\r\n\r\n",
                Some(Verdict::Stream(StreamRequest {
                    query: Some("topic=*&lastEventID=7".to_owned()),
                    cookie: Some(b"mercureAuthorization=t".to_vec()),
                    mercure: true,
                    ..StreamRequest::default()
                })),
            ),
            (b"POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\n\r\n", Some(Verdict::Other)),
            (b"GET /.well-known/mercure/subscriptions HTTP/1.1\r\nHost: x\r\n\r\n", Some(Verdict::Other)),
            (b"GET /eventsx HTTP/1.1\r\nHost: x\r\n\r\n", Some(Verdict::Other)),
            (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", Some(Verdict::Other)),
            (b"GET /events HTTP/1.1\r\nHost: x\r\n", None),
            (b"", None),
            // Smuggling and malformed heads.
            (b"GET /events HTTP/1.1\nHost: x\n\n", Some(bad("bare LF in the request head"))),
            (b"GET /events HTTP/1.1\r\nHost: x\n\r\n", Some(bad("bare LF in the request head"))),
            (b"\nGET / HTTP/1.1\r\n\r\n", Some(bad("bare LF in the request head"))),
            (
                b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
                Some(bad("both Content-Length and Transfer-Encoding")),
            ),
            (
                b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
                Some(bad("more than one Content-Length")),
            ),
            (
                b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
                Some(bad("more than one Content-Length")),
            ),
            (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\n", Some(bad("invalid Content-Length"))),
            (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 0x4\r\n\r\n", Some(bad("invalid Content-Length"))),
            (b"GET /events HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", Some(bad("malformed request head"))),
            (b"GET /ev\0ents HTTP/1.1\r\nHost: x\r\n\r\n", Some(bad("malformed request head"))),
            (b"GET /ev\x01ents HTTP/1.1\r\nHost: x\r\n\r\n", Some(bad("malformed request head"))),
            (b"GET /events HTTP/1.1\r\nHo st: x\r\n\r\n", Some(bad("malformed request head"))),
            (b"GET /events HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", Some(bad("malformed request head"))),
            (b"GET /events HTTP/9.9\r\n\r\n", Some(bad("malformed request head"))),
            (b"GET /events?<script> HTTP/1.1\r\nHost: x\r\n\r\n", Some(bad("invalid request target"))),
            (b"GET http://x/events HTTP/1.1\r\nHost: x\r\n\r\n", Some(stream(None))),
            (
                b"GET http://evil.example/events HTTP/1.1\r\nHost: localhost\r\n\r\n",
                Some(Verdict::Refuse(StatusCode::MISDIRECTED_REQUEST, MISDIRECTED)),
            ),
            (b"\r\n\r\nGET /events HTTP/1.1\r\nHost: x\r\n\r\n", Some(bad("empty lines before the request line"))),
            // DNS rebinding: another site's name on a loopback server.
            (
                b"GET /events HTTP/1.1\r\nHost: evil.example:8080\r\n\r\n",
                Some(Verdict::Refuse(StatusCode::MISDIRECTED_REQUEST, MISDIRECTED)),
            ),
            (
                b"POST /publish HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\n\r\n",
                Some(Verdict::Refuse(StatusCode::MISDIRECTED_REQUEST, MISDIRECTED)),
            ),
            (b"GET /events HTTP/1.1\r\nHost: localhost:8080\r\n\r\n", Some(stream(None))),
            // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in 1.0.
            (b"GET /events HTTP/1.1\r\n\r\n", Some(bad("an HTTP/1.1 request needs a Host field"))),
            (b"POST /publish HTTP/1.1\r\nContent-Length: 0\r\n\r\n", Some(bad("an HTTP/1.1 request needs a Host field"))),
            (
                b"GET /events HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
                Some(bad("more than one Host field")),
            ),
            (
                b"GET /events HTTP/1.0\r\nHost: x\r\nhost: evil.example\r\n\r\n",
                Some(bad("more than one Host field")),
            ),
            (
                b"GET /events HTTP/1.0\r\n\r\n",
                Some(Verdict::Stream(StreamRequest { http10: true, ..StreamRequest::default() })),
            ),
        ]
    }

    #[test]
    fn every_head_gets_the_same_verdict_in_any_pieces() {
        for (bytes, want) in cases() {
            for step in [1, 2, 3, 7, 1000, 100_000] {
                assert_eq!(
                    read(bytes, step, 16 * 1024),
                    want,
                    "{:?} in pieces of {step}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }

    #[test]
    fn a_head_past_the_limit_gets_431_without_waiting_for_its_end() {
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', 100 * 1024));
        let want =
            Some(Verdict::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"));
        assert_eq!(read(&long, 1000, 16 * 1024), want);
        let mut many = b"GET /events HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            many.extend(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend(b"\r\n");
        let want = Some(Verdict::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many headers"));
        assert_eq!(read(&many, 5, 16 * 1024), want);
    }

    #[test]
    fn bytes_after_the_head_are_kept_for_hyper() {
        let bytes = b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        let mut reader = HeadReader::new(1024);
        assert_eq!(reader.feed(bytes, PATHS, &HostCheck::new(None, &[])), Some(Verdict::Other));
        assert_eq!(reader.into_bytes(), bytes);
    }
}
