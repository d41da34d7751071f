//! What one delivery costs the sending core when it is its own send: the
//! part of fan-out that no encoding or scheduling change removes. The same
//! 100-byte frame goes to every one of N loopback TCP connections once per
//! round, rounds paced at a fixed rate of sends per second, two ways:
//!
//! - `write`: one `write(2)` per connection, as an epoll server does (sse-std's
//!   writer tasks, axum's); the per-task wake-ups of a real server are not
//!   in it, so this is the floor for one send per delivery.
//! - `io_uring`: all of a round's sends submitted as `IORING_OP_SEND`
//!   entries and entered in one `io_uring_enter` per 4 096 (the `io-uring`
//!   crate), completions reaped in the same call: no system call per send.
//!
//! The receiving ends are another process (this binary again, on core 1
//! under `scripts/bench.sh`) that reads every connection to its end and
//! reports the bytes it got; a run where any send was short, failed or
//! did not arrive says so. CPU time is the sending process's, from
//! `/proc/self/task/*/schedstat` (every thread, io_uring's workers among
//! them); on loopback it includes the receiver's TCP input, which the
//! kernel runs on the sender's core, for both ways alike.
//!
//!     SENDS_CLIENTS=1000,10000 SENDS_RATE=50000 SENDS_SECONDS=3 \
//!         taskset -c 0 cargo bench -p sse-tests --bench sends
//!
//! Linux only; where io_uring is unavailable (an old kernel, or
//! `kernel.io_uring_disabled`), that row says so.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One event as a subscriber receives it: 100 bytes.
const FRAME: &[u8; 100] =
    b"id: 1234567\nevent: tick\ndata: {\"seq\":1234567,\"topic\":\"prices\",\"value\":\"0123456789abcdefghijklmno\"}\n\n";

/// Connections opened at a time (a larger burst overflows the listen
/// backlog, and a dropped SYN costs a one-second retransmit).
const CONNECT_BURST: usize = 256;

fn env_list(name: &str, default: &[u64]) -> Vec<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// CPU time of every thread of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return f64::NAN };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum();
    ns as f64 / 1e9
}

/// The receiving side: connects `n` times to `port`, reads every
/// connection until it ends, prints the total bytes.
fn receive(port: u16, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let total: u64 = rt.block_on(async move {
        let mut tasks = Vec::with_capacity(n);
        let mut opened = 0;
        while opened < n {
            let burst = CONNECT_BURST.min(n - opened);
            let mut streams = Vec::with_capacity(burst);
            for _ in 0..burst {
                streams.push(tokio::spawn(tokio::net::TcpStream::connect(("127.0.0.1", port))));
            }
            for s in streams {
                let mut stream = s.await.expect("join").expect("connect");
                tasks.push(tokio::spawn(async move {
                    use tokio::io::AsyncReadExt as _;
                    let mut buf = vec![0u8; 64 << 10];
                    let mut got = 0u64;
                    while let Ok(read) = stream.read(&mut buf).await {
                        if read == 0 {
                            break;
                        }
                        got += read as u64;
                    }
                    got
                }));
            }
            opened += burst;
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("join");
        }
        total
    });
    println!("{total}");
}

/// How a round's sends go out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Write,
    IoUring,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Write => "write",
            Way::IoUring => "io_uring",
        }
    }
}

/// What one paced run measured.
struct Run {
    sends: u64,
    failed: u64,
    cpu_s: f64,
    seconds: f64,
}

