//! The async `Broadcaster` over real loopback sockets: tokio runs its
//! connection tasks (as embassy would on a device), the tests are plain
//! blocking clients, and events are published from the test's thread.

#![cfg(feature = "async")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use embedded_io_adapters::tokio_1::FromTokio;
use sse_embedded::{Broadcaster, Config, Limits, Page, Served};
use sse_wire::{Event, History, HistoryEntry};

/// Connection tasks: two streams and the page slot.
const TASKS: usize = 3;
type Hub = Broadcaster<'static, [HistoryEntry; 8], [u8; 4096], TASKS>;

/// 256 KiB: more than the socket buffers take, for a client that does not read it.
static BIG: [u8; 256 * 1024] = [b'x'; 256 * 1024];
const PAGES: &[Page<'static>] = &[
    Page { path: "/", content_type: "text/html", body: b"<p>hi</p>" },
    Page { path: "/big", content_type: "text/plain", body: &BIG },
];

const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n\r\n";

/// embedded-hal-async's timer on tokio's clock (embassy-time's `Delay` on
/// a device).
#[derive(Clone)]
struct Delay;

impl embedded_hal_async::delay::DelayNs for Delay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(ns.into())).await;
    }
}

/// A leaked hub with `limits`, served by `TASKS` tasks on its own thread;
/// a server whose sockets send at most `sndbuf` bytes ahead.
fn start(limits: Limits, sndbuf: Option<usize>) -> (&'static Hub, SocketAddr) {
    let mut config = Config::new();
    config.pages = PAGES;
    config.epoch = Some(0x2a);
    let hub: &'static Hub = Box::leak(Box::new(Broadcaster::new(config, limits, History::new())));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let listener = std::rc::Rc::new(tokio::net::TcpListener::from_std(listener).unwrap());
            let tasks: Vec<tokio::task::JoinHandle<()>> = (0..TASKS)
                .map(|_| {
                    let listener = listener.clone();
                    tokio::task::spawn_local(async move {
                        let mut buf = [0u8; 2048];
                        loop {
                            let (socket, _) = listener.accept().await.unwrap();
                            if let Some(size) = sndbuf {
                                socket2::SockRef::from(&socket).set_send_buffer_size(size).unwrap();
                            }
                            let mut socket = FromTokio::new(socket);
                            let _: Result<Served, _> = hub.serve(&mut socket, &mut buf, &mut Delay).await;
                        }
                    })
                })
                .collect();
            // The tasks serve until the test process ends.
            for task in tasks {
                let _ = task.await;
            }
        });
    });
    (hub, addr)
}

/// A client that sent `request`.
fn request(addr: SocketAddr, request: &str, rcvbuf: Option<usize>) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.connect(&addr.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(format!("GET {request} HTTP/1.1\r\nHost: device\r\n\r\n").as_bytes()).unwrap();
    stream
}

fn stream(addr: SocketAddr) -> TcpStream {
    request(addr, "/events", None)
}

/// Reads exactly `len` bytes.
fn read_exact(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).unwrap();
    buf
}

/// Reads until the peer closes (or resets); true if it did within 5 s.
fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_stream_gets_each_published_event_once_with_boot_epoch_ids() {
    let (hub, addr) = start(Limits::new(), None);
    let mut a = stream(addr);
    let mut b = stream(addr);
    assert_eq!(read_exact(&mut a, HEAD.len()), HEAD);
    assert_eq!(read_exact(&mut b, HEAD.len()), HEAD);
    wait_for("two streams", || hub.stats().streams == 2);
    hub.publish(&Event::new().with_data("one")).unwrap();
    hub.publish(&Event::new().with_event("sensor").unwrap().with_data("two")).unwrap();
    let frames = b"id: 0000002a-0\ndata: one\n\nevent: sensor\nid: 0000002a-1\ndata: two\n\n";
    assert_eq!(read_exact(&mut a, frames.len()), frames);
    assert_eq!(read_exact(&mut b, frames.len()), frames);
    // A page from the third task while both stream, and a resume.
    let mut page = request(addr, "/", None);
    let mut got = Vec::new();
    page.read_to_end(&mut got).unwrap();
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n") && got.ends_with(b"<p>hi</p>"), "{got:?}");
    drop(a);
    let mut resumed = TcpStream::connect(addr).unwrap();
    resumed.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    resumed.write_all(b"GET /events HTTP/1.1\r\nLast-Event-ID: 0000002a-0\r\n\r\n").unwrap();
    let replay = b"event: sensor\nid: 0000002a-1\ndata: two\n\n";
    assert_eq!(read_exact(&mut resumed, HEAD.len() + replay.len()), [HEAD, replay].concat());
    let stats = hub.stats();
    assert_eq!((stats.streams_opened, stats.responses, stats.purged), (3, 1, 1), "{stats:?}");
}

