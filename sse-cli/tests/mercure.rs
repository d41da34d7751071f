//! `sse serve` as a Mercure hub, driven the way Mercure publishers and
//! subscribers drive one: form posts to `/.well-known/mercure`, topic
//! selectors (`*`, exact topics, URI templates) in the query, JWTs with
//! `mercure` claims in the header, the `authorization` query parameter or
//! the `mercureAuthorization` cookie, and `Last-Event-ID` to resume.

mod common;

use std::io::Read as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::process::{Serve, Stream, browser_tools, node_until_open, wait};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

const SECRET: &[u8] = b"the Mercure hub's secret of this test";
const FORM: &str = "Content-Type: application/x-www-form-urlencoded";
const HUB: &str = "/.well-known/mercure";

fn secret_file(name: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("mercure-{name}-{}.key", std::process::id()));
    std::fs::write(&path, SECRET).unwrap();
    path
}

fn token(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::default(), claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
}

/// `name=value` pairs as a form (and query) string.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// Posts an update; the status and the body (the id on 200).
fn post(serve: &Serve, pairs: &[(&str, &str)], headers: &[&str]) -> (u16, String) {
    let mut all = vec![FORM];
    all.extend_from_slice(headers);
    let (status, body) = serve.request("POST", HUB, &all, form(pairs).as_bytes());
    (status, String::from_utf8(body).unwrap())
}

/// Opens a subscription with these query pairs.
fn subscribe(serve: &Serve, pairs: &[(&str, &str)], headers: &[&str]) -> (u16, String, Option<Stream>) {
    Stream::open(serve.addr, &format!("{HUB}?{}", form(pairs)), headers)
}

/// The `(id, data)` of each frame.
fn events(frames: &[String]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter(|f| !f.starts_with(':'))
        .map(|f| {
            let field =
                |name: &str| f.lines().filter_map(|l| l.strip_prefix(name)).collect::<Vec<_>>().join("\n");
            (field("id: "), field("data: "))
        })
        .collect()
}

/// The protocol's own examples, end to end: a subscriber of an exact
/// topic, a URI template and `*`; an update with two topics reaches each
/// of them once; publishing answers 200 with a `urn:uuid:` id as text;
/// the response to a subscription carries `Last-Event-ID`.
#[test]
fn the_specifications_examples_end_to_end() {
    let key = secret_file("examples");
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key.to_str().unwrap()]);
    let (status, head, exact) = subscribe(&serve, &[("topic", "https://example.com/books/1")], &[]);
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("last-event-id: earliest\r\n"), "{head}");
    let mut exact = exact.unwrap();
    let mut template = subscribe(&serve, &[("topic", "https://example.com/books/{id}")], &[]).2.unwrap();
    let mut all = subscribe(&serve, &[("topic", "*")], &[]).2.unwrap();
    let mut authors = subscribe(
        &serve,
        &[("topic", "https://example.com/authors/{id}"), ("topic", "https://example.com/books/1")],
        &[],
    )
    .2
    .unwrap();
    let mut other = subscribe(&serve, &[("topic", "https://example.com/reviews/{id}")], &[]).2.unwrap();

    let publisher = token(&json!({"mercure": {"publish": ["*"]}}));
    let bearer = format!("Authorization: Bearer {publisher}");
    let (status, id) = post(
        &serve,
        &[
            ("topic", "https://example.com/books/1"),
            ("topic", "https://example.com/authors/7"),
            ("data", "{\"@id\": \"https://example.com/books/1\", \"title\": \"The Mercure Protocol\"}"),
        ],
        &[&bearer],
    );
    assert_eq!(status, 200, "{id}");
    assert!(id.starts_with("urn:uuid:") && id.len() == 45, "{id}");
    let want = vec![(
        id.clone(),
        "{\"@id\": \"https://example.com/books/1\", \"title\": \"The Mercure Protocol\"}".to_owned(),
    )];
    for (name, stream) in
        [("exact", &mut exact), ("template", &mut template), ("*", &mut all), ("two selectors", &mut authors)]
    {
        assert_eq!(events(&stream.frames_within(Duration::from_millis(600))), want, "{name}: once");
    }
    assert!(events(&other.frames_within(Duration::from_millis(300))).is_empty());
    // A later subscriber is told the newest id.
    let (_, head, _) = subscribe(&serve, &[("topic", "*")], &[]);
    assert!(head.to_ascii_lowercase().contains(&format!("last-event-id: {id}\r\n")), "{head}");
}

