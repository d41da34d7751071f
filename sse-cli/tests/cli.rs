//! The `sse` command end to end, with real processes on 127.0.0.1:
//! `sse serve` fed over HTTP and stdin, read by `sse cat --json`, `curl -N`,
//! the npm `eventsource` client and headless Chromium; and `sse cat`
//! against hand-written byte streams, statuses and content types.
//!
//! The tests marked `#[ignore]` need Node.js packages and Chromium, which
//! `scripts/test.sh` installs and then runs them with `--include-ignored`.

#[allow(dead_code, unreachable_pub)]
#[path = "../../sse-wire/tests/vectors/mod.rs"]
mod vectors;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sse_wire::Parser;

mod common;

use common::process::{SSE, Serve, Stream, browser_tools, node_until_open, wait};

impl Serve {
    /// POSTs `body` to /publish; returns the status and the response body.
    fn curl_publish(&self, body: &str) -> (u16, String) {
        let out = Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ])
            .arg(self.url("/publish"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(body.as_bytes())?;
                c.wait_with_output()
            })
            .expect("curl must be installed (scripts/test.sh installs it)");
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.parse().unwrap(), body.to_owned())
    }

    /// Publishes and returns the ids assigned.
    fn publish_ok(&self, body: &str) -> Vec<String> {
        let (status, reply) = self.curl_publish(body);
        assert_eq!(status, 202, "{body}: {reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        reply["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    }
}

