//! A connection as hyper sees it: the bytes the first-head reader already
//! took come first, and a write that makes no progress for
//! `stall_timeout` fails (and is counted), so hyper closes a response
//! whose client stopped reading.
//!
//! Invariant: the stall clock runs only while a write is pending (data
//! waits and the socket accepts none) and restarts at every byte
//! accepted; an idle connection never stalls.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf as _, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::stats::Counters;
use crate::hub::deadline;

pub(crate) struct Conn<S = TcpStream> {
    prefix: Bytes,
    stream: S,
    stall: Option<Duration>,
    /// Made on the first pending write, then reset.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    counters: Arc<Counters>,
}

impl<S> Conn<S> {
    pub(crate) fn new(prefix: Vec<u8>, stream: S, stall: Option<Duration>, counters: Arc<Counters>) -> Self {
        Self { prefix: Bytes::from(prefix), stream, stall, timer: None, armed: false, counters }
    }

    /// After a write attempt: progress disarms the clock; `Pending` arms it
    /// (if not yet) and fails once it has run out.
    fn check(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        let Some(stall) = self.stall else { return result };
        match result {
            Poll::Ready(Ok(n)) if n > 0 => {
                self.armed = false;
                result
            }
            Poll::Pending => {
                if !self.armed {
                    self.armed = true;
                    match self.timer.as_mut() {
                        Some(timer) => timer.as_mut().reset(deadline(stall)),
                        None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline(stall)))),
                    }
                }
                let fired = self.timer.as_mut().is_some_and(|t| t.as_mut().poll(cx).is_ready());
                if fired {
                    self.counters.stalled();
                    tracing::debug!(?stall, "closing a response whose client stopped reading");
                    return Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()));
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Conn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(this.prefix.get(..n).unwrap_or_default());
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.check(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.check(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Sets the per-connection socket options: no Nagle delay, TCP keep-alive
/// probes and (Linux, Android) `TCP_USER_TIMEOUT`, so that a peer that
/// vanished without a FIN is dropped in bounded time.
pub(crate) fn tune(stream: &TcpStream, config: &super::ServerConfig) {
    let _ = stream.set_nodelay(true);
    let socket = socket2::SockRef::from(stream);
    if let Some(probes) = config.tcp_keepalive {
        let keepalive = socket2::TcpKeepalive::new().with_time(probes.idle);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let keepalive = keepalive.with_interval(probes.interval);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let keepalive = keepalive.with_retries(probes.retries);
        if let Err(e) = socket.set_tcp_keepalive(&keepalive) {
            tracing::debug!(error = %e, "cannot set TCP keep-alive");
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = socket.set_tcp_user_timeout(config.tcp_user_timeout) {
        tracing::debug!(error = %e, "cannot set TCP_USER_TIMEOUT");
    }
}

/// Waits until `stream` can take bytes, failing with `TimedOut` (counted)
/// at `deadline`: the fast path's stall clock.
pub(crate) async fn writable_by(
    stream: &TcpStream,
    deadline: Option<tokio::time::Instant>,
    counters: &Counters,
) -> std::io::Result<()> {
    let Some(deadline) = deadline else { return stream.writable().await };
    match tokio::time::timeout_at(deadline, stream.writable()).await {
        Ok(result) => result,
        Err(_) => {
            counters.stalled();
            tracing::debug!("closing a stream whose client stopped reading");
            Err(std::io::ErrorKind::TimedOut.into())
        }
    }
}

/// Writes a short answer whole and closes the sending side, giving up
/// after `limit` (a client that reads nothing cannot hold the task).
pub(crate) async fn answer_and_close(stream: &mut TcpStream, bytes: &[u8], limit: Duration) {
    use tokio::io::AsyncWriteExt as _;
    let _ = tokio::time::timeout(limit, async {
        let _ = stream.write_all(bytes).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
