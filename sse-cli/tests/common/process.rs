//! `sse serve` as a child process on an ephemeral port of 127.0.0.1.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Waits for a child with a deadline, killing it if it overruns.
pub fn wait(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "process did not finish in {limit:?}; stdout: {}; stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `tests/h2/probes.py PROBE PORT CAFILE ARGS` (the Python `h2`
/// package) until it prints its first line, `{"ready": true}`: the probe,
/// and its output after that line.
pub fn spawn_probe(name: &str, port: u16, cafile: &str, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let script = format!("{}/../tests/h2/probes.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .args([script.as_str(), name, &port.to_string(), cafile])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with the h2 package (scripts/test.sh installs it)");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    assert!(ready.contains("ready"), "{name}: {ready}");
    (child, stdout)
}

/// The `sse` binary built for these tests.
pub const SSE: &str = env!("CARGO_BIN_EXE_sse");

/// A running `sse serve`, killed on drop.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The first part of the ids it assigns (`<epoch>-<seq>`).
    pub epoch: String,
    /// How it writes the ids it assigns.
    pub ids: sse_std::IdForm,
}

impl Serve {
    /// Starts `sse serve` with `extra` arguments (stdin piped) and reads
    /// its address and id format from its first line.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with_env(extra, &[])
    }

    /// The same, with environment variables set.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(SSE)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        let addr = base.trim_start_matches("https://").trim_start_matches("http://").parse().unwrap();
        // Only a hub that assigns its own ids prints their epoch.
        let (epoch, ids) = match line.split_once("ids urn:uuid:… of epoch ") {
            Some((_, rest)) => {
                let epoch = rest.split(|c: char| c == ')' || c.is_whitespace()).next().unwrap_or_default();
                (epoch.to_owned(), sse_std::IdForm::Urn)
            }
            None => {
                let epoch = line.split_once("ids ").and_then(|(_, rest)| rest.split_once("-<n>"));
                (epoch.map(|(epoch, _)| epoch.to_owned()).unwrap_or_default(), sse_std::IdForm::Epoch)
            }
        };
        thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
        });
        Self { child, addr, base, epoch, ids }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request on a new connection (`Connection: close`): status and body.
    pub fn request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> (u16, Vec<u8>) {
        let (status, _, body) = self.exchange(method, path, headers, body);
        (status, body)
    }

    /// The same, with the response's head too.
    #[allow(dead_code)]
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let port = self.addr.port();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n");
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        if method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        raw_exchange(self.addr, &[head.as_bytes(), body].concat())
    }

    pub fn publish(&self, json: &str) -> u16 {
        self.request("POST", "/publish", &["Content-Type: application/json"], json.as_bytes()).0
    }

    /// The value of an unlabelled metric.
    pub fn metric(&self, name: &str) -> u64 {
        let (status, body) = self.request("GET", "/metrics", &[], b"");
        assert_eq!(status, 200);
        let text = String::from_utf8(body).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    /// POSTs the JSON `items` with `headers`: the status and the ids answered.
    pub fn publish_items(&self, items: &[serde_json::Value], headers: &[&str]) -> (u16, Vec<String>) {
        let body = serde_json::Value::from(items.to_vec()).to_string();
        let (status, reply) = self.request("POST", "/publish", headers, body.as_bytes());
        let ids = serde_json::from_slice::<serde_json::Value>(&reply)
            .ok()
            .and_then(|v| v["ids"].as_array().cloned())
            .map(|ids| ids.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        (status, ids)
    }

    /// Its resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The id it assigns to its `seq`th event.
    pub fn id(&self, seq: u64) -> String {
        self.ids.assign(&self.epoch, seq)
    }
}

/// The first line `sse serve ARGS` writes to stderr (its startup line, or
/// why it refused to start); the process is killed after it.
pub fn first_line(args: &[&str]) -> String {
    let mut child = Command::new(SSE).arg("serve").args(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `bytes` on a new connection and reads to the end: status and body.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> (u16, Vec<u8>) {
    let (status, _, body) = raw_exchange(addr, bytes);
    (status, body)
}

/// The same, with the response's head (status line and fields) too.
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = stream.write_all(bytes);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let status = response.get(9..12).and_then(|s| std::str::from_utf8(s).ok()?.parse().ok()).unwrap_or(0);
    let (head, body) = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => (String::from_utf8_lossy(&response[..end]).into_owned(), response[end + 4..].to_vec()),
        None => (String::from_utf8_lossy(&response).into_owned(), Vec::new()),
    };
    (status, head, body)
}

/// An open event stream read as raw frames (a chunked body decoded, each
/// chunk checked).
pub struct Stream {
    socket: TcpStream,
    /// The body so far, decoded, not yet taken as frames.
    buffered: Vec<u8>,
    /// A chunked body: bytes read, not yet decoded, and the state.
    chunked: Option<Chunked>,
}

#[derive(Default)]
struct Chunked {
    raw: Vec<u8>,
    /// Data bytes left in the current chunk.
    left: usize,
    /// A chunk's data ended: its CRLF comes next.
    crlf: bool,
}

impl Chunked {
    /// Moves every complete piece of `raw` to `out`.
    fn decode(&mut self, out: &mut Vec<u8>) {
        loop {
            if self.left > 0 {
                let n = self.left.min(self.raw.len());
                out.extend(self.raw.drain(..n));
                self.left -= n;
                if self.left > 0 {
                    return;
                }
                self.crlf = true;
            }
            if self.crlf {
                if self.raw.len() < 2 {
                    return;
                }
                assert_eq!(&self.raw[..2], b"\r\n", "a chunk's data ends with CRLF");
                self.raw.drain(..2);
                self.crlf = false;
            }
            let Some(end) = self.raw.windows(2).position(|w| w == b"\r\n") else { return };
            let line = std::str::from_utf8(&self.raw[..end]).unwrap();
            let size = usize::from_str_radix(line, 16).unwrap_or_else(|_| panic!("chunk size line {line:?}"));
            self.raw.drain(..end + 2);
            if size == 0 {
                // The last chunk: the body is over.
                self.raw.clear();
                return;
            }
            self.left = size;
        }
    }
}

impl Stream {
    /// `GET target` with `headers`; the status, and the stream if 200.
    pub fn open(addr: SocketAddr, target: &str, headers: &[&str]) -> (u16, String, Option<Self>) {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut head = format!("GET {target} HTTP/1.1\r\nHost: localhost:{}\r\n", addr.port());
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        socket.write_all(head.as_bytes()).unwrap();
        let mut stream = Self { socket, buffered: Vec::new(), chunked: None };
        let deadline = Instant::now() + Duration::from_secs(10);
        let end = loop {
            if let Some(end) = stream.buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            assert!(Instant::now() < deadline && stream.fill(), "no response head");
        };
        let head = String::from_utf8_lossy(&stream.buffered[..end]).into_owned();
        stream.buffered.drain(..end);
        if head.to_ascii_lowercase().contains("\r\ntransfer-encoding: chunked\r\n") {
            let mut chunked = Chunked { raw: std::mem::take(&mut stream.buffered), ..Chunked::default() };
            chunked.decode(&mut stream.buffered);
            stream.chunked = Some(chunked);
        }
        let status = head[9..12].parse().unwrap();
        (status, head, (status == 200).then_some(stream))
    }

    /// Reads more; `false` once the server closed.
    pub fn fill(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        match self.socket.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                match &mut self.chunked {
                    Some(chunked) => {
                        chunked.raw.extend_from_slice(&buf[..n]);
                        chunked.decode(&mut self.buffered);
                    }
                    None => self.buffered.extend_from_slice(&buf[..n]),
                }
                true
            }
            Err(_) => true,
        }
    }

    /// Every complete frame that arrives within `wait`.
    pub fn frames_within(&mut self, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if !self.fill() {
                break;
            }
        }
        let text = String::from_utf8(std::mem::take(&mut self.buffered)).unwrap();
        let (complete, rest) = text.rsplit_once("\n\n").unwrap_or(("", &text));
        self.buffered = rest.as_bytes().to_vec();
        complete.split("\n\n").filter(|f| !f.is_empty()).map(|f| format!("{f}\n\n")).collect()
    }
}

pub fn browser_tools() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    assert!(dir.join("node_modules").is_dir(), "run `npm ci` in tests/browser first (scripts/test.sh does)");
    dir
}

/// Runs a Node.js script and waits for its first line, which must be
/// "open"; the rest of its output is left to read.
pub fn node_until_open(script: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut node = Command::new("node")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(node.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "open", "{}", script.display());
    (node, stdout)
}
