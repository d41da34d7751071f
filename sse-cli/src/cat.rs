//! `sse cat`: a client that behaves like a browser's EventSource, built on
//! the sse-wire parser.
//!
//! Connection rules (WHATWG HTML §9.2.3): send `Accept: text/event-stream`,
//! `Cache-Control: no-cache` and `Last-Event-ID` when the last event id is
//! not empty; only a 200 with a `text/event-stream` type is a stream (any
//! other answer fails the connection for good: exit 0 for 204, 1 for the
//! rest); after a stream ends or drops, wait the reconnection time and
//! connect again.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use sse_wire::{MessageEvent, Output, Parser};

/// Largest event data `sse cat` accepts; bigger events are skipped and
/// reported.
const MAX_DATA: usize = 1 << 20;

type EventParser = Parser<MAX_DATA, 1024, 1024>;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print one JSON object per event: {"type":…,"data":…,"last_event_id":…}.
    #[arg(long)]
    json: bool,
    /// Exit at the end of the stream instead of reconnecting.
    #[arg(long)]
    no_reconnect: bool,
    /// Exit after this many events.
    #[arg(long)]
    max_events: Option<u64>,
    /// Resume after this id (sent as Last-Event-ID).
    #[arg(long)]
    last_event_id: Option<String>,
    /// The stream's URL (http or https), or - to read a stream from stdin.
    source: String,
}

/// Why `sse cat` stops.
enum Stop {
    /// Done: end of input, `--max-events` reached, 204, or stdout closed.
    Done,
    /// A failure, with the reason for stderr.
    Failed(String),
}

struct Printer {
    json: bool,
    max_events: Option<u64>,
    printed: u64,
    out: std::io::Stdout,
}

impl Printer {
    /// Prints one event; `Err(Stop::Done)` when no more are wanted.
    fn event(&mut self, event: &MessageEvent<'_>) -> Result<(), Stop> {
        let (kind, data, id) =
            (event.event_type().to_string(), event.data().to_string(), event.last_event_id().to_string());
        let text = if self.json {
            #[derive(serde::Serialize)]
            struct Line<'a> {
                #[serde(rename = "type")]
                kind: &'a str,
                data: &'a str,
                last_event_id: &'a str,
            }
            let line = serde_json::to_string(&Line { kind: &kind, data: &data, last_event_id: &id })
                .map_err(|e| Stop::Failed(e.to_string()))?;
            format!("{line}\n")
        } else if id.is_empty() {
            format!("{kind}\n{data}\n\n")
        } else {
            format!("{kind} #{id}\n{data}\n\n")
        };
        let mut out = self.out.lock();
        // A closed stdout (`sse cat … | head`) is a normal way to stop.
        if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
            return Err(Stop::Done);
        }
        self.printed = self.printed.saturating_add(1);
        if self.max_events.is_some_and(|max| self.printed >= max) {
            return Err(Stop::Done);
        }
        Ok(())
    }

    /// Feeds bytes to the parser and prints what it dispatches.
    fn feed(&mut self, parser: &mut EventParser, mut bytes: &[u8], retry: &mut Duration) -> Result<(), Stop> {
        while !bytes.is_empty() {
            let (used, output) = parser.parse(bytes);
            match output {
                Some(Output::Event(event)) => self.event(&event)?,
                Some(Output::Retry(ms)) => *retry = Duration::from_millis(ms),
                Some(Output::Skipped(why)) => eprintln!("sse: {why}"),
                None => {}
            }
            bytes = bytes.get(used..).unwrap_or_default();
        }
        Ok(())
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
    let mut printer =
        Printer { json: args.json, max_events: args.max_events, printed: 0, out: std::io::stdout() };
    if args.max_events == Some(0) {
        return ExitCode::SUCCESS;
    }
    let mut parser: Box<EventParser> = Box::default();
    if let Some(id) = &args.last_event_id {
        // It is sent as a header and becomes the stream's last event id.
        if let Err(e) = sse_wire::check_id(id) {
            eprintln!("sse: --last-event-id: {e}");
            return ExitCode::from(2);
        }
        if let Err(e) = parser.set_last_event_id(id.as_bytes()) {
            eprintln!("sse: --last-event-id: {e}");
            return ExitCode::from(2);
        }
    }
    let stop = if args.source == "-" {
        from_stdin(&mut printer, &mut parser)
    } else {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(from_url(&args, &mut printer, &mut parser)),
            Err(e) => Stop::Failed(format!("cannot start the runtime: {e}")),
        }
    };
    match stop {
        Stop::Done => ExitCode::SUCCESS,
        Stop::Failed(reason) => {
            eprintln!("sse: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn from_stdin(printer: &mut Printer, parser: &mut EventParser) -> Stop {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut retry = Duration::ZERO;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => return Stop::Done,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Stop::Failed(format!("reading stdin: {e}")),
        };
        if let Err(stop) = printer.feed(parser, buf.get(..n).unwrap_or_default(), &mut retry) {
            return stop;
        }
    }
}

