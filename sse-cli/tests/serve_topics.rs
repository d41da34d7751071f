//! `sse serve` with topics and tokens, as a new user would try it: topic
//! selectors on `/events`, exact multi-topic resume, JWT publishers,
//! private events through every token carrier, and the safe defaults.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::process::{SSE, Serve, Stream, first_line};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

const SECRET: &[u8] = b"the publish and subscribe secret of this test";
const JSON: &str = "Content-Type: application/json";

/// A key file holding `SECRET` as it is.
fn secret_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}.key", std::process::id()));
    std::fs::write(&path, SECRET).unwrap();
    path
}

fn token(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::default(), claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn frame(id: &str, data: &str) -> String {
    format!("id: {id}\ndata: {data}\n\n")
}

#[test]
fn two_topics_of_three_in_order_and_an_exact_resume() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let (status, _, stream) = Stream::open(serve.addr, "/events?topic=a&topic=b", &[]);
    assert_eq!(status, 200);
    let mut stream = stream.unwrap();
    let topics = ["a", "c", "b", "c", "a", "b", "c", "a", "b"];
    let items: Vec<Value> =
        topics.iter().enumerate().map(|(i, t)| json!({"data": format!("{t}{i}"), "topic": t})).collect();
    let (status, ids) = serve.publish_items(&items, &[JSON]);
    assert_eq!((status, ids.len()), (202, 9));
    let want: Vec<String> = topics
        .iter()
        .enumerate()
        .filter(|(_, t)| **t != "c")
        .map(|(i, t)| frame(&ids[i], &format!("{t}{i}")))
        .collect();
    let live = stream.frames_within(Duration::from_secs(1));
    assert_eq!(live, want, "exactly the a and b events, in publish order, with the ids POST answered");
    // Reconnect with the id of the third a/b event: exactly the rest, no missed.
    let third = format!("Last-Event-ID: {}", &ids[4]);
    assert!(live[2].starts_with(&format!("id: {}\n", ids[4])));
    let (_, _, resumed) = Stream::open(serve.addr, "/events?topic=b&topic=a", &[&third]);
    assert_eq!(resumed.unwrap().frames_within(Duration::from_millis(600)), want[3..]);
    assert_eq!(serve.metric("sse_stale_resumes_total"), 0);
}

#[test]
fn prefix_selectors_are_percent_decoded_and_match_below_the_prefix() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let (_, _, stream) = Stream::open(serve.addr, "/events?topic=sensors%2F*", &[]);
    let mut stream = stream.unwrap();
    let items: Vec<Value> = ["sensors/t1", "sensorsX", "sensors", "sensors/room1/t3", "other/sensors/t4"]
        .iter()
        .map(|t| json!({"data": t, "topic": t}))
        .collect();
    let (_, ids) = serve.publish_items(&items, &[JSON]);
    let frames = stream.frames_within(Duration::from_secs(1));
    assert_eq!(frames, [frame(&ids[0], "sensors/t1"), frame(&ids[3], "sensors/room1/t3")]);
    assert!(frames.iter().all(|f| !f.contains("topic")), "the topic is not on the wire");
    for bad in ["/events?topic=a*", "/events?topic=", "/events?topic=%2F*"] {
        let (status, _, _) = Stream::open(serve.addr, bad, &[]);
        assert_eq!(status, 400, "{bad}");
    }
}

