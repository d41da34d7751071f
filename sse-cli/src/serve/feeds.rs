//! Publishers inside `sse serve`: `--demo` (simulated sensor readings)
//! and `--stdin` (one event per line).

use std::fmt::Write as _;
use std::time::Duration;

use sse_std::parse_publish;
use sse_wire::{Audience, Event, Topic};
use tokio::io::AsyncBufReadExt as _;

use super::app::{Refused, prepare};
use super::sink::Sink;

/// `--demo`: a temperature and a humidity that drift smoothly, with a
/// little noise, every 250 ms.
pub(crate) async fn demo(sink: Sink) {
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
        let publishing = sink.publish(&[sse_std::Update::new(topic, event.with_data(&data))]);
        if let Err(failed) = publishing.await {
            if sink.hub().is_shut_down() {
                return;
            }
            tracing::warn!(message = %failed.message, "--demo: a reading was not published");
        }
    }
}

/// `--stdin`: one event per line (`--json`: one publish object or array
/// per line). Invalid lines are reported and skipped; at the end of stdin
/// the server goes on serving.
pub(crate) async fn stdin(sink: Sink, json: bool) {
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
                    let publishing =
                        match items.iter().map(|item| prepare(item, None)).collect::<Result<Vec<_>, _>>() {
                            Ok(prepared) => sink.publish(&prepared),
                            Err(Refused::Invalid(e)) => {
                                eprintln!("sse: stdin line refused: {e}");
                                continue;
                            }
                            Err(Refused::NotGranted) => continue,
                        };
                    if let Err(failed) = publishing.await {
                        eprintln!("sse: stdin line not published: {}", failed.message);
                    }
                }
                Err(e) => eprintln!("sse: stdin line refused: {e}"),
            }
        } else {
            let publishing =
                sink.publish(&[sse_std::Update::new(Audience::EVERYONE, Event::new().with_data(&line))]);
            if let Err(failed) = publishing.await {
                eprintln!("sse: stdin line not published: {}", failed.message);
                if sink.hub().is_shut_down() {
                    break;
                }
            }
        }
    }
    eprintln!("sse: stdin closed; still serving");
}
