//! `sse serve` as a child process on an ephemeral port of 127.0.0.1.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::thread;

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
}

impl Serve {
    /// Starts `sse serve` with `extra` arguments (stdin piped) and reads
    /// its address and id format from its first line.
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(SSE)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
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
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        let addr = base.trim_start_matches("http://").parse().unwrap();
        let epoch = line
            .split_once("ids ")
            .and_then(|(_, rest)| rest.split_once("-<n>"))
            .unwrap_or_else(|| panic!("no id format in {line:?}"))
            .0
            .to_owned();
        thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
        });
        Self { child, addr, base, epoch }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The id it assigns to its `seq`th event.
    pub fn id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.epoch)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