#[test]
fn publishers_need_a_valid_token_that_grants_every_topic() {
    let key = secret_file("publish");
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key.to_str().unwrap()]);
    let item = [json!({"data": "x", "topic": "news/eu"})];
    let grant = json!({"sse": {"publish": ["news/*"]}});
    let bearer = |t: &str| format!("Authorization: Bearer {t}");
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &grant,
        &EncodingKey::from_secret(b"not the server's secret at all, but long").unwrap(),
    )
    .unwrap();
    let expired = token(&json!({"sse": {"publish": ["*"]}, "exp": now() - 120}));
    let early = token(&json!({"sse": {"publish": ["*"]}, "nbf": now() + 600}));
    for (case, headers) in [
        ("no token", vec![JSON.to_owned()]),
        ("bad signature", vec![JSON.to_owned(), bearer(&forged)]),
        ("expired", vec![JSON.to_owned(), bearer(&expired)]),
        ("not yet valid", vec![JSON.to_owned(), bearer(&early)]),
        (
            "alg none",
            vec![JSON.to_owned(), bearer("eyJhbGciOiJub25lIn0.eyJzc2UiOnsicHVibGlzaCI6WyIqIl19fQ.")],
        ),
        ("basic", vec![JSON.to_owned(), "Authorization: Basic dXNlcjpwYXNz".to_owned()]),
    ] {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let body = json!(item).to_string();
        let mut socket = TcpStream::connect(serve.addr).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut head = format!(
            "POST /publish HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for h in &headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        socket.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
        let mut response = String::new();
        let _ = socket.read_to_string(&mut response);
        assert!(response.starts_with("HTTP/1.1 401"), "{case}: {response}");
        assert!(response.to_ascii_lowercase().contains("www-authenticate: bearer"), "{case}: {response}");
    }
    // Valid, but one item of the batch is outside the grant: nothing published.
    let batch = [json!({"data": "ok", "topic": "news/eu"}), json!({"data": "no", "topic": "sport"})];
    let (status, body) = serve.request(
        "POST",
        "/publish",
        &[JSON, &bearer(&token(&grant))],
        json!(batch).to_string().as_bytes(),
    );
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    let untopiced = [json!({"data": "no topic needs *"})];
    assert_eq!(serve.publish_items(&untopiced, &[JSON, &bearer(&token(&grant))]).0, 403);
    // A subscriber's token does not let anyone publish.
    let subscriber = token(&json!({"sse": {"subscribe": ["*"]}}));
    assert_eq!(serve.publish_items(&item, &[JSON, &bearer(&subscriber)]).0, 403);
    assert_eq!(serve.metric("sse_events_published_total"), 0);
    let (status, ids) = serve.publish_items(&item, &[JSON, &bearer(&token(&grant))]);
    assert_eq!((status, ids.len()), (202, 1));
    assert_eq!(serve.metric("sse_events_published_total"), 1);
}

