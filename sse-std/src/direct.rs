//! The fast path for event streams: a connection whose first request is a
//! plain `GET` of the events path is served without hyper, so that an open
//! stream costs a socket and a hub subscriber (plus, while frames are being
//! written, a batch of frame handles), and each wake-up writes every queued
//! frame in one vectored write (hyper's HTTP/1 connection keeps an 8 KiB
//! read buffer per connection and writes one chunk per frame).
//!
//! Invariant: the request head is parsed by httparse, never by hand, and
//! only a complete, well-formed `GET <events path>` without a body is taken
//! here; anything else (another path or method, a body, a malformed or
//! oversized head) goes to hyper with every byte already read, so hyper
//! answers it exactly as if it had read the connection from the start.
//! Every byte written comes from sse-core (the response heads) or the hub
//! (frames). The body is delimited by the end of the connection (HTTP/1.1
//! allows it, every EventSource accepts it, and it costs no chunk framing).

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes};
use futures_core::Stream as _;
use sse_core::ResponseHead;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::hub::{Hub, SubscribeError, Subscriber};
use crate::server::ServerConfig;

/// Frames written by one vectored write at most. The batch of frame
/// handles (32 bytes each) is allocated when frames arrive and freed once
/// they are written, so an idle stream holds none.
const MAX_BATCH: usize = 64;

/// Headers accepted in the first request head.
const MAX_HEADERS: usize = 64;

/// What the first request of a connection is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum First {
    /// A stream request, served here.
    Stream {
        /// The `Last-Event-ID` header, if present and not empty.
        last_event_id: Option<String>,
    },
    /// Anything else, for hyper.
    Other,
    /// More bytes are needed to decide.
    Partial,
}

/// Classifies the bytes read so far from a new connection.
pub(crate) fn classify(bytes: &[u8], events_path: &str) -> First {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Partial) => return First::Partial,
        Ok(httparse::Status::Complete(_)) => {}
        // Malformed, or too many headers: hyper answers it.
        Err(_) => return First::Other,
    }
    let path = request.path.and_then(|target| target.split('?').next());
    if request.method != Some("GET") || path != Some(events_path) {
        return First::Other;
    }
    let mut last_event_id = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            // A declared body (even of length 0 with odd spelling) is
            // hyper's to check and answer.
            if header.value != b"0" {
                return First::Other;
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return First::Other;
        } else if header.name.eq_ignore_ascii_case("last-event-id") && !header.value.is_empty() {
            last_event_id = Some(String::from_utf8_lossy(header.value).into_owned());
        }
    }
    First::Stream { last_event_id }
}

/// A connection with bytes already read from it in front: hyper reads
/// those first.
pub(crate) struct Rewound {
    prefix: Bytes,
    stream: TcpStream,
}

impl Rewound {
    pub(crate) fn new(prefix: Vec<u8>, stream: TcpStream) -> Self {
        Self { prefix: Bytes::from(prefix), stream }
    }
}

impl AsyncRead for Rewound {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(this.prefix.get(..n).unwrap_or_default());
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Serves a stream request on `stream` until the subscriber ends, the
/// client goes away or the hub disconnects it (`too_slow`).
pub(crate) async fn serve(
    mut stream: TcpStream,
    hub: &Hub,
    config: &ServerConfig,
    last_event_id: Option<&str>,
    too_slow: Arc<Notify>,
) {
    let mut subscriber = match hub.subscribe(last_event_id) {
        Ok(subscriber) => subscriber,
        Err(e) => {
            let _ = refuse(&mut stream, e, config).await;
            return;
        }
    };
    subscriber.set_disconnect_signal(Arc::clone(&too_slow));
    if write_head(&mut stream, ResponseHead::stream(), &[], config, b"").await.is_err() {
        return;
    }
    loop {
        let mut batch = Vec::new();
        let more = tokio::select! {
            biased;
            () = too_slow.notified() => break,
            () = client_gone(&stream) => break,
            more = std::future::poll_fn(|cx| poll_batch(&mut subscriber, cx, &mut batch)) => more,
        };
        let written = tokio::select! {
            biased;
            () = too_slow.notified() => break,
            written = write_batch(&stream, &mut batch) => written,
        };
        if written.is_err() || !more {
            break;
        }
    }
    drop(subscriber);
    let _ = stream.shutdown().await;
}

/// Answers a refused stream request: 204 during shutdown (an EventSource
/// stops reconnecting), 503 with `Retry-After` when every slot is taken.
async fn refuse(stream: &mut TcpStream, error: SubscribeError, config: &ServerConfig) -> std::io::Result<()> {
    match error {
        SubscribeError::ShutDown => write_head(stream, ResponseHead::no_content(), &[], config, b"").await,
        SubscribeError::TooManyClients => {
            let body = format!("{error}\n");
            let secs = config.retry_after_secs().to_string();
            let length = body.len().to_string();
            let headers = [
                ("Retry-After", secs.as_str()),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", length.as_str()),
                ("Connection", "close"),
            ];
            let head = ResponseHead::status(503, "Service Unavailable");
            write_head(stream, head, &headers, config, body.as_bytes()).await
        }
    }
}

/// Writes `head` with `headers` and the configured CORS header (left out
/// if the origin is not a valid header value), then `body`.
async fn write_head(
    stream: &mut TcpStream,
    head: ResponseHead<'_>,
    headers: &[(&str, &str)],
    config: &ServerConfig,
    body: &[u8],
) -> std::io::Result<()> {
    let mut with_cors = headers.to_vec();
    if let Some(origin) = config.cors_origin.as_deref() {
        with_cors.push(("Access-Control-Allow-Origin", origin));
    }
    let encode = |head: ResponseHead<'_>| {
        let mut bytes = vec![0u8; head.encoded_len().ok()?];
        let n = head.encode(&mut bytes).ok()?;
        bytes.truncate(n);
        Some(bytes)
    };
    let Some(mut bytes) =
        encode(head.with_headers(&with_cors)).or_else(|| encode(head.with_headers(headers)))
    else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).await
}

