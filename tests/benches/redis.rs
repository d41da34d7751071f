//! Throughput through Redis: events published to one `sse serve --redis`
//! instance and delivered by two (100 clients on each), next to one
//! in-memory `sse serve` delivering to the same 200 clients. Publishing is
//! paced in steps (2 s each, batches of 100 over HTTP, fresh servers per
//! step), then a sentinel; a step ends when every client has the sentinel.
//! Every event is counted. The headline is the highest step with nothing
//! lost; the flat-out run (four publishers, no pacing) prints its loss
//! (events a client never got, told by `missed`) next to its rate. Run by
//! `scripts/bench.sh` (which builds the release `sse` binary); needs
//! `redis-server`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sse_wire::{Output, Parser};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const FLAT_OUT_EVENTS: usize = 100_000;
const BATCH: usize = 100;
/// Paced publish rates tried, events/s.
const STEPS: [u64; 6] = [1_000, 2_000, 5_000, 10_000, 20_000, 40_000];
const PUBLISHERS: usize = 4;
const CLIENTS_PER_INSTANCE: usize = 100;

fn sse() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/sse")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn serve(extra: &[&str]) -> (Killed, u16) {
    let port = free_port();
    let child = Command::new(sse())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--keep-alive", "0", "--history", "1024"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("build the release sse binary first (scripts/bench.sh does)");
    wait_for(port);
    (Killed(child), port)
}

/// One client: (events, missed signals) until the sentinel.
async fn client(port: u16, ready: tokio::sync::mpsc::Sender<()>) -> (u64, u64) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut parser: Box<Parser<4096, 64, 64>> = Box::default();
    let (mut events, mut missed, mut done, mut head) = (0u64, 0u64, false, Vec::new());
    let mut buf = vec![0u8; 64 * 1024];
    let mut ready = Some(ready);
    while !done {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        let mut bytes = &buf[..n];
        if head.len() < 4 || !head.ends_with(b"\r\n\r\n") {
            // The response head, then the body.
            let end = bytes.windows(4).position(|w| w == b"\r\n\r\n");
            match end {
                Some(end) => {
                    head.extend_from_slice(&bytes[..end + 4]);
                    bytes = &bytes[end + 4..];
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(()).await;
                    }
                }
                None => {
                    head.extend_from_slice(bytes);
                    continue;
                }
            }
        }
        parser.feed(bytes, |o| {
            if let Output::Event(e) = o {
                if e.event_type().as_bytes() == b"missed" {
                    missed += 1;
                } else if e.data().as_bytes() == b"end" {
                    done = true;
                } else {
                    events += 1;
                }
            }
        });
    }
    (events, missed)
}