/// Private updates reach only subscribers whose token's `mercure.subscribe`
/// selectors match one of the update's topics, through every carrier a
/// Mercure client uses; an anonymous subscriber gets the public ones only.
#[test]
fn private_updates_reach_only_subscribers_granted_one_of_their_topics() {
    let key = secret_file("private");
    let serve = Serve::start(&["--keep-alive", "0", "--subscribe-key", key.to_str().unwrap()]);
    let topic = ("topic", "https://example.com/orders/{id}");
    let granted = token(&json!({"mercure": {"subscribe": ["https://example.com/orders/42"]}}));
    let elsewhere = token(&json!({"mercure": {"subscribe": ["https://example.com/users/{id}"]}}));
    let mut anonymous = subscribe(&serve, &[topic], &[]).2.unwrap();
    let mut by_header =
        subscribe(&serve, &[topic], &[&format!("Authorization: Bearer {granted}")]).2.unwrap();
    let mut by_query = subscribe(&serve, &[topic, ("authorization", &granted)], &[]).2.unwrap();
    let mut by_cookie =
        subscribe(&serve, &[topic], &[&format!("Cookie: theme=dark; mercureAuthorization={granted}")])
            .2
            .unwrap();
    // Granted the alternate topic only: Mercure's rule, any topic counts.
    let mut by_alternate =
        subscribe(&serve, &[topic], &[&format!("Cookie: mercureAuthorization={elsewhere}")]).2.unwrap();

    let (_, public) = post(&serve, &[("topic", "https://example.com/orders/7"), ("data", "public")], &[]);
    let (_, private) = post(
        &serve,
        &[("topic", "https://example.com/orders/42"), ("data", "private"), ("private", "on")],
        &[],
    );
    let (_, for_user) = post(
        &serve,
        &[
            ("topic", "https://example.com/orders/9"),
            ("topic", "https://example.com/users/3"),
            ("data", "user"),
            ("private", ""),
        ],
        &[],
    );
    let (_, hidden) = post(
        &serve,
        &[("topic", "https://example.com/orders/8"), ("data", "hidden"), ("private", "on")],
        &[],
    );
    assert!(hidden.starts_with("urn:uuid:"));
    let got = |stream: &mut Stream| events(&stream.frames_within(Duration::from_millis(600)));
    let ev = |id: &str, data: &str| (id.to_owned(), data.to_owned());
    assert_eq!(got(&mut anonymous), [ev(&public, "public")]);
    for (name, stream) in [("header", &mut by_header), ("query", &mut by_query), ("cookie", &mut by_cookie)] {
        assert_eq!(got(stream), [ev(&public, "public"), ev(&private, "private")], "{name}");
    }
    assert_eq!(got(&mut by_alternate), [ev(&public, "public"), ev(&for_user, "user")]);
    // A bad token is refused, not ignored.
    let (status, _, _) = subscribe(&serve, &[topic], &["Cookie: mercureAuthorization=not.a.token"]);
    assert_eq!(status, 401);
}

/// A publisher needs a token whose `mercure.publish` selectors cover every
/// topic of its update; a refused update is not published.
#[test]
fn publishers_are_authorized_for_every_topic() {
    let key = secret_file("publish");
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key.to_str().unwrap()]);
    let mut all = subscribe(&serve, &[("topic", "*")], &[]).2.unwrap();
    let books = token(&json!({"mercure": {"publish": ["https://example.com/books/{id}"]}}));
    let bearer = format!("Authorization: Bearer {books}");
    let (status, _) = post(&serve, &[("topic", "https://example.com/books/1"), ("data", "x")], &[]);
    assert_eq!(status, 401, "no token");
    let two =
        [("topic", "https://example.com/books/1"), ("topic", "https://example.com/authors/1"), ("data", "x")];
    let (status, _) = post(&serve, &two, &[&bearer]);
    assert_eq!(status, 403, "an alternate topic it was not granted");
    let (status, id) = post(&serve, &[("topic", "https://example.com/books/1"), ("data", "ok")], &[&bearer]);
    assert_eq!(status, 200);
    assert_eq!(events(&all.frames_within(Duration::from_millis(600))), [(id, "ok".to_owned())]);
}

