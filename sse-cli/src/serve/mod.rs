//! `sse serve`: a hub behind the HTTP server, with `POST /publish`, a
//! dashboard at `/`, and optional publishers (`--stdin`, `--demo`); with
//! `--redis`, one of many instances that share a Redis stream.
//!
//! Modules: `app` (the dashboard and publish routes), `sink` (where events
//! are published), `feeds` (`--demo`, `--stdin`), `keys` (token keys,
//! read again on SIGHUP).

mod app;
mod feeds;
mod keys;
mod sink;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use sse_std::{Hub, HubConfig, KeepaliveProbes, RedisConfig, RedisHub, Server, ServerConfig, Verify};

use app::App;
use sink::Sink;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SSE_LISTEN")]
    listen: SocketAddr,
    /// Events kept per topic for clients that resume with Last-Event-ID.
    #[arg(long, default_value_t = 1024, env = "SSE_HISTORY")]
    history: usize,
    /// Bytes the whole history may take; past it, the least recently
    /// published topics give up their oldest events first.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20, env = "SSE_HISTORY_BYTES")]
    history_bytes: usize,
    /// Seconds without traffic before a keep-alive comment (0: never).
    #[arg(long, default_value_t = 15, env = "SSE_KEEP_ALIVE")]
    keep_alive: u64,
    /// Most event streams at once; past it an EventSource is told to come
    /// back (200 with a jittered `retry:`), other clients get 503 with
    /// Retry-After [default: the connection bound, and no more than half
    /// the available memory holds at 64 KiB a stream].
    #[arg(long, env = "SSE_MAX_CLIENTS")]
    max_clients: Option<usize>,
    /// Most streams one HTTP/2 connection may have open at once.
    #[arg(long, value_name = "N", default_value_t = 100, env = "SSE_H2_MAX_STREAMS")]
    h2_max_streams: u32,
    /// Most connections at once, streams included; more get 503 and are
    /// closed [default: the open-file limit, raised to its maximum, less 64].
    #[arg(long, env = "SSE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Seconds a client may accept no bytes while events wait before its
    /// stream is closed (0: never).
    #[arg(long, default_value_t = 30, env = "SSE_STALL_TIMEOUT")]
    stall_timeout: u64,
    /// Milliseconds at least between two writes to one stream (0: write
    /// each event at once): events that come sooner go out together, for
    /// fewer system calls per event at up to this much added latency.
    #[arg(long, default_value_t = 0, env = "SSE_WRITE_INTERVAL")]
    write_interval: u64,
    /// TCP keep-alive probes on accepted connections, as IDLE:INTERVAL:COUNT
    /// seconds and probes (like nginx's so_keepalive), or "off": a client
    /// that vanished without closing is dropped after IDLE + INTERVAL × COUNT.
    #[arg(long, default_value = "30:10:3", value_parser = parse_keepalive, env = "SSE_TCP_KEEPALIVE")]
    tcp_keepalive: Keepalive,
    /// Seconds sent data may stay unacknowledged before the kernel drops the
    /// connection (TCP_USER_TIMEOUT, Linux; 0: the kernel's default).
    #[arg(long, default_value_t = 60, env = "SSE_TCP_USER_TIMEOUT")]
    tcp_user_timeout: u64,
    /// Publish each line of stdin as one event's data.
    #[arg(long, env = "SSE_STDIN")]
    stdin: bool,
    /// With --stdin: each line is a publish object, as for POST /publish.
    #[arg(long, requires = "stdin", env = "SSE_JSON")]
    json: bool,
    /// Publish simulated sensor readings (event `sensor`, topic
    /// `sensors/demo`) every 250 ms.
    #[arg(long, env = "SSE_DEMO")]
    demo: bool,
    /// Allow this origin (`https://app.example`; repeatable; `*` for any
    /// origin, without credentials) to read the stream and publish from
    /// its pages (CORS): its preflights are answered, and its requests may
    /// carry cookies and tokens (`withCredentials`).
    #[arg(long, value_name = "ORIGIN", env = "SSE_CORS", value_delimiter = ',')]
    cors: Vec<String>,
    /// Verify publishers' tokens with this key: every POST /publish then
    /// needs `Authorization: Bearer <JWT>` whose claims hold
    /// {"sse": {"publish": SELECTORS}} (a JSON list). A PEM public key (RS256, PS256,
    /// ES256, EdDSA, ...), a JWK Set (JSON with "keys") or, for any other
    /// file, an HMAC secret of at least 32 bytes (HS256): the file's bytes
    /// as they are. Repeat it to accept tokens of several keys (rotation);
    /// SIGHUP reads every key file again.
    #[arg(long, value_name = "FILE", env = "SSE_PUBLISH_KEY")]
    publish_key: Vec<PathBuf>,
    /// Verify subscribers' tokens with this key (as for --publish-key):
    /// a token with {"sse": {"subscribe": SELECTORS}} in the
    /// Authorization header, the `authorization` query parameter or the
    /// `sse_auth` cookie adds the private events of the topics it grants,
    /// until the token's `exp`: then the stream is closed and the client
    /// reconnects with the token it holds then.
    #[arg(long, value_name = "FILE", env = "SSE_SUBSCRIBE_KEY")]
    subscribe_key: Vec<PathBuf>,
    /// Accept only tokens whose `aud` claim names this audience
    /// (repeatable: any of them).
    #[arg(long, value_name = "AUD", env = "SSE_JWT_AUDIENCE", value_delimiter = ',')]
    jwt_audience: Vec<String>,
    /// Accept only tokens whose `iss` claim is this issuer (repeatable:
    /// any of them).
    #[arg(long, value_name = "ISS", env = "SSE_JWT_ISSUER", value_delimiter = ',')]
    jwt_issuer: Vec<String>,
    /// Let anyone who can reach the listening address publish, without a
    /// token. Needed to listen beyond loopback without --publish-key.
    #[arg(long, conflicts_with = "publish_key", env = "SSE_ANONYMOUS_PUBLISH")]
    anonymous_publish: bool,
    /// How the ids the hub gives events are written: `urn`
    /// (`urn:uuid:…`, as the Mercure protocol asks) or `epoch`
    /// (`<epoch>-<n>`, shorter). Either resumes exactly. With --redis the
    /// ids are Redis's (`<epoch>-<stream id>`).
    #[arg(long, value_name = "FORM", default_value = "urn", value_parser = parse_ids, env = "SSE_IDS")]
    ids: IdsArg,
    /// Do not serve the Mercure protocol at /.well-known/mercure.
    #[arg(long, env = "SSE_NO_MERCURE")]
    no_mercure: bool,
    /// Publish Mercure's subscription events (private updates on
    /// /.well-known/mercure/subscriptions/{topic}/{subscriber}, seen only
    /// by subscribers granted that topic) and serve the subscriptions API
    /// there. Off by default: it tells who is subscribed to what.
    #[arg(long, conflicts_with = "no_mercure", env = "SSE_MERCURE_SUBSCRIPTIONS")]
    mercure_subscriptions: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key): HTTP/2
    /// and HTTP/1.1 by ALPN, so a browser keeps any number of streams to
    /// this origin on one connection.
    #[arg(long, value_name = "FILE", requires = "tls_key", env = "SSE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "SSE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Share events with every `sse serve` on this Redis (redis://HOST:PORT):
    /// they all publish into one stream and deliver the same events with
    /// the same ids, so a client resumes on any of them. --history sets the
    /// stream's approximate length.
    #[arg(long, value_name = "URL", env = "SSE_REDIS")]
    redis: Option<String>,
    /// The Redis stream's key (its epoch is kept at KEY:epoch).
    #[arg(long, value_name = "KEY", default_value = "sse", requires = "redis", env = "SSE_REDIS_KEY")]
    redis_key: String,
    /// Answer requests for this host name too (repeatable). On a loopback
    /// address only localhost and loopback addresses are answered (421
    /// otherwise), so that no web page reaches the server by DNS rebinding.
    #[arg(long = "allow-host", value_name = "NAME", env = "SSE_ALLOW_HOST", value_delimiter = ',')]
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
            Ok(Keepalive(Some(KeepaliveProbes::new(idle, interval, retries))))
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
    if !args.listen.ip().is_loopback() && args.publish_key.is_empty() && !args.anonymous_publish {
        eprintln!(
            "sse: refusing to listen on {} without --publish-key FILE: anyone who can reach it could \
             publish; give a key to verify publishers' tokens with, listen on a loopback address, or pass \
             --anonymous-publish to allow it",
            args.listen
        );
        return ExitCode::FAILURE;
    }
    raise_open_file_limit();
    let claims = keys::Claims { audience: &args.jwt_audience, issuer: &args.jwt_issuer };
    let keys = match keys::Keys::load(&args.publish_key, &args.subscribe_key, &claims) {
        Ok(keys) => Arc::new(keys),
        Err(message) => {
            eprintln!("sse: {message}");
            return ExitCode::FAILURE;
        }
    };
    let publish_verifier = keys.publish.clone().map(|v| v as Arc<dyn Verify>);
    let subscribe_verifier = keys.subscribe.clone().map(|v| v as Arc<dyn Verify>);
    Arc::clone(&keys).reload_on_hangup();
    let mut hub_config = HubConfig::default();
    hub_config.history_events = args.history;
    hub_config.history_bytes = args.history_bytes;
    hub_config.keep_alive = (args.keep_alive > 0).then(|| Duration::from_secs(args.keep_alive));
    hub_config.max_clients = Some(args.max_clients.unwrap_or_else(sse_std::default_max_clients));
    hub_config.ids = args.ids.0;
    let hub = Hub::new(hub_config);
    let sink = match &args.redis {
        None => Sink::new(hub.clone(), Arc::new(hub.clone())),
        Some(url) => {
            let mut config = RedisConfig::default();
            config.url = url.clone();
            config.key = args.redis_key.clone();
            config.max_len = args.history;
            match RedisHub::connect(hub.clone(), config).await {
                Ok(shared) => Sink::new(hub.clone(), Arc::new(shared)),
                Err(e) => {
                    eprintln!("sse: --redis {}: {e}", config_url_redacted(url));
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let mut config = ServerConfig::default();
    config.cors = sse_std::Cors::allow(&args.cors);
    config.stall_timeout = (args.stall_timeout > 0).then(|| Duration::from_secs(args.stall_timeout));
    config.write_interval = (args.write_interval > 0).then(|| Duration::from_millis(args.write_interval));
    config.tcp_keepalive = args.tcp_keepalive.0;
    config.tcp_user_timeout = (args.tcp_user_timeout > 0).then(|| Duration::from_secs(args.tcp_user_timeout));
    config.metrics_path = Some("/metrics".to_owned());
    config.allowed_hosts = args.allow_hosts.clone();
    config.subscribe_verifier = subscribe_verifier;
    config.mercure_path = (!args.no_mercure).then(|| sse_std::MERCURE_PATH.to_owned());
    config.mercure_subscriptions = args.mercure_subscriptions.then(|| sink.engine());
    config.h2_max_streams = args.h2_max_streams;
    if let Some(max) = args.max_connections {
        config.max_connections = max;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        match sse_std::TlsConfig::from_pem_files(cert, key) {
            Ok(tls) => config.tls = Some(tls),
            Err(e) => {
                eprintln!("sse: --tls-cert/--tls-key: {e}");
                return ExitCode::FAILURE;
            }
        }
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
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let ids = match (&args.redis, args.ids.0) {
        (None, sse_std::IdForm::Epoch) => format!("ids {}-<n>", hub.epoch()),
        (None, _) => format!("ids urn:uuid:… of epoch {}", hub.epoch()),
        (Some(_), _) => format!("ids <epoch>-<stream id> from redis key {}", args.redis_key),
    };
    let mercure =
        if args.no_mercure { String::new() } else { format!("Mercure at {}, ", sse_std::MERCURE_PATH) };
    eprintln!(
        "sse: serving {scheme}://{addr}/ (events at /events, publish with POST /publish ({publishers}), \
         {mercure}metrics at /metrics, {ids})"
    );

    if args.demo {
        tokio::spawn(feeds::demo(sink.clone()));
    }
    if args.stdin {
        tokio::spawn(feeds::stdin(sink.clone(), args.json));
    }
    let app = App { sink, config: config.clone(), publish_verifier, mercure: !args.no_mercure };
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

/// `--ids`.
#[derive(Clone, Copy, Debug)]
struct IdsArg(sse_std::IdForm);

fn parse_ids(text: &str) -> Result<IdsArg, String> {
    match text {
        "urn" => Ok(IdsArg(sse_std::IdForm::Urn)),
        "epoch" => Ok(IdsArg(sse_std::IdForm::Epoch)),
        _ => Err("urn or epoch".to_owned()),
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

/// A Redis URL as it may be printed: without its password.
fn config_url_redacted(url: &str) -> String {
    {
        let mut config = RedisConfig::default();
        config.url = url.to_owned();
        config
    }
    .redacted_url()
}
