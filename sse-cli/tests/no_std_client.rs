//! sse-embedded's no_std client (its host example `client_cat`) against
//! `sse cat`, scripted servers and headless Chromium: the same events on
//! the same streams, the same failures, and a refusal at capacity it
//! comes back from by itself.
//!
//! The tests marked `#[ignore]` need Chromium and the Node.js packages of
//! `tests/browser`, which `scripts/test.sh` installs and then runs them
//! with `--ignored`.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::cat::{ev, json_lines, publish_tricky, response, scripted, spawn_cat, spawn_piped, tricky};
use common::process::{Serve, Stream, browser_tools, wait};

/// sse-embedded's host example (`cargo build -p sse-embedded --features
/// client --example client_cat`; scripts/test.sh builds it first).
fn client_cat() -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/examples/client_cat");
    assert!(
        path.exists(),
        "build it first: cargo build -p sse-embedded --features client --example client_cat"
    );
    path
}

/// The no_std client's host example with `args`, its output piped.
fn spawn_client_cat(args: &[&str]) -> Child {
    spawn_piped(client_cat().as_os_str(), args)
}

#[test]
fn the_no_std_client_prints_exactly_what_sse_cat_prints() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let events = serve.url("/events");
    let count = (tricky().len() + 1).to_string();
    for json in [true, false] {
        let mut args = vec!["--max-events", count.as_str(), events.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let streams = serve.metric("sse_streams");
        let cat = spawn_cat(&args);
        let client = spawn_client_cat(&args);
        // Both subscribed, then the tricky payloads.
        let deadline = Instant::now() + Duration::from_secs(10);
        while serve.metric("sse_streams") < streams + 2 {
            assert!(Instant::now() < deadline, "the clients did not connect");
            thread::sleep(Duration::from_millis(20));
        }
        let expected = publish_tricky(&serve);
        let cat = wait(cat, Duration::from_secs(20));
        let client = wait(client, Duration::from_secs(20));
        assert!(client.status.success(), "{}", String::from_utf8_lossy(&client.stderr));
        assert!(cat.status.success(), "{}", String::from_utf8_lossy(&cat.stderr));
        assert_eq!(
            String::from_utf8_lossy(&client.stdout),
            String::from_utf8_lossy(&cat.stdout),
            "json: {json}"
        );
        if json {
            assert_eq!(json_lines(&client.stdout), expected);
        }
    }
}