#[test]
fn private_events_reach_granted_subscribers_through_every_carrier_and_nobody_else() {
    let key = secret_file("both");
    let key = key.to_str().unwrap();
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key, "--subscribe-key", key]);
    let publisher = format!("Authorization: Bearer {}", token(&json!({"sse": {"publish": ["*"]}})));
    let granted = token(&json!({"sse": {"subscribe": ["orders/42"]}}));
    let other = token(&json!({"sse": {"subscribe": ["orders/7"]}}));
    let target = "/events?topic=orders/*";
    let mut granted_streams = [
        Stream::open(serve.addr, target, &[&format!("Authorization: Bearer {granted}")]),
        Stream::open(serve.addr, &format!("{target}&authorization={granted}"), &[]),
        Stream::open(serve.addr, target, &[&format!("Cookie: theme=dark; sse_auth={granted}")]),
    ];
    let mut others = [
        Stream::open(serve.addr, target, &[]),
        Stream::open(serve.addr, target, &[&format!("Authorization: Bearer {other}")]),
    ];
    // Grants add private events only among the topics selected.
    let (_, _, narrow) =
        Stream::open(serve.addr, "/events?topic=orders/43", &[&format!("Cookie: sse_auth={granted}")]);
    let (_, _, everything) = Stream::open(serve.addr, "/events", &[&format!("Cookie: sse_auth={granted}")]);
    for (status, head, _) in granted_streams.iter().chain(&others) {
        assert_eq!(*status, 200, "{head}");
    }
    let items = [
        json!({"data": "public", "topic": "orders/42"}),
        json!({"data": "secret", "topic": "orders/42", "private": true}),
        json!({"data": "next", "topic": "orders/43"}),
    ];
    let (status, ids) = serve.publish_items(&items, &[JSON, &publisher]);
    assert_eq!(status, 202);
    let all = [frame(&ids[0], "public"), frame(&ids[1], "secret"), frame(&ids[2], "next")];
    let public = [frame(&ids[0], "public"), frame(&ids[2], "next")];
    for (i, (_, _, stream)) in granted_streams.iter_mut().enumerate() {
        assert_eq!(stream.as_mut().unwrap().frames_within(Duration::from_millis(600)), all, "carrier {i}");
    }
    for (i, (_, _, stream)) in others.iter_mut().enumerate() {
        assert_eq!(
            stream.as_mut().unwrap().frames_within(Duration::from_millis(300)),
            public,
            "subscriber {i}"
        );
    }
    assert_eq!(narrow.unwrap().frames_within(Duration::from_millis(300)), public[1..]);
    assert_eq!(everything.unwrap().frames_within(Duration::from_millis(300)), all);
    // In replay too, on both paths (the fast path, and hyper after a first
    // request on the same connection).
    let resume = format!("Last-Event-ID: {}", ids[0]);
    let (_, _, replay) = Stream::open(serve.addr, &format!("{target}&authorization={granted}"), &[&resume]);
    assert_eq!(replay.unwrap().frames_within(Duration::from_millis(400)), all[1..]);
    let (_, _, replay) = Stream::open(serve.addr, target, &[&resume]);
    assert_eq!(replay.unwrap().frames_within(Duration::from_millis(400)), public[1..]);
    let mut socket = TcpStream::connect(serve.addr).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let keep = format!(
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\nGET {target} HTTP/1.1\r\nHost: localhost\r\nCookie: sse_auth={granted}\r\n{resume}\r\n\r\n"
    );
    socket.write_all(keep.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains("data: next") {
        let mut buf = [0u8; 4096];
        if let Ok(n) = socket.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
        }
    }
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.contains("data: secret") && seen.contains("data: next"), "{seen}");
    // A bad subscriber token is refused, not downgraded to anonymous.
    let expired = token(&json!({"sse": {"subscribe": ["*"]}, "exp": now() - 120}));
    for (target, header) in [
        (format!("{target}&authorization={expired}"), String::new()),
        (target.to_owned(), format!("Cookie: sse_auth={expired}")),
        (target.to_owned(), "Authorization: Bearer not.a.token".to_owned()),
    ] {
        let headers: Vec<&str> = [header.as_str()].into_iter().filter(|h| !h.is_empty()).collect();
        let (status, head, _) = Stream::open(serve.addr, &target, &headers);
        assert_eq!(status, 401, "{target} {header}");
        assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    }
}

#[test]
fn tokens_without_a_key_are_refused_not_ignored() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let bearer = format!("Authorization: Bearer {}", token(&json!({"sse": {"publish": ["*"]}})));
    assert_eq!(serve.publish_items(&[json!({"data": "x"})], &[JSON, &bearer]).0, 401);
    assert_eq!(Stream::open(serve.addr, "/events", &[&bearer]).0, 401);
    assert_eq!(serve.publish_items(&[json!({"data": "x", "topic": "t", "private": true})], &[JSON]).0, 202);
}

#[test]
fn listening_beyond_loopback_needs_a_publish_key_or_anonymous_publish() {
    let out = Command::new(SSE).args(["serve", "--listen", "0.0.0.0:0"]).output().unwrap();
    assert!(!out.status.success(), "it must exit at once, non-zero");
    let refused = String::from_utf8_lossy(&out.stderr);
    assert!(refused.contains("--publish-key") && refused.contains("--anonymous-publish"), "{refused}");
    let bad_key = first_line(&["--listen", "127.0.0.1:0", "--publish-key", "/nonexistent/key"]);
    assert!(bad_key.contains("--publish-key /nonexistent/key"), "{bad_key}");
    let key = secret_file("beyond");
    let line = first_line(&["--listen", "0.0.0.0:0", "--publish-key", key.to_str().unwrap()]);
    assert!(line.contains("serving http://0.0.0.0:") && line.contains("bearer token required"), "{line}");
    let line = first_line(&["--listen", "0.0.0.0:0", "--anonymous-publish"]);
    assert!(line.contains("serving http://0.0.0.0:") && line.contains("no token"), "{line}");
}