#[test]
fn without_purging_a_full_house_answers_503_and_serves_pages() {
    let (hub, addr) = start(Limits { purge_stalest: false, ..Limits::new() }, None);
    let mut a = stream(addr);
    let mut b = stream(addr);
    assert_eq!(read_exact(&mut a, HEAD.len()), HEAD);
    assert_eq!(read_exact(&mut b, HEAD.len()), HEAD);
    let mut refused = stream(addr);
    let mut got = Vec::new();
    refused.read_to_end(&mut got).unwrap();
    assert!(got.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"), "{}", String::from_utf8_lossy(&got));
    assert!(String::from_utf8_lossy(&got).contains("Retry-After: 5\r\n"));
    assert_eq!(hub.stats().busy, 1);
    // Both streams are still served.
    hub.publish(&Event::new().with_data("x")).unwrap();
    let frame = b"id: 0000002a-0\ndata: x\n\n";
    assert_eq!(read_exact(&mut a, frame.len()), frame);
    assert_eq!(read_exact(&mut b, frame.len()), frame);
}

#[test]
fn a_newcomer_displaces_the_oldest_stream_when_every_client_reads() {
    let (hub, addr) = start(Limits::new(), None);
    let mut first = stream(addr);
    assert_eq!(read_exact(&mut first, HEAD.len()), HEAD);
    let mut second = stream(addr);
    assert_eq!(read_exact(&mut second, HEAD.len()), HEAD);
    let mut third = stream(addr);
    assert_eq!(read_exact(&mut third, HEAD.len()), HEAD);
    first.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert!(closed(&mut first), "the oldest stream was not closed");
    let stats = hub.stats();
    assert_eq!((stats.purged, stats.streams, stats.busy), (1, 2, 0), "{stats:?}");
    hub.publish(&Event::new().with_data("x")).unwrap();
    let frame = b"id: 0000002a-0\ndata: x\n\n";
    assert_eq!(read_exact(&mut second, frame.len()), frame);
    assert_eq!(read_exact(&mut third, frame.len()), frame);
}

/// A stream whose client never reads, on small socket buffers, filled
/// until the server's write to it waits.
fn stalled_client(hub: &Hub, addr: SocketAddr) -> TcpStream {
    let mut stalled = request(addr, "/events", Some(4096));
    assert_eq!(read_exact(&mut stalled, HEAD.len()), HEAD);
    let big = "x".repeat(1000);
    for _ in 0..200 {
        hub.publish(&Event::new().with_data(&big)).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    stalled
}

#[test]
fn a_newcomer_displaces_the_stream_that_stopped_taking_bytes_not_the_oldest() {
    let (hub, addr) = start(Limits::new(), Some(4096));
    let mut reader = stream(addr);
    assert_eq!(read_exact(&mut reader, HEAD.len()), HEAD);
    std::thread::sleep(Duration::from_millis(50));
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut total = 0;
        reader.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                return (reader, total, true);
            }
            total += n;
        }
        (reader, total, false)
    });
    let mut stalled = stalled_client(hub, addr);
    let mut newcomer = stream(addr);
    assert_eq!(read_exact(&mut newcomer, HEAD.len()), HEAD);
    assert!(closed(&mut stalled), "the stalled client kept its slot");
    let (_reader, total, reader_closed) = drain.join().unwrap();
    assert!(!reader_closed, "the client that reads (and is older) was closed");
    assert!(total > 100_000, "{total}");
    assert_eq!(hub.stats().purged, 1);
}

