//! Both firmwares end to end, the poll one (smoltcp) and the embassy one:
//! `scripts/qemu-dashboard.sh [--embassy]` runs it on QEMU's mps2-an385
//! with its port 80 forwarded to 127.0.0.1 (QEMU's default user
//! networking); `curl`, `sse cat`, raw sockets and headless Chromium then
//! use the dashboard it serves. Every test runs against both.
//!
//! Ignored by default: it needs Debian's ARM toolchain, QEMU, Chromium and
//! the Node.js packages of `tests/browser`, which `scripts/test.sh`
//! installs before running it with `--ignored`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn built(relative: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(relative);
    assert!(path.exists(), "{} not built (run the workspace tests first)", path.display());
    path
}

/// QEMU running the firmware (`qemu-dashboard.sh` execs it, so the child
/// is QEMU itself), killed on drop. Not with `kill -TERM -PGID`: with
/// procps-ng 4.0.2's `kill` that form reached far beyond the group here
/// and took down the shell running the tests.
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn cat(sse: &Path, args: &[&str]) -> Vec<Value> {
    let out = Command::new(sse).arg("cat").args(args).output().unwrap();
    assert!(out.status.success(), "sse cat: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The sequence numbers of sensor events, whose ids are `<epoch>-<seq>`
/// with one epoch.
fn ids(events: &[Value]) -> Vec<u64> {
    let mut epochs: Vec<&str> = Vec::new();
    let seqs = events
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "sensor");
            let data: Value = serde_json::from_str(e["data"].as_str().unwrap()).unwrap();
            assert!(data["temperature"].is_f64() && data["humidity"].is_f64(), "{data}");
            let (epoch, seq) = e["last_event_id"].as_str().unwrap().split_once('-').unwrap();
            assert_eq!(epoch.len(), 8, "{e}");
            epochs.push(epoch);
            seq.parse().unwrap()
        })
        .collect();
    epochs.dedup();
    assert!(epochs.len() <= 1, "{epochs:?}");
    seqs
}

/// Which firmware a test boots.
#[derive(Clone, Copy, Debug)]
enum Firmware {
    /// `sse-firmware`: the poll-driven server on smoltcp.
    Poll,
    /// `sse-firmware-embassy`: the async Broadcaster on embassy-net.
    Embassy,
}

/// Starts `firmware` under QEMU on `port` with the sensor read every
/// `period_ms`; returns QEMU and the boot's id epoch.
fn boot(firmware: Firmware, port: u16, period_ms: u64) -> (Qemu, String) {
    let (qemu, epoch) = launch(Command::new("bash"), firmware, port, period_ms);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() || !page_ok(port) {
        assert!(Instant::now() < deadline, "firmware unreachable");
        std::thread::sleep(Duration::from_millis(200));
    }
    (qemu, epoch)
}

/// Runs `scripts/qemu-dashboard.sh` through `bash` (a plain command, or
/// one that enters a namespace) and reads the firmware's first line:
/// QEMU, and the boot's id epoch.
fn launch(mut bash: Command, firmware: Firmware, port: u16, period_ms: u64) -> (Qemu, String) {
    bash.arg(root().join("scripts/qemu-dashboard.sh"));
    if let Firmware::Embassy = firmware {
        bash.arg("--embassy");
    }
    let mut child = bash
        .arg(port.to_string())
        .env("SENSOR_PERIOD_MS", period_ms.to_string())
        // QEMU must not touch the terminal of whoever runs the tests.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let qemu = Qemu(child);
    let mut console = BufReader::new(stdout);
    let mut line = String::new();
    console.read_line(&mut line).unwrap();
    assert!(line.contains("serving http://192.168.70.2/"), "{line:?}");
    // The console goes on (stack marks): keep reading it, or QEMU's next
    // write would meet a closed pipe.
    std::thread::spawn(move || console.lines().map_while(Result::ok).for_each(|line| println!("{line}")));
    let epoch = line.split_once("ids ").and_then(|(_, r)| r.split_once("-<n>")).unwrap().0.to_owned();
    (qemu, epoch)
}

fn page_ok(port: u16) -> bool {
    Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .is_ok_and(|o| o.stdout == b"200")
}

/// The status of a stream request, and the connection.
fn stream_status(port: u16) -> (u16, TcpStream) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: device\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    match stream.read_exact(&mut head) {
        Ok(()) => (std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap(), stream),
        Err(_) => (0, stream),
    }
}

