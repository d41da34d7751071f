//! What browsers meet, over real sockets on 127.0.0.1, on both paths (the
//! fast path serves a connection's first request; hyper serves a request
//! that follows another on the same connection): a stream closed when its
//! token expires and nothing private after; cookies in several fields;
//! credentialed CORS and preflights; a full hub that tells an
//! `EventSource` when to come back; `Host` rules; the bound on selectors.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::start;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use sse_std::{Cors, HubConfig, JwtKey, JwtVerifier, ServerConfig};
use sse_wire::{Audience, Event, Topic};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SECRET: &[u8] = b"the subscriber secret of the browser rules test";

fn quiet() -> HubConfig {
    {
        let mut config = HubConfig::default();
        config.keep_alive = None;
        config.epoch = Some("t".into());
        config
    }
}

fn with_tokens() -> ServerConfig {
    let verifier = JwtVerifier::subscribers(JwtKey::from_bytes(SECRET).unwrap());
    {
        let mut config = ServerConfig::default();
        config.subscribe_verifier = Some(Arc::new(verifier));
        config
    }
}

fn token(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::default(), claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Which path a request takes.
#[derive(Clone, Copy, Debug)]
enum Path {
    /// The connection's first request: the fast path.
    Fast,
    /// After a `GET /nothing` on the same connection: hyper.
    Hyper,
}

/// Sends `head` (a request head without its final blank line) on a new
/// connection, by `path`; returns the connection with the answer's bytes
/// (from the answer to `head` on) read so far, up to `until` or the end.
async fn send(addr: SocketAddr, path: Path, head: &str, until: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut bytes = Vec::new();
    if let Path::Hyper = path {
        stream.write_all(b"GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let first = read_until(&mut stream, &mut bytes, b"not found\n").await;
        assert!(first, "first answer: {}", String::from_utf8_lossy(&bytes));
        bytes.clear();
    }
    stream.write_all(format!("{head}\r\n\r\n").as_bytes()).await.unwrap();
    read_until(&mut stream, &mut bytes, until).await;
    (stream, bytes)
}

/// Reads into `seen` until it holds `pattern` (true) or the connection
/// ends or 10 s pass (false).
async fn read_until(stream: &mut TcpStream, seen: &mut Vec<u8>, pattern: &[u8]) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if memchr::memmem::find(seen, pattern).is_some() {
            return true;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return false,
        }
    }
}

