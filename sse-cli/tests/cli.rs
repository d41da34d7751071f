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
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sse_wire::Parser;

mod common;

use common::cat::{ev, json_lines, publish_tricky, response, scripted, spawn_cat, tricky};
use common::process::{SSE, Serve, browser_tools, node_until_open, wait};

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

/// sseclient-py, over Python's `requests` (as most Python SSE code reads
/// streams), receives each event as it is published, on the events path
/// and on the Mercure path: `requests` reads a body of unknown length in
/// blocks, so a body that only the end of the connection delimited would
/// hold small events back until a block filled.
#[test]
#[ignore = "needs Python's sseclient-py and requests; scripts/test.sh installs them and runs it"]
fn python_sseclient_receives_each_event_as_it_is_published() {
    use std::io::BufRead as _;
    let serve = Serve::start(&["--keep-alive", "0"]);
    let script = format!("{}/../tests/python/sseclient_events.py", env!("CARGO_MANIFEST_DIR"));
    for path in ["/events", "/.well-known/mercure?topic=*"] {
        let mut child = Command::new("python3")
            .args([script.as_str(), &serve.url(path), "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "open\n", "{path}");
        for i in 0..3 {
            assert_eq!(serve.publish(&format!(r#"{{"data":"e{i}"}}"#)), 202);
        }
        // The script ends after three events, or after 10 s with fewer.
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let out = wait(child, Duration::from_secs(30));
        assert_eq!(rest, "e0\ne1\ne2\n", "{path}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
