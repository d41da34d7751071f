//! `sse serve` as a process, checked as an operator would: stalled clients
//! no longer block newcomers, a restart never replays the wrong events,
//! hostile publish requests publish nothing, `/metrics` counts what
//! happened, and thousands of connect/close cycles leave the process's
//! descriptors and memory where they were.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::process::{SSE, Serve, raw};

impl Serve {
    fn wait_for_metric(&self, name: &str, want: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.metric(name) != want {
            assert!(Instant::now() < deadline, "{name} is {}, not {want}", self.metric(name));
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).unwrap().count()
    }
}

/// Sends `bytes` on a new connection and reads to the close: the status
/// (0 if the server closed without answering) and the body.
/// A stream request on a connection with a 4 KiB receive buffer, never read.
fn stalled_client(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    stream
}

/// Reads until the server closes (end or reset); `false` after `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// The status line of a stream request, read without waiting for the end.
fn stream_status(addr: SocketAddr) -> (u16, TcpStream) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    (std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap(), stream)
}

#[test]
fn three_clients_that_never_read_no_longer_block_a_fourth() {
    let serve = Serve::start(&["--max-clients", "3", "--stall-timeout", "2", "--keep-alive", "0"]);
    let mut stalled: Vec<_> = (0..3).map(|_| stalled_client(serve.addr)).collect();
    serve.wait_for_metric("sse_streams", 3);
    assert_eq!(stream_status(serve.addr).0, 503);
    // A few MB published: far more than the stalled connections hold.
    let item = format!(r#"{{"data":"{}"}}"#, "x".repeat(8 * 1024));
    let batch = format!("[{}]", vec![item; 100].join(","));
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(serve.publish(&batch), 202);
    }
    // Within a few seconds of the timeout, a fourth client is served.
    let (status, _fourth) = loop {
        let (status, stream) = stream_status(serve.addr);
        if status == 200 || started.elapsed() > Duration::from_secs(10) {
            break (status, stream);
        }
        thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, 200, "still refused after {:?}", started.elapsed());
    println!("fourth client served {:?} after publishing", started.elapsed());
    for stream in &mut stalled {
        assert!(closed_within(stream, Duration::from_secs(10)), "a stalled socket is still open");
    }
    assert_eq!(serve.metric("sse_streams_stalled_total"), 3);
}

