//! The response head as the client judges it, and the body's framing.
//!
//! Invariant: only `200` with `Content-Type: text/event-stream` is a
//! stream (as for the WHATWG EventSource); `204` ends for good; anything
//! else is an error the caller retries. httparse reads the head; the
//! chunked body's size lines go through httparse's `parse_chunk_size`, and
//! the decoder keeps at most one size line (64 bytes) between reads.

/// How the body of a stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// With the connection.
    Close,
    /// `Transfer-Encoding: chunked` (hyper and axum send this).
    Chunked,
    /// After this many bytes.
    Length(u64),
}

/// What a complete response head says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// A stream; its body starts `body_at` bytes into the buffer.
    Stream { framing: Framing, body_at: usize },
    /// 204: the server asks the client to stop.
    NoContent,
    /// Any other status (redirects are not followed).
    Status(u16),
    /// 200 with another content type.
    WrongType,
    /// A transfer coding the client cannot undo (gzip, say).
    Coding,
    /// Not a well-formed HTTP/1.x response head.
    Malformed,
}

/// Headers a response may have (more: `Malformed`).
const MAX_HEADERS: usize = 32;

/// Judges `buf` (the bytes read so far): `None` until the head is
/// complete.
pub(crate) fn judge(buf: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let body_at = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return None,
        Err(_) => return Some(Head::Malformed),
    };
    match response.code {
        Some(200) => {}
        Some(204) => return Some(Head::NoContent),
        Some(code) => return Some(Head::Status(code)),
        None => return Some(Head::Malformed),
    }
    let (mut event_stream, mut framing, mut coding) = (false, Framing::Close, false);
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("content-type") {
            let essence = value.split(|&b| b == b';').next().unwrap_or_default();
            event_stream = essence.trim_ascii().eq_ignore_ascii_case(b"text/event-stream");
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only `chunked` alone can be undone here.
            if value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                framing = Framing::Chunked;
            } else {
                coding = true;
            }
        } else if header.name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked {
            let digits = core::str::from_utf8(value.trim_ascii()).ok();
            match digits.and_then(|d| d.parse::<u64>().ok()) {
                Some(n) => framing = Framing::Length(n),
                None => return Some(Head::Malformed),
            }
        } else if header.name.eq_ignore_ascii_case("content-encoding")
            && !value.trim_ascii().eq_ignore_ascii_case(b"identity")
        {
            coding = true;
        }
    }
    Some(if coding {
        Head::Coding
    } else if event_stream {
        Head::Stream { framing, body_at }
    } else {
        Head::WrongType
    })
}

/// Longest chunk-size line kept (size, extensions, CR LF).
const SIZE_LINE: usize = 64;

/// Where the chunked decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line.
    Size,
    /// This many data bytes are left in the chunk.
    Data(u64),
    /// Expecting the CR LF after a chunk's data (`true`: CR seen).
    DataEnd(bool),
    /// After the last chunk: reading trailer lines (`true`: the current
    /// line is empty so far).
    Trailers(bool),
    /// The body is complete.
    Done,
}

/// Why a chunked body was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadChunk;

/// An incremental `Transfer-Encoding: chunked` decoder: data comes out as
/// slices of the input, without a copy.
#[derive(Clone, Debug)]
pub(crate) struct Chunked {
    state: State,
    line: heapless::Vec<u8, SIZE_LINE>,
}

impl Default for Chunked {
    fn default() -> Self {
        Self { state: State::Size, line: heapless::Vec::new() }
    }
}

impl Chunked {
    /// Whether the terminating chunk (and trailers) has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input`, handing each piece of data to `data`.
    ///
    /// # Errors
    /// [`BadChunk`] on a malformed size line, one longer than 64 bytes, or
    /// chunk data not followed by CR LF.
    pub(crate) fn decode(&mut self, mut input: &[u8], mut data: impl FnMut(&[u8])) -> Result<(), BadChunk> {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                State::Size => {
                    self.line.push(byte).map_err(|_| BadChunk)?;
                    input = rest;
                    if byte == b'\n' {
                        let size = match httparse::parse_chunk_size(&self.line) {
                            Ok(httparse::Status::Complete((_, size))) => size,
                            _ => return Err(BadChunk),
                        };
                        self.line.clear();
                        self.state = if size == 0 { State::Trailers(true) } else { State::Data(size) };
                    }
                }
                State::Data(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    let (piece, rest) = input.split_at(take);
                    data(piece);
                    input = rest;
                    let left = left.saturating_sub(take as u64);
                    self.state = if left == 0 { State::DataEnd(false) } else { State::Data(left) };
                }
                State::DataEnd(cr) => {
                    input = rest;
                    self.state = match (cr, byte) {
                        (false, b'\r') => State::DataEnd(true),
                        (_, b'\n') => State::Size,
                        _ => return Err(BadChunk),
                    };
                }
                State::Trailers(empty) => {
                    input = rest;
                    self.state = match byte {
                        b'\n' if empty => State::Done,
                        b'\n' => State::Trailers(true),
                        b'\r' => State::Trailers(empty),
                        _ => State::Trailers(false),
                    };
                }
                State::Done => return Ok(()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    #[test]
    fn heads() {
        let stream = |h: &[u8]| judge(h);
        let close: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
        let with_body = [close, b"data"].concat();
        assert_eq!(stream(&with_body), Some(Head::Stream { framing: Framing::Close, body_at: close.len() }));
        let chunked: &[u8] =
            b"HTTP/1.1 200 OK\r\ncontent-type: Text/Event-Stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n";
        assert_eq!(stream(chunked), Some(Head::Stream { framing: Framing::Chunked, body_at: chunked.len() }));
        let sized: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(stream(sized), Some(Head::Stream { framing: Framing::Length(5), body_at: sized.len() }));
        assert_eq!(stream(b"HTTP/1.1 204 No Content\r\n\r\n"), Some(Head::NoContent));
        assert_eq!(stream(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n"), Some(Head::Status(301)));
        assert_eq!(stream(b"HTTP/1.1 500 Oops\r\n\r\n"), Some(Head::Status(500)));
        assert_eq!(stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"), Some(Head::WrongType));
        assert_eq!(stream(b"HTTP/1.1 200 OK\r\n\r\n"), Some(Head::WrongType));
        assert_eq!(
            stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n"),
            Some(Head::Coding)
        );
        assert_eq!(
            stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            Some(Head::Coding)
        );
        assert_eq!(stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"), None);
        assert_eq!(stream(b"SSH-2.0-OpenSSH\r\n\r\n"), Some(Head::Malformed));
    }

    fn decode_all(body: &[u8], step: usize) -> Result<(Vec<u8>, bool), BadChunk> {
        let mut c = Chunked::default();
        let mut out = Vec::new();
        for piece in body.chunks(step.max(1)) {
            c.decode(piece, |d| out.extend_from_slice(d))?;
        }
        Ok((out, c.is_done()))
    }

    #[test]
    fn chunked_bodies_in_any_pieces() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        for step in 1..body.len() {
            assert_eq!(decode_all(body, step), Ok((b"hello, world".to_vec(), true)), "step {step}");
        }
        assert_eq!(decode_all(b"3\r\nabc\r\n", 2), Ok((b"abc".to_vec(), false)));
        assert_eq!(decode_all(b"A\r\n0123456789\r\n0\r\n\r\n", 1), Ok((b"0123456789".to_vec(), true)));
        for bad in [&b"x\r\n"[..], b"3\r\nabcX", b"3\r\nabc\rX", b"-1\r\n", &[b'1'; 80]] {
            assert_eq!(decode_all(bad, 1), Err(BadChunk), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