/// CPU time QEMU used over `span`, as a fraction of one core.
fn cpu_share(qemu: &Qemu, span: Duration) -> f64 {
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", qemu.0.id())).unwrap();
        // utime and stime: fields 14 and 15, after the parenthesised name.
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let hz = 100.0; // USER_HZ on Linux
    let before = ticks();
    std::thread::sleep(span);
    (ticks() - before) as f64 / hz / span.as_secs_f64()
}

#[test]
#[ignore = "needs Debian's ARM toolchain, QEMU, Chromium and tests/browser; scripts/test.sh runs it"]
fn the_firmware_serves_a_live_dashboard_from_qemu() {
    serves_a_live_dashboard(Firmware::Poll);
}

#[test]
#[ignore = "needs Debian's ARM toolchain, QEMU, Chromium and tests/browser; scripts/test.sh runs it"]
fn the_embassy_firmware_serves_a_live_dashboard_from_qemu() {
    serves_a_live_dashboard(Firmware::Embassy);
}

fn serves_a_live_dashboard(firmware: Firmware) {
    let sse = built("sse");
    let port = free_port();
    let (_qemu, _epoch) = boot(firmware, port, 250);
    let base = format!("http://127.0.0.1:{port}");

    // The page, once the forwarding is up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let out = Command::new("curl").args(["-s", "--max-time", "5", &format!("{base}/")]).output().unwrap();
        if out.status.success() && !out.stdout.is_empty() {
            break String::from_utf8(out.stdout).unwrap();
        }
        assert!(Instant::now() < deadline, "dashboard unreachable");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.contains("<title>sse dashboard</title>"));
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("{base}/nope")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");

    // curl sees the stream on the wire.
    let out = Command::new("curl")
        .args(["-s", "-N", "--max-time", "2", &format!("{base}/events")])
        .output()
        .unwrap();
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(raw.starts_with("retry: 2000\n\n") && raw.contains("event: sensor\nid: "), "{raw}");

    // sse cat: increasing ids, no gaps.
    let events = format!("{base}/events");
    let first_events = cat(&sse, &["--json", "--max-events", "4", &events]);
    let first = ids(&first_events);
    let second_id = first_events[1]["last_event_id"].as_str().unwrap().to_owned();
    assert!(first.windows(2).all(|w| w[1] == w[0] + 1), "{first:?}");

    // Reconnecting with Last-Event-ID resumes right after it, without gaps,
    // even though events went on meanwhile.
    std::thread::sleep(Duration::from_secs(1));
    let resumed = ids(&cat(&sse, &["--json", "--max-events", "6", "--last-event-id", &second_id, &events]));
    let want: Vec<u64> = (first[1] + 1..first[1] + 7).collect();
    assert_eq!(resumed, want);

    // A real browser shows events arriving and the chart drawing.
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("firmware-dashboard.png");
    let out = Command::new("node")
        .arg(root().join("tests/browser/dashboard.mjs"))
        .arg(format!("{base}/"))
        .arg(&screenshot)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("firmware dashboard in Chromium: {shown}; screenshot {}", screenshot.display());
    assert_eq!(shown["state"], "open");
    assert!(shown["points"].as_u64().unwrap() >= 10, "{shown}");
    assert_eq!(shown["legend"], serde_json::json!(["temperature", "humidity"]));
}

#[test]
#[ignore = "needs Debian's ARM toolchain and QEMU; scripts/test.sh runs it"]
fn the_firmware_drops_trickled_heads_sleeps_and_ids_survive_a_reboot() {
    drops_trickled_heads_sleeps_and_ids_survive_a_reboot(Firmware::Poll);
}

#[test]
#[ignore = "needs Debian's ARM toolchain and QEMU; scripts/test.sh runs it"]
fn the_embassy_firmware_drops_trickled_heads_sleeps_and_ids_survive_a_reboot() {
    drops_trickled_heads_sleeps_and_ids_survive_a_reboot(Firmware::Embassy);
}

