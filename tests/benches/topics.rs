//! Topics next to nginx + nchan: `sse serve` (the release binary) and
//! nginx with Debian's `libnginx-mod-nchan` (two workers, messages in
//! memory, `tests/nchan/nginx.conf`), each alone on core 0 (`taskset`),
//! read by the same load client on the other cores (hyper clients, events
//! parsed by sse-wire) and fed by the same publisher: eight keep-alive
//! connections, each server through its own publish API (`sse serve`:
//! `POST /publish` with a JSON array of the events of one 10 ms tick, at
//! most 100; nchan: one `POST /pub/<channel>` per event, its API).
//!
//! Scenarios: one channel with 1 000 and with 10 000 clients; 10 000
//! clients each on its own topic; 10 000 clients on 100 topics. A step
//! publishes at a fixed rate for 3 s, round-robin over the topics, on a
//! fresh server, then one sentinel `{"end":N}` per topic; every client
//! checks that it got every number of its topic below its sentinel's
//! (the eight publishers send in parallel, so order is not checked). A step is
//! loss-free when nothing is lost or `missed` and every client finished.
//! The rate doubles until a step loses an event or the publisher cannot
//! keep the pace (the server does not take the events as fast), then two
//! bisection steps. Per step: events/s reached, deliveries/s, loss, p50 /
//! p99 / max latency, CPU per delivery (the whole process family: nginx's
//! master and workers) and RSS per client. Then the burst: one event to
//! each of the 10 000 topics, published as fast as each server takes them
//! (`sse serve` also with one event per `POST`, as nchan takes them).
//!
//!     TOPICS_SERVER_CPU=0 taskset -c 1 cargo bench -p sse-tests --bench topics
//!
//! `TOPICS_SCENARIOS=topics,burst` (of `one1k`, `one10k`, `topics`,
//! `hundred`, `burst`) chooses; `TOPICS_PEERS=sse,nchan` too. Needs
//! nginx with nchan and the release `sse` binary (`scripts/bench.sh`
//! installs and builds them).

#[path = "common/load.rs"]
mod load;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use tokio::sync::{Semaphore, mpsc};

const SECONDS: u64 = 3;
const PUBLISHERS: usize = 8;
const BATCH: usize = 100;
const TICK: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Peer {
    Sse,
    /// `sse serve` fed one event per `POST /publish`, as nchan is.
    SseSingle,
    Nchan,
}

impl Peer {
    fn label(self) -> &'static str {
        match self {
            Self::Sse => "sse serve",
            Self::SseSingle => "sse serve, one POST per event",
            Self::Nchan => "nginx + nchan",
        }
    }
}

struct Server {
    peer: Peer,
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn pinned(program: &str) -> Command {
    match std::env::var("TOPICS_SERVER_CPU").ok().filter(|c| !c.is_empty()) {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu, program]);
            c
        }
        None => Command::new(program),
    }
}