/// What the protocol forbids is refused with the status it names, and
/// nothing of it is published.
#[test]
fn what_the_protocol_forbids_is_refused() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let mut all = subscribe(&serve, &[("topic", "*")], &[]).2.unwrap();
    let cases: &[(&[(&str, &str)], u16)] = &[
        (&[("data", "no topic")], 400),
        (&[("topic", "*")], 400),
        (&[("topic", "/.well-known/mercure/subscriptions/x/y")], 400),
        (&[("topic", "https://hub.example/.well-known/%6Dercure/subscriptions/x")], 400),
        (&[("topic", "a"), ("type", "mercure")], 400),
        (&[("topic", "a"), ("id", "earliest")], 400),
        (&[("topic", "a"), ("id", "#1")], 400),
        (&[("topic", "a"), ("retry", "-1")], 400),
        (&[("topic", "a\u{1}b")], 400),
    ];
    for (pairs, want) in cases {
        assert_eq!(post(&serve, pairs, &[]).0, *want, "{pairs:?}");
    }
    let many: Vec<(&str, String)> = (0..40).map(|i| ("topic", format!("t{i}"))).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post(&serve, &many, &[]).0, 413);
    let (status, _) = serve.request("POST", HUB, &["Content-Type: application/json"], b"{}");
    assert_eq!(status, 415);
    let origin = "Origin: https://evil.example";
    assert_eq!(post(&serve, &[("topic", "a"), ("data", "csrf")], &[origin]).0, 403);
    for (query, want) in [
        (form(&[("lastEventID", "x")]), 400),
        (form(&[("match_regex", "^https://")]), 400),
        (form(&[("match_urlpattern", "https://example.com/(")]), 400),
        (form(&[("MATCH_exact", "a")]), 400),
        (form(&[("topic", &"x".repeat(2000))]), 400),
    ] {
        assert_eq!(Stream::open(serve.addr, &format!("{HUB}?{query}"), &[]).0, want, "{query}");
    }
    assert!(events(&all.frames_within(Duration::from_millis(300))).is_empty(), "nothing was published");
    // Unknown fields are ignored.
    assert_eq!(post(&serve, &[("topic", "a"), ("data", "ok"), ("future", "1")], &[]).0, 200);
}