/// Sends `rounds` rounds to every connection, one round per `interval`.
fn run(way: Way, streams: &mut [TcpStream], rounds: u64, interval: Duration) -> std::io::Result<Run> {
    let mut ring = match way {
        Way::IoUring => Some(sse_tests::uring::Ring::new()?),
        Way::Write => None,
    };
    let mut sends = 0u64;
    let mut failed = 0u64;
    let started = Instant::now();
    let cpu = cpu_seconds();
    for round in 0..rounds {
        let due = started + interval.mul_f64(round as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match ring.as_mut() {
            Some(ring) => failed += ring.send_all(streams, FRAME)?,
            None => {
                for stream in streams.iter_mut() {
                    if !matches!(stream.write(FRAME), Ok(n) if n == FRAME.len()) {
                        failed += 1;
                    }
                }
            }
        }
        sends += streams.len() as u64;
    }
    Ok(Run { sends, failed, cpu_s: cpu_seconds() - cpu, seconds: started.elapsed().as_secs_f64() })
}

fn measure(n: usize, rate: u64, seconds: u64) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let exe = std::env::current_exe()?;
    // On the other core when there is one (the harness runs on core 0).
    let mut receiver = if std::thread::available_parallelism().map_or(1, usize::from) > 1
        && Command::new("taskset").arg("-V").stdout(Stdio::null()).status().is_ok()
    {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("1").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let mut receiver =
        receiver.env("SENDS_RECEIVER", format!("{port},{n}")).stdout(Stdio::piped()).spawn()?;
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let interval = Duration::from_secs_f64(n as f64 / rate as f64);
    let rounds = (seconds as f64 / interval.as_secs_f64()).ceil() as u64;
    // Warm up: every connection sends once before anything is measured.
    run(Way::Write, &mut streams, 1, interval)?;
    let mut sent = n as u64 * FRAME.len() as u64;
    let mut rows = Vec::new();
    // Each way twice, interleaved, so that a drift over the run (the
    // receiver's buffers, the CPU's clock) does not favour one.
    for way in [Way::Write, Way::IoUring, Way::Write, Way::IoUring] {
        match run(way, &mut streams, rounds, interval) {
            Ok(r) => {
                sent += (r.sends - r.failed) * FRAME.len() as u64;
                rows.push((way, r));
            }
            Err(e) => println!("  {:<9} unavailable: {e}", way.label()),
        }
    }
    drop(streams);
    let mut got = String::new();
    receiver.stdout.take().map(|mut out| out.read_to_string(&mut got));
    receiver.wait()?;
    let received: u64 = got.trim().parse().unwrap_or(0);
    // CPU per send of a way over both of its runs.
    let per_send = |way: Way| {
        let (cpu, sends) = rows
            .iter()
            .filter(|(w, _)| *w == way)
            .fold((0.0, 0u64), |(cpu, sends), (_, r)| (cpu + r.cpu_s, sends + r.sends));
        (sends > 0).then(|| cpu * 1e6 / sends as f64)
    };
    let write_us = per_send(Way::Write);
    for (way, r) in &rows {
        let us = r.cpu_s * 1e6 / r.sends as f64;
        let ratio = write_us.map_or(String::new(), |w| format!("{:.2}x write", us / w));
        println!(
            "  {:<9} {:>9} sends in {:.1} s ({:>7.0}/s): {:>6.2} us CPU per send, {:>10} ({} failed)",
            way.label(),
            r.sends,
            r.seconds,
            r.sends as f64 / r.seconds,
            us,
            ratio,
            r.failed
        );
    }
    if let (Some(w), Some(u)) = (write_us, per_send(Way::IoUring)) {
        println!(
            "  CPU per send, both runs: write {w:.2} us, io_uring {u:.2} us: io_uring {:.2}x write",
            u / w
        );
    }
    let lost = sent.saturating_sub(received);
    println!(
        "  received {received} of {sent} bytes sent{}",
        if lost == 0 { ": nothing lost".to_owned() } else { format!(": {lost} bytes MISSING") }
    );
    Ok(())
}

fn main() {
    if let Ok(spec) = std::env::var("SENDS_RECEIVER") {
        let mut parts = spec.split(',').filter_map(|s| s.parse::<u64>().ok());
        let (Some(port), Some(n)) = (parts.next(), parts.next()) else { return };
        receive(u16::try_from(port).unwrap_or(0), usize::try_from(n).unwrap_or(0));
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let clients = env_list("SENDS_CLIENTS", &[1000, 10_000]);
    let rate = env_list("SENDS_RATE", &[50_000]).first().copied().unwrap_or(50_000).max(1);
    let seconds = env_list("SENDS_SECONDS", &[3]).first().copied().unwrap_or(3).max(1);
    println!("One send per delivery: {} B frames at {rate} sends/s for {seconds} s per way", FRAME.len());
    for n in clients {
        println!("{n} connections:");
        if let Err(e) = measure(usize::try_from(n).unwrap_or(0), rate, seconds) {
            println!("  failed: {e}");
        }
    }
}
