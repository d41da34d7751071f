//! `sse serve` in Debian's headless Chromium where browsers and time meet
//! (`tests/browser/over-time.mjs`): a stream closed when its token
//! expires, resumed with the token the page holds then; an `EventSource`
//! refused at `--max-clients` that comes back by itself; a page of another
//! origin reading with credentials and publishing with a preflighted
//! `fetch`. And over HTTP/2, the token in the second of two `cookie`
//! fields (a bounded probe with Python's `h2`).

mod common;

use std::io::Read as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::process::{Serve, browser_tools, node_until_open, spawn_probe, wait};
use serde_json::{Value, json};

const SECRET: &[u8] = b"the secret of the browser-over-time tests";

fn secret_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-time-{name}.key"));
    std::fs::write(&path, SECRET).unwrap();
    path
}

fn token(claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap()
}

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// Runs `over-time.mjs ARGS` to its end: its last line, as JSON.
fn run(args: &[&str]) -> Value {
    let (node, mut stdout) = node_until_open(&browser_tools().join("over-time.mjs"), args);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let out = wait(node, Duration::from_secs(90));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(rest.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {rest}"))
}

/// `localhost`, the name Chromium is pointed at (the DNS-rebinding check
/// accepts it).
fn base(serve: &Serve) -> String {
    serve.url("").replace("127.0.0.1", "localhost")
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn chromium_streams_end_with_their_token_and_resume_with_the_page_s_new_one() {
    let key = secret_file("expiry");
    let serve = Serve::start(&["--keep-alive", "0", "--subscribe-key", key.to_str().unwrap()]);
    let exp_ms = now_ms() + 3000;
    let short = token(&json!({"exp": exp_ms / 1000, "sse": {"subscribe": ["orders/*"]}}));
    let long = token(&json!({"exp": exp_ms / 1000 + 3600, "sse": {"subscribe": ["orders/*"]}}));
    let got = run(&["expiry", &base(&serve), &short, &long]);
    // The stream ends at `exp` (whole seconds) plus the 5 s leeway.
    let ends = (exp_ms / 1000 + 5) * 1000;
    let published = got["published"].as_array().unwrap();
    let at = |n: usize| published[n]["at"].as_u64().unwrap();
    let numbers = |name: &str| -> Vec<u64> {
        got["seen"][name]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().parse().unwrap())
            .collect()
    };
    // The refreshed page: reconnected once, and every private event, in
    // order, exactly once (the reconnection resumed with Last-Event-ID).
    let refreshed = &got["seen"]["refreshed"];
    assert_eq!(refreshed["opens"], 2, "{refreshed}");
    assert_eq!(numbers("refreshed"), (0..published.len() as u64).collect::<Vec<_>>(), "{refreshed}");
    // The stale page: closed for good (401 on reconnection), and nothing
    // published after the token's end reached it.
    let stale = &got["seen"]["stale"];
    assert_eq!(stale["closed"], true, "{stale}");
    let last = *numbers("stale").last().unwrap();
    assert!(
        at(last as usize) <= ends + 500,
        "event {last} published at {} after the end {ends}",
        at(last as usize)
    );
    let first_after = published.iter().position(|p| p["at"].as_u64().unwrap() > ends + 500).unwrap();
    assert!(last < first_after as u64, "{stale}");
    assert_eq!(serve.metric("sse_streams_expired_total"), 2);
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn a_chromium_event_source_refused_at_max_clients_comes_back() {
    let serve = Serve::start(&["--keep-alive", "0", "--max-clients", "1"]);
    let got = run(&["refused", &base(&serve)]);
    let refused = &got["refused"];
    // Refused but not given up: CONNECTING (0), not CLOSED (2), nothing
    // received.
    assert_eq!(refused["state"], 0, "{got}");
    assert!(refused["errors"].as_u64().unwrap() >= 1, "{got}");
    assert_eq!(refused["data"], json!([]), "{got}");
    assert_eq!(got["after"]["data"], json!(["welcome back"]), "{got}");
    assert_eq!(got["after"]["closed"], false, "{got}");
    assert!(serve.metric("sse_streams_refused_full_total") >= 1);
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn a_page_of_another_origin_reads_with_credentials_and_publishes_after_a_preflight() {
    let key = secret_file("cors");
    let page_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let origin = format!("http://localhost:{page_port}");
    let key = key.to_str().unwrap();
    let serve = Serve::start(&[
        "--keep-alive",
        "0",
        "--cors",
        "https://unrelated.example",
        "--cors",
        &origin,
        "--publish-key",
        key,
        "--subscribe-key",
        key,
    ]);
    let subscribe = token(&json!({"sse": {"subscribe": ["orders/*"]}}));
    let publish = token(&json!({"sse": {"publish": ["orders/*"]}}));
    let got = run(&["cors", &base(&serve), &page_port.to_string(), &subscribe, &publish]);
    assert_eq!(got["origin"], origin.as_str(), "{got}");
    assert_eq!(got["status"], 202, "the preflighted publish: {got}");
    assert_eq!(got["seen"]["data"], json!(["cross-origin private"]), "{got}");
    assert_eq!(got["seen"]["opens"], 1, "{got}");
}

/// RFC 9113 §8.2.3: an HTTP/2 client may send each cookie in its own
/// field. The token sits in the second; the private event arrives.
#[test]
#[ignore = "needs python3 with the h2 package; scripts/test.sh runs it"]
fn over_http2_the_token_in_the_second_cookie_field_is_read() {
    let dir = format!("{}/tests/keys", env!("CARGO_MANIFEST_DIR"));
    let (cert, tls_key) = (format!("{dir}/localhost.pem"), format!("{dir}/localhost.key"));
    let key = secret_file("h2-cookie");
    let serve = Serve::start(&[
        "--keep-alive",
        "0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &tls_key,
        "--subscribe-key",
        key.to_str().unwrap(),
    ]);
    let t = token(&json!({"sse": {"subscribe": ["orders/*"]}}));
    let (mut child, mut stdout) = spawn_probe("cookie_fields", serve.addr.port(), &cert, &[&t]);
    let published = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", &cert])
        .args(["-H", "Content-Type: application/json"])
        .args(["--data-binary", r#"[{"data":"for the second cookie","topic":"orders/42","private":true}]"#])
        .arg(format!("https://localhost:{}/publish", serve.addr.port()))
        .output()
        .unwrap();
    assert_eq!(published.stdout, b"202");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let got: Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(got["status"], "200", "{got}");
    assert!(got["body"].as_str().unwrap().contains("data: for the second cookie"), "{got}");
}
