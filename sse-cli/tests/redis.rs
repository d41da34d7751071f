//! `sse serve --redis` instances on a real `redis-server` (each test
//! starts its own on a free loopback port, never a system service): shared
//! events with identical ids, failover resume, replay from Redis on a late
//! instance, Redis stopped and started, Redis restarted empty, trimmed
//! history, forged resumes under load with memory bounded.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::process::{Serve, Stream};
use serde_json::{Value, json};

const JSON: &str = "Content-Type: application/json";

/// A `redis-server` of this test, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
    persistent: bool,
}

impl Redis {
    /// Without persistence: a restart starts empty.
    fn start() -> Self {
        Self::launch(free_port(), None, false)
    }

    /// With an append-only file fsynced on every write: a restart keeps
    /// everything.
    fn persistent() -> Self {
        Self::launch(free_port(), None, true)
    }

    fn launch(port: u16, dir: Option<PathBuf>, persistent: bool) -> Self {
        let dir = dir.unwrap_or_else(|| {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("redis-{}-{port}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        });
        let mut args: Vec<String> =
            ["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--dir"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        args.push(dir.to_str().unwrap().to_owned());
        // Small stream nodes, so that `MAXLEN ~` trims at small lengths.
        args.extend(["--stream-node-max-entries", "10"].map(str::to_owned));
        if persistent {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(str::to_owned));
        } else {
            args.extend(["--appendonly", "no"].map(str::to_owned));
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        let redis = Self { child, port, dir, persistent };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(Instant::now() < deadline, "redis-server did not start");
            thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same port (and directory: with persistence,
    /// the same data).
    fn restart(&mut self) {
        self.stop();
        let again = Self::launch(self.port, Some(self.dir.clone()), self.persistent);
        let old = std::mem::replace(self, again);
        std::mem::forget(old);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn instance(redis: &Redis, extra: &[&str]) -> Serve {
    let url = redis.url();
    let mut args = vec!["--keep-alive", "1", "--redis", &url];
    args.extend_from_slice(extra);
    Serve::start(&args)
}

/// POSTs the items; status and ids.
fn publish(serve: &Serve, items: &[Value]) -> (u16, Vec<String>) {
    serve.publish_items(items, &[JSON])
}

fn data(i: usize) -> Value {
    json!({"data": format!("e{i}")})
}

fn frame(id: &str, data: &str) -> String {
    format!("id: {id}\ndata: {data}\n\n")
}

/// The event frames of `frames` (keep-alive comments left out).
fn events(frames: Vec<String>) -> Vec<String> {
    frames.into_iter().filter(|f| !f.starts_with(':')).collect()
}

/// Reads until `count` events arrived (or 10 s passed).
fn read_events(stream: &mut Stream, count: usize) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < count && Instant::now() < deadline {
        got.extend(events(stream.frames_within(Duration::from_millis(100))));
    }
    got
}

fn open(serve: &Serve, target: &str, headers: &[&str]) -> Stream {
    let (status, head, stream) = Stream::open(serve.addr, target, headers);
    assert_eq!(status, 200, "{head}");
    stream.unwrap()
}

#[test]
fn two_instances_deliver_the_same_events_with_the_same_ids() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis, &[]), instance(&redis, &[]));
    let mut on_a = open(&a, "/events", &[]);
    let mut on_b = open(&b, "/events", &[]);
    let mut topic_on_b = open(&b, "/events?topic=t/*", &[]);
    let items: Vec<Value> = (0..6)
        .map(|i| json!({"data": format!("e{i}"), "topic": if i % 2 == 0 { "t/x" } else { "u" }}))
        .collect();
    let (status, ids) = publish(&a, &items[..3]);
    assert_eq!(status, 202);
    let (status, more) = publish(&b, &items[3..]);
    assert_eq!(status, 202);
    let ids: Vec<String> = ids.into_iter().chain(more).collect();
    let want: Vec<String> = ids.iter().enumerate().map(|(i, id)| frame(id, &format!("e{i}"))).collect();
    assert_eq!(read_events(&mut on_a, 6), want);
    assert_eq!(read_events(&mut on_b, 6), want, "B delivers A's events, in order, with the same ids");
    let even: Vec<String> = want.iter().step_by(2).cloned().collect();
    assert_eq!(read_events(&mut topic_on_b, 3), even);
    // Ids are the stream's: the same prefix (epoch) and increasing.
    let epoch = ids[0].split_once('-').unwrap().0;
    assert!(ids.iter().all(|id| id.starts_with(&format!("{epoch}-"))), "{ids:?}");
    // A publisher-supplied id cannot be resumed on every instance: refused.
    let (status, _) = publish(&a, &[json!({"data": "x", "id": "mine"})]);
    assert_eq!(status, 400);
}

#[test]
fn a_client_moved_to_another_instance_resumes_exactly() {
    let redis = Redis::start();
    let a = instance(&redis, &[]);
    let mut b = instance(&redis, &[]);
    let mut client = open(&b, "/events", &[]);
    let (_, first) = publish(&a, &(0..3).map(data).collect::<Vec<_>>());
    let seen = read_events(&mut client, 3);
    assert_eq!(seen.len(), 3);
    // B dies without a word; events go on while the client is away.
    let _ = b.child.kill();
    let _ = b.child.wait();
    let (_, rest) = publish(&a, &(3..7).map(data).collect::<Vec<_>>());
    let last = format!("Last-Event-ID: {}", first[2]);
    let mut resumed = open(&a, "/events", &[&last]);
    let want: Vec<String> =
        rest.iter().enumerate().map(|(i, id)| frame(id, &format!("e{}", i + 3))).collect();
    assert_eq!(read_events(&mut resumed, 4), want);
    thread::sleep(Duration::from_millis(300));
    assert!(events(resumed.frames_within(Duration::from_millis(200))).is_empty(), "no duplicate, no missed");
}

#[test]
fn a_late_instance_answers_old_ids_from_redis_filtered_by_topic_and_privacy() {
    let redis = Redis::start();
    let a = instance(&redis, &["--history", "500"]);
    let items: Vec<Value> = (0..60)
        .map(|i| match i % 3 {
            0 => json!({"data": format!("e{i}"), "topic": "a"}),
            1 => json!({"data": format!("e{i}"), "topic": "a", "private": true}),
            _ => json!({"data": format!("e{i}"), "topic": "b"}),
        })
        .collect();
    let (status, ids) = publish(&a, &items);
    assert_eq!(status, 202);
    // C keeps only the newest 5 events itself: id 10 is older.
    let c = instance(&redis, &["--history", "5"]);
    let resume = format!("Last-Event-ID: {}", ids[10]);
    let mut replay = open(&c, "/events?topic=a", &[&resume]);
    let want: Vec<String> =
        (11..60).filter(|i| i % 3 == 0).map(|i| frame(&ids[i], &format!("e{i}"))).collect();
    assert_eq!(read_events(&mut replay, want.len()), want, "public events of topic a after id 10");
    assert_eq!(c.metric("sse_replays_total"), 1);
    assert_eq!(c.metric("sse_stale_resumes_total"), 0);
    // Live events follow the replay without a gap.
    let (_, next) = publish(&a, &[json!({"data": "live", "topic": "a"})]);
    assert_eq!(read_events(&mut replay, 1), [frame(&next[0], "live")]);
    // An id of another epoch, or never assigned, is missed, not replayed.
    for stale in ["0000-1-0", "garbage", &format!("{}-0", ids[10].split_once('-').unwrap().0)] {
        let header = format!("Last-Event-ID: {stale}");
        let mut s = open(&c, "/events?topic=a", &[&header]);
        assert_eq!(read_events(&mut s, 1), ["event: missed\ndata: \n\n"], "{stale}");
    }
}

#[test]
fn trimmed_history_gives_missed() {
    let redis = Redis::start();
    let a = instance(&redis, &["--history", "20"]);
    let (_, ids) = publish(&a, &(0..200).map(data).collect::<Vec<_>>());
    let length: usize = redis.cli(&["XLEN", "sse"]).unwrap().parse().unwrap();
    assert!(length < 100, "the stream is trimmed near 20 entries, has {length}");
    let c = instance(&redis, &["--history", "5"]);
    let old = format!("Last-Event-ID: {}", ids[5]);
    let mut s = open(&c, "/events", &[&old]);
    assert_eq!(read_events(&mut s, 1), ["event: missed\ndata: \n\n"]);
    // Within what is kept, the replay is exact.
    let recent = format!("Last-Event-ID: {}", ids[190]);
    let mut s = open(&c, "/events", &[&recent]);
    let want: Vec<String> = (191..200).map(|i| frame(&ids[i], &format!("e{i}"))).collect();
    assert_eq!(read_events(&mut s, 9), want);
}

#[test]
fn redis_stopped_and_started_loses_nothing_that_was_accepted() {
    let mut redis = Redis::persistent();
    let (a, b) = (instance(&redis, &[]), instance(&redis, &[]));
    let mut on_b = open(&b, "/events", &[]);
    let publisher = {
        let (addr, stop) = (a.addr, std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));
        let flag = std::sync::Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let mut accepted = Vec::new();
            let (mut refused, mut slowest) = (0, Duration::ZERO);
            for i in 0.. {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let body = json!([{"data": format!("p{i}")}]).to_string();
                let head = format!(
                    "POST /publish HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{JSON}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let started = Instant::now();
                let (status, reply) = common::process::raw(addr, head.as_bytes());
                slowest = slowest.max(started.elapsed());
                match status {
                    202 => {
                        let reply: Value = serde_json::from_slice(&reply).unwrap();
                        accepted.push((reply["ids"][0].as_str().unwrap().to_owned(), format!("p{i}")));
                    }
                    503 => refused += 1,
                    other => panic!("publish answered {other}"),
                }
                thread::sleep(Duration::from_millis(20));
            }
            (accepted, refused, slowest)
        });
        (handle, stop)
    };
    thread::sleep(Duration::from_millis(500));
    redis.stop();
    // Streams stay open while Redis is down: keep-alives go on.
    let down = on_b.frames_within(Duration::from_millis(2500));
    assert!(down.iter().any(|f| f.starts_with(':')), "keep-alive while Redis is down: {down:?}");
    redis.restart();
    thread::sleep(Duration::from_millis(2500));
    publisher.1.store(true, std::sync::atomic::Ordering::Relaxed);
    let (accepted, refused, slowest) = publisher.0.join().unwrap();
    println!("accepted {}, refused {refused}, slowest answer {slowest:?}", accepted.len());
    assert!(refused > 0, "publishing while Redis was down must have been refused");
    assert!(slowest < Duration::from_secs(5), "every publish answered within 5 s, slowest {slowest:?}");
    let after_restart = accepted.iter().filter(|(_, d)| !down.iter().any(|f| f.contains(d.as_str()))).count();
    assert!(after_restart > 0);
    let want: Vec<String> = accepted.iter().map(|(id, d)| frame(id, d)).collect();
    let mut got: Vec<String> = events(down);
    while got.len() < want.len() {
        let more = read_events(&mut on_b, 1);
        if more.is_empty() {
            break;
        }
        got.extend(more);
    }
    got.extend(events(on_b.frames_within(Duration::from_millis(300))));
    // Every 202-accepted event, in order. A request answered 503 may still
    // have been stored (Redis died after storing it, before answering):
    // only such events may appear besides, never `missed`.
    let delivered: Vec<&String> = got.iter().filter(|f| want.contains(f)).collect();
    assert_eq!(delivered, want.iter().collect::<Vec<_>>(), "every 202-accepted event reaches B, in order");
    let accepted_data: Vec<&str> = accepted.iter().map(|(_, d)| d.as_str()).collect();
    for extra in got.iter().filter(|f| !want.contains(f)) {
        let data = extra.rsplit_once("data: ").map(|(_, d)| d.trim()).unwrap_or_default();
        assert!(data.starts_with('p') && !accepted_data.contains(&data), "unexpected {extra:?}");
    }
}

#[test]
fn redis_restarted_empty_gives_missed_never_a_wrong_replay() {
    let mut redis = Redis::start();
    let a = instance(&redis, &[]);
    let mut live = open(&a, "/events", &[]);
    let (_, before) = publish(&a, &(0..3).map(data).collect::<Vec<_>>());
    assert_eq!(read_events(&mut live, 3).len(), 3);
    redis.restart();
    // Publishing works again within seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let (status, ids) = publish(&a, &[json!({"data": "after"})]);
        if status == 202 {
            break ids;
        }
        assert!(Instant::now() < deadline, "publishing did not recover");
        thread::sleep(Duration::from_millis(100));
    };
    assert_ne!(after[0].split_once('-').unwrap().0, before[0].split_once('-').unwrap().0, "a new epoch");
    let got = read_events(&mut live, 2);
    assert_eq!(got, ["event: missed\ndata: \n\n".to_owned(), frame(&after[0], "after")]);
    // A client that resumes from before the restart is told it missed events.
    let old = format!("Last-Event-ID: {}", before[1]);
    let mut resumed = open(&a, "/events", &[&old]);
    assert_eq!(read_events(&mut resumed, 1), ["event: missed\ndata: \n\n"]);
}

/// nginx running, stopped on drop with SIGTERM, which its master passes
/// on to its workers (SIGKILL would leave them running, holding the test
/// harness's output open).
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// nginx (Debian's) on a free loopback port in front of `instances`, with
/// the configuration the README shows; the process and its base URL.
fn nginx_in_front(instances: &[Serve]) -> (Nginx, String) {
    let port = free_port();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nginx-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let servers: String = instances
        .iter()
        .map(|i| format!("    server 127.0.0.1:{} max_fails=1 fail_timeout=5s;\n", i.addr.port()))
        .collect();
    let conf = format!(
        "{user}worker_processes 1;\npid {dir}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {dir}/body;\nproxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\nuwsgi_temp_path {dir}/uwsgi;\nscgi_temp_path {dir}/scgi;\n\
         upstream sse {{\n{servers}}}\n\
         server {{\n    listen 127.0.0.1:{port};\n    location / {{\n        proxy_pass http://sse;\n        \
         proxy_http_version 1.1;\n        proxy_set_header Host $http_host;\n        proxy_buffering off;\n        \
         proxy_read_timeout 1h;\n    }}\n}}\n}}\n",
        user = if root { "user root;\n" } else { "" },
        dir = dir.display(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let nginx = Command::new("nginx")
        .args([
            "-p",
            dir.to_str().unwrap(),
            "-c",
            dir.join("nginx.conf").to_str().unwrap(),
            "-g",
            "daemon off;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx must be installed (scripts/test.sh installs it)");
    let nginx = Nginx(nginx);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        thread::sleep(Duration::from_millis(20));
    }
    (nginx, format!("http://127.0.0.1:{port}"))
}

/// nginx in front of two instances, with the configuration the README
/// shows: a client (`sse cat`) whose instance dies reconnects through
/// nginx to the other and resumes exactly.
#[test]
fn behind_nginx_a_client_survives_its_instance() {
    let redis = Redis::start();
    let mut instances = [instance(&redis, &[]), instance(&redis, &[])];
    let (nginx, front) = nginx_in_front(&instances);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut cat = Command::new(common::process::SSE)
        .args(["cat", "--json", "--max-events", "6", &format!("{front}/events")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(cat.stdout.take().unwrap()));
    // Wait until the stream is open on one instance.
    let serving = loop {
        if let Some(i) = (0..2).find(|&i| instances[i].metric("sse_streams") == 1) {
            break i;
        }
        assert!(Instant::now() < deadline, "the client never connected");
        thread::sleep(Duration::from_millis(50));
    };
    let other = 1 - serving;
    let post = |items: &[Value]| {
        let body = json!(items).to_string();
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", JSON, "--data-binary", &body])
            .arg(format!("{front}/publish"))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"202", "publish through nginx");
    };
    post(&(0..3).map(data).collect::<Vec<_>>());
    let mut got: Vec<Value> = Vec::new();
    for _ in 0..3 {
        got.push(serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap());
    }
    let _ = instances[serving].child.kill();
    let _ = instances[serving].child.wait();
    // Published while the client is away (straight to the live instance).
    assert_eq!(publish(&instances[other], &(3..6).map(data).collect::<Vec<_>>()).0, 202);
    for _ in 0..3 {
        got.push(serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap());
    }
    let status = cat.wait().unwrap();
    drop(nginx);
    assert!(status.success());
    let seen: Vec<&str> = got.iter().map(|e| e["data"].as_str().unwrap()).collect();
    assert_eq!(seen, ["e0", "e1", "e2", "e3", "e4", "e5"], "{got:?}");
}

#[test]
fn an_instance_that_fell_behind_the_trimmed_stream_sends_missed() {
    let redis = Redis::start();
    let a = instance(&redis, &["--history", "20"]);
    let b = instance(&redis, &["--history", "20"]);
    let mut on_b = open(&b, "/events", &[]);
    let (_, first) = publish(&a, &[data(0)]);
    assert_eq!(read_events(&mut on_b, 1), [frame(&first[0], "e0")]);
    // B is paused while the stream moves on far past its position.
    let pid = b.child.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let (_, ids) = publish(&a, &(1..300).map(data).collect::<Vec<_>>());
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let got = read_events(&mut on_b, 2);
    assert_eq!(got[0], "event: missed\ndata: \n\n", "{:?}", &got[..2.min(got.len())]);
    // After the signal it goes on with what the stream still holds, newest last.
    let rest = read_events(&mut on_b, 1);
    let last = frame(ids.last().unwrap(), "e299");
    let mut all: Vec<String> = got.into_iter().skip(1).chain(rest).collect();
    all.extend(events(on_b.frames_within(Duration::from_millis(500))));
    assert_eq!(all.last(), Some(&last));
}

#[test]
fn a_hung_redis_gets_503_within_the_deadline_and_streams_stay_open() {
    let redis = Redis::start();
    let a = instance(&redis, &[]);
    let mut on_a = open(&a, "/events", &[]);
    let pid = redis.child.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let started = Instant::now();
    let (status, _) = publish(&a, &[data(0)]);
    let took = started.elapsed();
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(5), "503 after {took:?}");
    let quiet = on_a.frames_within(Duration::from_millis(1500));
    assert!(quiet.iter().any(|f| f.starts_with(':')), "keep-alives go on: {quiet:?}");
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let ids = loop {
        let (status, ids) = publish(&a, &[data(1)]);
        if status == 202 {
            break ids;
        }
        assert!(Instant::now() < deadline, "publishing did not recover");
        thread::sleep(Duration::from_millis(100));
    };
    let got = read_events(&mut on_a, 1);
    assert_eq!(got.last(), Some(&frame(&ids[0], "e1")), "{got:?}");
}

/// A browser behind the README's nginx configuration: the page and its
/// stream come through nginx, and an event reaches the page at once, not
/// when a proxy buffer fills.
#[test]
#[ignore = "needs Chromium and Node.js packages from tests/browser; scripts/test.sh runs it"]
fn chromium_behind_nginx_receives_each_event_without_buffering() {
    let redis = Redis::start();
    let instances = [instance(&redis, &[]), instance(&redis, &[])];
    let (nginx, front) = nginx_in_front(&instances);
    let front = front.replace("127.0.0.1", "localhost");
    let script = common::process::browser_tools().join("first-event.mjs");
    let (mut node, mut stdout) = common::process::node_until_open(&script, &[&front]);
    let started = Instant::now();
    assert_eq!(publish(&instances[0], &[json!({"data": "through nginx"})]).0, 202);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let took = started.elapsed();
    let _ = node.wait();
    drop(nginx);
    assert_eq!(line.trim(), "through nginx");
    // A buffering proxy would hold a small event until its buffer filled
    // or the stream ended; this one is delivered at once.
    assert!(took < Duration::from_secs(2), "the event took {took:?} through nginx");
}

/// A client controls `Last-Event-ID`: hundreds of resumes from the oldest
/// entry of a long stream, at once, must neither buffer the stream per
/// client nor read it without bound. Each gets `missed` (past the replay
/// bounds) and the instance's memory stays flat; a resume within the
/// bounds is still replayed exactly.
#[test]
fn forged_resumes_under_load_get_missed_with_memory_bounded() {
    let redis = Redis::start();
    let a = instance(&redis, &["--history", "10000"]);
    let payload = "x".repeat(1000);
    let mut ids = Vec::new();
    for batch in 0..12 {
        let items: Vec<Value> =
            (0..500).map(|i| json!({"data": format!("{}-{payload}", batch * 500 + i)})).collect();
        let (status, more) = publish(&a, &items);
        assert_eq!(status, 202);
        ids.extend(more);
    }
    // This instance keeps 5 events itself: every resume below reads Redis.
    let c = instance(&redis, &["--history", "5"]);
    let before = c.rss_kib();
    let epoch = ids[0].split_once('-').unwrap().0.to_owned();
    let clients: Vec<_> = (0..300)
        .map(|i| {
            let addr = c.addr;
            // The oldest real id (6 MB behind), or one never assigned.
            let id = if i % 2 == 0 { ids[0].clone() } else { format!("{epoch}-1-{i}") };
            thread::spawn(move || {
                let header = format!("Last-Event-ID: {id}");
                let (status, head, stream) = Stream::open(addr, "/events", &[&header]);
                assert_eq!(status, 200, "{head}");
                let mut stream = stream.unwrap();
                let mut first = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(20);
                while first.is_empty() && Instant::now() < deadline {
                    first = events(stream.frames_within(Duration::from_millis(100)));
                }
                (first.first().cloned().unwrap_or_default(), stream)
            })
        })
        .collect();
    let mut held = Vec::new();
    for client in clients {
        let (first, stream) = client.join().unwrap();
        assert_eq!(first, "event: missed\ndata: \n\n");
        held.push(stream);
    }
    let grown = c.rss_kib().saturating_sub(before);
    println!("300 forged resumes: memory grew by {grown} KiB");
    assert!(grown < 48 * 1024, "grew by {grown} KiB");
    // 500 events of 1 KB: within the 1 MiB bound, replayed exactly.
    let header = format!("Last-Event-ID: {}", ids[5499]);
    let mut near = open(&c, "/events", &[&header]);
    let got = read_events(&mut near, 500);
    assert_eq!(got.len(), 500);
    assert!(got[0].starts_with(&format!("id: {}\n", ids[5500])), "{}", &got[0][..60]);
    assert!(got[499].starts_with(&format!("id: {}\n", ids[5999])));
}

/// The `data` of each event frame (hyper's chunk sizes aside: the Mercure
/// endpoint is served by hyper).
fn data_of(frames: Vec<String>) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_owned))
        .collect()
}

