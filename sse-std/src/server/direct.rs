//! The fast path for event streams: a connection whose first request is a
//! plain `GET` of the events path is served without hyper, so that an open
//! stream costs a socket and a hub subscriber (plus, while frames are being
//! written, a batch of frame handles), and each write takes every queued
//! frame in one vectored write (hyper's HTTP/1 connection keeps an 8 KiB
//! read buffer per connection and writes one chunk per frame). A stream
//! that has caught up is written by a walker (`walker.rs`), one task for
//! many streams; its own task takes it back when its socket is full.
//!
//! Invariant: only a head that `head.rs` judged a stream request (of the
//! events path or the Mercure path) is served here, subscribed by
//! `open.rs` as the router subscribes it. Every byte written comes from
//! sse-wire (the response heads), the hub (frames), or is a chunk's size
//! line or CRLF. An HTTP/1.1 body is chunked, one chunk per batch (the
//! size line of a small chunk taken from a static table): clients that
//! read a body in fixed-size blocks (Python's `requests`, under
//! sseclient-py and pymercure) wait for a whole block of a body delimited
//! by the end of the connection, but return each chunk as it arrives. An
//! HTTP/1.0 body ends with the connection. A client that accepts no bytes
//! for `stall_timeout` while frames wait is closed, whatever the
//! slow-consumer policy. With a `write_interval`, two writes to a stream
//! are at least that far apart, unless a full batch waits (such streams
//! keep their own task).

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes};
use futures_core::Stream as _;
use sse_wire::ResponseHead;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::conn::{answer_and_close, writable_by};
use super::open::Opened;
use super::stats::Counters;
use super::walker::Walkers;
use super::{ServerConfig, Shared};
use crate::exchange::StreamRequest;
use crate::exchange::head_bytes;
use crate::hub::{Subscriber, deadline};

/// Frames written by one vectored write at most. The batch of frame
/// handles (32 bytes each) is allocated when frames arrive and freed once
/// they are written, so an idle stream holds none.
const MAX_BATCH: usize = 64;

/// How a stream's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// By the end of the connection: frames as they are.
    Close,
    /// In chunked coding: each batch one chunk.
    Chunked,
}

/// The last chunk of a chunked body (no trailer fields).
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Chunks smaller than this get their size line from [`SIZE_LINES`]
/// (no allocation): nearly every batch of a live stream.
const SMALL_CHUNK: usize = 4096;

/// The size line of every chunk smaller than [`SMALL_CHUNK`], each three
/// hex digits (leading zeros are valid: RFC 9112 §7.1) and CRLF.
static SIZE_LINES: [u8; SMALL_CHUNK * 5] = size_lines();

// Evaluated by the compiler: an index out of bounds fails the build.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn size_lines() -> [u8; SMALL_CHUNK * 5] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut lines = [0u8; SMALL_CHUNK * 5];
    let mut size = 0;
    while size < SMALL_CHUNK {
        let at = size * 5;
        lines[at] = HEX[(size >> 8) & 15];
        lines[at + 1] = HEX[(size >> 4) & 15];
        lines[at + 2] = HEX[size & 15];
        lines[at + 3] = b'\r';
        lines[at + 4] = b'\n';
        size += 1;
    }
    lines
}

/// The size line of a chunk of `size` bytes.
fn size_line(size: usize) -> Bytes {
    let at = size.saturating_mul(5);
    match SIZE_LINES.get(at..at.saturating_add(5)) {
        Some(line) if size < SMALL_CHUNK => Bytes::from_static(line),
        _ => Bytes::from(format!("{size:x}\r\n")),
    }
}