/// One publish request for `items`, on a kept-alive connection.
fn request(items: &[String], close: bool) -> String {
    let body = format!("[{}]", items.join(","));
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{connection}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Publishes `events` events to `port` in batches of `BATCH`: paced at
/// `rate` events/s by one publisher, or flat out by `PUBLISHERS`; then the
/// sentinel. The time publishing took.
async fn publish(port: u16, events: usize, rate: Option<u64>) -> Duration {
    let started = tokio::time::Instant::now();
    let publishers = if rate.is_some() { 1 } else { PUBLISHERS };
    let batches = events / publishers / BATCH;
    let mut tasks = Vec::new();
    for p in 0..publishers {
        tasks.push(tokio::spawn(async move {
            let items: Vec<String> = (0..BATCH).map(|i| format!(r#"{{"data":"p{p}-{i}"}}"#)).collect();
            let request = request(&items, false);
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut reply = vec![0u8; 4096];
            for b in 0..batches {
                if let Some(rate) = rate {
                    let due = Duration::from_secs_f64((b * BATCH) as f64 / rate as f64);
                    tokio::time::sleep_until(started + due).await;
                }
                stream.write_all(request.as_bytes()).await.unwrap();
                // One response per request on the kept-alive connection.
                let n = stream.read(&mut reply).await.unwrap();
                assert!(reply[..n].starts_with(b"HTTP/1.1 202"), "{}", String::from_utf8_lossy(&reply[..n]));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request(&[r#"{"data":"end"}"#.to_owned()], true).as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply).await;
    elapsed
}

struct Outcome {
    published_per_s: f64,
    delivered_per_s: f64,
    lost: u64,
    missed: u64,
}

/// `readers` ports, clients on each; publish `events` to `publish_port`.
fn run(readers: &[u16], publish_port: u16, events: usize, rate: Option<u64>) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(readers.len() * CLIENTS_PER_INSTANCE);
        let mut clients = Vec::new();
        for &port in readers {
            for _ in 0..CLIENTS_PER_INSTANCE {
                clients.push(tokio::spawn(client(port, ready_tx.clone())));
            }
        }
        for _ in 0..clients.len() {
            ready_rx.recv().await.unwrap();
        }
        let started = Instant::now();
        let publishing = publish(publish_port, events, rate).await;
        let (mut received, mut missed) = (0u64, 0u64);
        for c in clients {
            let (e, m) = c.await.unwrap();
            received += e;
            missed += m;
        }
        let all = started.elapsed();
        let publishers = if rate.is_some() { 1 } else { PUBLISHERS };
        let sent = events / publishers / BATCH * publishers * BATCH;
        let expected = sent as u64 * (readers.len() * CLIENTS_PER_INSTANCE) as u64;
        Outcome {
            published_per_s: sent as f64 / publishing.as_secs_f64(),
            delivered_per_s: received as f64 / all.as_secs_f64(),
            lost: expected.saturating_sub(received),
            missed,
        }
    })
}

/// Fresh servers (in memory, or two on `redis`), one run.
fn once(redis: Option<&str>, events: usize, rate: Option<u64>) -> Outcome {
    match redis {
        None => {
            let (_server, port) = serve(&[]);
            run(&[port], port, events, rate)
        }
        Some(url) => {
            let (_a, a) = serve(&["--redis", url]);
            let (_b, b) = serve(&["--redis", url]);
            run(&[a, b], a, events, rate)
        }
    }
}

/// Paced steps up to the first that loses an event: the last loss-free one.
fn highest_loss_free(redis: Option<&str>) -> Option<(u64, Outcome)> {
    let mut best = None;
    for rate in STEPS {
        let outcome = once(redis, (rate * 2) as usize, Some(rate));
        if outcome.lost > 0 || outcome.missed > 0 {
            break;
        }
        best = Some((rate, outcome));
    }
    best
}

fn row(hub: &str, publisher: &str, o: &Outcome) -> String {
    format!(
        "| {hub} | {publisher} | {:.0} | {:.0} | {} | {} |",
        o.published_per_s, o.delivered_per_s, o.lost, o.missed
    )
}

fn main() {
    let redis_port = free_port();
    let dir = std::env::temp_dir().join(format!("sse-bench-redis-{redis_port}"));
    let _ = std::fs::create_dir_all(&dir);
    let _redis = Killed(
        Command::new("redis-server")
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed"),
    );
    wait_for(redis_port);
    let url = format!("redis://127.0.0.1:{redis_port}");
    println!(
        "Batches of {BATCH} over HTTP, {} clients in all, 2 s per paced step:",
        2 * CLIENTS_PER_INSTANCE
    );
    println!();
    println!(
        "| hub | publisher | published events/s | delivered events/s (all clients) | events lost | missed signals |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    let mut best = Vec::new();
    for (name, redis) in
        [("one in-memory `sse serve`", None), ("two `sse serve --redis`", Some(url.as_str()))]
    {
        let paced = highest_loss_free(redis);
        match &paced {
            Some((rate, o)) => println!("{}", row(name, &format!("highest loss-free step, {rate}/s"), o)),
            None => println!("| {name} | every step lost events | | | | |"),
        }
        best.push(paced.map(|(rate, _)| rate));
        let flat = once(redis, FLAT_OUT_EVENTS, None);
        println!(
            "{}",
            row(name, &format!("flat out, {PUBLISHERS} publishers, {FLAT_OUT_EVENTS} events"), &flat)
        );
    }
    if let [Some(memory), Some(redis)] = best[..] {
        println!();
        println!(
            "Highest loss-free publish rate, two instances on Redis ÷ one in memory: {:.2}× ({redis}/s vs {memory}/s)",
            redis as f64 / memory as f64
        );
    }
}