/// Resuming on the Mercure endpoint replays exactly what the subscriber
/// missed, from the `Last-Event-ID` header or the `lastEventID` query
/// parameter, updates with several topics once; `earliest` replays all
/// that is kept.
#[test]
fn resuming_replays_exactly() {
    let serve = Serve::start(&["--keep-alive", "0"]);
    let topics: [&[&str]; 5] = [&["urn:a"], &["urn:b"], &["urn:a", "urn:b"], &["urn:c"], &["urn:b", "urn:a"]];
    let ids: Vec<String> = topics
        .iter()
        .enumerate()
        .map(|(i, topics)| {
            let data = format!("e{i}");
            let mut pairs: Vec<(&str, &str)> = topics.iter().map(|t| ("topic", *t)).collect();
            pairs.push(("data", &data));
            let (status, id) = post(&serve, &pairs, &[]);
            assert_eq!(status, 200);
            id
        })
        .collect();
    let selection = [("topic", "urn:a"), ("topic", "urn:b")];
    let ev = |i: usize| (ids[i].clone(), format!("e{i}"));
    let header = format!("Last-Event-ID: {}", ids[0]);
    let mut resumed = subscribe(&serve, &selection, &[&header]).2.unwrap();
    assert_eq!(events(&resumed.frames_within(Duration::from_millis(600))), [ev(1), ev(2), ev(4)]);
    let mut query: Vec<(&str, &str)> = selection.to_vec();
    query.push(("lastEventID", &ids[2]));
    let mut by_query = subscribe(&serve, &query, &[]).2.unwrap();
    assert_eq!(events(&by_query.frames_within(Duration::from_millis(600))), [ev(4)]);
    let mut earliest = subscribe(&serve, &[("topic", "urn:c"), ("lastEventID", "earliest")], &[]).2.unwrap();
    assert_eq!(events(&earliest.frames_within(Duration::from_millis(600))), [ev(3)]);
    // Live goes on after the replay, without a gap.
    let (_, next) = post(&serve, &[("topic", "urn:a"), ("data", "live")], &[]);
    assert_eq!(events(&resumed.frames_within(Duration::from_millis(600))), [(next, "live".to_owned())]);
    // An id this hub never gave: `missed`.
    let (_, _, stale) =
        subscribe(&serve, &selection, &["Last-Event-ID: urn:uuid:00000000-0000-8000-8000-000000000000"]);
    let frames = stale.unwrap().frames_within(Duration::from_millis(600));
    assert_eq!(frames, ["event: missed\ndata: \n\n"]);
}