/// Serves a stream request on `stream` until the subscriber ends, the
/// client goes away or the hub disconnects it (`too_slow`).
pub(super) async fn serve(
    mut stream: TcpStream,
    shared: &Shared,
    request: &StreamRequest,
    too_slow: Arc<Notify>,
    mut walkers: Option<&Walkers>,
) {
    let (config, counters) = (&shared.config, &*shared.counters);
    let framing = if request.http10 { Framing::Close } else { Framing::Chunked };
    let Opened { mut subscriber, last_event_id } = match shared.open(request) {
        Ok(opened) => opened,
        Err(answer) => {
            counters.status(answer.status.as_u16());
            let bytes = answer.with(config.cors.headers(request.origin.as_deref())).to_bytes();
            answer_and_close(&mut stream, &bytes, config.header_timeout).await;
            return;
        }
    };
    subscriber.set_disconnect_signal(Arc::clone(&too_slow));
    let head = write_stream_head(&mut stream, config, request, last_event_id.as_deref(), framing);
    if head.await.is_err() {
        return;
    }
    // Shared with a walker while it writes this stream.
    let stream = Arc::new(stream);
    let mut batch = Vec::new();
    let mut last_write: Option<tokio::time::Instant> = None;
    // Whether the subscriber ended (not the client, not the hub's policy):
    // a chunked body then gets its last chunk.
    let mut ended = false;
    loop {
        // What the subscriber had ready without waiting, when looked at.
        let mut ready = None;
        // Caught up, nothing waiting: a walker writes from here on, until
        // the socket does not take all it has or the subscriber ends.
        // `batch` is empty here: every turn writes it out or ends.
        if let Some(to) = walkers {
            match std::future::poll_fn(|cx| Poll::Ready(poll_batch(&mut subscriber, cx, &mut batch, framing)))
                .await
            {
                Poll::Ready(more) => ready = Some(more),
                Poll::Pending => {
                    let mut joined = match to.join(Arc::clone(&stream), subscriber, framing) {
                        Ok(joined) => joined,
                        // No walker runs any more (the server is stopping).
                        Err(back) => {
                            subscriber = *back;
                            walkers = None;
                            continue;
                        }
                    };
                    let back = tokio::select! {
                        biased;
                        () = too_slow.notified() => None,
                        () = client_gone(&stream) => None,
                        back = &mut joined.back => back.ok(),
                    };
                    let Some(back) = back else {
                        to.leave(&joined);
                        break;
                    };
                    subscriber = back.subscriber;
                    batch = back.batch;
                    ready = Some(back.more);
                }
            }
        }
        let mut more = ready.unwrap_or(true);
        if ready.is_none() {
            more = tokio::select! {
                biased;
                () = too_slow.notified() => break,
                () = client_gone(&stream) => break,
                more = std::future::poll_fn(|cx| poll_batch(&mut subscriber, cx, &mut batch, framing)) => more,
            };
            // Within `write_interval` of the last write, wait for the rest
            // of it and take what arrived meanwhile (a full batch goes at
            // once).
            if let (Some(interval), Some(last)) = (config.write_interval, last_write)
                && more
                && batch.len() < MAX_BATCH
            {
                let at = last.checked_add(interval).unwrap_or_else(|| deadline(interval));
                if at > tokio::time::Instant::now() {
                    tokio::select! {
                        biased;
                        () = too_slow.notified() => break,
                        () = client_gone(&stream) => break,
                        () = tokio::time::sleep_until(at) => {}
                    }
                    // `batch` is not empty: this returns at once.
                    more =
                        std::future::poll_fn(|cx| poll_batch(&mut subscriber, cx, &mut batch, framing)).await;
                }
            }
        }
        let written = tokio::select! {
            biased;
            () = too_slow.notified() => break,
            written = write_batch(&stream, &mut batch, config.stall_timeout, counters) => written,
        };
        if written.is_err() {
            break;
        }
        if !more {
            ended = true;
            break;
        }
        last_write = Some(tokio::time::Instant::now());
    }
    if ended && framing == Framing::Chunked {
        // Best effort: the connection closes next either way.
        let mut last = vec![Bytes::from_static(LAST_CHUNK)];
        let _ = write_batch(&stream, &mut last, config.stall_timeout, counters).await;
    }
    // The sending side ends here even if a walker still holds the socket
    // for a moment (it drops it at its next poll).
    let _ = socket2::SockRef::from(&*stream).shutdown(std::net::Shutdown::Write);
}