impl Server {
    fn start(peer: Peer) -> Self {
        let port = free_port();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let child = match peer {
            Peer::Sse | Peer::SseSingle => {
                let sse = root.join("../target/release/sse");
                assert!(sse.exists(), "build it first: cargo build --release -p sse-cli");
                pinned(sse.to_str().unwrap())
                    .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--keep-alive", "0"])
                    .args(["--history", "16"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            }
            Peer::Nchan => {
                let dir = std::env::temp_dir().join(format!("sse-bench-nchan-{port}"));
                std::fs::create_dir_all(&dir).unwrap();
                let conf = std::fs::read_to_string(root.join("nchan/nginx.conf"))
                    .unwrap()
                    .replace("__PORT__", &port.to_string())
                    .replace("__DIR__", dir.to_str().unwrap());
                std::fs::write(dir.join("nginx.conf"), conf).unwrap();
                pinned("nginx")
                    .args(["-p", dir.to_str().unwrap(), "-c", dir.join("nginx.conf").to_str().unwrap()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nginx with nchan is needed (apt-get install libnginx-mod-nchan)")
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{} never opened port {port}", peer.label());
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { peer, child, port }
    }

    /// The server process (taskset execs it, so it is the child).
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stream_path(&self, topic: usize) -> String {
        match self.peer {
            Peer::Sse | Peer::SseSingle => format!("/events?topic=t{topic}"),
            Peer::Nchan => format!("/sub/t{topic}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // nginx's workers leave with their master on TERM (a KILL would
        // orphan them); any still there after it are killed.
        let family = load::family(self.child.id());
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _reap = Reap(family);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills what is left of a process family when dropped.
struct Reap(Vec<u32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
    }
}

/// One client on `path`: streams until its topic's sentinel.
async fn client(port: u16, path: String, connecting: Arc<Semaphore>, open: Arc<AtomicUsize>) -> load::Tally {
    let mut seen = load::Tally::default();
    let Some(body) = load::open_limited(port, &path, &connecting).await else { return seen };
    seen.connected = true;
    open.fetch_add(1, Ordering::Relaxed);
    // Eight publishers send in parallel, so a topic's events may arrive
    // out of order: each number is counted once, and the sentinel says
    // how many there were.
    let mut got: Vec<bool> = Vec::new();
    load::each_event(body, |event| {
        let load::Event::Data(d, now) = event else {
            seen.missed += 1;
            return false;
        };
        if let Some(end) = load::field(d, "end") {
            let unique = got.iter().take(end as usize).filter(|g| **g).count() as u64;
            seen.lost += (end as u64).saturating_sub(unique);
            seen.ended = true;
            return true;
        }
        let (Some(n), Some(t)) = (load::field(d, "n"), load::field(d, "t")) else { return false };
        let n = n as usize;
        if got.len() <= n {
            got.resize(n + 1, false);
        }
        if !std::mem::replace(&mut got[n], true) {
            seen.received += 1;
            seen.latencies_us.push(u32::try_from(now.saturating_sub(t) / 1000).unwrap_or(u32::MAX));
        }
        false
    })
    .await;
    seen
}

/// One publish request: a path and its body.
type Request = (String, String);

/// Eight keep-alive connections sending requests in turn; the number of
/// requests that failed.
async fn publishers(port: u16, requests: mpsc::Receiver<Request>) -> usize {
    let shared = Arc::new(tokio::sync::Mutex::new(requests));
    let mut tasks = Vec::new();
    for _ in 0..PUBLISHERS {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let mut failed = 0usize;
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            loop {
                let Some((path, body)) = shared.lock().await.recv().await else { break };
                let json = path == "/publish";
                let request = http::Request::post(path)
                    .header("host", "127.0.0.1")
                    .header("content-type", if json { "application/json" } else { "text/plain" })
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                match sender.send_request(request).await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.into_body().collect().await;
                    }
                    _ => failed += 1,
                }
            }
            failed
        }));
    }
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(1);
    }
    failed
}

/// The requests that publish `events` (topic, data), batched for `peer`.
fn requests(peer: Peer, events: &[(usize, String)]) -> Vec<Request> {
    match peer {
        Peer::Nchan => events.iter().map(|(topic, data)| (format!("/pub/t{topic}"), data.clone())).collect(),
        Peer::Sse | Peer::SseSingle => events
            .chunks(if peer == Peer::Sse { BATCH } else { 1 })
            .map(|chunk| {
                let items: Vec<String> = chunk
                    .iter()
                    .map(|(topic, data)| format!(r#"{{"topic":"t{topic}","data":{}}}"#, json_string(data)))
                    .collect();
                ("/publish".to_owned(), format!("[{}]", items.join(",")))
            })
            .collect(),
    }
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What one step measured.
struct Step {
    /// Events published (sentinels not counted) and how long that took.
    sent: u64,
    publish_s: f64,
    failed: usize,
    delivered: u64,
    lost: u64,
    missed: u64,
    unfinished: usize,
    unconnected: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_s: f64,
    /// From the first publish to the last sentinel received.
    drain_s: f64,
    kib_per_client: f64,
}

impl Step {
    fn lossless(&self) -> bool {
        self.lost == 0
            && self.missed == 0
            && self.unfinished == 0
            && self.failed == 0
            && self.unconnected == 0
    }

    fn events_per_s(&self) -> f64 {
        self.sent as f64 / self.publish_s.max(1e-9)
    }

    fn cpu_us_per_delivery(&self) -> f64 {
        self.cpu_s * 1e6 / self.delivered.max(1) as f64
    }
}

/// One step: `clients` on `topics` topics; `rate` events/s for
/// [`SECONDS`], or (`None`) one event per topic as fast as possible.
fn run(
    runtime: &tokio::runtime::Runtime,
    peer: Peer,
    clients: usize,
    topics: usize,
    rate: Option<u64>,
) -> Step {
    let server = Server::start(peer);
    let (port, pid) = (server.port, server.pid());
    let rss_before = load::family_rss_kib(pid);
    let connecting = Arc::new(Semaphore::new(256));
    let open = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let path = server.stream_path(i % topics);
            runtime.spawn(client(port, path, Arc::clone(&connecting), Arc::clone(&open)))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while open.load(Ordering::Relaxed) < clients && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the last subscriptions settle in the server.
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = load::family_rss_kib(pid);
    let cpu_before = load::family_cpu_seconds(pid);
    let started = Instant::now();
    let (sent, publish_s, failed) = runtime.block_on(async {
        let (tx, rx) = mpsc::channel::<Request>(4096);
        let publishing = tokio::spawn(publishers(port, rx));
        let mut per_topic = vec![0u64; topics];
        let mut sent = 0u64;
        let event = |k: u64, per_topic: &mut Vec<u64>| {
            let topic = (k % topics as u64) as usize;
            let n = per_topic[topic];
            per_topic[topic] += 1;
            (topic, format!(r#"{{"n":{n},"t":{}}}"#, load::now_ns()))
        };
        match rate {
            Some(rate) => {
                let total = rate * SECONDS;
                let mut tick = tokio::time::interval(TICK);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let start = Instant::now();
                while sent < total {
                    tick.tick().await;
                    // Events due by now at `rate`.
                    let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64 + 1).min(total);
                    let events: Vec<_> = (sent..due).map(|k| event(k, &mut per_topic)).collect();
                    sent = due;
                    for r in requests(peer, &events) {
                        tx.send(r).await.unwrap();
                    }
                }
            }
            None => {
                let events: Vec<_> = (0..topics as u64).map(|k| event(k, &mut per_topic)).collect();
                sent = events.len() as u64;
                for r in requests(peer, &events) {
                    tx.send(r).await.unwrap();
                }
            }
        }
        let ends: Vec<_> =
            per_topic.iter().enumerate().map(|(t, n)| (t, format!(r#"{{"end":{n}}}"#))).collect();
        // Sentinels after every event has been taken.
        drop(tx);
        let failed = publishing.await.unwrap();
        let publish_s = started.elapsed().as_secs_f64();
        let (tx, rx) = mpsc::channel::<Request>(4096);
        let publishing = tokio::spawn(publishers(port, rx));
        for r in requests(peer, &ends) {
            tx.send(r).await.unwrap();
        }
        drop(tx);
        let failed = failed + publishing.await.unwrap();
        (sent, publish_s, failed)
    });
    let seen = runtime.block_on(load::collect(tasks));
    let drain_s = started.elapsed().as_secs_f64();
    let cpu_s = load::family_cpu_seconds(pid) - cpu_before;
    drop(server);
    let mut samples: Vec<u32> = Vec::new();
    let mut step = Step {
        sent,
        publish_s,
        failed,
        delivered: 0,
        lost: 0,
        missed: 0,
        unfinished: 0,
        unconnected: 0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        cpu_s,
        drain_s,
        kib_per_client: rss_after.saturating_sub(rss_before) as f64 / clients as f64,
    };
    // What each client's topic was sent.
    let owed = |i: usize| {
        let t = (i % topics) as u64;
        sent / topics as u64 + u64::from(t < sent % topics as u64)
    };
    for (i, s) in seen.into_iter().enumerate() {
        if !s.connected {
            step.unconnected += 1;
            continue;
        }
        step.delivered += s.received;
        step.missed += s.missed;
        step.lost += if s.ended { s.lost } else { owed(i).saturating_sub(s.received) };
        step.unfinished += usize::from(!s.ended);
        samples.extend(s.latencies_us);
    }
    samples.sort_unstable();
    let pct = |p: f64| {
        samples.get(((samples.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0
    };
    (step.p50_ms, step.p99_ms, step.max_ms) = (pct(0.5), pct(0.99), pct(1.0));
    eprintln!(
        "{} {clients} clients {topics} topics {}: {:.0} events/s, lost {} missed {} unfinished {} failed {} p99 {:.1} ms cpu {:.2} s",
        peer.label(),
        rate.map_or("burst".into(), |r| format!("{r}/s")),
        step.events_per_s(),
        step.lost,
        step.missed,
        step.unfinished,
        step.failed,
        step.p99_ms,
        step.cpu_s
    );
    step
}

/// Doubling from `start` events/s while loss-free and at pace, then two
/// bisection steps; (target, step) each.
fn ladder(
    runtime: &tokio::runtime::Runtime,
    peer: Peer,
    clients: usize,
    topics: usize,
    start: u64,
) -> Vec<(u64, Step)> {
    let mut steps = Vec::new();
    let step = |target: u64, steps: &mut Vec<(u64, Step)>| {
        let s = run(runtime, peer, clients, topics, Some(target));
        let ok = carried(target, &s);
        steps.push((target, s));
        ok
    };
    let (mut pass, mut target) = (0u64, start);
    while target <= 4_000_000 && step(target, &mut steps) {
        pass = target;
        target *= 2;
    }
    let mut fail = target;
    for _ in 0..2 {
        let mid = (pass + fail) / 2;
        if mid <= pass.max(start / 2) {
            break;
        }
        if step(mid, &mut steps) { pass = mid } else { fail = mid }
    }
    steps
}

fn row(scenario: &str, peer: Peer, rate: &str, s: &Step, clients: usize) {
    println!(
        "| {scenario} | {} | {rate} | {:.0} | {:.0} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} | {:.1} KiB | {:.2} s | {} |",
        peer.label(),
        s.events_per_s(),
        s.delivered as f64 / s.publish_s.max(1e-9),
        s.lost,
        s.missed,
        s.p50_ms,
        s.p99_ms,
        s.max_ms,
        s.cpu_us_per_delivery(),
        s.kib_per_client,
        s.drain_s,
        if s.lossless() {
            "loss-free".to_owned()
        } else {
            format!(
                "loss ({} unfinished, {} failed publishes, {} of {clients} unconnected)",
                s.unfinished, s.failed, s.unconnected
            )
        },
    );
}

/// Loss-free, and at 90 % of the target rate or more.
fn carried(target: u64, s: &Step) -> bool {
    s.lossless() && s.events_per_s() >= 0.9 * target as f64
}

/// The highest step carried.
fn best(steps: &[(u64, Step)]) -> Option<&Step> {
    steps.iter().filter(|(t, s)| carried(*t, s)).max_by_key(|(t, _)| *t).map(|(_, s)| s)
}

/// One scenario's ratios: capacity (the highest step each carries), CPU
/// per delivery at the highest target both carry (the same load for
/// both), RSS per client, and p99 at each one's highest step.
fn summary_row(label: &str, ours: &[(u64, Step)], nchan: &[(u64, Step)]) -> String {
    let (Some(o), Some(n)) = (best(ours), best(nchan)) else {
        return format!("| {label} | a server carried no step | | | |");
    };
    let common = ours
        .iter()
        .filter(|(t, s)| carried(*t, s))
        .filter_map(|(t, s)| nchan.iter().find(|(u, m)| u == t && carried(*u, m)).map(|(_, m)| (*t, s, m)))
        .max_by_key(|(t, _, _)| *t);
    let cpu = common.map_or("no common step".into(), |(t, s, m)| {
        format!(
            "{:.2}× ({:.2} ÷ {:.2} µs at {t} events/s)",
            s.cpu_us_per_delivery() / m.cpu_us_per_delivery(),
            s.cpu_us_per_delivery(),
            m.cpu_us_per_delivery()
        )
    });
    format!(
        "| {label} | {:.2}× ({:.0} ÷ {:.0} events/s) | {cpu} | {:.2}× ({:.1} ÷ {:.1} KiB) | {:.1} ms ÷ {:.1} ms |",
        o.events_per_s() / n.events_per_s(),
        o.events_per_s(),
        n.events_per_s(),
        o.kib_per_client / n.kib_per_client.max(0.001),
        o.kib_per_client,
        n.kib_per_client,
        o.p99_ms,
        n.p99_ms
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let want = |name: &str, var: &str, all: &str| {
        std::env::var(var).unwrap_or_else(|_| all.into()).split(',').any(|s| s.trim() == name)
    };
    let peers: Vec<Peer> = [Peer::Sse, Peer::Nchan]
        .into_iter()
        .filter(|p| want(if *p == Peer::Sse { "sse" } else { "nchan" }, "TOPICS_PEERS", "sse,nchan"))
        .collect();
    let all = "one1k,one10k,topics,hundred,burst";
    // (key, label, clients, topics, first rate in events/s)
    let scenarios = [
        ("one1k", "one channel, 1 000 clients", 1_000, 1, 100),
        ("one10k", "one channel, 10 000 clients", 10_000, 1, 10),
        ("topics", "10 000 clients, a topic each", 10_000, 10_000, 1_000),
        ("hundred", "10 000 clients on 100 topics", 10_000, 100, 100),
    ];
    println!(
        "Each server alone on core {}; {SECONDS} s per step, fresh server per step; loss-free = every client got every event of its topic up to its sentinel, no `missed`, every publish accepted.",
        std::env::var("TOPICS_SERVER_CPU").unwrap_or_else(|_| "(unpinned)".into())
    );
    println!();
    println!(
        "| scenario | server | target events/s | events/s | deliveries/s | lost | missed | p50 | p99 | max | server CPU µs per delivery | RSS per client | first publish to last sentinel | |"
    );
    println!(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    let mut summary = Vec::new();
    for (key, label, clients, topics, start) in scenarios {
        if !want(key, "TOPICS_SCENARIOS", all) {
            continue;
        }
        let mut results = Vec::new();
        for &peer in &peers {
            let steps = ladder(&runtime, peer, clients, topics, start);
            for (t, s) in &steps {
                row(label, peer, &t.to_string(), s, clients);
            }
            results.push((peer, steps));
        }
        if let [(_, ours), (_, nchan)] = &results[..] {
            summary.push(summary_row(label, ours, nchan));
        }
    }
    if want("burst", "TOPICS_SCENARIOS", all) {
        let mut burst = Vec::new();
        let single = peers.contains(&Peer::Sse).then_some(Peer::SseSingle);
        // nchan last: the rows before it are compared with it.
        let mut order: Vec<Peer> = peers.iter().copied().filter(|p| *p == Peer::Sse).collect();
        order.extend(single);
        order.extend(peers.iter().copied().filter(|p| *p == Peer::Nchan));
        let with_nchan = order.len() > 1 && order.last() == Some(&Peer::Nchan);
        for peer in order {
            let s = run(&runtime, peer, 10_000, 10_000, None);
            row("burst: one event to each of 10 000 topics", peer, "as fast as taken", &s, 10_000);
            burst.push(s);
        }
        if let ([ours @ .., n], true) = (&burst[..], with_nchan) {
            let labels = ["burst, 10 000 topics", "burst, 10 000 topics, one POST per event"];
            for (label, o) in labels.iter().zip(ours) {
                summary.push(format!(
                    "| {label} | lost {} / missed {} ÷ lost {} / missed {} | {:.2}× ({:.2} ÷ {:.2} CPU s in all) | | {:.2} s ÷ {:.2} s to the last sentinel |",
                    o.lost, o.missed, n.lost, n.missed, o.cpu_s / n.cpu_s.max(1e-9), o.cpu_s, n.cpu_s, o.drain_s, n.drain_s
                ));
            }
        }
    }
    println!();
    println!(
        "| scenario | loss-free events/s at pace, sse serve ÷ nchan (the highest step each carries) | CPU per delivery, sse serve ÷ nchan, at the highest rate both carry | RSS per client | p99 at each one's highest step |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for line in summary {
        println!("{line}");
    }
}
