//! The server under hostile peers, over real sockets on 127.0.0.1: clients
//! that stop reading (on the fast path and on hyper's, under both
//! slow-consumer policies), a connection flood past `max_connections`,
//! heads trickled by a thousand connections, and requests that try to
//! smuggle a second reading of their head.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{EventReader, request, start};
use sse_std::{HubConfig, ServerConfig, SlowConsumer};
use sse_wire::Event;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// Raises the open-file limit: the tests below hold thousands of sockets.
fn many_files() {
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
}

/// A connection with a small receive buffer, so that a few hundred KiB
/// fill the path and the server's writes stop making progress.
async fn small_window(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Reads until the server closes the connection (end of stream or reset);
/// `Err` if it is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Result<(), String> {
    let mut buf = vec![0u8; 1 << 16];
    let outcome = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    outcome.map_err(|_| format!("connection still open after {limit:?}"))
}

/// Publishes 8 KiB events until `done` says stop (at most 20 s).
async fn publish_until(hub: &sse_std::Hub, mut done: impl FnMut() -> bool) {
    let payload = "x".repeat(8 * 1024);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() && Instant::now() < deadline {
        for _ in 0..16 {
            hub.publish(&Event::new().with_data(&payload)).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn stalled_stream_is_closed(policy: SlowConsumer, via_hyper: bool) {
    let stall = Duration::from_millis(800);
    // A queue long enough that the Disconnect policy does not fire first:
    // only the stall timeout can free the slot.
    let mut hub = HubConfig::default();
    hub.keep_alive = None;
    hub.max_clients = Some(1);
    hub.queue_len = 100_000;
    hub.slow_consumer = policy;
    let server = start(hub, {
        let mut config = ServerConfig::default();
        config.stall_timeout = Some(stall);
        config
    })
    .await;
    let mut stalled = small_window(server.addr).await;
    if via_hyper {
        // A first request that hyper serves, then the stream on the same
        // connection: hyper writes it.
        stalled.write_all(b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        let n = stalled.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 404"));
    }
    stalled.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    while server.hub.client_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The slot is taken: a second client is refused.
    assert_eq!(request(server.addr, "GET", "/events", &[]).await.status(), 503);
    let started = Instant::now();
    let hub = server.hub.clone();
    let monitor = server.monitor.clone();
    publish_until(&hub, || monitor.stats().stalled > 0).await;
    let took = started.elapsed();
    let stats = server.monitor.stats();
    assert_eq!(stats.stalled, 1, "{policy:?}, hyper {via_hyper}: {stats:?}");
    assert!(took < stall + Duration::from_secs(5), "closed after {took:?}");
    closed_within(&mut stalled, Duration::from_secs(10)).await.unwrap();
    // The slot is free again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.hub.client_count() > 0 {
        assert!(Instant::now() < deadline, "slot not freed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(request(server.addr, "GET", "/events", &[]).await.status(), 200);
    assert_eq!(server.hub.stats().slow_disconnects, 0, "the stall timeout closed it, not the policy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_after_the_stall_timeout_under_drop_oldest() {
    stalled_stream_is_closed(SlowConsumer::DropOldest, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_after_the_stall_timeout_under_disconnect() {
    stalled_stream_is_closed(SlowConsumer::Disconnect, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_served_by_hyper_is_closed_after_the_stall_timeout_too() {
    stalled_stream_is_closed(SlowConsumer::DropOldest, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_is_not_a_stall() {
    let mut config = ServerConfig::default();
    config.stall_timeout = Some(Duration::from_millis(200));
    let server = start(common::no_keep_alive(), config).await;
    let mut reader = EventReader::new(request(server.addr, "GET", "/events", &[]).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.hub.publish(&Event::new().with_data("still here")).unwrap();
    assert!(reader.until(1).await);
    assert_eq!(server.monitor.stats().stalled, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_max_connections_get_503_and_are_closed() {
    let mut config = ServerConfig::default();
    config.max_connections = 4;
    let server = start(common::no_keep_alive(), config).await;
    // Four connections that say nothing hold every place.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.monitor.stats().open_connections < 4 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut refused = TcpStream::connect(server.addr).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), refused.read_to_end(&mut answer)).await.unwrap().ok();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{text}");
    assert!(text.contains("retry-after: 5\r\n"), "{text}");
    let stats = server.monitor.stats();
    assert_eq!((stats.refused_connections, stats.responses(503)), (1, 1));
    // One place is given back when one of them goes.
    drop(idle.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.monitor.stats().open_connections > 3 {
        assert!(Instant::now() < deadline, "the closed connection still counts");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(request(server.addr, "GET", "/nope", &[]).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_trickled_heads_neither_delay_a_stream_nor_outlive_the_head_timeout() {
    many_files();
    const TRICKLERS: usize = 1000;
    let header_timeout = Duration::from_secs(3);
    let server = start(common::no_keep_alive(), {
        let mut config = ServerConfig::default();
        config.header_timeout = header_timeout;
        config
    })
    .await;
    let addr = server.addr;
    let started = Instant::now();
    let tricklers: Vec<_> = (0..TRICKLERS)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                // One byte every 500 ms, for at most 20 bytes (10 s): the head
                // never ends.
                for byte in b"GET /events HTTP/1.1".iter() {
                    if stream.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                        closed = closed_within(&mut stream, Duration::from_secs(30)) => return closed.map(|()| Instant::now()),
                    }
                }
                closed_within(&mut stream, Duration::from_secs(10)).await.map(|()| Instant::now())
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.monitor.stats().open_connections < TRICKLERS {
        assert!(Instant::now() < deadline, "{:?}", server.monitor.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A normal client gets its stream head at once.
    let asked = Instant::now();
    let response = request(addr, "GET", "/events", &[]).await;
    let waited = asked.elapsed();
    assert_eq!(response.status(), 200);
    assert!(waited < Duration::from_secs(1), "stream head after {waited:?} beside {TRICKLERS} tricklers");
    drop(response);
    // Every trickler is closed by the server once the head timeout passes.
    for trickler in tricklers {
        let closed_at = trickler.await.unwrap().unwrap();
        let after = closed_at.duration_since(started);
        assert!(after >= header_timeout - Duration::from_millis(100), "closed early, after {after:?}");
        assert!(after < header_timeout + Duration::from_secs(8), "closed after {after:?}");
    }
    assert_eq!(server.monitor.stats().head_timeouts, TRICKLERS as u64);
    println!("stream head after {waited:?} beside {TRICKLERS} trickled heads");
}

/// A raw request and what the server answered: the status, or `None` if
/// it closed the connection without one.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before reading everything; that is an answer.
    let _ = stream.write_all(bytes).await;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        // Up to the end of the status line, or the close.
        while !response.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer and no close within 15 s for {:?}", String::from_utf8_lossy(bytes));
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_smuggling_heads_get_4xx_or_a_close_and_the_server_goes_on() {
    let mut config = ServerConfig::default();
    config.max_head_bytes = 16 * 1024;
    config.header_timeout = Duration::from_secs(2);
    let server = start(common::no_keep_alive(), config).await;
    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100 * 1024));
    let many_headers: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect::<String>();
    let many_headers = format!("GET /events HTTP/1.1\r\n{many_headers}\r\n");
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("bare LF", b"GET /events HTTP/1.1\nHost: localhost\n\n".to_vec(), &[400]),
        (
            "CL and TE",
            b"POST /events HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            &[400],
        ),
        (
            "two lengths",
            b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
            &[400],
        ),
        ("signed length", b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n".to_vec(), &[400]),
        ("obs-fold", b"GET /events HTTP/1.1\r\nHost: localhost\r\n  folded\r\n\r\n".to_vec(), &[400]),
        ("NUL in target", b"GET /ev\0ents HTTP/1.1\r\n\r\n".to_vec(), &[400]),
        ("control byte in target", b"GET /ev\x7fents HTTP/1.1\r\n\r\n".to_vec(), &[400]),
        ("space in target", b"GET /e vents HTTP/1.1\r\n\r\n".to_vec(), &[400]),
        ("100 KiB request line", long_line.into_bytes(), &[431]),
        ("too many headers", many_headers.into_bytes(), &[431]),
        ("bad version", b"GET /events HTTP/2.7\r\n\r\n".to_vec(), &[400]),
        ("no version", b"GET /events\r\n\r\n".to_vec(), &[400]),
        ("lower-case method", b"get /events HTTP/1.1\r\n\r\n".to_vec(), &[400, 404, 405]),
        ("space in a header name", b"GET /events HTTP/1.1\r\nHo st: x\r\n\r\n".to_vec(), &[400]),
        ("NUL in a header value", b"GET /events HTTP/1.1\r\nX: a\0b\r\n\r\n".to_vec(), &[400]),
        ("empty lines first", b"\r\n\r\nGET /events HTTP/1.1\r\n\r\n".to_vec(), &[400]),
        (
            "binary garbage",
            vec![
                0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, b'\r', b'\n', b'\r', b'\n',
            ],
            &[400],
        ),
        (
            "bad chunk size",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(),
            &[400, 404],
        ),
        ("TE not chunked", b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(), &[400, 501]),
        (
            "TE in HTTP/1.0",
            b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "body shorter than its length",
            b"POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort".to_vec(),
            &[400, 404],
        ),
        (
            "huge length",
            b"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            &[400, 413],
        ),
        (
            "length over the limit",
            b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000000\r\n\r\n".to_vec(),
            &[413],
        ),
        ("head that never ends", b"GET /events HTTP/1.1\r\nHost: localhost\r\n".to_vec(), &[]),
        (
            "POST to the stream",
            b"POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n".to_vec(),
            &[405],
        ),
        ("unknown method", b"BREW /events HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(), &[405]),
        (
            "absolute-form target",
            b"GET http://evil.example/events HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            &[421],
        ),
        ("CONNECT", b"CONNECT evil.example:443 HTTP/1.1\r\n\r\n".to_vec(), &[400, 404, 405, 421]),
        (
            "upgrade to h2c",
            b"GET /x HTTP/1.1\r\nHost: localhost\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n".to_vec(),
            &[404],
        ),
        // RFC 9112 §3.2, on both paths (the second request of a
        // connection goes to hyper).
        ("no Host", b"GET /events HTTP/1.1\r\n\r\n".to_vec(), &[400]),
        ("no Host, not a stream", b"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n".to_vec(), &[400]),
        ("two Hosts", b"GET /events HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n".to_vec(), &[400]),
        (
            "no Host after a first request",
            b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\nGET /events HTTP/1.1\r\n\r\n".to_vec(),
            &[404],
        ),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), &[400, 404, 405, 505]),
    ];
    assert!(cases.len() >= 30);
    for (name, bytes, allowed) in &cases {
        let answer = raw(server.addr, bytes).await;
        println!("{name}: {answer:?}");
        match answer {
            // A close without an answer is always allowed.
            None => {}
            Some(status) => assert!(
                allowed.contains(&status) && status != 500,
                "{name}: got {status}, expected one of {allowed:?} or a close"
            ),
        }
        // The server goes on serving.
        assert_eq!(request(server.addr, "GET", "/nope", &[]).await.status(), 404, "after {name}");
    }
    let stats = server.monitor.stats();
    assert!(stats.responses(400) >= 15 && stats.responses(431) == 2, "{stats:?}");
    assert_eq!(stats.responses(500), 0);
}
