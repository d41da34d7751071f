//! Sends through io_uring, for the benchmarks that measure what a send
//! costs (`benches/sends.rs`, and the `floor-uring` server of
//! `examples/fanout_server.rs`): one frame to many sockets, entered in one
//! `io_uring_enter` per [`DEPTH`] sends, completions reaped in the same
//! call. The only `unsafe` in this crate: the kernel reads the frame after
//! `push` returns.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let client = std::net::TcpStream::connect(listener.local_addr()?)?;
//! let (server, _) = listener.accept()?;
//! let Ok(mut ring) = sse_tests::uring::Ring::new() else { return Ok(()) }; // no io_uring here
//! let failed = ring.send_all(&[server], b"data: hi\n\n")?;
//! assert_eq!(failed, 0);
//! # drop(client);
//! # Ok(())
//! # }
//! ```

use std::net::TcpStream;
use std::os::fd::AsRawFd as _;

use io_uring::{IoUring, opcode, types};

/// Sends entered per `io_uring_enter`.
pub const DEPTH: u32 = 4096;

/// A submission ring for sends.
pub struct Ring(IoUring);

impl Ring {
    /// A ring of [`DEPTH`] entries; fails where io_uring is unavailable
    /// (an old kernel, `kernel.io_uring_disabled`, a seccomp filter).
    ///
    /// # Errors
    /// The `io_uring_setup` error.
    pub fn new() -> std::io::Result<Self> {
        IoUring::new(DEPTH).map(Ring)
    }

    /// Sends `frame` once on every stream and waits until every send has
    /// completed; returns how many failed or were short.
    ///
    /// # Errors
    /// An `io_uring_enter` error.
    pub fn send_all(&mut self, streams: &[TcpStream], frame: &[u8]) -> std::io::Result<u64> {
        let mut failed = 0u64;
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let expected = i32::try_from(frame.len()).unwrap_or(i32::MAX);
        for batch in streams.chunks(DEPTH as usize) {
            {
                let mut sq = self.0.submission();
                for stream in batch {
                    let entry = opcode::Send::new(types::Fd(stream.as_raw_fd()), frame.as_ptr(), len).build();
                    // SAFETY: `frame` and the descriptors outlive this call,
                    // which waits for the completion of every entry it
                    // pushed; a push into a full ring fails and is counted.
                    #[allow(unsafe_code)]
                    let pushed = unsafe { sq.push(&entry) };
                    if pushed.is_err() {
                        failed += 1;
                    }
                }
            }
            let submitted = self.0.submission().len();
            let mut waiting = submitted;
            self.0.submit_and_wait(submitted)?;
            while waiting > 0 {
                let mut reaped = 0;
                for done in self.0.completion() {
                    reaped += 1;
                    if done.result() != expected {
                        failed += 1;
                    }
                }
                waiting = waiting.saturating_sub(reaped);
                if waiting > 0 {
                    self.0.submit_and_wait(waiting)?;
                }
            }
        }
        Ok(failed)
    }
}
