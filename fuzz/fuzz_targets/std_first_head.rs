//! The first request head of a connection, as sse-std's server reads it
//! (the fast path's classification and its strict checks), against hyper
//! reading the same bytes: no panic; the same verdict however the bytes
//! are split into reads; and a head taken as a stream request is one that
//! hyper also parses, as a `GET` of the events path with the same
//! `Last-Event-ID`. (The reader may refuse more than hyper does, never
//! less: bare LF, Content-Length with Transfer-Encoding, repeated lengths.)
#![no_main]

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use sse_std::fuzzing::{FirstHead, first_head};
use tokio::io::AsyncWriteExt as _;

/// What hyper's HTTP/1 server makes of `bytes`: the first request's
/// method, path and `Last-Event-ID`, or `None` if it parsed none.
fn hyper_reads(bytes: &[u8]) -> Option<(String, String, Option<String>)> {
    let seen = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let id =
            req.headers().get("last-event-id").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        // Only the first request counts (the bytes may hold several).
        record.lock().unwrap().get_or_insert((req.method().to_string(), req.uri().path().to_owned(), id));
        std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Empty::<
            bytes::Bytes,
        >::new())))
    });
    let (mut client, server) = tokio::io::duplex(bytes.len().max(1) + 1024);
    let mut cx = Context::from_waker(Waker::noop());
    // The duplex has room for every byte: the write completes at once.
    let mut write = pin!(client.write_all(bytes));
    if write.as_mut().poll(&mut cx).is_pending() {
        return None;
    }
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(server), service);
    let mut connection = pin!(connection);
    for _ in 0..16 {
        if let Poll::Ready(_) = connection.as_mut().poll(&mut cx) {
            break;
        }
    }
    seen.lock().unwrap().take()
}

// The first byte chooses how the rest is split into reads: pieces of 1 to
// 16 bytes, their lengths cycling through the bits of that byte.
fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else { return };
    let whole = first_head(&[bytes], 16 * 1024);
    let mut pieces = Vec::new();
    let mut rest = bytes;
    let mut k = 0u32;
    while !rest.is_empty() {
        let len = (usize::from(seed.rotate_left(k) & 0x0f) + 1).min(rest.len());
        let (piece, tail) = rest.split_at(len);
        pieces.push(piece);
        rest = tail;
        k += 1;
    }
    assert_eq!(first_head(&pieces, 16 * 1024), whole, "the verdict depends on how the bytes were split");
    if let FirstHead::Stream(last_event_id) = whole {
        let Some((method, path, id)) = hyper_reads(bytes) else {
            panic!("taken as a stream, but hyper parses no request: {:?}", String::from_utf8_lossy(bytes));
        };
        assert_eq!((method.as_str(), path.as_str()), ("GET", "/events"));
        assert_eq!(id.filter(|id| !id.is_empty()), last_event_id);
    }
});