/// A Mercure update with several topics, published on one instance, reaches
/// a subscriber of one of its alternate topics on another once, and a late
/// instance replays it from Redis to a subscriber of that topic.
#[test]
fn updates_with_several_topics_cross_instances_and_replay_from_redis() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis, &[]), instance(&redis, &[]));
    let mercure = |serve: &Serve, pairs: &[(&str, &str)]| {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let (status, id) = serve.request(
            "POST",
            "/.well-known/mercure",
            &["Content-Type: application/x-www-form-urlencoded"],
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&id));
        String::from_utf8(id).unwrap()
    };
    let mut alternate = open(&b, "/.well-known/mercure?topic=urn%3Ab", &[]);
    let mut both_topics = open(&b, "/.well-known/mercure?topic=urn%3Aa&topic=urn%3Ab", &[]);
    let first = mercure(&a, &[("topic", "urn:b"), ("data", "e0")]);
    let both = mercure(&a, &[("topic", "urn:a"), ("topic", "urn:b"), ("data", "both")]);
    mercure(&a, &[("topic", "urn:c"), ("data", "e2")]);
    assert!(both.contains('-') && !both.starts_with("urn:"), "Redis's ids: {both}");
    assert_eq!(data_of(read_events(&mut alternate, 2)), ["e0", "both"]);
    assert_eq!(data_of(read_events(&mut both_topics, 2)), ["e0", "both"]);
    assert!(data_of(alternate.frames_within(Duration::from_millis(300))).is_empty(), "once");
    assert!(data_of(both_topics.frames_within(Duration::from_millis(300))).is_empty(), "once");
    // An instance started now holds none of them: Redis answers.
    let c = instance(&redis, &[]);
    let resume = format!("Last-Event-ID: {first}");
    let mut replay = open(&c, "/.well-known/mercure?topic=urn%3Ab", &[&resume]);
    assert_eq!(data_of(read_events(&mut replay, 1)), ["both"]);
    assert_eq!(c.metric("sse_replays_total"), 1);
}