fn drops_trickled_heads_sleeps_and_ids_survive_a_reboot(firmware: Firmware) {
    let sse = built("sse");
    let port = free_port();
    let (qemu, epoch) = boot(firmware, port, 250);

    // A head trickled a byte every 500 ms is dropped after the 5 s request
    // timeout, while another client's stream goes on.
    let received = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (received, stop) = (Arc::clone(&received), Arc::clone(&stop));
        let (status, mut stream) = stream_status(port);
        assert_eq!(status, 200);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.fetch_add(n, Ordering::Relaxed),
                };
            }
        })
    };
    let mut trickler = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = Instant::now();
    let mut samples = Vec::new();
    trickler.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut closed = None;
    for byte in b"GET /events HTTP/1.1\r\nHost: x".iter() {
        if trickler.write_all(&[*byte]).is_err() {
            closed = Some(Instant::now());
            break;
        }
        let mut buf = [0u8; 512];
        match trickler.read(&mut buf) {
            Ok(_) => {
                closed = Some(Instant::now());
                break;
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => {
                closed = Some(Instant::now());
                break;
            }
        }
        samples.push(received.load(Ordering::Relaxed));
    }
    let closed_after = closed.expect("the trickled head was never dropped").duration_since(started);
    println!("trickled head dropped after {closed_after:?}");
    assert!(
        closed_after > Duration::from_secs(4) && closed_after < Duration::from_secs(10),
        "{closed_after:?}"
    );
    // The streaming client received events all along (every second).
    for pair in samples.chunks(2).collect::<Vec<_>>().windows(2) {
        assert!(pair[1][0] > pair[0][0], "the stream stalled beside the trickler: {samples:?}");
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();

    // Reboot: an id from the previous boot gets `missed` first, although
    // the new boot has events with the same sequence numbers.
    let old_id = format!("{epoch}-5");
    drop(qemu);
    std::thread::sleep(Duration::from_millis(1100));
    let (qemu, new_epoch) = boot(firmware, port, 250);
    assert_ne!(new_epoch, epoch);
    std::thread::sleep(Duration::from_secs(2));
    let events = format!("http://127.0.0.1:{port}/events");
    let first = cat(&sse, &["--json", "--max-events", "2", "--last-event-id", &old_id, &events]);
    assert_eq!(first[0]["type"], "missed", "{first:?}");
    assert!(first[1]["last_event_id"].as_str().unwrap().starts_with(&new_epoch), "{first:?}");

    // Idle, the firmware sleeps: QEMU uses little of a host core (a busy
    // loop used all of one).
    let share = cpu_share(&qemu, Duration::from_secs(5));
    println!("QEMU idle: {:.1} % of a core", share * 100.0);
    assert!(share < 0.25, "QEMU used {:.0} % of a core while idle", share * 100.0);
}

/// A client that sends a stream request and never reads (with a receive
/// buffer of `argv[2]` bytes if given). When its stdin closes it drains the
/// socket for up to 3 s and prints whether the server had closed it (a
/// stream still open keeps sending).
const STALLED_CLIENT: &str = r#"
import socket, sys, time
s = socket.socket()
if len(sys.argv) > 2:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[2]))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /events HTTP/1.1\r\nHost: device\r\n\r\n")
print("connected", flush=True)
sys.stdin.read()
s.settimeout(1)
end = time.time() + 3
outcome = "still open"
try:
    while time.time() < end:
        if not s.recv(1 << 20):
            outcome = "closed by the server"
            break
except socket.timeout:
    pass
except OSError:
    outcome = "closed by the server"
print(outcome)
"#;

#[test]
#[ignore = "needs Debian's ARM toolchain and QEMU; scripts/test.sh runs it"]
fn four_clients_that_never_read_do_not_keep_a_fifth_out() {
    clients_that_never_read_do_not_keep_a_fifth_out(Firmware::Poll);
}

#[test]
#[ignore = "needs Debian's ARM toolchain and QEMU; scripts/test.sh runs it"]
fn four_clients_that_never_read_do_not_keep_a_fifth_out_of_the_embassy_firmware() {
    clients_that_never_read_do_not_keep_a_fifth_out(Firmware::Embassy);
}

