//! `sse serve`: a hub behind the HTTP server, with `POST /publish`, a
//! dashboard at `/`, and optional publishers (`--stdin`, `--demo`).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use sse_core::{Audience, Event, Topic};
use sse_std::{
    AuthError, Body, Hub, HubConfig, INSUFFICIENT_SCOPE, JwtKey, JwtVerifier, KeepaliveProbes, PublishItem,
    Selectors, Server, ServerConfig, Verify, bearer_token, full, parse_publish, read_body, text_response,
};
use tokio::io::AsyncBufReadExt as _;

const DASHBOARD: &str = include_str!("dashboard.html");

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Events kept for clients that resume with Last-Event-ID.
    #[arg(long, default_value_t = 1024)]
    history: usize,
    /// Seconds without traffic before a keep-alive comment (0: never).
    #[arg(long, default_value_t = 15)]
    keep_alive: u64,
    /// Most event streams at once; more get 503 with Retry-After.
    #[arg(long)]
    max_clients: Option<usize>,
    /// Most connections at once, streams included; more get 503 and are
    /// closed [default: the open-file limit, raised to its maximum, less 64].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds a client may accept no bytes while events wait before its
    /// stream is closed (0: never).
    #[arg(long, default_value_t = 30)]
    stall_timeout: u64,
    /// TCP keep-alive probes on accepted connections, as IDLE:INTERVAL:COUNT
    /// seconds and probes (like nginx's so_keepalive), or "off": a client
    /// that vanished without closing is dropped after IDLE + INTERVAL × COUNT.
    #[arg(long, default_value = "30:10:3", value_parser = parse_keepalive)]
    tcp_keepalive: Keepalive,
    /// Seconds sent data may stay unacknowledged before the kernel drops the
    /// connection (TCP_USER_TIMEOUT, Linux; 0: the kernel's default).
    #[arg(long, default_value_t = 60)]
    tcp_user_timeout: u64,
    /// Publish each line of stdin as one event's data.
    #[arg(long)]
    stdin: bool,
    /// With --stdin: each line is a publish object, as for POST /publish.
    #[arg(long, requires = "stdin")]
    json: bool,
    /// Publish simulated sensor readings (event `sensor`, topic
    /// `sensors/demo`) every 250 ms.
    #[arg(long)]
    demo: bool,
    /// Allow this origin to read the stream and publish (CORS).
    #[arg(long)]
    cors: Option<String>,
    /// Verify publishers' tokens with this key: every POST /publish then
    /// needs `Authorization: Bearer <JWT>` whose claims hold
    /// {"sse": {"publish": SELECTORS}} (a JSON list). A PEM public key (RS256, PS256,
    /// ES256, EdDSA, ...) or, for any other file, an HMAC secret (HS256):
    /// the file's bytes as they are.
    #[arg(long, value_name = "FILE")]
    publish_key: Option<PathBuf>,
    /// Verify subscribers' tokens with this key (as for --publish-key):
    /// a token with {"sse": {"subscribe": SELECTORS}} in the
    /// Authorization header, the `authorization` query parameter or the
    /// `sse_auth` cookie adds the private events of the topics it grants.
    #[arg(long, value_name = "FILE")]
    subscribe_key: Option<PathBuf>,
    /// Let anyone who can reach the listening address publish, without a
    /// token. Needed to listen beyond loopback without --publish-key.
    #[arg(long, conflicts_with = "publish_key")]
    anonymous_publish: bool,
    /// Answer requests for this host name too (repeatable). On a loopback
    /// address only localhost and loopback addresses are answered (421
    /// otherwise), so that no web page reaches the server by DNS rebinding.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
}

/// `--tcp-keepalive`: probes, or `None` for "off".
#[derive(Clone, Copy, Debug)]
struct Keepalive(Option<KeepaliveProbes>);