#[test]
fn the_no_std_client_reads_awkward_chunkings_and_fails_like_sse_cat() {
    let body: &[u8] = b"\xEF\xBB\xBFdata: first\r\n\r\n: comment\r\nevent: two\rdata: a\r\ndata:  b\r\rid: 5\ndata: x\n\nretry: 10\ndata: unfinished";
    for chunking in [&[1usize][..], &[2, 3], &[1000]] {
        let (url, server) =
            scripted(vec![(response("200 OK", "Text/Event-Stream; charset=UTF-8", body, chunking), None)]);
        let out = wait(
            Command::new(client_cat())
                .args(["--json", "--no-reconnect", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
            Duration::from_secs(20),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            json_lines(&out.stdout),
            [ev("message", "first", ""), ev("two", "a\n b", ""), ev("message", "x", "5")],
            "chunking {chunking:?}"
        );
        server.join().unwrap();
    }
    for (status, kind, ok) in [
        ("204 No Content", "text/event-stream", true),
        ("500 Oops", "text/event-stream", false),
        ("200 OK", "text/plain", false),
    ] {
        let (url, server) = scripted(vec![(response(status, kind, b"data: x\n\n", &[100]), None)]);
        let out = wait(
            Command::new(client_cat())
                .args(["--no-reconnect", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
            Duration::from_secs(20),
        );
        assert_eq!(out.status.success(), ok, "{status} {kind}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{status} {kind}");
        server.join().unwrap();
    }
}

/// Serves `/` (an empty page), `/events` once with `body` (written in
/// pieces of 3 bytes; with `chunked`, as chunks of 5 bytes), then 204 on
/// `/events` and 404 elsewhere. Returns the base URL.
fn stream_once(body: &'static [u8], chunked: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    thread::spawn(move || {
        let mut served = false;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
            let answer: Vec<Vec<u8>> = match path.as_str() {
                "/" => vec![
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<!doctype html>"
                        .to_vec(),
                ],
                "/events" if !served => {
                    served = true;
                    let framing = if chunked { "Transfer-Encoding: chunked\r\n" } else { "" };
                    let mut pieces = vec![
                        format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{framing}Connection: close\r\n\r\n")
                            .into_bytes(),
                    ];
                    if chunked {
                        for chunk in body.chunks(5) {
                            let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
                            piece.extend_from_slice(chunk);
                            piece.extend_from_slice(b"\r\n");
                            pieces.extend(piece.chunks(3).map(<[u8]>::to_vec));
                        }
                        pieces.push(b"0\r\n\r\n".to_vec());
                    } else {
                        pieces.extend(body.chunks(3).map(<[u8]>::to_vec));
                    }
                    pieces
                }
                "/events" => vec![b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_vec()],
                _ => vec![b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()],
            };
            for piece in answer {
                if stream.write_all(&piece).and_then(|()| stream.flush()).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
        }
    });
    base
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn the_no_std_client_sees_what_chromium_sees_on_tricky_streams_in_both_framings() {
    let dir = browser_tools();
    let bodies: [&'static [u8]; 3] = [
        // A BOM, CR, CRLF, LF CR, a retry, comments, an unfinished event.
        b"\xEF\xBB\xBFdata: first\r\n\r\n: comment\r\nevent: two\rdata: a\r\ndata:  b\r\rid: 5\ndata: x\n\nretry: 10\ndata: unfinished",
        // Ids that stick, an id with a NUL (ignored), empty data, a field
        // without a colon, unknown fields, a space-less value.
        b"id: 1\ndata\n\nid: a\0b\ndata:x\n\nfoo: bar\ndata: y\nid\n\nevent: two\ndata:  lead\n\n:end\nid: 9\ndata: z\n\n",
        // Unicode, a long line, data lines joined, event names reset.
        "event: two\ndata: héllo 🌍\ndata: second line\n\ndata: après\n\n".as_bytes(),
    ];
    for body in bodies {
        for chunked in [false, true] {
            let chromium = Command::new("node")
                .arg(dir.join("stream-events.mjs"))
                .args([stream_once(body, chunked).as_str(), "two"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let chromium = wait(chromium, Duration::from_secs(60));
            assert!(chromium.status.success(), "{}", String::from_utf8_lossy(&chromium.stderr));
            let client = Command::new(client_cat())
                .args(["--json", "--no-reconnect", &format!("{}/events", stream_once(body, chunked))])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let client = wait(client, Duration::from_secs(20));
            assert!(client.status.success(), "{}", String::from_utf8_lossy(&client.stderr));
            let seen = json_lines(&chromium.stdout);
            assert!(!seen.is_empty(), "Chromium received nothing (chunked: {chunked})");
            assert_eq!(
                json_lines(&client.stdout),
                seen,
                "chunked: {chunked}, body {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

/// At `--max-clients`, a refused client is told when to come back (200
/// and `retry:`), not turned away for good: `sse cat` and the no_std
/// client, each refused while the slots are held, connect by themselves
/// once they free up and receive the next event.
#[test]
fn clients_refused_at_max_clients_come_back_by_themselves() {
    let serve = Serve::start(&["--keep-alive", "0", "--max-clients", "2"]);
    let holders: Vec<_> = (0..2).map(|_| Stream::open(serve.addr, "/events", &[]).2.unwrap()).collect();
    let events = serve.url("/events");
    let args = ["--json", "--max-events", "1", events.as_str()];
    let cat = spawn_cat(&args);
    let client = spawn_client_cat(&args);
    let deadline = Instant::now() + Duration::from_secs(10);
    while serve.metric("sse_streams_refused_full_total") < 2 {
        assert!(Instant::now() < deadline, "the clients were not refused");
        thread::sleep(Duration::from_millis(20));
    }
    drop(holders);
    // Each comes back after its jittered `retry:` (2.5 to 7.5 s); one that
    // was refused twice before the slots freed (the other client started
    // late) waits twice that, as clients back off after fruitless tries.
    // The stream count cannot say when both are back (the server may not
    // have seen the holders leave yet), so an event is published every
    // 250 ms until both have printed one and left.
    let deadline = Instant::now() + Duration::from_secs(45);
    let (mut cat, mut client) = (cat, client);
    while cat.try_wait().unwrap().is_none() || client.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the refused clients did not come back");
        assert_eq!(serve.publish(r#"[{"data":"welcome back"}]"#), 202);
        thread::sleep(Duration::from_millis(250));
    }
    for out in [wait(cat, Duration::from_secs(20)), wait(client, Duration::from_secs(20))] {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["data"], "welcome back", "{lines:?}");
    }
}
