//! The async variant over an in-memory duplex pipe: the request arrives a
//! few bytes at a time, the response is collected, events come from a
//! shared history.

#![cfg(feature = "async")]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use sse_embedded::{
    Config, Guard, Next, Page, Served, Stats, StreamSource, frames_after, resume_point, serve_connection,
};
use sse_wire::{Event, History, MISSED_EVENTS};

/// The server's end of a pipe: reads the client's bytes `chunk` at a time,
/// collects what the server writes. A client that `stalls` takes no bytes
/// at all; once its input is read, a `silent` one sends nothing more.
struct Pipe<'a> {
    input: &'a [u8],
    chunk: usize,
    output: Vec<u8>,
    stalls: bool,
    silent: bool,
}

/// A timer whose every delay ends after `polls` polls: time passes only
/// while the connection waits.
#[derive(Clone)]
struct Ticks {
    polls: u32,
    waited: u32,
}

impl embedded_hal_async::delay::DelayNs for Ticks {
    async fn delay_ns(&mut self, _ns: u32) {
        for _ in 0..self.polls {
            self.waited += 1;
            yield_once().await;
        }
    }
}

/// Pending once, then ready.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(
        |_| {
            if std::mem::replace(&mut yielded, true) { Poll::Ready(()) } else { Poll::Pending }
        },
    )
    .await;
}

impl embedded_io_async::ErrorType for Pipe<'_> {
    type Error = Infallible;
}

impl embedded_io_async::Read for Pipe<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if self.input.is_empty() && self.silent {
            std::future::pending::<()>().await;
        }
        let n = self.chunk.min(buf.len()).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io_async::Write for Pipe<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        if self.stalls {
            std::future::pending::<()>().await;
        }
        // Take at most 5 bytes per call, to exercise partial writes.
        let n = buf.len().min(5);
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Events from a shared history; after `idle` polls with nothing new it
/// sends one keep-alive, then ends the stream.
struct Source<'h> {
    history: &'h RefCell<History<8, 1024>>,
    keep_alive_sent: bool,
}

