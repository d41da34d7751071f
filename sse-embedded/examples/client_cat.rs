//! sse-embedded's no_std client on a host, over a tokio TCP stream: prints
//! each event exactly as `sse cat` does, so that the two can be compared.
//!
//!     cargo run --release -p sse-embedded --features client --example client_cat -- \
//!         [--json] [--no-reconnect] [--max-events N] URL
//!
//! Exits 0 on 204, after `--max-events`, or (with `--no-reconnect`) at the
//! end of the stream; 1 on a failure with `--no-reconnect`; 2 on bad
//! arguments.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use sse_embedded::{ClientConfig, Connect, Control, Ended, EventSource, Target};

/// Connects with tokio (the host's brackets removed for IPv6).
struct Tcp;

impl Connect for Tcp {
    type Conn<'c> = FromTokio<tokio::net::TcpStream>;
    async fn connect(&mut self, target: &Target<'_>) -> Option<Self::Conn<'_>> {
        let host = target.host.trim_start_matches('[').trim_end_matches(']');
        tokio::net::TcpStream::connect((host, target.port)).await.ok().map(FromTokio::new)
    }
}

/// The client's timer: tokio's.
struct Delay;

impl embedded_hal_async::delay::DelayNs for Delay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(u64::from(ns))).await;
    }
}

struct Args {
    json: bool,
    reconnect: bool,
    max_events: Option<u64>,
    url: String,
}

fn args() -> Result<Args, String> {
    let mut args = Args { json: false, reconnect: true, max_events: None, url: String::new() };
    let mut rest = std::env::args().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--json" => args.json = true,
            "--no-reconnect" => args.reconnect = false,
            "--max-events" => {
                let n = rest.next().ok_or("--max-events needs a number")?;
                args.max_events = Some(n.parse().map_err(|_| format!("--max-events: not a number: {n}"))?);
            }
            url if args.url.is_empty() && !url.starts_with("--") => args.url = url.to_owned(),
            other => return Err(format!("unexpected argument: {other}")),
        }
    }
    if args.url.is_empty() {
        return Err("usage: client_cat [--json] [--no-reconnect] [--max-events N] URL".into());
    }
    Ok(args)
}

/// One event as `sse cat` prints it.
fn line(json: bool, kind: &str, data: &str, id: &str) -> String {
    if json {
        // The keys in `sse cat`'s order.
        let [kind, data, id] = [kind, data, id].map(|s| serde_json::Value::from(s).to_string());
        format!("{{\"type\":{kind},\"data\":{data},\"last_event_id\":{id}}}\n")
    } else if id.is_empty() {
        format!("{kind}\n{data}\n\n")
    } else {
        format!("{kind} #{id}\n{data}\n\n")
    }
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("client_cat: {e}");
            return ExitCode::from(2);
        }
    };
    let target = match Target::parse(&args.url) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("client_cat: {}: {e}", args.url);
            return ExitCode::from(2);
        }
    };
    if args.max_events == Some(0) {
        return ExitCode::SUCCESS;
    }
    let mut config = ClientConfig::new(target);
    config.reconnect = args.reconnect;
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("client_cat: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    // 64 KiB of data per event, ids and types up to 1 KiB, like a browser
    // tab would hold.
    let mut source: Box<EventSource<4096, 65536, 1024, 1024>> = Box::new(EventSource::new(&config));
    let mut printed = 0u64;
    let mut out = std::io::stdout();
    let ended = runtime.block_on(source.run(&config, &mut Tcp, &mut Delay, |event| {
        let text = line(
            args.json,
            &event.event_type().to_string(),
            &event.data().to_string(),
            &event.last_event_id().to_string(),
        );
        if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
            return Control::Stop;
        }
        printed += 1;
        if args.max_events.is_some_and(|max| printed >= max) { Control::Stop } else { Control::Continue }
    }));
    match ended {
        Ended::NoContent | Ended::Stopped | Ended::Closed => ExitCode::SUCCESS,
        Ended::GaveUp(e) => {
            eprintln!("client_cat: {e}");
            ExitCode::FAILURE
        }
    }
}
