//! `sse serve --tls-cert --tls-key`: HTTP/2 over TLS for curl and for
//! headless Chromium, which keeps ten streams to one origin on it.

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::process::{Serve, browser_tools, node_until_open};
use serde_json::Value;

fn key(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn tls_serve() -> Serve {
    let (cert, key) = (key("localhost.pem"), key("localhost.key"));
    Serve::start(&["--keep-alive", "0", "--tls-cert", &cert, "--tls-key", &key])
}

/// The server's https URL for `path`, by the name its certificate holds.
fn url(serve: &Serve, path: &str) -> String {
    format!("https://localhost:{}{path}", serve.addr.port())
}

/// Publishes over HTTPS with curl (trusting the test's certificate).
fn publish(serve: &Serve, body: &str) {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", &key("localhost.pem")])
        .args(["-H", "Content-Type: application/json", "--data-binary", body])
        .arg(url(serve, "/publish"))
        .output()
        .expect("curl must be installed (scripts/test.sh installs it)");
    assert_eq!(out.stdout, b"202", "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn curl_negotiates_http2_and_receives_the_stream() {
    let serve = tls_serve();
    assert!(serve.base.starts_with("https://"), "{}", serve.base);
    let mut curl = Command::new("curl")
        .args(["-sN", "--http2", "--max-time", "4", "-w", "\nversion %{http_version}\n"])
        .args(["--cacert", &key("localhost.pem")])
        .arg(url(&serve, "/events"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the stream is open (one client on the hub), publish.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = |serve: &Serve| {
        Command::new("curl")
            .args(["-s", "--cacert", &key("localhost.pem")])
            .arg(url(serve, "/metrics"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    while !metrics(&serve).lines().any(|l| l == "sse_streams 1") {
        assert!(Instant::now() < deadline, "the stream never opened");
        thread::sleep(Duration::from_millis(50));
    }
    publish(&serve, r#"[{"data":"one"},{"data":"two"}]"#);
    let mut out = String::new();
    curl.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let _ = curl.wait();
    assert!(out.contains("data: one\n\n") && out.contains("data: two\n\n"), "{out}");
    assert!(out.trim_end().ends_with("version 2"), "curl must negotiate HTTP/2: {out}");
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn chromium_keeps_ten_streams_to_one_origin_over_http2() {
    let serve = tls_serve();
    let (mut node, mut stdout) = node_until_open(&browser_tools().join("h2.mjs"), &[&url(&serve, "")]);
    publish(&serve, r#"[{"data":"a"},{"data":"b"},{"data":"c"}]"#);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(node.wait().unwrap().success());
    let shown: Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(shown["page"], "h2", "{shown}");
    let got = shown["got"].as_array().unwrap();
    assert_eq!(got.len(), 10);
    for events in got {
        assert_eq!(events, &serde_json::json!(["a", "b", "c"]), "{shown}");
    }
}
