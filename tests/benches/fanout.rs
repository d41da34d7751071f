//! Fan-out capacity without loss: 1 000 and 10 000 concurrent subscribers
//! on 127.0.0.1, sse-std's server next to a minimal axum SSE server fed by
//! `tokio::sync::broadcast`, both read by the same load client (hyper
//! clients, events parsed by sse-wire). Run by `scripts/bench.sh`, which
//! raises the fd limit, builds `examples/fanout_server.rs` and runs this
//! harness on the other cores; each server runs alone on core 0 (`taskset`).
//!
//! A step publishes at a fixed rate for 3 s on a fresh server, then a
//! sentinel `{"end":SENT}`. Every client checks every sequence number up to
//! the sentinel: an event it does not get (a gap, a `missed` signal, or a
//! stream that ends before the sentinel) is lost. A step is loss-free when
//! nothing is lost, and passes when it is loss-free with a
//! publish-to-receive p99 of at most 100 ms. The rate doubles from 20 000
//! deliveries/s until a step loses an event, then two bisection steps
//! narrow the highest loss-free rate. Per step: loss,
//! latency p50/p99/max, the server's CPU time (user + system, from
//! `/proc/PID/stat`) per delivery, and its RSS per client. A flat-out step
//! per server (not with `FANOUT_ONLY`) shows the delivered rate with its
//! loss. Servers: sse-std as
//! it ships, sse-std with a 20 ms `write_interval`
//! (`FANOUT_WRITE_INTERVAL_MS`; 0 leaves it out) and the axum anchor.
//!
//!     FANOUT_CLIENTS=1000,10000 FANOUT_SECONDS=3 FANOUT_SERVER_CPU=0 \
//!         taskset -c 1 cargo bench -p sse-tests --bench fanout
//!
//! `FANOUT_ONLY=200000,400000` runs just those rates (deliveries/s), for
//! a profiler attached to the server's core. `FANOUT_SERVERS=ours,axum,
//! floor,floor-uring` chooses the servers, among them two floors that are
//! not servers anyone should run: every socket in one list and each event
//! written to each in turn from one loop, with `write(2)` (`floor`) or
//! io_uring (`floor-uring`): what one send per delivery costs with no task,
//! queue or wake-up per client.

use std::io::{BufRead as _, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

#[path = "common/load.rs"]
mod load;

/// The p99 latency a passing step stays under.
const P99_LIMIT_MS: f64 = 100.0;

/// One server at one client count: its label, its ladder of
/// (deliveries/s target, step), and its flat-out step (none with
/// `FANOUT_ONLY`).
type Measured = (String, Vec<(u64, Step)>, Option<Step>);

/// What one step measured.
struct Step {
    sent: u64,
    delivered: u64,
    lost: u64,
    missed: u64,
    unfinished: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_s: f64,
    seconds: f64,
    kib_per_client: f64,
}

impl Step {
    /// Every client got every event up to the sentinel.
    fn lossless(&self) -> bool {
        self.lost == 0 && self.missed == 0 && self.unfinished == 0
    }

    /// Lossless, with the p99 latency within the limit.
    fn passed(&self) -> bool {
        self.lossless() && self.p99_ms <= P99_LIMIT_MS
    }

    /// Busy for (nearly) the whole step: the server spent the step's wall
    /// time whatever the rate, so its CPU per delivery compares nothing.
    fn saturated(&self) -> bool {
        self.cpu_s >= 0.9 * self.seconds
    }

    /// Server CPU µs per delivery.
    fn cpu_us_per_delivery(&self) -> f64 {
        self.cpu_s * 1e6 / (self.delivered.max(1) as f64)
    }
}

/// One client: streams until the sentinel (or the end of the stream).
async fn client(port: u16, connecting: Arc<Semaphore>) -> load::Tally {
    let mut seen = load::Tally::default();
    let Some(body) = load::open_limited(port, "/events", &connecting).await else { return seen };
    seen.connected = true;
    let mut next = 0u64;
    load::each_event(body, |event| {
        let load::Event::Data(d, now) = event else {
            seen.missed += 1;
            return false;
        };
        if let Some(end) = load::field(d, "end") {
            seen.lost += (end as u64).saturating_sub(next);
            seen.ended = true;
            return true;
        }
        let (Some(n), Some(t)) = (load::field(d, "n"), load::field(d, "t")) else { return false };
        let n = n as u64;
        seen.lost += n.saturating_sub(next);
        next = next.max(n + 1);
        seen.received += 1;
        seen.latencies_us.push(u32::try_from(now.saturating_sub(t) / 1000).unwrap_or(u32::MAX));
        false
    })
    .await;
    seen
}

fn server_path() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples/fanout_server");
    assert!(path.exists(), "build it first: cargo build --release -p sse-tests --example fanout_server");
    path
}

