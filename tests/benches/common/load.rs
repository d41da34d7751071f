//! What the load-generating benchmarks share: opening an event stream
//! with hyper's client, reading numbers from event data, and a process's
//! CPU time and memory from `/proc`.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;

/// Nanoseconds since 1970.
pub(crate) fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// Reads `"key":<number>` from event data.
pub(crate) fn field(data: &[u8], key: &str) -> Option<u128> {
    let data = std::str::from_utf8(data).ok()?;
    let at = data.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = data[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Opens a stream: the response body, or `None`.
pub(crate) async fn open(port: u16, path: &str) -> Option<hyper::body::Incoming> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(conn);
    let request = http::Request::builder()
        .uri(path)
        .header("host", "127.0.0.1")
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    Some(response.into_body())
}

/// The server's user + system CPU time in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

/// The process and its descendants (an nginx master and its workers).
pub(crate) fn family(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut at = 0;
    while let Some(&p) = all.get(at) {
        let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
        all.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        at += 1;
    }
    all
}

/// CPU seconds of the process and its descendants.
pub(crate) fn family_cpu_seconds(pid: u32) -> f64 {
    family(pid).into_iter().map(cpu_seconds).sum()
}

/// Resident memory, in KiB, of the process and its descendants (shared
/// pages counted once per process: nginx's shared memory zone is counted
/// by every worker that touched it).
pub(crate) fn family_rss_kib(pid: u32) -> u64 {
    family(pid)
        .into_iter()
        .map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// What each task returned, waiting at most 30 s for each (a task that
/// does not finish in time, or fails, gives `T::default()`).
pub(crate) async fn collect<T: Default>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut all = Vec::new();
    for t in tasks {
        let done = tokio::time::timeout(std::time::Duration::from_secs(30), t).await;
        all.push(done.ok().and_then(Result::ok).unwrap_or_default());
    }
    all
}

/// Opens a stream with at most 256 being opened at a time (far below the
/// listen backlog: a dropped SYN would cost a one-second retransmit),
/// trying a failed one again up to five times.
pub(crate) async fn open_limited(
    port: u16,
    path: &str,
    connecting: &tokio::sync::Semaphore,
) -> Option<hyper::body::Incoming> {
    let _permit = connecting.acquire().await.ok()?;
    for _ in 0..5 {
        if let Ok(Some(body)) =
            tokio::time::timeout(std::time::Duration::from_secs(5), open(port, path)).await
        {
            return Some(body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    None
}

/// What one client saw.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) connected: bool,
    pub(crate) received: u64,
    pub(crate) lost: u64,
    pub(crate) missed: u64,
    pub(crate) ended: bool,
    pub(crate) latencies_us: Vec<u32>,
}

/// What a stream carried, event by event.
pub(crate) enum Event<'a> {
    /// An `event: missed`.
    Missed,
    /// Any other event's data, and when it was read (ns since 1970).
    Data(&'a [u8], u128),
}

/// Reads `body` as an event stream, calling `on` for each event until it
/// returns `true` or the stream ends.
pub(crate) async fn each_event(mut body: hyper::body::Incoming, mut on: impl FnMut(Event<'_>) -> bool) {
    use http_body_util::BodyExt as _;
    // Ids up to 64 bytes: `sse serve` writes `urn:uuid:` ids (45 bytes), and an
    // event whose id does not fit is skipped whole.
    let mut parser: Box<sse_wire::Parser<4096, 32, 64>> = Box::default();
    let mut done = false;
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else { continue };
        let now = now_ns();
        parser.feed(&data, |o| {
            let sse_wire::Output::Event(e) = o else { return };
            if done {
                return;
            }
            done = if e.event_type().as_bytes() == b"missed" {
                on(Event::Missed)
            } else {
                on(Event::Data(e.data().as_bytes(), now))
            };
        });
        if done {
            break;
        }
    }
}