/// `sse token KEY`, as the README's worked example runs it.
fn sse_token(key: &str, args: &[&str]) -> String {
    let out = Command::new(SSE).args(["token", "--key", key]).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn sse_token_mints_what_sse_serve_accepts_for_every_key_family() {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../sse-std/tests/keys");
    let secret = secret_file("mint");
    let pairs = [
        (secret.to_str().unwrap().to_owned(), secret.to_str().unwrap().to_owned()),
        (format!("{keys}/rsa.key"), format!("{keys}/rsa.pub")),
        (format!("{keys}/ec.key"), format!("{keys}/ec.pub")),
        (format!("{keys}/ed.key"), format!("{keys}/ed.pub")),
    ];
    for (private, public) in &pairs {
        let serve = Serve::start(&["--keep-alive", "0", "--publish-key", public, "--subscribe-key", public]);
        let publisher = sse_token(private, &["--publish", "orders/*"]);
        let subscriber = sse_token(private, &["--subscribe", "orders/42", "--ttl", "60"]);
        let (_, _, stream) =
            Stream::open(serve.addr, &format!("/events?topic=orders/*&authorization={subscriber}"), &[]);
        let mut stream = stream.unwrap_or_else(|| panic!("{public}: subscriber token refused"));
        let item = [json!({"data": "paid", "topic": "orders/42", "private": true})];
        let (status, ids) =
            serve.publish_items(&item, &[JSON, &format!("Authorization: Bearer {publisher}")]);
        assert_eq!(status, 202, "{public}");
        assert_eq!(stream.frames_within(Duration::from_millis(500)), [frame(&ids[0], "paid")], "{public}");
        let outside = [json!({"data": "x", "topic": "news"})];
        assert_eq!(
            serve.publish_items(&outside, &[JSON, &format!("Authorization: Bearer {publisher}")]).0,
            403
        );
    }
    let out = Command::new(SSE)
        .args(["token", "--key", secret.to_str().unwrap(), "--publish", "a*"])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("selector"));
    let out = Command::new(SSE)
        .args(["token", "--key", &format!("{keys}/rsa.pub"), "--publish", "*"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a public key cannot sign");
}

#[test]
fn a_burst_of_one_event_to_each_of_two_thousand_topics_reaches_each_stream_with_nothing_missed() {
    // With one ring for the whole hub (queue 256), a stream fell behind by
    // the hub's rate and half the streams got `missed` instead of their
    // event; routed by topic, each stream's queue holds its own event.
    let serve = Serve::start(&["--keep-alive", "0"]);
    let mut streams: Vec<Stream> = (0..2000)
        .map(|i| Stream::open(serve.addr, &format!("/events?topic=user/{i}"), &[]).2.unwrap())
        .collect();
    let items: Vec<Value> =
        (0..2000).map(|i| json!({"data": format!("for {i}"), "topic": format!("user/{i}")})).collect();
    let (status, ids) = serve.publish_items(&items, &[JSON]);
    assert_eq!((status, ids.len()), (202, 2000));
    let deadline = Instant::now() + Duration::from_secs(20);
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut frames = Vec::new();
        while frames.is_empty() && Instant::now() < deadline {
            stream.fill();
            frames = stream.frames_within(Duration::ZERO);
        }
        assert_eq!(frames, [frame(&ids[i], &format!("for {i}"))], "stream {i}");
    }
    assert_eq!(serve.metric("sse_missed_sent_total"), 0);
    assert_eq!(serve.metric("sse_events_dropped_total"), 0);
}

/// RFC 7518 §3.2: a 10-byte HMAC secret stops `sse serve` (and `sse
/// token`) at once, with the reason.
#[test]
fn a_short_hmac_secret_is_refused_at_start() {
    let short = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("short-{}.key", std::process::id()));
    std::fs::write(&short, b"0123456789").unwrap();
    let short = short.to_str().unwrap();
    for flag in ["--publish-key", "--subscribe-key"] {
        let out = Command::new(SSE).args(["serve", "--listen", "127.0.0.1:0", flag, short]).output().unwrap();
        assert!(!out.status.success());
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(message.contains(flag) && message.contains("10 bytes; at least 32"), "{message}");
    }
    let out = Command::new(SSE).args(["token", "--key", short, "--publish", "*"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("at least 32"));
}

/// Key rotation: tokens of either listed key verify; SIGHUP reads the key
/// files again (a new key is accepted, a removed one refused) without
/// dropping open streams, and a reload that finds an unusable file keeps
/// the keys in use.
#[test]
fn keys_rotate_by_listing_two_and_by_sighup() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (old, new) = (
        dir.join(format!("rotate-old-{}.key", std::process::id())),
        dir.join(format!("rotate-new-{}.key", std::process::id())),
    );
    let (old_secret, new_secret, next_secret) = (
        b"the old secret, at least thirty-two bytes",
        b"the new secret, at least thirty-two bytes",
        b"the next secret, thirty-two bytes or more",
    );
    std::fs::write(&old, old_secret).unwrap();
    std::fs::write(&new, new_secret).unwrap();
    let sign = |secret: &[u8]| {
        let claims = json!({"sse": {"subscribe": ["orders/*"]}});
        jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
    };
    let serve = Serve::start(&[
        "--keep-alive",
        "0",
        "--subscribe-key",
        old.to_str().unwrap(),
        "--subscribe-key",
        new.to_str().unwrap(),
    ]);
    let status =
        |secret: &[u8]| Stream::open(serve.addr, &format!("/events?authorization={}", sign(secret)), &[]).0;
    assert_eq!((status(old_secret), status(new_secret), status(next_secret)), (200, 200, 401));
    let (_, _, open) =
        Stream::open(serve.addr, &format!("/events?topic=orders/*&authorization={}", sign(old_secret)), &[]);
    let mut open = open.unwrap();
    // The old key is retired, the next one added; then SIGHUP.
    std::fs::write(&old, next_secret).unwrap();
    let hup = |serve: &Serve| {
        assert!(
            Command::new("kill").args(["-HUP", &serve.child.id().to_string()]).status().unwrap().success()
        );
    };
    hup(&serve);
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(next_secret) != 200 {
        assert!(Instant::now() < deadline, "SIGHUP did not load the next key");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!((status(old_secret), status(new_secret)), (401, 200));
    // The stream opened with the old key is still there.
    let (code, ids) =
        serve.publish_items(&[json!({"data": "still here", "topic": "orders/1", "private": true})], &[JSON]);
    assert_eq!(code, 202);
    assert_eq!(open.frames_within(Duration::from_millis(500)), [frame(&ids[0], "still here")]);
    // An unusable file at the next reload changes nothing.
    std::fs::write(&old, b"short").unwrap();
    hup(&serve);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((status(next_secret), status(new_secret)), (200, 200));
}

/// `--jwt-audience` and `--jwt-issuer`: tokens must name them.
#[test]
fn audience_and_issuer_are_checked_when_given() {
    let key = secret_file("aud");
    let serve = Serve::start(&[
        "--keep-alive",
        "0",
        "--subscribe-key",
        key.to_str().unwrap(),
        "--jwt-audience",
        "https://hub.example",
        "--jwt-issuer",
        "https://auth.example",
    ]);
    let status =
        |claims: Value| Stream::open(serve.addr, &format!("/events?authorization={}", token(&claims)), &[]).0;
    assert_eq!(status(json!({"aud": "https://hub.example", "iss": "https://auth.example"})), 200);
    assert_eq!(status(json!({"aud": "https://other.example", "iss": "https://auth.example"})), 401);
    assert_eq!(status(json!({"aud": "https://hub.example", "iss": "https://evil.example"})), 401);
    assert_eq!(status(json!({"sse": {"subscribe": ["*"]}})), 401);
}