/// Reads to the end of the connection (at most `within`); `None` if it is
/// still open then.
async fn read_to_end(stream: &mut TcpStream, seen: &mut Vec<u8>, within: Duration) -> Option<()> {
    tokio::time::timeout(within, stream.read_to_end(seen)).await.ok()?.ok().map(|_| ())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn private(hub: &sse_std::Hub, topic: &str, data: &str) {
    hub.publish_to(Audience::on(Topic::new(topic).unwrap()).private(), &Event::new().with_data(data))
        .unwrap();
}

/// A stream opened with a token that expires ends at `exp` plus the
/// leeway: private events before it arrive, none after it, and the hub
/// counts the expiry. The client then reconnects with what it holds.
#[tokio::test]
async fn a_stream_ends_when_its_token_expires_and_nothing_private_follows() {
    let server = start(quiet(), with_tokens()).await;
    let exp = now() + 1;
    let t = token(&json!({"exp": exp, "sse": {"subscribe": ["orders/*"]}}));
    let mut open = Vec::new();
    for path in [Path::Fast, Path::Hyper] {
        let head = format!("GET /events?topic=orders/*&authorization={t} HTTP/1.1\r\nHost: localhost");
        let (stream, head_bytes) = send(server.addr, path, &head, b"\r\n\r\n").await;
        assert!(text(&head_bytes).starts_with("HTTP/1.1 200"), "{path:?}: {}", text(&head_bytes));
        open.push((path, stream, head_bytes));
    }
    while server.hub.client_count() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    private(&server.hub, "orders/1", "before");
    // Keep publishing past the expiry; note when the token ends.
    let ends = UNIX_EPOCH + Duration::from_secs(exp + sse_std::JWT_LEEWAY_SECS);
    let publisher = {
        let hub = server.hub.clone();
        tokio::spawn(async move {
            let mut after = 0;
            while after < 5 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if SystemTime::now() > ends + Duration::from_millis(300) {
                    private(&hub, "orders/1", &format!("after-{after}"));
                    after += 1;
                } else {
                    private(&hub, "orders/1", "still valid");
                }
            }
        })
    };
    for (path, mut stream, mut seen) in open {
        // The fast path's body ends with the connection; hyper's with the
        // last chunk (the connection may serve another request).
        let closed = match path {
            Path::Fast => read_to_end(&mut stream, &mut seen, Duration::from_secs(15)).await.is_some(),
            Path::Hyper => read_until(&mut stream, &mut seen, b"\r\n0\r\n\r\n").await,
        };
        let closed_at = SystemTime::now();
        let seen = text(&seen);
        assert!(closed, "{path:?}: still open long after the token expired: {seen}");
        assert!(closed_at >= ends, "{path:?}: closed before the token expired");
        assert!(closed_at < ends + Duration::from_secs(3), "{path:?}: closed late");
        assert!(seen.contains("data: before"), "{path:?}: {seen}");
        assert!(!seen.contains("after-"), "{path:?}: a private event after expiry: {seen}");
    }
    publisher.await.unwrap();
    assert_eq!(server.hub.stats().expired, 2);
    // The same token is refused now: the browser must bring a new one.
    let head = format!("GET /events?authorization={t} HTTP/1.1\r\nHost: localhost");
    let (_, answer) = send(server.addr, Path::Fast, &head, b"\r\n\r\n").await;
    assert!(text(&answer).starts_with("HTTP/1.1 401"), "{}", text(&answer));
}

/// RFC 9113 §8.2.3 lets an HTTP/2 client send each cookie in its own
/// field (HTTP/1.1 clients sometimes do too): the token is found in any
/// of them.
#[tokio::test]
async fn the_token_cookie_is_found_in_any_cookie_field() {
    let server = start(quiet(), with_tokens()).await;
    let t = token(&json!({"sse": {"subscribe": ["orders/42"]}}));
    for path in [Path::Fast, Path::Hyper] {
        let head = format!(
            "GET /events HTTP/1.1\r\nHost: localhost\r\nCookie: theme=dark\r\nCookie: sse_auth={t}; lang=en"
        );
        let (mut stream, mut seen) = send(server.addr, path, &head, b"\r\n\r\n").await;
        let before = server.hub.client_count();
        assert!(before >= 1, "{path:?}: {}", text(&seen));
        private(&server.hub, "orders/42", &format!("paid via {path:?}"));
        assert!(
            read_until(&mut stream, &mut seen, format!("paid via {path:?}").as_bytes()).await,
            "{path:?}: {}",
            text(&seen)
        );
    }
}

/// Listed origins may read with credentials; every answer varies by
/// origin; preflights for the stream and for other routes are answered
/// for listed origins only.
#[tokio::test]
async fn credentialed_cors_for_listed_origins_on_both_paths() {
    let mut config = with_tokens();
    config.cors = Cors::allow(["https://app.example", "https://admin.example"]);
    let server = start(quiet(), config).await;
    for path in [Path::Fast, Path::Hyper] {
        let head = "GET /events HTTP/1.1\r\nHost: localhost\r\nOrigin: https://admin.example";
        let (_, answer) = send(server.addr, path, head, b"\r\n\r\n").await;
        let answer = text(&answer).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 200"), "{path:?}: {answer}");
        for line in [
            "access-control-allow-origin: https://admin.example\r\n",
            "access-control-allow-credentials: true\r\n",
            "vary: origin\r\n",
        ] {
            assert!(answer.contains(line), "{path:?}: {line:?} in {answer}");
        }
        let head = "GET /events HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example";
        let (_, answer) = send(server.addr, path, head, b"\r\n\r\n").await;
        let answer = text(&answer).to_ascii_lowercase();
        assert!(!answer.contains("access-control-allow"), "{path:?}: {answer}");
        assert!(answer.contains("vary: origin\r\n"), "{path:?}: {answer}");
    }
    for target in ["/events", "/publish"] {
        let head = format!(
            "OPTIONS {target} HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type"
        );
        let (_, answer) = send(server.addr, Path::Fast, &head, b"\r\n\r\n").await;
        let answer = text(&answer).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 204"), "{target}: {answer}");
        for needle in [
            "access-control-allow-origin: https://app.example",
            "access-control-allow-credentials: true",
            "access-control-allow-methods: get, post",
            "authorization, content-type",
            "access-control-max-age: ",
        ] {
            assert!(answer.contains(needle), "{target}: {needle:?} in {answer}");
        }
        let head = format!(
            "OPTIONS {target} HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST"
        );
        let (_, answer) = send(server.addr, Path::Fast, &head, b"\r\n\r\n").await;
        assert!(
            !text(&answer).to_ascii_lowercase().contains("access-control-allow-origin"),
            "{}",
            text(&answer)
        );
    }
}

