//! What the tests of `sse cat` and of the no_std client share: running
//! `sse cat`, reading its JSON lines, publishing the tricky payloads every
//! client must receive intact, and a scripted server of hand-written
//! responses.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use super::process::{SSE, Serve};

impl Serve {
    /// POSTs `body` to /publish; returns the status and the response body.
    pub fn curl_publish(&self, body: &str) -> (u16, String) {
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
    pub fn publish_ok(&self, body: &str) -> Vec<String> {
        let (status, reply) = self.curl_publish(body);
        assert_eq!(status, 202, "{body}: {reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        reply["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    }
}

/// `program` with `args`, no input, its output and errors piped.
pub fn spawn_piped(program: &std::ffi::OsStr, args: &[&str]) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `sse cat` with `args`, its output piped.
pub fn spawn_cat(args: &[&str]) -> Child {
    let mut all = vec!["cat"];
    all.extend_from_slice(args);
    spawn_piped(SSE.as_ref(), &all)
}

pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub fn ev(kind: &str, data: &str, id: &str) -> Value {
    json!({ "type": kind, "data": data, "last_event_id": id })
}

/// The tricky payloads every client must receive intact.
pub fn tricky() -> Vec<(Value, Value)> {
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
pub fn publish_tricky(serve: &Serve) -> Vec<Value> {
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

/// A server of the test's own that answers each connection with the next
/// scripted response, written in the given pieces with pauses between
/// them so that they reach the client as separate reads.
pub fn scripted(
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

pub fn response(status: &str, content_type: &str, body: &[u8], chunking: &[usize]) -> Vec<Vec<u8>> {
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