/// Writes the stream's head: the connection ends with the stream, which
/// it says (`Connection: close`), the framing, CORS for the request's
/// origin, and `last_event_id` (a Mercure stream's).
async fn write_stream_head(
    stream: &mut TcpStream,
    config: &ServerConfig,
    request: &StreamRequest,
    last_event_id: Option<&str>,
    framing: Framing,
) -> std::io::Result<()> {
    let cors = config.cors.headers(request.origin.as_deref());
    let mut headers: Vec<(&str, &str)> = cors.iter().map(|(n, v)| (*n, v.as_str())).collect();
    if let Some(id) = last_event_id {
        headers.push(("Last-Event-ID", id));
    }
    if framing == Framing::Chunked {
        headers.push(("Transfer-Encoding", "chunked"));
    }
    headers.push(("Connection", "close"));
    let bytes = head_bytes(ResponseHead::stream(), &headers);
    match tokio::time::timeout(config.header_timeout, stream.write_all(&bytes)).await {
        Ok(written) => written,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Moves every frame the subscriber has ready (up to [`MAX_BATCH`]) into
/// `batch`, as one chunk if `framing` says so: `Ready(true)` with at least
/// one frame, `Ready(false)` when the subscriber has ended (after its last
/// frames, if any).
pub(crate) fn poll_batch(
    subscriber: &mut Subscriber,
    cx: &mut Context<'_>,
    batch: &mut Vec<Bytes>,
    framing: Framing,
) -> Poll<bool> {
    let from = batch.len();
    let polled = poll_frames(subscriber, cx, batch);
    if framing == Framing::Chunked && batch.len() > from {
        let size =
            batch.get(from..).unwrap_or_default().iter().map(Bytes::len).fold(0usize, usize::saturating_add);
        batch.insert(from, size_line(size));
        batch.push(Bytes::from_static(b"\r\n"));
    }
    polled
}

/// [`poll_batch`]'s frames, as they are.
fn poll_frames(subscriber: &mut Subscriber, cx: &mut Context<'_>, batch: &mut Vec<Bytes>) -> Poll<bool> {
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

/// Writes and empties `batch`, as few system calls as the socket allows;
/// fails if the client accepts no bytes for `stall`.
async fn write_batch(
    stream: &TcpStream,
    batch: &mut Vec<Bytes>,
    stall: Option<std::time::Duration>,
    counters: &Counters,
) -> std::io::Result<()> {
    let mut stall_at = stall.map(deadline);
    while !batch.is_empty() {
        writable_by(stream, stall_at, counters).await?;
        if try_write_batch(stream, batch)? > 0 {
            stall_at = stall.map(deadline);
        }
    }
    Ok(())
}

/// Writes as much of `batch` as the socket takes without waiting, removes
/// it from `batch`, and returns how many bytes that was.
pub(crate) fn try_write_batch(stream: &TcpStream, batch: &mut Vec<Bytes>) -> std::io::Result<usize> {
    let mut total = 0usize;
    while !batch.is_empty() {
        let result = match batch.as_slice() {
            // One frame: `write`, which spares the kernel an iovec (perf:
            // 5 % of a delivery's time was `vfs_writev` itself).
            [frame] => stream.try_write(frame),
            frames => {
                let mut slices = [IoSlice::new(&[]); MAX_BATCH];
                for (slice, frame) in slices.iter_mut().zip(frames) {
                    *slice = IoSlice::new(frame);
                }
                stream.try_write_vectored(slices.get(..frames.len().min(MAX_BATCH)).unwrap_or_default())
            }
        };
        match result {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                consume(batch, written);
                total = total.saturating_add(written);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(total),
            Err(e) => return Err(e),
        }
    }
    Ok(total)
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
    fn size_lines_are_hex_with_crlf() {
        for (size, line) in
            [(0, "000\r\n"), (10, "00a\r\n"), (4095, "fff\r\n"), (4096, "1000\r\n"), (70000, "11170\r\n")]
        {
            assert_eq!(size_line(size), line.as_bytes());
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