/// Under QEMU's default user networking the host's TCP stack reads for a
/// client that does not, so its window stays open for hours and the stall
/// timeout never fires: it is the purge of the stalest stream that keeps
/// the slots free.
fn clients_that_never_read_do_not_keep_a_fifth_out(firmware: Firmware) {
    let port = free_port();
    // The sensor reads every 5 ms (about 18 KB/s to each client).
    let (_qemu, _epoch) = boot(firmware, port, 5);
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut client = Command::new("python3")
            .args(["-c", STALLED_CLIENT, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(client.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "connected");
        stalled.push(client);
        std::thread::sleep(Duration::from_millis(500));
    }
    // A fifth client streams within 30 s, and the page is served
    // throughout.
    let full = Instant::now();
    let served_after = loop {
        let (status, _stream) = stream_status(port);
        if status == 200 {
            break full.elapsed();
        }
        assert!(page_ok(port), "the page is not served while the streams are full");
        assert!(
            full.elapsed() < Duration::from_secs(30),
            "no stream after {:?} (last {status})",
            full.elapsed()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    println!("{firmware:?}: a fifth client streams {served_after:?} after four clients that never read");
    assert!(page_ok(port));
    // The oldest of them were closed for the newcomers.
    let closed = stalled
        .into_iter()
        .map(|mut client| {
            drop(client.stdin.take());
            let out = client.wait_with_output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
        .filter(|outcome| outcome == "closed by the server")
        .count();
    assert!(closed >= 2, "only {closed} of the four clients that never read were closed");
}

/// A network namespace of the test's own, deleted on drop.
struct Netns(String);

impl Netns {
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0, program]);
        command
    }

    fn status(&self, port: u16, path: &str) -> String {
        let url = format!("http://127.0.0.1:{port}{path}");
        let out = self
            .command("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2", &url])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
#[ignore = "needs root (a network namespace), Debian's ARM toolchain and QEMU; scripts/test.sh runs it as root"]
fn clients_that_stop_reading_are_closed_by_the_stall_timeout() {
    closed_by_the_stall_timeout(Firmware::Poll);
}

#[test]
#[ignore = "needs root (a network namespace), Debian's ARM toolchain and QEMU; scripts/test.sh runs it as root"]
fn clients_that_stop_reading_are_closed_by_the_embassy_firmwares_stall_timeout() {
    closed_by_the_stall_timeout(Firmware::Embassy);
}

/// Where the host's buffers are small (a namespace with 16 KiB TCP send
/// buffers at most), the path of a client that stops reading fills in
/// seconds and the stall timeout (10 s in the firmwares) closes it: three
/// such clients take every stream slot (no purge), and all three are gone
/// well within 40 s, while the page is served throughout.
fn closed_by_the_stall_timeout(firmware: Firmware) {
    let ns = Netns(format!("sse-qemu-{}-{firmware:?}", std::process::id()));
    assert!(Command::new("ip").args(["netns", "add", &ns.0]).status().unwrap().success());
    for args in
        [&["ip", "link", "set", "lo", "up"][..], &["sysctl", "-q", "-w", "net.ipv4.tcp_wmem=4096 8192 16384"]]
    {
        assert!(ns.command(args[0]).args(&args[1..]).status().unwrap().success(), "{args:?}");
    }
    let port = 8081;
    // The sensor reads every 5 ms (about 18 KB/s to each client).
    let (_qemu, _epoch) = launch(ns.command("bash"), firmware, port, 5);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ns.status(port, "/") != "200" {
        assert!(Instant::now() < deadline, "firmware unreachable");
        std::thread::sleep(Duration::from_millis(200));
    }
    let stalled: Vec<_> = (0..3)
        .map(|_| {
            let mut client = ns
                .command("python3")
                .args(["-c", STALLED_CLIENT, &port.to_string(), "2048"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(client.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
            assert_eq!(line.trim(), "connected");
            client
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(40) {
        assert_eq!(ns.status(port, "/"), "200", "the page is not served beside the stalled streams");
        std::thread::sleep(Duration::from_secs(2));
    }
    for mut client in stalled {
        drop(client.stdin.take());
        let out = client.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "closed by the server", "{firmware:?}");
    }
}

/// A TCP proxy on 127.0.0.1 in front of `upstream` that can cut every
/// connection and refuse new ones for a while, as a network outage does.
struct Proxy {
    port: u16,
    open: Arc<std::sync::Mutex<Vec<TcpStream>>>,
    refuse_until: Arc<std::sync::Mutex<Instant>>,
}

impl Proxy {
    fn start(upstream: u16) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(std::sync::Mutex::new(Vec::<TcpStream>::new()));
        let refuse_until = Arc::new(std::sync::Mutex::new(Instant::now()));
        let (tracked, refusing) = (Arc::clone(&open), Arc::clone(&refuse_until));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if Instant::now() < *refusing.lock().unwrap() {
                    continue; // dropped: closed at once
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                tracked.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in
                    [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { port, open, refuse_until }
    }

    /// Closes every connection and refuses new ones for `outage`.
    fn cut(&self, outage: Duration) {
        *self.refuse_until.lock().unwrap() = Instant::now() + outage;
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// `sse serve` on a free port, killed on drop.
struct Serve(Child, u16);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn publish(port: u16, data: &str) {
    let body = format!("{{\"data\":\"{data}\",\"event\":\"relayed\"}}");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
}

#[test]
#[ignore = "needs Debian's ARM toolchain, QEMU and socat; scripts/test.sh runs it"]
fn the_relay_firmware_re_serves_every_event_once_across_a_cut_connection() {
    relays_every_event_once_across_a_cut_connection(Firmware::Poll);
}

#[test]
#[ignore = "needs Debian's ARM toolchain, QEMU and socat; scripts/test.sh runs it"]
fn the_embassy_relay_firmware_re_serves_every_event_once_across_a_cut_connection() {
    relays_every_event_once_across_a_cut_connection(Firmware::Embassy);
}

fn relays_every_event_once_across_a_cut_connection(firmware: Firmware) {
    // The host's stream; the board names it by the address QEMU gives it.
    let host_port = free_port();
    let child = Command::new(built("sse"))
        .args(["serve", "--listen", &format!("127.0.0.1:{host_port}"), "--allow-host", "192.168.70.10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let serve = Serve(child, host_port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", serve.1)).is_err() {
        assert!(Instant::now() < deadline, "sse serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let proxy = Proxy::start(serve.1);
    let board_port = free_port();
    let mut relay = Command::new("bash");
    relay.arg(root().join("scripts/qemu-relay.sh"));
    if let Firmware::Embassy = firmware {
        relay.arg("--embassy");
    }
    let mut child = relay
        .args([proxy.port.to_string(), board_port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _qemu = Qemu(child);
    // The board's console, line by line; "relay streaming" once per stream.
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&streams);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if line.contains("relay streaming") {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    while streams.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the relay did not connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A client of the board.
    let mut board = TcpStream::connect(("127.0.0.1", board_port)).unwrap();
    board.write_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    board.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let received = Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let collected = Arc::clone(&received);
    let head_seen = Arc::new(AtomicBool::new(false));
    let head_flag = Arc::clone(&head_seen);
    let reader = std::thread::spawn(move || {
        let mut parser: sse_wire::Parser<1024, 64, 64> = sse_wire::Parser::new();
        let mut bytes = Vec::new();
        let mut buf = [0u8; 2048];
        while collected.lock().unwrap().len() < 20 {
            let Ok(n) = board.read(&mut buf) else { break };
            if n == 0 {
                break;
            }
            let mut chunk = &buf[..n];
            if !head_flag.load(Ordering::SeqCst) {
                bytes.extend_from_slice(chunk);
                let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                head_flag.store(true, Ordering::SeqCst);
                let rest = bytes.split_off(end + 4);
                bytes = rest;
                chunk = &bytes;
            }
            let chunk = chunk.to_vec();
            parser.feed(&chunk, |out| {
                if let sse_wire::Output::Event(e) = out {
                    collected.lock().unwrap().push((e.data().to_string(), e.last_event_id().to_string()));
                }
            });
        }
    });
    while !head_seen.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the board's stream did not open");
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..10 {
        publish(serve.1, &format!("e{i}"));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // The path to the host goes down while events go on being published.
    proxy.cut(Duration::from_secs(3));
    for i in 10..15 {
        publish(serve.1, &format!("e{i}"));
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(4));
    for i in 15..20 {
        publish(serve.1, &format!("e{i}"));
    }
    reader.join().unwrap();
    let received = received.lock().unwrap().clone();
    let data: Vec<&str> = received.iter().map(|(d, _)| d.as_str()).collect();
    let want: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
    assert_eq!(data, want, "every event once, in order");
    // The board numbers them in its own history, without gaps.
    let seqs: Vec<u64> =
        received.iter().map(|(_, id)| id.rsplit_once('-').unwrap().1.parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(streams.load(Ordering::SeqCst) >= 2, "the relay reconnected after the cut");
}
