//! The client against scripted servers: every error path (204, 500, 301,
//! a wrong content type, a head split byte by byte, chunk sizes split
//! across reads, `retry: 0`, a line longer than the buffer, a server that
//! goes quiet), resumption with `Last-Event-ID`, and, as a property, the
//! same events as sse-wire's parser on the whole body for any split of a
//! close-delimited or chunked body, and every conformance vector (what a
//! browser's EventSource sees) through both framings.

#![cfg(feature = "client")]

#[path = "../../sse-wire/tests/vectors/mod.rs"]
#[allow(dead_code)]
mod vectors;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use sse_embedded::{ClientConfig, ClientError, Connect, Control, Ended, EventSource, Target};
use sse_wire::{Output, Parser};

/// One scripted connection: the reads the server's bytes arrive in, and
/// whether the connection then hangs (no byte, no end) or ends.
#[derive(Clone, Default)]
struct Script {
    reads: VecDeque<Vec<u8>>,
    hang: bool,
}

fn script(reads: &[&[u8]]) -> Script {
    Script { reads: reads.iter().map(|r| r.to_vec()).collect(), hang: false }
}

/// Hands out the scripted connections in turn (then refuses), and keeps
/// every request head the client wrote.
struct Server {
    scripts: VecDeque<Script>,
    requests: Rc<RefCell<Vec<Vec<u8>>>>,
}

struct Conn {
    script: Script,
    requests: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl embedded_io_async::ErrorType for Conn {
    type Error = Infallible;
}

impl embedded_io_async::Read for Conn {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        match self.script.reads.front_mut() {
            Some(next) => {
                let n = next.len().min(buf.len());
                buf[..n].copy_from_slice(&next[..n]);
                next.drain(..n);
                if next.is_empty() {
                    self.script.reads.pop_front();
                }
                Ok(n)
            }
            None if self.script.hang => std::future::pending().await,
            None => Ok(0),
        }
    }
}

impl embedded_io_async::Write for Conn {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.requests.borrow_mut().last_mut().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Connect for Server {
    type Conn<'c> = Conn;
    async fn connect(&mut self, _target: &Target<'_>) -> Option<Conn> {
        let script = self.scripts.pop_front()?;
        self.requests.borrow_mut().push(Vec::new());
        Some(Conn { script, requests: Rc::clone(&self.requests) })
    }
}

/// A timer that records every delay asked for; each ends after one poll,
/// so a deadline fires only when the work is not ready.
#[derive(Default)]
struct Timer {
    delays_ms: Vec<u32>,
}

impl embedded_hal_async::delay::DelayNs for Timer {
    async fn delay_ns(&mut self, ns: u32) {
        self.delay_ms(ns / 1_000_000).await;
    }

