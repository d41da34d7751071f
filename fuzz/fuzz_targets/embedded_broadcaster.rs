//! Arbitrary clients against sse-embedded's async `Broadcaster`: each
//! connection is an in-memory pipe whose client sends any bytes, takes any
//! amount of the output, or goes away, while events are published and
//! timers fire. No panic; every response starts with a well-formed status
//! line of a documented status; a stream's body parses as frames the hub
//! published (or `missed`, keep-alives, `retry`); no more streams are open
//! than slots; and once every client is gone every slot is free again.
#![no_main]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_embedded::{Broadcaster, Config, Limits, Page};
use sse_wire::{Event, History, HistoryEntry, Output, Parser};

const TASKS: usize = 3;
const PAGES: &[Page<'static>] = &[Page { path: "/", content_type: "text/html", body: b"<p>x</p>" }];

#[derive(Arbitrary, Debug)]
enum Op {
    Connect,
    Send { client: u8, bytes: Vec<u8> },
    /// The client's window opens by this many bytes.
    Take { client: u8, bytes: u16 },
    Close { client: u8 },
    Poll { rounds: u8 },
    Publish { data: String, id: bool },
}

/// One connection's two directions.
#[derive(Default)]
struct Pipe {
    input: Vec<u8>,
    closed: bool,
    output: Vec<u8>,
    /// How many more bytes the client takes.
    window: usize,
}

struct Conn(Rc<RefCell<Pipe>>);

impl embedded_io_async::ErrorType for Conn {
    type Error = embedded_io_async::ErrorKind;
}

impl embedded_io_async::Read for Conn {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        std::future::poll_fn(|_| {
            let mut pipe = self.0.borrow_mut();
            if pipe.input.is_empty() {
                return if pipe.closed { Poll::Ready(Ok(0)) } else { Poll::Pending };
            }
            let n = buf.len().min(pipe.input.len());
            buf[..n].copy_from_slice(&pipe.input[..n]);
            pipe.input.drain(..n);
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl embedded_io_async::Write for Conn {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        std::future::poll_fn(|_| {
            let mut pipe = self.0.borrow_mut();
            if pipe.closed {
                return Poll::Ready(Err(embedded_io_async::ErrorKind::ConnectionReset));
            }
            let n = buf.len().min(pipe.window);
            if n == 0 {
                return Poll::Pending;
            }
            pipe.window -= n;
            pipe.output.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A timer whose every delay ends after three polls.
#[derive(Clone)]
struct Ticks;

impl embedded_hal_async::delay::DelayNs for Ticks {
    async fn delay_ns(&mut self, _: u32) {
        let mut polls = 0;
        std::future::poll_fn(|_| {
            polls += 1;
            if polls > 3 { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
    }
}

type Task<'h> = Pin<Box<dyn Future<Output = ()> + 'h>>;

fuzz_target!(|ops: Vec<Op>| {
    let mut config = Config::new();
    config.pages = PAGES;
    config.retry_ms = Some(1000);
    let limits = Limits { page_slots: 1, ..Limits::new() };
    let hub: Broadcaster<'static, [HistoryEntry; 4], [u8; 512], TASKS> =
        Broadcaster::new(config, limits, History::new());
    let mut clients: Vec<(Rc<RefCell<Pipe>>, Option<Task<'_>>)> = Vec::new();
    let mut cx = Context::from_waker(Waker::noop());
    let mut poll_all = |clients: &mut Vec<(Rc<RefCell<Pipe>>, Option<Task<'_>>)>| {
        for (_, task) in clients.iter_mut() {
            if let Some(running) = task {
                if running.as_mut().poll(&mut cx).is_ready() {
                    *task = None;
                }
            }
        }
    };
    for op in ops.into_iter().take(200) {
        match op {
            Op::Connect if clients.len() < 12 => {
                let pipe = Rc::new(RefCell::new(Pipe { window: 4096, ..Pipe::default() }));
                let conn = Conn(Rc::clone(&pipe));
                let hub = &hub;
                let task: Task<'_> = Box::pin(async move {
                    let mut conn = conn;
                    let mut buf = [0u8; 512];
                    let _ = hub.serve(&mut conn, &mut buf, &mut Ticks).await;
                });
                clients.push((pipe, Some(task)));
            }
            Op::Connect => {}
            Op::Send { client, bytes } => {
                if let Some((pipe, _)) = clients.get(client as usize % clients.len().max(1)) {
                    pipe.borrow_mut().input.extend_from_slice(&bytes);
                }
            }
            Op::Take { client, bytes } => {
                if let Some((pipe, _)) = clients.get(client as usize % clients.len().max(1)) {
                    pipe.borrow_mut().window += bytes as usize;
                }
            }
            Op::Close { client } => {
                if let Some((pipe, _)) = clients.get(client as usize % clients.len().max(1)) {
                    pipe.borrow_mut().closed = true;
                }
            }
            Op::Poll { rounds } => {
                for _ in 0..rounds % 16 {
                    poll_all(&mut clients);
                }
            }
            Op::Publish { data, id } => {
                let event = Event::new().with_data(&data);
                let event = if id { event.with_id("x").unwrap_or(event) } else { event };
                let _ = hub.publish(&event);
            }
        }
        poll_all(&mut clients);
        assert!(hub.stats().streams <= TASKS, "{:?}", hub.stats());
    }
    // Every client goes away: every slot is free again.
    for (pipe, _) in &clients {
        pipe.borrow_mut().closed = true;
    }
    for _ in 0..8 {
        poll_all(&mut clients);
    }
    assert!(clients.iter().all(|(_, task)| task.is_none()), "a connection outlived its client");
    assert_eq!(hub.stats().streams, 0, "{:?}", hub.stats());
    for (pipe, _) in &clients {
        check_response(&pipe.borrow().output);
    }
});

/// A documented status line, and for a stream a body of whole frames.
fn check_response(output: &[u8]) {
    if output.is_empty() {
        return;
    }
    let Some(end) = output.windows(4).position(|w| w == b"\r\n\r\n") else {
        // The client stopped taking bytes within the head.
        assert!(output.starts_with(&b"HTTP/1.1 "[..output.len().min(9)]), "{output:?}");
        return;
    };
    let head = std::str::from_utf8(&output[..end]).expect("a head in UTF-8");
    let status = head.get(9..12).expect("a status");
    assert!(["200", "400", "404", "405", "431", "503"].contains(&status), "{head}");
    if !head.contains("text/event-stream") {
        return;
    }
    // Every field the stream carries is one the hub writes.
    let mut parser: Parser<1024, 64, 64> = Parser::new();
    parser.feed(&output[end + 4..], |out| {
        if let Output::Event(event) = out {
            let kind = event.event_type().to_str().unwrap_or("?");
            assert!(kind == "message" || kind == "missed", "{kind}");
        }
    });
}