fn spawn_cat(args: &[&str]) -> Child {
    Command::new(SSE)
        .arg("cat")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ev(kind: &str, data: &str, id: &str) -> Value {
    json!({ "type": kind, "data": data, "last_event_id": id })
}

/// Parses raw `text/event-stream` bytes with the sse-wire parser.
fn parse_all(bytes: &[u8]) -> Vec<Value> {
    let mut parser: Box<Parser<65536, 256, 256>> = Box::default();
    let mut out = Vec::new();
    parser.feed(bytes, |o| {
        if let sse_wire::Output::Event(e) = o {
            out.push(ev(&e.event_type().to_string(), &e.data().to_string(), &e.last_event_id().to_string()));
        }
    });
    out
}

/// The tricky payloads every client must receive intact.
fn tricky() -> Vec<(Value, Value)> {
    // (publish item, expected event without its id)
    let items = [
        json!({"data": "line one\nline two"}),
        json!({"data": "cr\rcrlf\r\nlf\nend", "event": "update"}),
        json!({"data": "héllo wörld 🌍 日本語"}),
        json!({"data": ""}),
        json!({"data": "  two leading spaces"}),
        json!({"data": "data: fake\nid: 99\nevent: evil\n\nretry: 1"}),
        json!({"data": ": looks like a comment"}),
        json!({"data": "trailing newline\n", "id": "custom-id"}),
        json!({"data": "with retry", "retry": 2000}),
    ];
    items
        .into_iter()
        .map(|item| {
            let data = item["data"].as_str().unwrap().replace("\r\n", "\n").replace('\r', "\n");
            let kind = item.get("event").and_then(Value::as_str).unwrap_or("message").to_owned();
            (item, json!({ "type": kind, "data": data }))
        })
        .collect()
}

/// Publishes the tricky payloads (some singly, some as an array), tries the
/// injection attempts, and returns the events every client must see.
fn publish_tricky(serve: &Serve) -> Vec<Value> {
    let tricky = tricky();
    let mut expected = Vec::new();
    let mut push = |ids: Vec<String>, wants: &[Value]| {
        for (id, want) in ids.iter().zip(wants) {
            expected.push(ev(want["type"].as_str().unwrap(), want["data"].as_str().unwrap(), id));
        }
    };
    let (single, batch) = tricky.split_at(4);
    for (item, want) in single {
        push(serve.publish_ok(&item.to_string()), std::slice::from_ref(want));
    }
    let array = Value::Array(batch.iter().map(|(item, _)| item.clone()).collect());
    let wants: Vec<Value> = batch.iter().map(|(_, want)| want.clone()).collect();
    push(serve.publish_ok(&array.to_string()), &wants);

    // Injection attempts and malformed bodies: 400 naming the problem, and
    // nothing of the request published (not even its valid items).
    let refused = [
        (r#"{"data":"x","event":"a\nid: 666"}"#, "event"),
        (r#"{"data":"x","event":"a\rb"}"#, "event"),
        (r#"{"data":"x","id":"1\r\ndata: injected"}"#, "id"),
        (r#"{"data":"x","id":"a\u0000b"}"#, "NUL"),
        (r#"[{"data":"valid but in a bad batch"},{"data":"x","event":"e\n"}]"#, "item 1"),
        (r#"{"data":5}"#, "invalid type"),
        (r#"{"data":"x","retry":"soon"}"#, "invalid type"),
        (r#"{"event":"no data"}"#, "missing field `data`"),
        ("not json", "invalid JSON"),
    ];
    for (body, named) in refused {
        let (status, message) = serve.curl_publish(body);
        assert_eq!(status, 400, "{body}");
        assert!(message.contains(named), "{body}: {message:?} should name {named:?}");
    }
    push(serve.publish_ok(r#"{"data":"end","event":"end"}"#), &[json!({"type": "end", "data": "end"})]);
    expected
}

#[test]
fn published_events_reach_sse_cat_and_curl_intact_and_injections_are_refused() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    // Clients resume after this marker, so that none misses an event
    // however late it connects.
    let marker = serve.publish_ok(r#"{"data":"marker","id":"start"}"#);
    assert_eq!(marker, ["start"]);
    let events = serve.url("/events");
    let count = (tricky().len() + 1).to_string();
    let cat = spawn_cat(&["--json", "--max-events", &count, "--last-event-id", "start", &events]);
    let mut curl = Command::new("curl")
        .args(["-N", "-s", "--max-time", "20", "-H", "Last-Event-ID: start", &events])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut curl_out = curl.stdout.take().unwrap();
    let (raw_tx, raw_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = curl_out.read(&mut buf) {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if parse_all(&raw).last().is_some_and(|e| e["type"] == "end") {
                break;
            }
        }
        let _ = raw_tx.send(raw);
    });

    let expected = publish_tricky(&serve);

    let out = wait(cat, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_lines(&out.stdout), expected);

    let raw = raw_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let _ = curl.kill();
    let _ = curl.wait();
    assert_eq!(parse_all(&raw), expected, "curl saw {}", String::from_utf8_lossy(&raw));
    // On the wire: the refused injections never appear.
    let raw = String::from_utf8_lossy(&raw);
    assert!(!raw.contains("666") && !raw.contains("injected") && !raw.contains("bad batch"));
}

#[test]
fn oversized_publish_bodies_get_413_with_or_without_a_length() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let big = format!(r#"{{"data":"{}"}}"#, "x".repeat(2 << 20));
    let (status, _) = serve.curl_publish(&big);
    assert_eq!(status, 413);
    // Chunked, so the size is only known while reading.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ])
        .arg(serve.url("/publish"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            let _ = c.stdin.take().unwrap().write_all(big.as_bytes());
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413");
    // Nothing was published.
    assert_eq!(serve.publish_ok(r#"{"data":"after"}"#), [serve.id(0)]);
}

#[test]
fn stdin_lines_are_published_plain_and_as_json() {
    let mut serve = Serve::start(&["--stdin", "--keep-alive", "0"]);
    let mut stdin = serve.child.stdin.take().unwrap();
    writeln!(stdin, "first").unwrap();
    stdin.flush().unwrap();
    let events = serve.url("/events");
    let cat = spawn_cat(&["--json", "--max-events", "3", "--last-event-id", &serve.id(0), &events]);
    for line in ["  spaced  ", "ünïcödé: data: x", "last"] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let out = wait(cat, Duration::from_secs(20));
    assert_eq!(
        json_lines(&out.stdout),
        [
            ev("message", "  spaced  ", &serve.id(1)),
            ev("message", "ünïcödé: data: x", &serve.id(2)),
            ev("message", "last", &serve.id(3))
        ]
    );

    let mut serve = Serve::start(&["--stdin", "--json", "--keep-alive", "0"]);
    let mut stdin = serve.child.stdin.take().unwrap();
    writeln!(stdin, r#"{{"data":"marker","id":"m"}}"#).unwrap();
    stdin.flush().unwrap();
    let cat = spawn_cat(&["--json", "--max-events", "2", "--last-event-id", "m", &serve.url("/events")]);
    writeln!(stdin, r#"{{"data":"x","event":"bad\nname"}}"#).unwrap();
    writeln!(stdin, r#"[{{"data":"a\nb","event":"e","id":"7"}},{{"data":"c"}}]"#).unwrap();
    stdin.flush().unwrap();
    let out = wait(cat, Duration::from_secs(20));
    assert_eq!(json_lines(&out.stdout), [ev("e", "a\nb", "7"), ev("message", "c", &serve.id(2))]);
}

#[test]
fn sse_cat_resumes_with_last_event_id_and_reports_missed_events() {
    let serve = Serve::start(&["--keep-alive", "0", "--history", "3"]);
    for i in 0..5 {
        serve.publish_ok(&format!(r#"{{"data":"e{i}"}}"#));
    }
    let out = wait(
        spawn_cat(&["--json", "--max-events", "2", "--last-event-id", &serve.id(2), &serve.url("/events")]),
        Duration::from_secs(20),
    );
    assert_eq!(
        json_lines(&out.stdout),
        [ev("message", "e3", &serve.id(3)), ev("message", "e4", &serve.id(4))]
    );
    // The first id is no longer in a 3-event history: the client is told.
    let out = wait(
        spawn_cat(&["--json", "--max-events", "1", "--last-event-id", &serve.id(0), &serve.url("/events")]),
        Duration::from_secs(20),
    );
    assert_eq!(json_lines(&out.stdout), [ev("missed", "", &serve.id(0))]);
}

/// A server of the test's own that answers each connection with the next
/// scripted response, written in the given pieces with pauses between
/// them so that they reach the client as separate reads.
fn scripted(
    responses: Vec<(Vec<Vec<u8>>, Option<&'static str>)>,
) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut heads = Vec::new();
        for (pieces, _) in responses {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_nodelay(true).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if stream.read(&mut byte).unwrap() == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            heads.push(String::from_utf8_lossy(&head).into_owned());
            for piece in pieces {
                if stream.write_all(&piece).is_err() {
                    break;
                }
                stream.flush().unwrap();
                thread::sleep(Duration::from_millis(15));
            }
        }
        heads
    });
    (url, handle)
}

fn response(status: &str, content_type: &str, body: &[u8], chunking: &[usize]) -> Vec<Vec<u8>> {
    let mut pieces = vec![
        format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    ];
    let mut rest = body;
    let mut sizes = chunking.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).min(rest.len());
        pieces.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    pieces
}

#[test]
fn sse_cat_reads_awkward_chunkings_like_a_browser() {
    // A BOM split over three reads, a CRLF split between reads, a lone CR,
    // a retry, comments, and an unfinished event at the end.
    let body: &[u8] = b"\xEF\xBB\xBFdata: first\r\n\r\n: comment\r\nevent: two\rdata: a\r\ndata:  b\r\rid: 5\ndata: x\n\nretry: 10\ndata: unfinished";
    for chunking in [&[1usize][..], &[2, 3], &[7], &[1000]] {
        let (url, server) =
            scripted(vec![(response("200 OK", "Text/Event-Stream; charset=UTF-8", body, chunking), None)]);
        let out = wait(spawn_cat(&["--json", "--no-reconnect", &url]), Duration::from_secs(20));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            json_lines(&out.stdout),
            [ev("message", "first", ""), ev("two", "a\n b", ""), ev("message", "x", "5")],
            "chunking {chunking:?}"
        );
        let heads = server.join().unwrap();
        let head = heads[0].to_ascii_lowercase();
        assert!(
            head.contains("accept: text/event-stream") && head.contains("cache-control: no-cache"),
            "{head}"
        );
        assert!(!head.contains("last-event-id"), "{head}");
    }
}

#[test]
fn sse_cat_fails_the_connection_on_other_statuses_and_types() {
    let cases = [
        ("204 No Content", "text/event-stream", true),
        ("500 Internal Server Error", "text/event-stream", false),
        ("404 Not Found", "text/event-stream", false),
        ("200 OK", "text/plain", false),
        ("200 OK", "text/event-streams", false),
    ];
    for (status, kind, success) in cases {
        let (url, server) = scripted(vec![(response(status, kind, b"data: x\n\n", &[100]), None)]);
        // No --no-reconnect: a failed connection must not be retried.
        let out = wait(spawn_cat(&["--json", &url]), Duration::from_secs(20));
        assert_eq!(
            out.status.success(),
            success,
            "{status} {kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty(), "the reason goes to stderr");
        server.join().unwrap();
    }
}

#[test]
fn sse_cat_reconnects_after_retry_with_last_event_id() {
    let first = response("200 OK", "text/event-stream", b"retry: 50\nid: 7\ndata: a\n\n", &[100]);
    let second = response("200 OK", "text/event-stream", b"data: b\n\n", &[100]);
    let (url, server) = scripted(vec![(first, None), (second, None)]);
    let started = Instant::now();
    let out = wait(spawn_cat(&["--json", "--max-events", "2", &url]), Duration::from_secs(20));
    assert!(out.status.success());
    assert_eq!(json_lines(&out.stdout), [ev("message", "a", "7"), ev("message", "b", "7")]);
    let heads = server.join().unwrap();
    assert!(heads[1].to_ascii_lowercase().contains("last-event-id: 7"), "{}", heads[1]);
    // It used the stream's retry (50 ms), not the 3 s default.
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn sse_cat_from_stdin_agrees_with_every_conformance_vector() {
    for v in vectors::all() {
        let mut child = Command::new(SSE)
            .args(["cat", "--json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(v.input).unwrap();
        let out = wait(child, Duration::from_secs(20));
        assert!(out.status.success(), "{}", v.name);
        let want: Vec<Value> = v
            .want
            .iter()
            .filter_map(|r| match r {
                vectors::Rec::Ev(t, d, i) => Some(ev(
                    &String::from_utf8_lossy(t),
                    &String::from_utf8_lossy(d),
                    &String::from_utf8_lossy(i),
                )),
                vectors::Rec::Retry(_) => None,
            })
            .collect();
        assert_eq!(json_lines(&out.stdout), want, "{}", v.name);
    }
}

#[test]
#[ignore = "needs Node.js packages from tests/browser; scripts/test.sh runs it"]
fn the_npm_eventsource_client_receives_the_same_events() {
    let dir = browser_tools();
    let serve = Serve::start(&["--keep-alive", "0"]);
    let count = (tricky().len() + 1).to_string();
    let (node, mut stdout) =
        node_until_open(&dir.join("eventsource.mjs"), &[&serve.url("/events"), &count, "update", "end"]);
    let expected = publish_tricky(&serve);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let out = wait(node, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<Value> = rest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got, expected);
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn the_dashboard_shows_live_events_and_a_moving_chart_in_chromium() {
    let dir = browser_tools();
    let serve = Serve::start(&["--demo"]);
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let child = Command::new("node")
        .arg(dir.join("dashboard.mjs"))
        .arg(serve.url("/"))
        .arg(&screenshot)
        .arg("publish")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait(child, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("dashboard: {shown}; screenshot: {}", screenshot.display());
    assert_eq!(shown["state"], "open");
    assert!(shown["events"].as_u64().unwrap() >= 5, "{shown}");
    assert!(shown["points"].as_u64().unwrap() >= 10, "{shown}");
    assert_eq!(shown["legend"], json!(["temperature", "humidity"]));
    assert_eq!(shown["firstLogType"], "sensor");
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "screenshot missing or empty");
    // Long ids, types and data never run over another cell, at any width;
    // a cut id is whole in its tooltip and on a click.
    assert_eq!(shown["status"], 202);
    for (width, rows) in shown["widths"].as_object().unwrap() {
        for row in rows.as_array().unwrap() {
            let cells = row.as_array().unwrap();
            assert!(cells.len() >= 2, "{width}: {row}");
            for cell in cells {
                assert!(cell["fits"] == true || cell["clips"] == true, "{width}: text runs out of {cell}");
            }
            for pair in cells.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                assert!(
                    a["right"].as_f64().unwrap() <= b["left"].as_f64().unwrap() + 0.5,
                    "{width}: {a} overlaps {b}"
                );
            }
        }
    }
    let long = &shown["longId"];
    assert_eq!(long["cut"], true, "{long}");
    assert_eq!(long["whole"], true, "{long}");
    assert!(long["title"].as_str().unwrap().ends_with("suffix-0123456789"), "{long}");
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn chromium_receives_private_events_with_a_cookie_or_query_token_and_strangers_do_not() {
    let dir = browser_tools();
    let secret = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-subscribe.key");
    std::fs::write(&secret, b"a subscriber secret for the browser test").unwrap();
    let serve = Serve::start(&["--keep-alive", "5", "--subscribe-key", secret.to_str().unwrap()]);
    let claims = json!({"sse": {"subscribe": ["orders/42"]}});
    let key = jsonwebtoken::EncodingKey::from_secret(b"a subscriber secret for the browser test").unwrap();
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
    // Chromium speaks to `localhost`, the name a DNS-rebinding check accepts.
    let base = serve.url("").replace("127.0.0.1", "localhost");
    let (node, mut stdout) = node_until_open(&dir.join("private.mjs"), &[&base, &token]);
    serve.publish_ok(
        r#"[{"data":"public","topic":"orders/42"},{"data":"secret","topic":"orders/42","private":true}]"#,
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let out = wait(node, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_str(rest.trim()).unwrap();
    let both = json!(["public", "secret"]);
    assert_eq!(got["cookie"], both, "{got}");
    assert_eq!(got["query"], both, "{got}");
    assert_eq!(got["dashboard"], both, "{got}");
    assert_eq!(got["anonymous"], json!(["public"]), "{got}");
}

/// A server on 127.0.0.1 that answers every connection with `body`
/// after a stream head and closes; records each request head.
fn repeating(body: &'static [u8]) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&heads);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
            let _ = stream.write_all(body);
        }
    });
    (url, heads)
}

#[test]
fn an_id_no_header_can_carry_and_retry_zero_never_make_sse_cat_spin() {
    // A valid SSE id with an escape character, `retry: 0`, one event, close.
    let (url, heads) = repeating(b"retry: 0\nid: a\x1bb\ndata: x\n\n");
    let started = Instant::now();
    let child = Command::new(SSE)
        .args(["cat", "--max-events", "3", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait(child, Duration::from_secs(20));
    let took = started.elapsed();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("cannot be sent as Last-Event-ID").count(), 1, "{stderr}");
    assert!(!stderr.contains("builder error"), "{stderr}");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "one connection per event: {heads:?}");
    assert!(heads.iter().all(|h| !h.to_ascii_lowercase().contains("last-event-id")), "{heads:?}");
    assert!(took >= Duration::from_millis(1000), "retry: 0 is floored at 500 ms: {took:?}");

    // A server that accepts and closes without an event: the waits double.
    let (url, heads) = repeating(b"retry: 0\n\n");
    let mut child = Command::new(SSE).args(["cat", &url]).stderr(Stdio::null()).spawn().unwrap();
    thread::sleep(Duration::from_millis(3200));
    let _ = child.kill();
    let _ = child.wait();
    let attempts = heads.lock().unwrap().len();
    assert!((2..=4).contains(&attempts), "backoff: 0, 0.5, 1.5 (then 3.5) s; got {attempts} attempts");
}

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
    Command::new(client_cat())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
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
    let deadline = Instant::now() + Duration::from_secs(45);
    while serve.metric("sse_streams") < 2 {
        assert!(Instant::now() < deadline, "the refused clients did not come back");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(serve.publish(r#"[{"data":"welcome back"}]"#), 202);
    for out in [wait(cat, Duration::from_secs(20)), wait(client, Duration::from_secs(20))] {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["data"], "welcome back", "{lines:?}");
    }
}
