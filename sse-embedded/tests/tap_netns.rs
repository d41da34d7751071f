//! The host demo (`examples/tap_demo.rs`: sse-embedded over smoltcp on a
//! TAP device) end to end, inside a network namespace that this test
//! creates and deletes: `curl` and `sse cat` reach it from inside that
//! namespace only. Needs root; skipped, with a message, otherwise.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A namespace (and the demo running in it), removed on drop.
struct Namespace {
    name: String,
    demo: Option<Child>,
}

impl Namespace {
    fn exec(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip").args(["netns", "exec", &self.name]).args(args).output().unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some(mut demo) = self.demo.take() {
            let _ = demo.kill();
            let _ = demo.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn built(relative: &str) -> PathBuf {
    // target/debug/deps/<this test> -> target/debug/<relative>
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(relative);
    assert!(path.exists(), "{} not built (run the workspace tests: scripts/test.sh)", path.display());
    path
}

#[test]
fn tap_demo_serves_curl_and_sse_cat_inside_a_network_namespace() {
    if !is_root() {
        println!("skipped: needs root to create a network namespace and a TAP device");
        return;
    }
    let demo = built("examples/tap_demo");
    let sse = built("sse");
    let mut ns = Namespace { name: format!("sse-test-{}", std::process::id()), demo: None };
    assert!(Command::new("ip").args(["netns", "add", &ns.name]).status().unwrap().success());

    // The device's smoltcp stack is 192.168.69.1 on tap0; the namespace's
    // kernel side of tap0 is 192.168.69.100. Neither exists outside it.
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&demo)
        .args(["tap0", "192.168.69.1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    ns.demo = Some(child);
    assert!(line.contains("serving"), "{line}");
    for args in [
        &["ip", "link", "set", "lo", "up"][..],
        &["ip", "link", "set", "tap0", "up"],
        &["ip", "addr", "add", "192.168.69.100/24", "dev", "tap0"],
    ] {
        let out = ns.exec(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // The page, over curl (retrying while ARP and the link settle).
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let out = ns.exec(&["curl", "-s", "--max-time", "5", "http://192.168.69.1/"]);
        if out.status.success() {
            break String::from_utf8(out.stdout).unwrap();
        }
        assert!(Instant::now() < deadline, "page unreachable: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.contains("device dashboard"), "{page}");
    let out = ns.exec(&["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://192.168.69.1/nope"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");

    // The stream, with sse cat: three sensor events with a rising counter.
    let out =
        ns.exec(&[sse.to_str().unwrap(), "cat", "--json", "--max-events", "3", "http://192.168.69.1/events"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    let counters: Vec<u64> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["type"], "sensor");
            let data: serde_json::Value = serde_json::from_str(l["data"].as_str().unwrap()).unwrap();
            data["n"].as_u64().unwrap()
        })
        .collect();
    assert!(counters.windows(2).all(|w| w[1] == w[0] + 1), "{counters:?}");

    // Resume: a client that saw the first of them is replayed the rest.
    let first_id = lines[0]["last_event_id"].as_str().unwrap().to_owned();
    let out = ns.exec(&[
        sse.to_str().unwrap(),
        "cat",
        "--json",
        "--max-events",
        "2",
        "--last-event-id",
        &first_id,
        "http://192.168.69.1/events",
    ]);
    let replayed: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(replayed[..2], lines[1..3]);
    println!("tap demo in namespace {}: page, 404, stream and resume OK", ns.name);
}