/// Mercure's subscription events go through Redis: an observer on one
/// instance sees a subscriber arrive on, and leave, another.
#[test]
fn subscription_events_cross_instances() {
    let secret: &[u8] = b"the presence secret of the redis test, long enough";
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-presence-{}.key", std::process::id()));
    std::fs::write(&path, secret).unwrap();
    let key = path.to_str().unwrap();
    let redis = Redis::start();
    let flags = ["--subscribe-key", key, "--mercure-subscriptions"];
    let (a, b) = (instance(&redis, &flags), instance(&redis, &flags));
    let presence = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
    let claims = json!({"mercure": {"subscribe": [presence]}});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap();
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("topic", presence).finish();
    let mut observer =
        open(&b, &format!("/.well-known/mercure?{query}"), &[&format!("Authorization: Bearer {token}")]);
    let documents = |stream: &mut Stream, count: usize| -> Vec<Value> {
        data_of(read_events(stream, count)).iter().map(|d| serde_json::from_str(d).unwrap()).collect()
    };
    // Its own arrival, through Redis.
    assert_eq!(documents(&mut observer, 1)[0]["topic"], presence);
    let reader = open(&a, "/.well-known/mercure?topic=urn%3Aorders", &[]);
    let arrived = documents(&mut observer, 1);
    assert_eq!(
        (&arrived[0]["topic"], &arrived[0]["active"]),
        (&json!("urn:orders"), &json!(true)),
        "{arrived:?}"
    );
    drop(reader);
    let left = documents(&mut observer, 1);
    assert_eq!(
        (&left[0]["subscriber"], &left[0]["active"]),
        (&arrived[0]["subscriber"], &json!(false)),
        "{left:?}"
    );
}