fn parse_keepalive(text: &str) -> Result<Keepalive, String> {
    if text == "off" {
        return Ok(Keepalive(None));
    }
    let parts: Vec<&str> = text.split(':').collect();
    let [idle, interval, count] = parts.as_slice() else {
        return Err("expected IDLE:INTERVAL:COUNT (seconds, seconds, probes) or off".to_owned());
    };
    let secs = |s: &str| s.parse::<u64>().ok().filter(|&n| n > 0).map(Duration::from_secs);
    match (secs(idle), secs(interval), count.parse::<u32>().ok().filter(|&n| n > 0)) {
        (Some(idle), Some(interval), Some(retries)) => {
            Ok(Keepalive(Some(KeepaliveProbes { idle, interval, retries })))
        }
        _ => Err("IDLE, INTERVAL and COUNT must be positive whole numbers".to_owned()),
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sse: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    if !args.listen.ip().is_loopback() && args.publish_key.is_none() && !args.anonymous_publish {
        eprintln!(
            "sse: refusing to listen on {} without --publish-key FILE: anyone who can reach it could \
             publish; give a key to verify publishers' tokens with, listen on a loopback address, or pass \
             --anonymous-publish to allow it",
            args.listen
        );
        return ExitCode::FAILURE;
    }
    let (publish_verifier, subscribe_verifier) =
        match (load_key(args.publish_key.as_ref(), true), load_key(args.subscribe_key.as_ref(), false)) {
            (Ok(publish), Ok(subscribe)) => (publish, subscribe),
            (Err(message), _) | (_, Err(message)) => {
                eprintln!("sse: {message}");
                return ExitCode::FAILURE;
            }
        };
    let hub = Hub::new(HubConfig {
        history_events: args.history,
        history_bytes: args.history.saturating_mul(2048).max(1 << 20),
        keep_alive: (args.keep_alive > 0).then(|| Duration::from_secs(args.keep_alive)),
        max_clients: args.max_clients,
        ..HubConfig::default()
    });
    raise_open_file_limit();
    let mut config = ServerConfig {
        cors_origin: args.cors.clone(),
        stall_timeout: (args.stall_timeout > 0).then(|| Duration::from_secs(args.stall_timeout)),
        tcp_keepalive: args.tcp_keepalive.0,
        tcp_user_timeout: (args.tcp_user_timeout > 0).then(|| Duration::from_secs(args.tcp_user_timeout)),
        metrics_path: Some("/metrics".to_owned()),
        allowed_hosts: args.allow_hosts.clone(),
        subscribe_verifier,
        ..ServerConfig::default()
    };
    if let Some(max) = args.max_connections {
        config.max_connections = max;
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("sse: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    let publishers = if publish_verifier.is_some() { "bearer token required" } else { "no token" };
    eprintln!(
        "sse: serving http://{addr}/ (events at /events, publish with POST /publish ({publishers}), metrics at \
         /metrics, ids {}-<n>)",
        hub.epoch()
    );

    if args.demo {
        tokio::spawn(demo(hub.clone()));
    }
    if args.stdin {
        tokio::spawn(stdin(hub.clone(), args.json));
    }
    let app = App { hub: hub.clone(), config: config.clone(), publish_verifier };
    let app = Arc::new(app);
    let server = Server::new(hub, config).with_handler(Arc::new(move |req| {
        let app = Arc::clone(&app);
        Box::pin(async move { app.handle(req).await })
    }));
    let shutdown = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        eprintln!("sse: shutting down");
    };
    match server.run(listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so that the
/// default `max_connections` (derived from it) allows many streams.
fn raise_open_file_limit() {
    #[cfg(unix)]
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("sse: cannot raise the open-file limit: {e}");
    }
}

/// A `--publish-key` or `--subscribe-key` as a verifier; the message
/// names the flag when the file is unusable.
fn load_key(path: Option<&PathBuf>, publish: bool) -> Result<Option<Arc<dyn Verify>>, String> {
    let Some(path) = path else { return Ok(None) };
    let flag = if publish { "--publish-key" } else { "--subscribe-key" };
    let key = JwtKey::from_file(path).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
    let verifier = if publish { JwtVerifier::publishers(key) } else { JwtVerifier::subscribers(key) };
    Ok(Some(Arc::new(verifier)))
}

struct App {
    hub: Hub,
    config: ServerConfig,
    /// `None`: anyone who reaches the server publishes, without a token.
    publish_verifier: Option<Arc<dyn Verify>>,
}

impl App {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        match (req.uri().path(), req.method()) {
            ("/", &Method::GET | &Method::HEAD) => {
                let mut response = Response::new(full(Bytes::from_static(DASHBOARD.as_bytes())));
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
            ("/publish", &Method::POST) => self.publish(req).await,
            ("/publish" | "/events", &Method::OPTIONS) if self.config.cors_origin.is_some() => {
                let mut response = Response::new(full(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                let headers = response.headers_mut();
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("Content-Type, Last-Event-ID, Authorization"),
                );
                response
            }
            ("/", _) => not_allowed("GET"),
            ("/publish", _) => not_allowed("POST"),
            _ => text_response(StatusCode::NOT_FOUND, "not found"),
        }
    }

    /// `POST /publish`: validate and authorize every item, then publish
    /// them all. Only a JSON body from this server's own origin (or the
    /// `--cors` one) is taken, so that no other web page can publish: a
    /// cross-site form or `text/plain` request gets 415, a foreign `Origin`
    /// 403. With `--publish-key`, a missing or bad token gets 401 and a
    /// token that does not grant every item's topic 403: nothing of the
    /// request is published.
    async fn publish(&self, req: Request<Incoming>) -> Response<Body> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            let mut response =
                text_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json");
            response.headers_mut().insert("accept-post", HeaderValue::from_static("application/json"));
            return response;
        }
        if let Some(origin) = req.headers().get(header::ORIGIN)
            && !self.origin_allowed(origin, req.headers().get(header::HOST))
        {
            return text_response(StatusCode::FORBIDDEN, "publishing from another origin is not allowed");
        }
        let grants = match self.publisher_grants(req.headers().get(header::AUTHORIZATION)) {
            Ok(grants) => grants,
            Err(e) => return challenge(StatusCode::UNAUTHORIZED, &e.to_string(), &e.challenge()),
        };
        let body =
            match read_body(req.into_body(), self.config.max_body_bytes, self.config.body_timeout).await {
                Ok(body) => body,
                Err(response) => return response,
            };
        let items = match parse_publish(&body) {
            Ok(items) => items,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let mut prepared = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match prepare(item, grants.as_ref()) {
                Ok(ready) => prepared.push(ready),
                Err(Refused::Invalid(e)) => {
                    return text_response(StatusCode::BAD_REQUEST, &format!("item {index}: {e}"));
                }
                Err(Refused::NotGranted) => {
                    let message = format!(
                        "item {index}: the token does not grant publishing to topic {}",
                        item.topic.as_deref().unwrap_or("(none; needs \"*\")")
                    );
                    return challenge(StatusCode::FORBIDDEN, &message, INSUFFICIENT_SCOPE);
                }
            }
        }
        let mut ids = Vec::with_capacity(prepared.len());
        for (audience, event) in prepared {
            match self.hub.publish_to(audience, &event) {
                Ok(published) => ids.push(published.id),
                Err(e) => return text_response(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
            }
        }
        let mut json = String::from("{\"ids\":");
        json.push_str(&serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned()));
        json.push_str("}\n");
        let mut response = Response::new(full(Bytes::from(json)));
        *response.status_mut() = StatusCode::ACCEPTED;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// What the request's token lets it publish: `None` for anything
    /// (no `--publish-key`, and no token presented).
    fn publisher_grants(&self, authorization: Option<&HeaderValue>) -> Result<Option<Selectors>, AuthError> {
        match (&self.publish_verifier, authorization) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(AuthError::invalid("this hub accepts no publisher tokens")),
            (Some(_), None) => Err(AuthError::Missing),
            (Some(verifier), Some(value)) => verifier.verify(bearer_token(value.as_bytes())?).map(Some),
        }
    }
}

/// Why an item cannot be published.
enum Refused {
    Invalid(String),
    NotGranted,
}

/// An item's audience and event, if `grants` (`None`: anything) covers
/// its topic.
fn prepare<'a>(
    item: &'a PublishItem,
    grants: Option<&Selectors>,
) -> Result<(Audience<'a>, Event<'a>), Refused> {
    let audience = item.audience().map_err(|e| Refused::Invalid(e.to_string()))?;
    let event = item.to_event().map_err(|e| Refused::Invalid(e.to_string()))?;
    if grants.is_some_and(|grants| !grants.covers(audience.topic_name())) {
        return Err(Refused::NotGranted);
    }
    Ok((audience, event))
}

/// `status` with a `WWW-Authenticate` challenge.
fn challenge(status: StatusCode, message: &str, challenge: &str) -> Response<Body> {
    let mut response = text_response(status, message);
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

impl App {
    /// The server's own origin (`http://` and the request's `Host`), or the
    /// `--cors` origin (`*`: any).
    fn origin_allowed(&self, origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
        let origin = origin.as_bytes();
        let own = host.is_some_and(|host| {
            origin.strip_prefix(b"http://").is_some_and(|rest| rest.eq_ignore_ascii_case(host.as_bytes()))
        });
        let cors =
            self.config.cors_origin.as_deref().is_some_and(|cors| cors == "*" || cors.as_bytes() == origin);
        own || cors
    }
}

/// Whether a `Content-Type` is `application/json` (parameters aside).
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, &format!("use {allow}"));
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// `--demo`: a temperature and a humidity that drift smoothly, with a
/// little noise, every 250 ms.
async fn demo(hub: Hub) {
    let Ok(topic) = Topic::new("sensors/demo").map(Audience::on) else { return };
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    let mut data = String::new();
    for tick in 0u64.. {
        ticker.tick().await;
        // xorshift: deterministic noise without a dependency.
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let jitter = (noise % 1000) as f64 / 1000.0 - 0.5;
        let t = tick as f64 / 20.0;
        let temperature = 21.0 + 2.5 * t.sin() + 0.3 * jitter;
        let humidity = 45.0 + 8.0 * (t / 1.7).cos() - 0.5 * jitter;
        data.clear();
        let _ = write!(data, "{{\"temperature\":{temperature:.2},\"humidity\":{humidity:.2}}}");
        let Ok(event) = Event::new().with_event("sensor") else { return };
        if hub.publish_to(topic, &event.with_data(&data)).is_err() {
            return;
        }
    }
}

/// `--stdin`: one event per line (`--json`: one publish object or array
/// per line). Invalid lines are reported and skipped; at the end of stdin
/// the server goes on serving.
async fn stdin(hub: Hub, json: bool) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("sse: reading stdin: {e}");
                break;
            }
        };
        if json {
            match parse_publish(line.as_bytes()) {
                Ok(items) => {
                    for item in &items {
                        if let Ok((audience, event)) = prepare(item, None) {
                            let _ = hub.publish_to(audience, &event);
                        }
                    }
                }
                Err(e) => eprintln!("sse: stdin line refused: {e}"),
            }
        } else if let Err(e) = hub.publish(&Event::new().with_data(&line)) {
            eprintln!("sse: {e}");
            break;
        }
    }
    eprintln!("sse: stdin closed; still serving");
}