#[test]
fn after_a_restart_an_old_id_gets_missed_not_another_event() {
    let first = Serve::start(&["--keep-alive", "0"]);
    for i in 0..3 {
        assert_eq!(first.publish(&format!(r#"{{"data":"old {i}"}}"#)), 202);
    }
    let seen = first.id(1);
    let first_epoch = first.epoch.clone();
    drop(first);
    let second = Serve::start(&["--keep-alive", "0"]);
    assert_ne!(second.epoch, first_epoch);
    for i in 0..3 {
        assert_eq!(second.publish(&format!(r#"{{"data":"new {i}"}}"#)), 202);
    }
    let events = format!("http://{}/events", second.addr);
    let cat = Command::new(SSE)
        .args(["cat", "--json", "--max-events", "1", "--last-event-id", &seen, &events])
        .output()
        .unwrap();
    let line = String::from_utf8(cat.stdout).unwrap();
    let event: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(event["type"], "missed", "{line}");
}

#[test]
fn metrics_count_streams_and_events() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let (a, _a) = stream_status(serve.addr);
    let (b, _b) = stream_status(serve.addr);
    assert_eq!((a, b), (200, 200));
    for i in 0..3 {
        assert_eq!(serve.publish(&format!(r#"{{"data":"{i}"}}"#)), 202);
    }
    let (status, body) = serve.request("GET", "/metrics", &[], b"");
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    for line in ["sse_streams 2", "sse_events_published_total 3", "sse_connections_accepted_total "] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line:?} in {text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn hostile_publish_requests_publish_nothing() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(r#"{{"data":"x","event":{}}}"#, "[".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "Content-Length with Transfer-Encoding",
            b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{\"data\":\"x\"}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "Transfer-Encoding with Content-Length",
            b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 13\r\n\r\nd\r\n{\"data\":\"x\"}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "two Content-Lengths",
            b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 12\r\nContent-Length: 5\r\n\r\n{\"data\":\"x\"}".to_vec(),
        ),
        ("bare LF", b"POST /publish HTTP/1.1\nHost: localhost\nContent-Type: application/json\nContent-Length: 12\n\n{\"data\":\"x\"}".to_vec()),
        (
            "bad chunk size",
            b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{\"data\":\"x\"}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "body shorter than its length",
            b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"data\":\"x\"}".to_vec(),
        ),
        ("JSON nested 100 000 deep", post(deep.as_bytes())),
        ("JSON object nested 100 000 deep", post(deep_object.as_bytes())),
        ("invalid UTF-8 in a JSON string", post(b"{\"data\":\"\xff\xfe\"}")),
        ("lone surrogate escape", post(br#"{"data":"\ud800"}"#)),
        ("obs-fold", b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX: a\r\n b\r\nContent-Length: 12\r\n\r\n{\"data\":\"x\"}".to_vec()),
        ("NUL in the target", b"POST /pub\0lish HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12\r\n\r\n{\"data\":\"x\"}".to_vec()),
    ];
    for (name, bytes) in &cases {
        // The body-too-short case waits for the body timeout (10 s).
        let (status, body) = raw(serve.addr, bytes);
        assert!(
            status == 0 || (400..500).contains(&status),
            "{name}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        println!("{name}: {status}");
    }
    assert_eq!(serve.metric("sse_events_published_total"), 0);
    let (_, metrics) = serve.request("GET", "/metrics", &[], b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(!metrics.contains("status=\"5"), "a 5xx was answered: {metrics}");
    // And the server goes on publishing.
    assert_eq!(serve.publish(r#"{"data":"fine"}"#), 202);
    assert_eq!(serve.metric("sse_events_published_total"), 1);
}

fn post(body: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

#[test]
fn ten_thousand_connect_subscribe_close_cycles_leave_descriptors_and_memory_where_they_were() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let cycle = || {
        let (status, stream) = stream_status(serve.addr);
        assert_eq!(status, 200);
        drop(stream);
    };
    for _ in 0..500 {
        cycle();
    }
    serve.wait_for_metric("sse_connections", 1);
    // The metrics request's own connection closes a moment after it answers.
    thread::sleep(Duration::from_millis(300));
    let (files, rss) = (serve.open_files(), serve.rss_kib());
    for _ in 0..10_000 {
        cycle();
    }
    serve.wait_for_metric("sse_streams", 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while serve.open_files() > files && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let grown = serve.rss_kib().saturating_sub(rss);
    println!(
        "after 10 000 cycles: {} descriptors (was {files}), RSS grew by {grown} KiB",
        serve.open_files()
    );
    assert_eq!(serve.open_files(), files);
    assert!(grown < 10 * 1024, "RSS grew by {grown} KiB");
}

/// A publish request with these extra header lines; its status.
fn publish_with(serve: &Serve, headers: &[&str]) -> u16 {
    serve.request("POST", "/publish", headers, br#"{"data":"x"}"#).0
}

#[test]
fn no_other_web_page_can_publish_and_no_rebound_host_is_answered() {
    let serve = Serve::start(&["--keep-alive", "0", "--allow-host", "dash.example"]);
    let own = format!("Origin: http://localhost:{}", serve.addr.port());
    let json = "Content-Type: application/json";
    // What a cross-site form or fetch without preflight can send.
    assert_eq!(publish_with(&serve, &["Content-Type: text/plain"]), 415);
    assert_eq!(publish_with(&serve, &["Content-Type: application/x-www-form-urlencoded"]), 415);
    assert_eq!(publish_with(&serve, &[]), 415);
    // A foreign page that managed a JSON request.
    assert_eq!(publish_with(&serve, &[json, "Origin: http://evil.example"]), 403);
    assert_eq!(publish_with(&serve, &[json, "Origin: null"]), 403);
    assert_eq!(serve.metric("sse_events_published_total"), 0);
    // DNS rebinding: another name for 127.0.0.1 gets 421 on every route.
    for (method, path) in [("POST", "/publish"), ("GET", "/events"), ("GET", "/"), ("GET", "/metrics")] {
        let mut stream = TcpStream::connect(serve.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: evil.example:{}\r\n{json}\r\nContent-Length: 0\r\n\r\n",
            serve.addr.port()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).unwrap();
        assert_eq!(&status[9..12], b"421", "{method} {path}");
    }
    // Local publishing goes on: curl-like (no Origin), same origin, and an
    // allowed host name.
    assert_eq!(publish_with(&serve, &[json]), 202);
    assert_eq!(publish_with(&serve, &["Content-Type: Application/JSON; charset=utf-8", &own]), 202);
    let mut stream = TcpStream::connect(serve.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: dash.example\r\n\r\n").unwrap();
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(&status[9..12], b"200");
    assert_eq!(serve.metric("sse_events_published_total"), 2);
}
