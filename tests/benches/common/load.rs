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