/// Moves every frame the subscriber has ready (up to [`MAX_BATCH`]) into
/// `batch`: `Ready(true)` with at least one frame, `Ready(false)` when the
/// subscriber has ended (after its last frames, if any).
fn poll_batch(subscriber: &mut Subscriber, cx: &mut Context<'_>, batch: &mut Vec<Bytes>) -> Poll<bool> {
    while batch.len() < MAX_BATCH {
        match Pin::new(&mut *subscriber).poll_next(cx) {
            Poll::Ready(Some(frame)) => {
                if batch.capacity() == 0 {
                    batch.reserve_exact(MAX_BATCH);
                }
                batch.push(frame);
            }
            Poll::Ready(None) => return Poll::Ready(false),
            Poll::Pending => break,
        }
    }
    if batch.is_empty() { Poll::Pending } else { Poll::Ready(true) }
}

/// Writes and empties `batch`, as few system calls as the socket allows.
async fn write_batch(stream: &TcpStream, batch: &mut Vec<Bytes>) -> std::io::Result<()> {
    while !batch.is_empty() {
        stream.writable().await?;
        let result = {
            let mut slices = [IoSlice::new(&[]); MAX_BATCH];
            for (slice, frame) in slices.iter_mut().zip(batch.iter()) {
                *slice = IoSlice::new(frame);
            }
            stream.try_write_vectored(slices.get(..batch.len()).unwrap_or_default())
        };
        match result {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => consume(batch, written),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Drops the first `written` bytes of `batch`.
fn consume(batch: &mut Vec<Bytes>, mut written: usize) {
    let mut done = 0usize;
    for frame in batch.iter_mut() {
        if written < frame.len() {
            frame.advance(written);
            break;
        }
        written = written.saturating_sub(frame.len());
        done = done.saturating_add(1);
    }
    batch.drain(..done.min(batch.len()));
}

/// Completes when the client closes its side or the connection fails.
/// Bytes it sends after the request are read and ignored.
async fn client_gone(stream: &TcpStream) {
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        let mut scratch = [0u8; 64];
        match stream.try_read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bodiless_get_of_the_events_path_is_a_stream() {
        let stream = |id: Option<&str>| First::Stream { last_event_id: id.map(str::to_owned) };
        let cases: &[(&[u8], First)] = &[
            (b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n", stream(None)),
            (b"GET /events?x=1 HTTP/1.0\r\n\r\n", stream(None)),
            (b"GET /events HTTP/1.1\r\nLast-Event-ID: 7\r\n\r\n", stream(Some("7"))),
            (b"GET /events HTTP/1.1\r\nlast-event-id:\r\n\r\n", stream(None)),
            (b"GET /events HTTP/1.1\r\nContent-Length: 0\r\n\r\n", stream(None)),
            (b"GET /events HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", First::Other),
            (b"GET /events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", First::Other),
            (b"POST /events HTTP/1.1\r\n\r\n", First::Other),
            (b"GET /eventsx HTTP/1.1\r\n\r\n", First::Other),
            (b"GET / HTTP/1.1\r\n\r\n", First::Other),
            (b"GET /events HTTP/1.1\r\nHo st: x\r\n\r\n", First::Other),
            (b"GET /events HTTP/1.1\r\nHost: x\r\n", First::Partial),
            (b"", First::Partial),
        ];
        for (bytes, expected) in cases {
            assert_eq!(&classify(bytes, "/events"), expected, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn consume_advances_across_frames() {
        let mut batch = vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de"), Bytes::from_static(b"f")];
        consume(&mut batch, 4);
        assert_eq!(batch, [Bytes::from_static(b"e"), Bytes::from_static(b"f")]);
        consume(&mut batch, 2);
        assert!(batch.is_empty());
    }
}