/// At `max_clients`, an `EventSource` (it sends `Accept:
/// text/event-stream`) is told when to come back with a 200 it follows;
/// a plain client gets 503 and `Retry-After`. Both counted.
#[tokio::test]
async fn a_full_hub_sends_event_sources_away_with_retry_and_others_with_503() {
    let server = start(
        {
            let mut config = quiet();
            config.max_clients = Some(1);
            config
        },
        ServerConfig::default(),
    )
    .await;
    let (_holder, head) =
        send(server.addr, Path::Fast, "GET /events HTTP/1.1\r\nHost: localhost", b"\r\n\r\n").await;
    assert!(text(&head).starts_with("HTTP/1.1 200"));
    for path in [Path::Fast, Path::Hyper] {
        let head = "GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream";
        let (mut stream, mut seen) = send(server.addr, path, head, b"\r\n\r\n").await;
        let ended = read_to_end(&mut stream, &mut seen, Duration::from_secs(5)).await;
        let seen = text(&seen);
        assert!(seen.starts_with("HTTP/1.1 200"), "{path:?}: {seen}");
        assert!(seen.to_ascii_lowercase().contains("content-type: text/event-stream"), "{path:?}: {seen}");
        let retry: u64 =
            seen.split("\nretry: ").nth(1).and_then(|r| r.lines().next()).unwrap().parse().unwrap();
        assert!((2500..7500).contains(&retry), "{path:?}: retry {retry}");
        if let Path::Fast = path {
            assert!(ended.is_some(), "the refusal ends: {seen}");
        }
        let (_, plain) =
            send(server.addr, path, "GET /events HTTP/1.1\r\nHost: localhost", b"\r\n\r\n").await;
        let plain = text(&plain).to_ascii_lowercase();
        assert!(plain.starts_with("http/1.1 503"), "{path:?}: {plain}");
        assert!(plain.contains("retry-after: 5\r\n"), "{path:?}: {plain}");
    }
    assert_eq!(server.hub.stats().refused_full, 4);
}

#[tokio::test]
async fn too_many_selectors_get_400() {
    let server = start(quiet(), ServerConfig::default()).await;
    let many: String = (0..=sse_std::MAX_STREAM_TOPICS).map(|i| format!("topic=t{i}&")).collect();
    for path in [Path::Fast, Path::Hyper] {
        let head = format!("GET /events?{many} HTTP/1.1\r\nHost: localhost");
        let (_, answer) = send(server.addr, path, &head, b"\r\n\r\n").await;
        assert!(text(&answer).starts_with("HTTP/1.1 400"), "{path:?}: {}", text(&answer));
    }
    let enough: String = (0..sse_std::MAX_STREAM_TOPICS).map(|i| format!("topic=t{i}&")).collect();
    let head = format!("GET /events?{enough} HTTP/1.1\r\nHost: localhost");
    let (_, answer) = send(server.addr, Path::Fast, &head, b"\r\n\r\n").await;
    assert!(text(&answer).starts_with("HTTP/1.1 200"), "{}", text(&answer));
}
