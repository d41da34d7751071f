//! A client that vanishes without a FIN (a phone leaving Wi-Fi) is dropped
//! in bounded time by TCP keep-alive, and held without it. Two network
//! namespaces that this test creates and deletes, joined by a veth pair:
//! `sse serve` runs in one, `curl` in the other, then the client's link
//! goes down. Needs root, so it is ignored by default; `scripts/test.sh`
//! runs it when it runs as root, and says it skipped it otherwise.

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const SSE: &str = env!("CARGO_BIN_EXE_sse");

/// Two namespaces and the processes in them, all removed on drop.
struct Net {
    server: String,
    client: String,
    children: Vec<Child>,
}

impl Net {
    fn run(&self, ns: &str, args: &[&str]) {
        let out = Command::new("ip").args(["netns", "exec", ns]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn spawn(&mut self, ns: &str, args: &[&str]) {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
    }

    /// A metric of the server at `port`, read from inside its namespace.
    fn metric(&self, port: u16, name: &str) -> Option<u64> {
        let url = format!("http://10.231.0.1:{port}/metrics");
        let out = Command::new("ip")
            .args(["netns", "exec", &self.server, "curl", "-s", "--max-time", "2", &url])
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.server, &self.client] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
#[ignore = "needs root to create network namespaces; scripts/test.sh runs it as root"]
fn a_vanished_client_is_dropped_by_tcp_keepalive_and_held_without_it() {
    let id = std::process::id();
    let mut net =
        Net { server: format!("sse-vs-{id}"), client: format!("sse-vc-{id}"), children: Vec::new() };
    let (veth_server, veth_client) = (format!("vs{id}"), format!("vc{id}"));
    for ns in [&net.server, &net.client] {
        assert!(Command::new("ip").args(["netns", "add", ns]).status().unwrap().success());
    }
    let link = ["link", "add", &veth_server, "type", "veth", "peer", "name", &veth_client];
    assert!(Command::new("ip").args(link).status().unwrap().success());
    assert!(
        Command::new("ip")
            .args(["link", "set", &veth_server, "netns", &net.server])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new("ip")
            .args(["link", "set", &veth_client, "netns", &net.client])
            .status()
            .unwrap()
            .success()
    );
    // 10.231.0.0/24 exists only between these two namespaces.
    net.run(&net.server, &["ip", "addr", "add", "10.231.0.1/24", "dev", &veth_server]);
    net.run(&net.client, &["ip", "addr", "add", "10.231.0.2/24", "dev", &veth_client]);
    for (ns, dev) in [(&net.server, &veth_server), (&net.client, &veth_client)] {
        net.run(ns, &["ip", "link", "set", "lo", "up"]);
        net.run(ns, &["ip", "link", "set", dev, "up"]);
    }

    // Two servers, no keep-alive comments and no stall timeout: only TCP
    // can notice the peer is gone. 8080 probes after 1 s idle, every 1 s,
    // twice; 8081 does not probe.
    let server = net.server.clone();
    let common =
        ["--keep-alive", "0", "--stall-timeout", "0", "--tcp-user-timeout", "0", "--anonymous-publish"];
    let probed =
        [&["serve", "--listen", "10.231.0.1:8080", "--tcp-keepalive", "1:1:2"][..], &common].concat();
    let unprobed =
        [&["serve", "--listen", "10.231.0.1:8081", "--tcp-keepalive", "off"][..], &common].concat();
    net.spawn(&server, &[&[SSE][..], &probed].concat());
    net.spawn(&server, &[&[SSE][..], &unprobed].concat());
    // Both servers listen before the clients connect.
    let deadline = Instant::now() + Duration::from_secs(20);
    while net.metric(8080, "sse_streams").is_none() || net.metric(8081, "sse_streams").is_none() {
        assert!(Instant::now() < deadline, "the servers never started");
        thread::sleep(Duration::from_millis(100));
    }
    let client = net.client.clone();
    for port in [8080, 8081] {
        let url = format!("http://10.231.0.1:{port}/events");
        net.spawn(&client, &["curl", "-sN", "--max-time", "60", &url]);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while net.metric(8080, "sse_streams") != Some(1) || net.metric(8081, "sse_streams") != Some(1) {
        assert!(Instant::now() < deadline, "the clients never connected");
        thread::sleep(Duration::from_millis(100));
    }

    // The client vanishes: its link goes down, nothing is sent to the server.
    net.run(&client, &["ip", "link", "set", &veth_client, "down"]);
    let vanished = Instant::now();
    while net.metric(8080, "sse_streams") != Some(0) {
        assert!(vanished.elapsed() < Duration::from_secs(15), "the vanished client is still held");
        thread::sleep(Duration::from_millis(100));
    }
    let dropped_after = vanished.elapsed();
    println!("vanished client dropped after {dropped_after:?} (probes: 1 s idle, 1 s interval, 2 probes)");
    // Without probes the same client is still held.
    thread::sleep(Duration::from_secs(5).saturating_sub(dropped_after));
    assert_eq!(
        net.metric(8081, "sse_streams"),
        Some(1),
        "without keep-alive the client should still be held"
    );
}