    async fn delay_ms(&mut self, ms: u32) {
        self.delays_ms.push(ms);
        let mut once = false;
        std::future::poll_fn(|_| {
            if std::mem::replace(&mut once, true) { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the client did not finish");
}

/// Runs a client against `scripts`: what it delivered (type, data, last
/// event id), how it ended, the request heads, the delays, the stats.
struct Run {
    events: Vec<(String, String, String)>,
    ended: Ended,
    requests: Vec<String>,
    delays: Vec<u32>,
    stats: sse_embedded::ClientStats,
}

fn run_with(
    scripts: Vec<Script>,
    config: impl FnOnce(&mut ClientConfig<'_>),
    stop_after: Option<usize>,
) -> Run {
    let target = Target::parse("http://device.local:8080/events").unwrap();
    let mut cfg = ClientConfig::new(target);
    cfg.max_failures = Some(4);
    config(&mut cfg);
    let requests = Rc::new(RefCell::new(Vec::new()));
    let mut server = Server { scripts: scripts.into(), requests: Rc::clone(&requests) };
    let mut timer = Timer::default();
    let mut source: EventSource<256, 64, 16, 16> = EventSource::new(&cfg);
    let mut events = Vec::new();
    let ended = block_on(source.run(&cfg, &mut server, &mut timer, |e| {
        events.push((e.event_type().to_string(), e.data().to_string(), e.last_event_id().to_string()));
        if stop_after == Some(events.len()) { Control::Stop } else { Control::Continue }
    }));
    let requests = requests.borrow().iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect();
    Run { events, ended, requests, delays: timer.delays_ms, stats: source.stats() }
}

fn run(scripts: Vec<Script>) -> Run {
    run_with(scripts, |_| {}, None)
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
const CHUNKED: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

fn ev(data: &str, id: &str) -> (String, String, String) {
    ("message".into(), data.into(), id.into())
}

#[test]
fn no_content_stops_for_good() {
    let r = run(vec![script(&[b"HTTP/1.1 204 No Content\r\n\r\n"]), script(&[OK, b"data: x\n\n"])]);
    assert_eq!(r.ended, Ended::NoContent);
    assert_eq!(r.requests.len(), 1);
    assert!(r.events.is_empty());
}

#[test]
fn errors_lead_to_a_reconnect_with_backoff_and_the_request_is_well_formed() {
    let r = run(vec![
        script(&[b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"]),
        script(&[b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://elsewhere/\r\n\r\n"]),
        script(&[b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ndata: no\n\n"]),
        script(&[OK, b"id: 1\ndata: yes\n\n"]),
    ]);
    assert_eq!(r.events, [ev("yes", "1")]);
    assert_eq!(r.stats.streams, 1);
    // Then the script runs out: four connection failures in a row.
    assert_eq!(r.ended, Ended::GaveUp(ClientError::Connect));
    assert_eq!(
        r.requests[0],
        "GET /events HTTP/1.1\r\nHost: device.local:8080\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    );
    // Failures double the reconnection time (3 s), with jitter in its upper half.
    let [d1, d2, d3, ..] = r.delays[..] else { panic!("{:?}", r.delays) };
    assert!(
        (1_500..=3_000).contains(&d1) && (3_000..=6_000).contains(&d2) && (6_000..=12_000).contains(&d3),
        "{:?}",
        r.delays
    );
}

#[test]
fn a_head_split_byte_by_byte_and_chunk_sizes_split_across_reads() {
    let body = chunk_encode(b"data: a\n\nid: 2\nevent: t\ndata: b\ndata: c\n\n", &[7, 3, 17]);
    let mut reads: Vec<&[u8]> = CHUNKED.chunks(1).collect();
    reads.extend(body.chunks(2));
    let r = run(vec![Script { reads: reads.iter().map(|r| r.to_vec()).collect(), hang: false }]);
    assert_eq!(r.events, [ev("a", ""), ("t".into(), "b\nc".into(), "2".into())]);
}

#[test]
fn retry_zero_never_makes_a_tight_loop() {
    let stream = || script(&[OK, b"retry: 0\nid: 7\ndata: x\n\n"]);
    let r = run(vec![stream(), stream(), stream(), stream()]);
    assert_eq!(r.events.len(), 4);
    // Every wait after a stream is at least the floor (500 ms).
    assert!(r.delays.len() >= 4 && r.delays.iter().all(|&d| d >= 500), "{:?}", r.delays);
    // And every reconnection resumes from the last event.
    assert!(r.requests[1..].iter().all(|req| req.contains("\r\nLast-Event-ID: 7\r\n")), "{:?}", r.requests);
}

#[test]
fn a_stream_that_ends_without_events_backs_off_like_a_failure() {
    let empty = || script(&[OK, b": hello\n\n"]);
    let r = run_with(vec![empty(), empty(), empty(), empty()], |c| c.retry_ms = 1_000, None);
    assert!(r.delays[0] >= 500 && r.delays[1] >= 1_000 && r.delays[2] >= 2_000, "{:?}", r.delays);
}

#[test]
fn a_line_longer_than_the_buffer_is_skipped_and_counted() {
    let long = format!("data: {}\n\n", "x".repeat(500));
    let r = run(vec![script(&[OK, long.as_bytes(), b"data: after\n\n"])]);
    assert_eq!(r.events, [ev("after", "")]);
    assert_eq!(r.stats.skipped, 1);
}

#[test]
fn a_quiet_server_is_left_after_the_read_timeout() {
    let quiet = Script { hang: true, ..script(&[OK, b"data: one\n\n"]) };
    let r = run_with(vec![quiet], |c| c.read_timeout_ms = Some(45_000), None);
    assert_eq!(r.events, [ev("one", "")]);
    assert_eq!(r.stats.last_error, Some(ClientError::Connect));
    assert!(r.delays.contains(&45_000), "{:?}", r.delays);
    assert_eq!(
        r.stats.failures, 5,
        "the read timeout (after an event), then four refused connections in a row"
    );
}

#[test]
fn a_head_that_never_completes_hits_the_connect_timeout() {
    let r = run(vec![Script { hang: true, ..script(&[b"HTTP/1.1 200 OK\r\n"]) }]);
    assert_eq!(r.stats.failures, 4);
    assert!(r.delays.contains(&10_000), "{:?}", r.delays);
}

#[test]
fn stop_keeps_the_last_delivered_id_and_extra_headers_are_sent_or_refused() {
    let r = run_with(
        vec![script(&[OK, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"])],
        |c| c.headers = &[("Authorization", "Bearer t")],
        Some(2),
    );
    assert_eq!(r.ended, Ended::Stopped);
    assert_eq!(r.events, [ev("a", "1"), ev("b", "2")]);
    assert!(r.requests[0].contains("\r\nAuthorization: Bearer t\r\n"));
    let refused = run_with(vec![script(&[OK])], |c| c.headers = &[("X-Evil", "a\r\nHost: x")], None);
    assert_eq!(refused.ended, Ended::GaveUp(ClientError::BadRequest));
    assert!(refused.requests.is_empty(), "nothing is sent");
}

#[test]
fn a_head_larger_than_the_buffer_is_an_error_not_a_crash() {
    let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "y".repeat(400));
    let r = run(vec![script(&[big.as_bytes()])]);
    assert_eq!(r.stats.failures, 4);
}

#[test]
fn every_conformance_vector_through_both_framings_in_any_reads() {
    for v in vectors::all() {
        let want: Vec<(String, String, String)> = v
            .want
            .iter()
            .filter_map(|r| match r {
                vectors::Rec::Ev(t, d, i) => Some((
                    String::from_utf8_lossy(t).into_owned(),
                    String::from_utf8_lossy(d).into_owned(),
                    String::from_utf8_lossy(i).into_owned(),
                )),
                vectors::Rec::Retry(_) => None,
            })
            .collect();
        for chunked in [false, true] {
            for read in [1, 3, usize::MAX] {
                let (head, body) = if chunked {
                    (CHUNKED, chunk_encode(v.input, &[1, 4, 9]))
                } else {
                    (OK, v.input.to_vec())
                };
                let mut reads: Vec<Vec<u8>> = vec![head.to_vec()];
                reads.extend(body.chunks(read.min(body.len().max(1))).map(<[u8]>::to_vec));
                let target = Target::parse("http://h/events").unwrap();
                let mut cfg = ClientConfig::new(target);
                cfg.max_failures = Some(1);
                let requests = Rc::new(RefCell::new(Vec::new()));
                let mut server =
                    Server { scripts: vec![Script { reads: reads.into(), hang: false }].into(), requests };
                let mut source: EventSource<512, 256, 64, 64> = EventSource::new(&cfg);
                let mut got = Vec::new();
                block_on(source.run(&cfg, &mut server, &mut Timer::default(), |e| {
                    got.push((
                        e.event_type().to_string(),
                        e.data().to_string(),
                        e.last_event_id().to_string(),
                    ));
                    Control::Continue
                }));
                assert_eq!(got, want, "{} (chunked: {chunked}, reads of {read})", v.name);
                assert_eq!(source.last_event_id(), v.last_id, "{}", v.name);
            }
        }
    }
}

/// The events sse-wire's parser gives for a whole body.
fn parser_events(body: &[u8]) -> Vec<(String, String, String)> {
    let mut parser: Parser<64, 16, 16> = Parser::new();
    let mut events = Vec::new();
    parser.feed(body, |o| {
        if let Output::Event(e) = o {
            events.push((e.event_type().to_string(), e.data().to_string(), e.last_event_id().to_string()));
        }
    });
    events
}

fn chunk_encode(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut k = 0;
    while !rest.is_empty() {
        let n = sizes.get(k % sizes.len().max(1)).copied().unwrap_or(7).clamp(1, rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        k += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut reads = Vec::new();
    let mut rest = bytes;
    let mut k = 0;
    while !rest.is_empty() {
        let n = cuts.get(k % cuts.len().max(1)).copied().unwrap_or(5).clamp(1, rest.len());
        reads.push(rest[..n].to_vec());
        rest = &rest[n..];
        k += 1;
    }
    reads
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_split_of_any_body_gives_the_parsers_events(
        lines in prop::collection::vec(
            prop_oneof![
                "data: [a-z\\r\\n]{0,12}", "id: [0-9]{1,3}", "event: [a-z]{1,5}", ": ping", "retry: [0-9]{1,4}",
                Just(String::new()), Just("\r".to_owned()),
            ],
            0..24,
        ),
        chunk_sizes in prop::collection::vec(1usize..20, 1..6),
        read_sizes in prop::collection::vec(1usize..40, 1..6),
        chunked in any::<bool>(),
    ) {
        let mut body = lines.join("\n").into_bytes();
        body.extend_from_slice(b"\n\n");
        let want = parser_events(&body);
        let (head, payload) = if chunked { (CHUNKED, chunk_encode(&body, &chunk_sizes)) } else { (OK, body.clone()) };
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(&payload);
        let reads = split(&bytes, &read_sizes);
        let r = run_with(vec![Script { reads: reads.into(), hang: false }], |c| c.max_failures = Some(1), None);
        prop_assert_eq!(r.events, want);
    }
}

#[test]
fn memory_is_the_buffers_plus_a_small_state() {
    use std::mem::size_of;
    type Base = EventSource<1024, 512, 64, 128>;
    let grows = |bigger: usize, by: usize| (bigger - size_of::<Base>()) / by;
    // The README: BUF + DATA + EVENT + 3 x ID (the parser's id, the last
    // delivered event's, and the one a stream starts from) and under 200
    // bytes of state on a 64-bit host.
    assert_eq!(grows(size_of::<EventSource<2048, 512, 64, 128>>(), 1024), 1);
    assert_eq!(grows(size_of::<EventSource<1024, 1024, 64, 128>>(), 512), 1);
    assert_eq!(grows(size_of::<EventSource<1024, 512, 128, 128>>(), 64), 1);
    assert_eq!(grows(size_of::<EventSource<1024, 512, 64, 256>>(), 128), 3);
    let state = size_of::<Base>() - (1024 + 512 + 64 + 3 * 128);
    println!("client state besides its buffers: {state} bytes");
    assert!(state < 200, "{state}");
}