impl StreamSource for Source<'_> {
    fn start(&mut self, last_event_id: Option<&[u8]>) -> (u64, bool) {
        resume_point(&*self.history.borrow(), last_event_id)
    }

    async fn next(&mut self, next_seq: u64, buf: &mut [u8]) -> Next {
        if let Some(next) = frames_after(&*self.history.borrow(), next_seq, buf) {
            return next;
        }
        if std::mem::replace(&mut self.keep_alive_sent, true) { Next::End } else { Next::KeepAlive }
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

const PAGES: &[Page<'static>] = &[Page { path: "/", content_type: "text/html", body: b"<p>hi</p>" }];

fn serve(request: &[u8], history: &RefCell<History<8, 1024>>) -> (Served, Vec<u8>) {
    let (served, out, _) = serve_with(
        Pipe { input: request, chunk: 3, output: Vec::new(), stalls: false, silent: false },
        history,
    );
    (served, out)
}

fn serve_with(mut pipe: Pipe<'_>, history: &RefCell<History<8, 1024>>) -> (Served, Vec<u8>, Stats) {
    let mut config = Config::new();
    config.pages = PAGES;
    let mut source = Source { history, keep_alive_sent: false };
    let mut buf = [0u8; 512];
    let mut stats = Stats::new();
    let mut timer = Ticks { polls: 50, waited: 0 };
    let guard = Guard { limits: Default::default(), timer: &mut timer, stats: &mut stats };
    let served = block_on(serve_connection(&mut pipe, &config, &mut buf, &mut source, guard)).unwrap();
    (served, pipe.output, stats)
}

const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n\r\n";

#[test]
fn a_stream_with_replay_then_keep_alive() {
    let history = RefCell::new(History::new());
    for i in 0..12 {
        history.borrow_mut().push(&Event::new().with_id(&i.to_string()).unwrap().with_data("x")).unwrap();
    }
    let (served, out) = serve(b"GET /events HTTP/1.1\r\nLast-Event-ID: 9\r\n\r\n", &history);
    assert_eq!(served, Served::Stream);
    assert_eq!(out, [HEAD, b"id: 10\ndata: x\n\nid: 11\ndata: x\n\n:\n\n"].concat());

    let (_, out) = serve(b"GET /events HTTP/1.1\r\nLast-Event-ID: 1\r\n\r\n", &history);
    assert_eq!(out, [HEAD, MISSED_EVENTS, b":\n\n"].concat());

    let (_, out) = serve(b"GET /events HTTP/1.1\r\n\r\n", &history);
    assert_eq!(out, [HEAD, b":\n\n"].concat());
}

#[test]
fn pages_and_errors_use_the_same_routing() {
    let history = RefCell::new(History::new());
    let (served, out) = serve(b"GET / HTTP/1.1\r\n\r\n", &history);
    assert_eq!(served, Served::Page);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n"));
    assert!(out.ends_with(b"\r\n\r\n<p>hi</p>"));
    for (request, code) in [
        (&b"GET /x HTTP/1.1\r\n\r\n"[..], 404),
        (b"PUT /events HTTP/1.1\r\n\r\n", 405),
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    ] {
        let (served, out) = serve(request, &history);
        assert_eq!(served, Served::Status(code));
        assert!(out.starts_with(format!("HTTP/1.1 {code} ").as_bytes()));
    }
    let huge = format!("GET /events HTTP/1.1\r\nX: {}\r\n\r\n", "y".repeat(600));
    assert_eq!(serve(huge.as_bytes(), &history).0, Served::Status(431));
    assert_eq!(serve(b"GET /ev", &history).0, Served::Closed);
}

#[test]
fn a_client_that_takes_no_bytes_is_ended_at_the_stall_timeout() {
    let history = RefCell::new(History::new());
    history.borrow_mut().push(&Event::new().with_id("1").unwrap().with_data("x")).unwrap();
    let pipe = Pipe {
        input: b"GET /events HTTP/1.1\r\n\r\n",
        chunk: 64,
        output: Vec::new(),
        stalls: true,
        silent: false,
    };
    let (served, out, stats) = serve_with(pipe, &history);
    assert_eq!(served, Served::Stalled);
    assert!(out.is_empty());
    assert_eq!(stats.stalled, 1);
}

#[test]
fn a_request_head_that_never_ends_is_dropped_at_the_request_timeout() {
    let history = RefCell::new(History::new());
    let pipe = Pipe {
        input: b"GET /events HTTP/1.1\r\nHost:",
        chunk: 1,
        output: Vec::new(),
        stalls: false,
        silent: true,
    };
    let (served, out, stats) = serve_with(pipe, &history);
    assert_eq!(served, Served::TimedOut);
    assert!(out.is_empty());
    assert_eq!(stats.timeouts, 1);
}

#[test]
fn an_event_too_large_for_the_buffer_becomes_missed_not_a_silent_gap() {
    let history = RefCell::new(History::new());
    let big = "y".repeat(600);
    for (id, data) in [("a", "x"), ("big", big.as_str()), ("small", "z")] {
        history.borrow_mut().push(&Event::new().with_id(id).unwrap().with_data(data)).unwrap();
    }
    // Resuming after "a": the big event cannot fit the 512-byte buffer, so
    // the client is told, then gets the next one.
    let request = b"GET /events HTTP/1.1\r\nLast-Event-ID: a\r\n\r\n";
    let pipe = Pipe { input: request, chunk: 64, output: Vec::new(), stalls: false, silent: false };
    let (served, out, stats) = serve_with(pipe, &history);
    assert_eq!(served, Served::Stream);
    assert_eq!(
        out,
        [HEAD, MISSED_EVENTS, b"id: small\ndata: z\n\n:\n\n"].concat(),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(stats.missed_sent, 1);
}