#[test]
fn a_client_that_falls_behind_the_history_gets_missed_then_the_rest() {
    let (hub, addr) = start(Limits::new(), Some(4096));
    let mut stalled = stalled_client(hub, addr);
    // It reads again: what it gets, at some point, is `missed` and then
    // the newest events in order.
    hub.publish(&Event::new().with_data("last")).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while !got.ends_with(b"data: last\n\n") {
        let n = stalled.read(&mut buf).unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(got).unwrap();
    assert!(text.contains("event: missed\n"), "no missed signal");
    assert!(text.ends_with("id: 0000002a-200\ndata: last\n\n"));
    let stats = hub.stats();
    assert!(stats.lagged >= 1 && stats.missed_sent >= 1 && stats.missed_events > 0, "{stats:?}");
}

#[test]
fn a_stream_whose_client_takes_nothing_ends_after_the_stall_timeout() {
    // Keep-alives give the stall timeout bytes to wait on once the
    // published events have all gone into the socket buffers.
    let limits = Limits { stall_timeout_ms: Some(500), keep_alive_ms: Some(100), ..Limits::new() };
    let (hub, addr) = start(limits, Some(4096));
    let mut stalled = stalled_client(hub, addr);
    wait_for("the stall timeout", || hub.stats().stalled == 1);
    assert_eq!(hub.stats().streams, 0);
    assert!(closed(&mut stalled));
}

#[test]
fn keep_alives_flow_on_a_quiet_stream() {
    let (_hub, addr) = start(Limits { keep_alive_ms: Some(200), ..Limits::new() }, None);
    let mut quiet = stream(addr);
    assert_eq!(read_exact(&mut quiet, HEAD.len() + 3), [HEAD, b":\n\n"].concat());
    assert_eq!(read_exact(&mut quiet, 3), b":\n\n");
}

#[test]
fn a_page_must_be_taken_whole_within_the_request_timeout() {
    // Reading a little now and then would keep the stall timeout away for
    // ever; the request timeout bounds the whole page, as in the poll server.
    let limits = Limits { request_timeout_ms: 500, ..Limits::new() };
    let (hub, addr) = start(limits, Some(4096));
    let mut slow = request(addr, "/big", Some(4096));
    let started = Instant::now();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        while let Ok(n) = slow.read(&mut buf) {
            if n == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    wait_for("the page's timeout", || hub.stats().timeouts == 1);
    println!("a page read at 320 B/s was given up after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(hub.stats().responses, 0);
}

#[test]
fn a_head_that_trickles_is_dropped_at_the_request_timeout() {
    let (hub, addr) = start(Limits { request_timeout_ms: 300, ..Limits::new() }, None);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    slow.write_all(b"GET /eve").unwrap();
    assert!(closed(&mut slow));
    assert_eq!(hub.stats().timeouts, 1);
}

#[test]
fn memory_is_the_history_plus_a_small_state_per_task() {
    use std::mem::size_of;
    let size = size_of::<Broadcaster<'static, [HistoryEntry; 8], [u8; 4096], 3>>();
    let per_task = size_of::<Broadcaster<'static, [HistoryEntry; 8], [u8; 4096], 4>>() - size;
    let per_entry = (size_of::<Broadcaster<'static, [HistoryEntry; 16], [u8; 4096], 3>>() - size) / 8;
    // The README: BYTES + 4 words per history entry + 40 bytes per
    // connection task + under 300 bytes (on a 64-bit host).
    assert_eq!(per_entry, 4 * size_of::<usize>());
    assert_eq!(per_task, 40);
    let fixed = size - 4096 - 8 * per_entry - 3 * per_task;
    println!("Broadcaster: {per_entry} B per history entry, {per_task} B per task, {fixed} B besides");
    assert!(fixed < 300, "{fixed}");
}
