//! The firmware end to end: `scripts/qemu-dashboard.sh` runs it on QEMU's
//! mps2-an385 with its port 80 forwarded to 127.0.0.1; `curl`, `sse cat`
//! and headless Chromium then use the dashboard it serves.
//!
//! Ignored by default: it needs Debian's ARM toolchain, QEMU, Chromium and
//! the Node.js packages of `tests/browser`, which `scripts/test.sh`
//! installs before running it with `--ignored`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

fn ids(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "sensor");
            let data: Value = serde_json::from_str(e["data"].as_str().unwrap()).unwrap();
            assert!(data["temperature"].is_f64() && data["humidity"].is_f64(), "{data}");
            e["last_event_id"].as_str().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
#[ignore = "needs Debian's ARM toolchain, QEMU, Chromium and tests/browser; scripts/test.sh runs it"]
fn the_firmware_serves_a_live_dashboard_from_qemu() {
    let sse = built("sse");
    let port = free_port();
    let mut child = Command::new("bash")
        .arg(root().join("scripts/qemu-dashboard.sh"))
        .arg(port.to_string())
        // QEMU must not touch the terminal of whoever runs the tests.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _qemu = Qemu(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.contains("serving http://192.168.70.2/"), "{line:?}");
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
    let first = ids(&cat(&sse, &["--json", "--max-events", "4", &events]));
    assert!(first.windows(2).all(|w| w[1] == w[0] + 1), "{first:?}");

    // Reconnecting with Last-Event-ID resumes right after it, without gaps,
    // even though events went on meanwhile.
    std::thread::sleep(Duration::from_secs(1));
    let resumed =
        ids(&cat(&sse, &["--json", "--max-events", "6", "--last-event-id", &first[1].to_string(), &events]));
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