fn tls_key(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Publishes through the Mercure endpoint with curl (over TLS, trusting
/// the test's certificate): the id.
fn curl_post(base: &str, pairs: &[(&str, &str)]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--cacert", &tls_key("localhost.pem"), "-w", "\n%{http_code}"])
        .args(["-H", FORM, "--data-binary", &form(pairs)])
        .arg(format!("{base}{HUB}"))
        .output()
        .expect("curl must be installed (scripts/test.sh installs it)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (id, status) = text.rsplit_once('\n').unwrap();
    assert_eq!(status, "200", "{text}");
    id.to_owned()
}

/// Headless Chromium: an `EventSource` on the Mercure endpoint receives
/// the public updates of its template and exact topic, and with the
/// `mercureAuthorization` cookie the private ones its token grants, each
/// once (an update on both of its topics too), over HTTP/1.1 or HTTP/2.
fn chromium_subscribes(tls: bool) {
    let key = secret_file(if tls { "browser-h2" } else { "browser-h1" });
    let mut args = vec!["--keep-alive", "0", "--subscribe-key", key.to_str().unwrap()];
    let (cert, pem) = (tls_key("localhost.pem"), tls_key("localhost.key"));
    if tls {
        args.extend(["--tls-cert", &cert, "--tls-key", &pem]);
    }
    let serve = Serve::start(&args);
    // Chromium speaks to `localhost`, the name the certificate and the
    // DNS-rebinding check accept.
    let base = serve.url("").replace("127.0.0.1", "localhost");
    let token = token(&json!({"mercure": {"subscribe": ["https://example.com/books/{id}"]}}));
    let (node, mut stdout) = node_until_open(&browser_tools().join("mercure.mjs"), &[&base, &token]);
    let publish = |pairs: &[(&str, &str)]| curl_post(&base, pairs);
    let both = publish(&[
        ("topic", "https://example.com/books/1"),
        ("topic", "https://example.com/authors/7"),
        ("data", "both topics"),
    ]);
    let private =
        publish(&[("topic", "https://example.com/books/2"), ("data", "private"), ("private", "on")]);
    let hidden =
        publish(&[("topic", "https://example.com/authors/7"), ("data", "hidden"), ("private", "on")]);
    let author = publish(&[("topic", "https://example.com/authors/7"), ("data", "author")]);
    assert!(hidden.starts_with("urn:uuid:"));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let out = wait(node, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(
        got["granted"],
        json!([[both, "both topics"], [private, "private"], [author, "author"]]),
        "{got}"
    );
    assert_eq!(got["anonymous"], json!([[both, "both topics"], [author, "author"]]), "{got}");
    assert_eq!(got["dashboard"], json!(["both topics", "private"]), "the dashboard through Mercure: {got}");
    assert_eq!(got["protocol"], if tls { "h2" } else { "http/1.1" }, "{got}");
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn chromium_subscribes_to_the_mercure_endpoint_over_http1() {
    chromium_subscribes(false);
}

#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn chromium_subscribes_to_the_mercure_endpoint_over_http2() {
    chromium_subscribes(true);
}

/// The JSON documents among `frames`.
fn documents(frames: &[String]) -> Vec<Value> {
    events(frames).into_iter().map(|(_, data)| serde_json::from_str(&data).unwrap()).collect()
}

/// With `--mercure-subscriptions`: a subscriber's arrival and departure are
/// published as private subscription events (with its token's payload) to
/// those granted the subscriptions' topics, and the subscriptions API lists
/// what is active; a publisher cannot forge such events.
#[test]
fn subscription_events_and_the_subscriptions_api() {
    let key = secret_file("presence");
    let key = key.to_str().unwrap();
    let serve = Serve::start(&[
        "--keep-alive",
        "0",
        "--subscribe-key",
        key,
        "--publish-key",
        key,
        "--mercure-subscriptions",
    ]);
    let presence = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
    let observer_token = token(&json!({"mercure": {"subscribe": [presence]}}));
    let observer_auth = format!("Authorization: Bearer {observer_token}");
    let mut observer = subscribe(&serve, &[("topic", presence)], &[&observer_auth]).2.unwrap();
    let mut anonymous = subscribe(&serve, &[("topic", "*")], &[]).2.unwrap();
    // The observer's own subscription is announced first, then the
    // anonymous one's.
    let first = documents(&observer.frames_within(Duration::from_millis(600)));
    let topics: Vec<&Value> = first.iter().map(|d| &d["topic"]).collect();
    assert_eq!(topics, [&json!(presence), &json!("*")], "{first:?}");

    let alice = token(&json!({"mercure": {"subscribe": [], "payload": {"user": "alice"}}}));
    let books = "https://example.com/books/{id}";
    let (status, _, reader) =
        subscribe(&serve, &[("topic", books)], &[&format!("Authorization: Bearer {alice}")]);
    assert_eq!(status, 200);
    let joined = documents(&observer.frames_within(Duration::from_millis(600)));
    assert_eq!(joined.len(), 1, "{joined:?}");
    let subscriber = joined[0]["subscriber"].as_str().unwrap().to_owned();
    assert!(subscriber.starts_with("urn:uuid:"), "{subscriber}");
    let id = format!(
        "/.well-known/mercure/subscriptions/{}/{}",
        form_urlencoded::byte_serialize(books.as_bytes()).collect::<String>().replace('+', "%20"),
        form_urlencoded::byte_serialize(subscriber.as_bytes()).collect::<String>()
    );
    assert_eq!(
        joined[0],
        json!({"@context": "https://mercure.rocks/", "id": id, "type": "Subscription", "topic": books,
               "subscriber": subscriber, "active": true, "payload": {"user": "alice"}})
    );

    // The API, for a token granted the subscriptions' topics.
    let api = |path: &str, auth: &str| {
        let (status, body) = serve.request("GET", path, &[auth], b"");
        (status, serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null))
    };
    let (status, all) = api("/.well-known/mercure/subscriptions", &observer_auth);
    assert_eq!(status, 200);
    assert_eq!(all["type"], "Subscriptions");
    let listed: Vec<&str> =
        all["subscriptions"].as_array().unwrap().iter().map(|s| s["topic"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 3, "{all}");
    assert!(listed.contains(&books) && listed.contains(&presence) && listed.contains(&"*"), "{all}");
    let (status, one) = api(&id, &observer_auth);
    assert_eq!(
        (status, &one["subscriber"], &one["payload"]),
        (200, &json!(subscriber), &json!({"user": "alice"}))
    );
    let stranger =
        format!("Authorization: Bearer {}", token(&json!({"mercure": {"subscribe": ["urn:other"]}})));
    let (status, head, _) = serve.exchange("GET", &id, &[&stranger], b"");
    assert_eq!(status, 403);
    assert!(
        head.to_ascii_lowercase().contains("www-authenticate: bearer") && head.contains("insufficient_scope"),
        "{head}"
    );
    let (status, head, _) = serve.exchange("GET", &id, &[], b"");
    assert_eq!(status, 401);
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");

    // Departure.
    drop(reader);
    let left = documents(&observer.frames_within(Duration::from_millis(1000)));
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!((&left[0]["subscriber"], &left[0]["active"]), (&json!(subscriber), &json!(false)));
    assert_eq!(api(&id, &observer_auth).0, 404);
    // Private: nobody else saw any of it.
    assert!(events(&anonymous.frames_within(Duration::from_millis(300))).is_empty());
    // No publisher forges them, by either endpoint.
    let publisher = format!(
        "Authorization: Bearer {}",
        token(&json!({"mercure": {"publish": ["*"]}, "sse": {"publish": ["*"]}}))
    );
    assert_eq!(post(&serve, &[("topic", &id), ("data", "{}")], &[&publisher]).0, 400);
    let forged = json!({"topic": id, "data": "{}", "private": true}).to_string();
    let (status, _) =
        serve.request("POST", "/publish", &["Content-Type: application/json", &publisher], forged.as_bytes());
    assert_eq!(status, 400);
}

/// pymercure (from PyPI, a Mercure client written against the Mercure
/// hub) publishes with a JWT and consumes a URI template and an exact
/// topic from `sse serve`: it gets back each update's id, and receives
/// the updates its topics select, once each, with those ids.
#[test]
#[ignore = "needs Python's pymercure and sseclient-py; scripts/test.sh installs them and runs it"]
fn pymercure_publishes_and_consumes() {
    let key = secret_file("pymercure");
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key.to_str().unwrap()]);
    let script = format!("{}/../tests/python/pymercure_client.py", env!("CARGO_MANIFEST_DIR"));
    let jwt = token(&json!({"mercure": {"publish": ["https://example.com/{+path}"]}}));
    let child = Command::new("python3")
        .args([script.as_str(), &serve.url(HUB), &jwt])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let out = wait(child, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    let ids = got["ids"].as_array().unwrap();
    assert!(ids.iter().all(|id| id.as_str().unwrap().starts_with("urn:uuid:")), "{got}");
    assert_eq!(got["received"], json!([[ids[0], "both"], [ids[2], "author"]]), "{got}");
}

/// CORS on the Mercure endpoint, as the Mercure hub's `cors_origins`: a
/// listed origin may subscribe with credentials and publish after a
/// preflight; any other origin gets no CORS grant and cannot publish.
#[test]
fn cors_with_credentials_for_listed_origins_only() {
    let serve = Serve::start(&["--keep-alive", "0", "--cors", "https://app.example"]);
    let target = format!("{HUB}?{}", form(&[("topic", "*")]));
    let (status, head, _) = Stream::open(serve.addr, &target, &["Origin: https://app.example"]);
    let head = head.to_ascii_lowercase();
    assert_eq!(status, 200);
    assert!(head.contains("access-control-allow-origin: https://app.example\r\n"), "{head}");
    assert!(head.contains("access-control-allow-credentials: true\r\n"), "{head}");
    let (_, head, _) = Stream::open(serve.addr, &target, &["Origin: https://evil.example"]);
    assert!(!head.to_ascii_lowercase().contains("access-control-allow-origin"), "{head}");
    let preflight = [
        "Origin: https://app.example",
        "Access-Control-Request-Method: POST",
        "Access-Control-Request-Headers: authorization, content-type",
    ];
    let (status, _) = serve.request("OPTIONS", HUB, &preflight, b"");
    assert_eq!(status, 204);
    assert_eq!(post(&serve, &[("topic", "a"), ("data", "x")], &["Origin: https://app.example"]).0, 200);
    assert_eq!(post(&serve, &[("topic", "a"), ("data", "x")], &["Origin: https://evil.example"]).0, 403);
}

/// The newest draft's side of the protocol: `match` and
/// `match_urlpattern` subscriptions, and an RFC 9068 access token whose
/// `authorization_details` grant publishing (on `*`) and subscribing (on
/// a URL pattern); a `match_type` the hub does not know fails loudly.
#[test]
fn the_newest_drafts_matchers_and_authorization_details() {
    let key = secret_file("draft");
    let key = key.to_str().unwrap();
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key, "--subscribe-key", key]);
    let detail = |action: &str, matcher: Value| json!({"type": "https://mercure.rocks/authorization-detail", "actions": [action], "topics": [matcher]});
    let access = token(&json!({
        "aud": "https://localhost/.well-known/mercure", "iss": "https://localhost", "exp": 4102444800u64,
        "authorization_details": [
            detail("publish", json!({"match": "*"})),
            detail("subscribe", json!({"match": "https://example.net/orders/:id", "match_type": "urlpattern"})),
        ],
    }));
    let bearer = format!("Authorization: Bearer {access}");
    let mut exact = subscribe(&serve, &[("match", "https://example.net/foo/1")], &[]).2.unwrap();
    let mut pattern =
        subscribe(&serve, &[("match_urlpattern", "https://example.net/foo/:id")], &[]).2.unwrap();
    let mut orders =
        subscribe(&serve, &[("match_urlpattern", "https://example.net/orders/:id")], &[&bearer]).2.unwrap();
    let (status, id) = post(
        &serve,
        &[("topic", "https://example.net/foo/1"), ("data", "foo"), ("id", "mine-1")],
        &[&bearer],
    );
    assert_eq!((status, id.as_str()), (200, "mine-1"), "the publisher's id is honoured");
    post(&serve, &[("topic", "https://example.net/foo/1/x"), ("data", "deeper")], &[&bearer]);
    let (_, private) = post(
        &serve,
        &[("topic", "https://example.net/orders/7"), ("data", "paid"), ("private", "on")],
        &[&bearer],
    );
    let foo = [("mine-1".to_owned(), "foo".to_owned())];
    assert_eq!(events(&exact.frames_within(Duration::from_millis(600))), foo);
    assert_eq!(events(&pattern.frames_within(Duration::from_millis(600))), foo);
    assert_eq!(events(&orders.frames_within(Duration::from_millis(600))), [(private, "paid".to_owned())]);
    let unknown = token(
        &json!({"authorization_details": [detail("publish", json!({"match": "x", "match_type": "regex"}))]}),
    );
    let (status, _) =
        post(&serve, &[("topic", "x"), ("data", "no")], &[&format!("Authorization: Bearer {unknown}")]);
    assert_eq!(status, 401);
}

/// `sse token --mercure` mints what a Mercure hub expects: a `mercure`
/// claim in Mercure's selector syntax (with a payload), which `sse serve`
/// honours on the Mercure endpoint.
#[test]
fn sse_token_mints_mercure_claims() {
    let key = secret_file("token");
    let key = key.to_str().unwrap();
    let serve = Serve::start(&["--keep-alive", "0", "--publish-key", key]);
    let mint = |args: &[&str]| {
        let out =
            Command::new(common::process::SSE).args(["token", "--key", key]).args(args).output().unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap().trim().to_owned())
    };
    let (ok, token) =
        mint(&["--mercure", "--publish", "https://example.com/books/{id}", "--payload", r#"{"user":"a"}"#]);
    assert!(ok);
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let decoded = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET).unwrap(),
        &validation,
    )
    .unwrap();
    let claims = decoded.claims;
    assert_eq!(claims["mercure"]["publish"], json!(["https://example.com/books/{id}"]));
    assert_eq!(claims["mercure"]["payload"], json!({"user": "a"}));
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(post(&serve, &[("topic", "https://example.com/books/1"), ("data", "x")], &[&bearer]).0, 200);
    assert_eq!(post(&serve, &[("topic", "https://example.com/authors/1"), ("data", "x")], &[&bearer]).0, 403);
    assert!(!mint(&["--mercure", "--publish", "a", "--payload", "{not json"]).0);
}