/// Whether a `Content-Type` is `text/event-stream` (case-insensitive,
/// parameters such as `charset` ignored).
fn is_event_stream(content_type: Option<&reqwest::header::HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

async fn from_url(args: &Args, printer: &mut Printer, parser: &mut EventParser) -> Stop {
    let client = match reqwest::Client::builder().build() {
        Ok(client) => client,
        Err(e) => return Stop::Failed(format!("cannot make an HTTP client: {e}")),
    };
    // "the reconnection time … initially an implementation-defined value,
    // probably in the region of a few seconds": browsers use 3 s.
    let mut retry = Duration::from_secs(3);
    let mut last_event_id = args.last_event_id.clone().unwrap_or_default();
    let mut unsendable = None;
    // Attempts in a row that delivered no event: each doubles the wait.
    let mut fruitless = 0u32;
    loop {
        let printed_before = printer.printed;
        let mut request = client
            .get(&args.source)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header(reqwest::header::CACHE_CONTROL, "no-cache");
        if !last_event_id.is_empty() {
            match reqwest::header::HeaderValue::from_str(&last_event_id) {
                Ok(value) => request = request.header("Last-Event-ID", value),
                // A valid SSE id that no header can carry (a control
                // character): resume is impossible, so say so once and
                // reconnect without it rather than fail for ever.
                Err(_) if unsendable.as_ref() != Some(&last_event_id) => {
                    eprintln!(
                        "sse: the last event id {last_event_id:?} cannot be sent as Last-Event-ID (it holds a \
                         control character); reconnecting without it"
                    );
                    unsendable = Some(last_event_id.clone());
                }
                Err(_) => {}
            }
        }
        match request.send().await {
            Err(e) => {
                // A network error: "reestablish the connection", as for a
                // stream that drops.
                if args.no_reconnect {
                    return Stop::Failed(format!("cannot connect to {}: {e}", args.source));
                }
                eprint!("sse: cannot connect ({e}); ");
            }
            Ok(response) if response.status() == reqwest::StatusCode::NO_CONTENT => {
                eprintln!("sse: the server answered 204 No Content: not reconnecting");
                return Stop::Done;
            }
            Ok(response) if response.status() != reqwest::StatusCode::OK => {
                return Stop::Failed(format!("the server answered {}: not reconnecting", response.status()));
            }
            Ok(response) if !is_event_stream(response.headers().get(reqwest::header::CONTENT_TYPE)) => {
                let kind = response.headers().get(reqwest::header::CONTENT_TYPE).map_or_else(
                    || "none".to_owned(),
                    |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
                );
                return Stop::Failed(format!(
                    "content type is {kind}, not text/event-stream: not reconnecting"
                ));
            }
            Ok(mut response) => {
                let ended = loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            if let Err(stop) = printer.feed(parser, &chunk, &mut retry) {
                                return stop;
                            }
                        }
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    }
                };
                parser.end_of_stream();
                last_event_id = parser.last_event_id().to_string();
                match (ended, args.no_reconnect) {
                    (None, true) => return Stop::Done,
                    (Some(e), true) => return Stop::Failed(format!("the stream failed: {e}")),
                    (None, false) => eprint!("sse: stream ended; "),
                    (Some(e), false) => {
                        eprint!("sse: stream failed ({e}); ");
                    }
                }
            }
        }
        fruitless = if printer.printed > printed_before { 0 } else { fruitless.saturating_add(1) };
        let delay = reconnect_delay(retry, fruitless);
        eprintln!("reconnecting in {} ms", delay.as_millis());
        tokio::time::sleep(delay).await;
    }
}

/// The shortest wait before reconnecting, whatever `retry:` says: a
/// server that sends `retry: 0` and closes cannot make `sse cat` spin.
const MIN_RECONNECT: Duration = Duration::from_millis(500);

/// The longest wait between attempts.
const MAX_RECONNECT: Duration = Duration::from_secs(60);

/// The wait before the next attempt: the server's reconnection time (at
/// least [`MIN_RECONNECT`]), doubled for each attempt in a row that
/// delivered no event, up to [`MAX_RECONNECT`].
fn reconnect_delay(retry: Duration, fruitless: u32) -> Duration {
    let doubled = 1u32.checked_shl(fruitless.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
    retry.max(MIN_RECONNECT).saturating_mul(if fruitless == 0 { 1 } else { doubled }).min(MAX_RECONNECT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_backs_off_and_never_spins() {
        let zero = Duration::ZERO;
        assert_eq!(reconnect_delay(zero, 0), MIN_RECONNECT);
        assert_eq!(reconnect_delay(zero, 1), MIN_RECONNECT);
        assert_eq!(reconnect_delay(zero, 2), MIN_RECONNECT * 2);
        assert_eq!(reconnect_delay(zero, 4), MIN_RECONNECT * 8);
        assert_eq!(reconnect_delay(Duration::from_secs(3), 0), Duration::from_secs(3));
        assert_eq!(reconnect_delay(Duration::from_secs(3), 100), MAX_RECONNECT);
        assert_eq!(reconnect_delay(Duration::from_secs(u64::MAX), 3), MAX_RECONNECT);
    }
}