fn spawn_server(
    server: &str,
    clients: usize,
    rate: Option<u64>,
    seconds: u64,
) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut command = match server_cpu() {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu]).arg(server_path());
            c
        }
        None => Command::new(server_path()),
    };
    let mut child = command
        .args([
            server,
            &clients.to_string(),
            &rate.map_or("max".into(), |r| r.to_string()),
            &seconds.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// The write interval of the second sse-std server (`FANOUT_WRITE_INTERVAL_MS`,
/// default 20; `0` leaves that server out).
fn write_interval_ms() -> Option<u64> {
    let ms = std::env::var("FANOUT_WRITE_INTERVAL_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    (ms > 0).then_some(ms)
}

/// The core the server runs on (`FANOUT_SERVER_CPU`, set by
/// `scripts/bench.sh`, which runs this harness on the other cores).
fn server_cpu() -> Option<String> {
    std::env::var("FANOUT_SERVER_CPU").ok().filter(|c| !c.is_empty())
}

fn run(
    runtime: &tokio::runtime::Runtime,
    server: &str,
    clients: usize,
    rate: Option<u64>,
    seconds: u64,
) -> Step {
    let started = Instant::now();
    let (mut child, mut lines) = spawn_server(server, clients, rate, seconds);
    let pid = child.id();
    let port: u16 = lines.next().unwrap().unwrap().strip_prefix("port ").unwrap().parse().unwrap();
    let connecting = Arc::new(Semaphore::new(256));
    let tasks: Vec<_> = (0..clients).map(|_| runtime.spawn(client(port, Arc::clone(&connecting)))).collect();
    // The server reports its RSS once every client is connected, then
    // publishes.
    let rss = lines.next().unwrap().unwrap();
    let rss: Vec<u64> = rss.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
    let cpu_before = load::cpu_seconds(pid);
    let connected = started.elapsed();
    let done = lines.next().unwrap().unwrap();
    let sent: u64 = done.split_whitespace().last().unwrap().parse().unwrap();
    let seen = runtime.block_on(load::collect(tasks));
    let cpu_s = load::cpu_seconds(pid) - cpu_before;
    let drained = started.elapsed();
    drop(child.stdin.take());
    let _ = child.wait();
    eprintln!(
        "  ({:.1} s to connect, {:.1} s to the last sentinel, {:.1} s to the server's exit)",
        connected.as_secs_f64(),
        drained.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let delivered: u64 = seen.iter().map(|s| s.received).sum();
    let lost: u64 = seen
        .iter()
        .filter(|s| s.connected)
        .map(|s| if s.ended { s.lost } else { sent.saturating_sub(s.received) })
        .sum();
    let missed: u64 = seen.iter().map(|s| s.missed).sum();
    let unfinished = seen.iter().filter(|s| s.connected && !s.ended).count();
    let unconnected = seen.iter().filter(|s| !s.connected).count();
    if unconnected > 0 {
        eprintln!(
            "{server}: {unconnected} of {clients} clients could not connect; the step counts the others"
        );
    }
    let mut samples: Vec<u32> = seen.into_iter().flat_map(|s| s.latencies_us).collect();
    samples.sort_unstable();
    let pct = |p: f64| {
        samples.get(((samples.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0
    };
    Step {
        sent,
        delivered,
        lost,
        missed,
        unfinished,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        cpu_s,
        seconds: seconds as f64,
        kib_per_client: rss[1].saturating_sub(rss[0]) as f64 / clients as f64,
    }
}

/// The steps of one server at one client count: a doubling ladder from
/// 20 000 deliveries/s until a step loses an event, then two bisection
/// steps. Returns (deliveries/s target, step).
fn ladder(runtime: &tokio::runtime::Runtime, server: &str, clients: usize, seconds: u64) -> Vec<(u64, Step)> {
    let mut steps: Vec<(u64, Step)> = Vec::new();
    let mut step = |target: u64| {
        let rate = (target / clients as u64).max(1);
        let s = run(runtime, server, clients, Some(rate), seconds);
        eprintln!(
            "{server} {clients} clients {rate}/s: lost {} missed {} unfinished {} p99 {:.1} ms cpu {:.2} s",
            s.lost, s.missed, s.unfinished, s.p99_ms, s.cpu_s
        );
        let lossless = s.lossless();
        steps.push((target, s));
        lossless
    };
    // Given rates (deliveries/s) only, for profiling one step.
    if let Ok(only) = std::env::var("FANOUT_ONLY") {
        for target in only.split(',').filter_map(|t| t.trim().parse().ok()) {
            step(target);
        }
        return steps;
    }
    let mut pass = 0u64;
    let mut target = 20_000u64;
    while target <= 64_000_000 && step(target) {
        pass = target;
        target *= 2;
    }
    let mut fail = target;
    for _ in 0..2 {
        let mid = (pass + fail) / 2;
        if mid <= pass.max(1) {
            break;
        }
        if step(mid) { pass = mid } else { fail = mid }
    }
    steps
}

/// The highest rate among the steps that meet `ok`.
fn highest(steps: &[(u64, Step)], ok: impl Fn(&Step) -> bool) -> Option<u64> {
    steps.iter().filter(|(_, s)| ok(s)).map(|(t, _)| *t).max()
}

fn main() {
    ulimit_hint();
    let clients: Vec<usize> = std::env::var("FANOUT_CLIENTS")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .map(|c| c.trim().parse().unwrap())
        .collect();
    let seconds: u64 = std::env::var("FANOUT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "Server {}; {seconds} s per step, fresh server per step; pass = nothing lost and p99 ≤ {P99_LIMIT_MS} ms, late = nothing lost, loss = events lost.",
        server_cpu().map_or("and load client unpinned".into(), |c| format!(
            "alone on core {c} (`taskset`), load client on the others"
        ))
    );
    println!();
    println!(
        "| clients | server | events/s | deliveries/s | lost | missed | p50 | p99 | max | server CPU µs per delivery | RSS per client | |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut summary = Vec::new();
    for &n in &clients {
        // (label, server argument): sse-std as it ships, sse-std with a
        // write interval, and the anchor.
        let interval = write_interval_ms();
        let mut servers = vec![("sse-std".to_owned(), "ours".to_owned())];
        if let Some(ms) = interval {
            servers.push((format!("sse-std, {ms} ms write interval"), format!("ours:{ms}")));
        }
        servers.push(("axum + broadcast".to_owned(), "axum".to_owned()));
        if let Ok(only) = std::env::var("FANOUT_SERVERS") {
            servers.push(("floor: one write per delivery, one loop".to_owned(), "floor".to_owned()));
            servers.push(("floor: io_uring sends, one loop".to_owned(), "floor-uring".to_owned()));
            servers.retain(|(_, arg)| only.split(',').any(|o| o.trim() == arg));
        }
        let results: Vec<Measured> = servers
            .iter()
            .map(|(label, arg)| {
                let flat =
                    std::env::var_os("FANOUT_ONLY").is_none().then(|| run(&runtime, arg, n, None, seconds));
                (label.clone(), ladder(&runtime, arg, n, seconds), flat)
            })
            .collect();
        for (name, steps, flat) in &results {
            let mut rows: Vec<(String, &Step)> =
                steps.iter().map(|(t, s)| (format!("{}", (t / n as u64).max(1)), s)).collect();
            rows.sort_by_key(|(r, _)| r.parse::<u64>().unwrap_or(0));
            if let Some(flat) = flat {
                rows.push(("flat out".into(), flat));
            }
            for (rate, s) in rows {
                let all = s.sent * n as u64;
                println!(
                    "| {n} | {name} | {rate} | {:.0} | {} ({:.2} %) | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} | {:.1} KiB | {} |",
                    s.delivered as f64 / s.seconds,
                    s.lost,
                    100.0 * s.lost as f64 / all.max(1) as f64,
                    s.missed,
                    s.p50_ms,
                    s.p99_ms,
                    s.max_ms,
                    s.cpu_us_per_delivery(),
                    s.kib_per_client,
                    if rate == "flat out" {
                        ""
                    } else if s.passed() {
                        "pass"
                    } else if s.lossless() {
                        "late"
                    } else {
                        "loss"
                    },
                );
            }
        }
        // Every other server next to the anchor.
        let anchor = servers.iter().position(|(_, arg)| arg == "axum");
        if let Some((_, axum, _)) = anchor.and_then(|i| results.get(i)) {
            for (i, (name, ours, _)) in results.iter().enumerate() {
                if Some(i) != anchor {
                    summary.push(summary_row(n, name, ours, axum));
                }
            }
        }
    }
    println!();
    println!(
        "| clients | server | loss-free deliveries/s, server ÷ axum (goal ≥ 2× at 1 000, ≥ 1.5× at 10 000) | the same with p99 ≤ {P99_LIMIT_MS} ms | server CPU per delivery, server ÷ axum, at the highest rate both carry without loss or saturation (goal ≤ 0.5×) | the same at the lowest rate | RSS per client, server ÷ axum (goal ≤ 0.5×) |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for row in summary {
        println!("{row}");
    }
}

/// The ratios of one client count: loss-free capacity (without and with
/// the latency limit), CPU per delivery at the highest and the lowest rate
/// both servers carry without loss and without being busy for the whole
/// step, RSS per client.
fn summary_row(n: usize, name: &str, ours: &[(u64, Step)], axum: &[(u64, Step)]) -> String {
    let capacity = |ok: fn(&Step) -> bool| match (highest(ours, ok), highest(axum, ok)) {
        (Some(o), Some(a)) => {
            format!("{:.2}× ({:.2} M ÷ {:.2} M)", o as f64 / a as f64, o as f64 / 1e6, a as f64 / 1e6)
        }
        (o, a) => format!(
            "this server {}, axum {}",
            o.map_or("none".into(), |o| format!("{:.2} M", o as f64 / 1e6)),
            a.map_or("none".into(), |a| format!("{:.2} M", a as f64 / 1e6))
        ),
    };
    let common: Vec<(u64, &Step, &Step)> = ours
        .iter()
        .filter_map(|(t, o)| {
            axum.iter().find(|(u, a)| u == t && a.lossless() && o.lossless()).map(|(_, a)| (*t, o, a))
        })
        .collect();
    let cpu = |at: Option<&(u64, &Step, &Step)>| {
        at.map_or("no such rate".into(), |(t, o, a)| {
            format!(
                "{:.2}× ({:.2} ÷ {:.2} µs at {:.2} M/s)",
                o.cpu_us_per_delivery() / a.cpu_us_per_delivery(),
                o.cpu_us_per_delivery(),
                a.cpu_us_per_delivery(),
                *t as f64 / 1e6,
            )
        })
    };
    let unsaturated = || common.iter().filter(|(_, o, a)| !o.saturated() && !a.saturated());
    let rss = match (ours.first(), axum.first()) {
        (Some((_, o)), Some((_, a))) => format!(
            "{:.2}× ({:.1} ÷ {:.1} KiB)",
            o.kib_per_client / a.kib_per_client.max(0.001),
            o.kib_per_client,
            a.kib_per_client
        ),
        _ => String::new(),
    };
    format!(
        "| {n} | {name} | {} | {} | {} | {} | {rss} |",
        capacity(Step::lossless),
        capacity(Step::passed),
        cpu(unsaturated().max_by_key(|(t, _, _)| *t)),
        cpu(unsaturated().min_by_key(|(t, _, _)| *t)),
    )
}

/// 10 000 clients need 10 000 descriptors in the harness and in the server.
fn ulimit_hint() {
    if let Ok(limits) = std::fs::read_to_string("/proc/self/limits")
        && let Some(line) = limits.lines().find(|l| l.starts_with("Max open files"))
        && let Some(soft) = line.split_whitespace().nth(3).and_then(|v| v.parse::<u64>().ok())
        && soft < 12_000
    {
        eprintln!("open-file limit {soft}: raise it (ulimit -n 65536) for 10 000 clients");
    }
}
