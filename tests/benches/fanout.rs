//! Fan-out: 1 000 and 10 000 concurrent subscribers on 127.0.0.1, one
//! publisher at a fixed rate and flat out, sse-std's server against a
//! minimal axum SSE server fed by `tokio::sync::broadcast`, both read by the
//! same client harness (hyper clients, events parsed by sse-core). Prints
//! delivered events/s, publish-to-receive latency p50/p99 and server memory
//! per client, and the ratios. Run by `scripts/bench.sh` (which raises the
//! fd limit and builds `examples/fanout_server.rs`).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use sse_core::{Output, Parser};
use tokio::sync::Semaphore;

struct Outcome {
    delivered_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    kib_per_client: f64,
    sent: u64,
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// One client: streams until the server ends; returns (events, latency samples in µs).
async fn client(port: u16, sample_every: u64) -> (u64, Vec<u64>) {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return (0, vec![]) };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
        return (0, vec![]);
    };
    tokio::spawn(conn);
    let request = http::Request::builder()
        .uri("/events")
        .header("host", "127.0.0.1")
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let Ok(response) = sender.send_request(request).await else { return (0, vec![]) };
    let mut body = response.into_body();
    let mut parser: Box<Parser<4096, 32, 32>> = Box::default();
    let (mut events, mut samples) = (0u64, Vec::new());
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else { continue };
        let now = now_ns();
        parser.feed(&data, |o| {
            if let Output::Event(e) = o {
                events += 1;
                // {"t":<ns>,"n":<seq>}
                let d = e.data().as_bytes();
                if events.is_multiple_of(sample_every)
                    && let Some(t) = d.get(5..).and_then(|r| r.split(|&b| b == b',').next())
                    && let Some(sent) = std::str::from_utf8(t).ok().and_then(|t| t.parse::<u128>().ok())
                {
                    samples.push((now.saturating_sub(sent) / 1000) as u64);
                }
            }
        });
    }
    (events, samples)
}

fn server_path() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples/fanout_server");
    assert!(path.exists(), "build it first: cargo build --release -p sse-tests --example fanout_server");
    path
}

fn run(server: &str, clients: usize, rate: Option<u64>, seconds: u64) -> Outcome {
    let mut child = Command::new(server_path())
        .args([
            server,
            &clients.to_string(),
            &rate.map_or("max".into(), |r| r.to_string()),
            &seconds.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = lines.next().unwrap().unwrap().strip_prefix("port ").unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sample_every = if rate.is_some() { 1 } else { 64 };
    let limit = Arc::new(Semaphore::new(256));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let limit = Arc::clone(&limit);
            runtime.spawn(async move {
                // Connect at most 256 at a time (the listen backlog).
                let permit = limit.acquire_owned().await.unwrap();
                let connecting = tokio::spawn(client(port, sample_every));
                tokio::time::sleep(Duration::from_millis(2)).await;
                drop(permit);
                connecting.await.unwrap()
            })
        })
        .collect();
    // The server reports its RSS once every client is connected, then
    // publishes.
    let rss = lines.next().unwrap().unwrap();
    let rss: Vec<u64> = rss.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
    let started = Instant::now();
    let done = lines.next().unwrap().unwrap();
    let publish_time = started.elapsed().as_secs_f64().max(seconds as f64);
    let sent: u64 = done.split_whitespace().last().unwrap().parse().unwrap();
    let results = runtime.block_on(async {
        let mut all = Vec::new();
        for t in tasks {
            all.push(
                tokio::time::timeout(Duration::from_secs(30), t)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default(),
            );
        }
        all
    });
    let _ = child.wait();
    let delivered: u64 = results.iter().map(|r| r.0).sum();
    let mut samples: Vec<u64> = results.into_iter().flat_map(|r| r.1).collect();
    samples.sort_unstable();
    let pct = |p: f64| {
        samples.get(((samples.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0
    };
    Outcome {
        delivered_per_s: delivered as f64 / publish_time,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        kib_per_client: (rss[1].saturating_sub(rss[0])) as f64 / clients as f64,
        sent,
    }
}

fn main() {
    // `cargo bench` passes flags such as --bench; this harness takes none.
    println!(
        "| clients | publisher | server | sent | delivered events/s | latency p50 | latency p99 | server RSS per client |"
    );
    println!("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |");
    let mut ratios = Vec::new();
    for clients in [1_000usize, 10_000] {
        for (rate, seconds) in [(Some(20u64), 5u64), (None, 3)] {
            let label = rate.map_or("flat out".to_owned(), |r| format!("{r}/s"));
            let ours = run("ours", clients, rate, seconds);
            let axum = run("axum", clients, rate, seconds);
            for (name, o) in [("sse-std", &ours), ("axum + broadcast", &axum)] {
                println!(
                    "| {clients} | {label} | {name} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} KiB |",
                    o.sent, o.delivered_per_s, o.p50_ms, o.p99_ms, o.kib_per_client
                );
            }
            ratios.push(format!(
                "| {clients} | {label} | {:.2}× | {:.2}× | {:.2}× |",
                ours.delivered_per_s / axum.delivered_per_s.max(1.0),
                axum.p99_ms.max(0.001) / ours.p99_ms.max(0.001),
                ours.kib_per_client / axum.kib_per_client.max(0.001),
            ));
        }
    }
    println!();
    println!(
        "| clients | publisher | delivered events/s, sse-std ÷ axum (goal ≥ 2×) | p99 latency, axum ÷ sse-std | memory per client, sse-std ÷ axum (goal ≤ 0.5×) |"
    );
    println!("| ---: | --- | ---: | ---: | ---: |");
    for r in ratios {
        println!("{r}");
    }
}
