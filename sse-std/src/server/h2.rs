//! HTTP/2 connections (feature `tls`): hyper's server with bounds on what
//! one connection may hold, and control of each stream on its own.
//!
//! Invariant: one stream's trouble ends only that stream. hyper runs each
//! HTTP/2 stream as a task through the executor given here; the executor
//! gives every such task a [`StreamControl`] (reached by the service
//! through a task-local) and ends the task, which resets the stream
//! (`RST_STREAM`, CANCEL), when the control is stopped: by the hub's
//! slow-consumer policy, or by the connection's sweep when the stream's
//! client has taken nothing for `stall_timeout` while a frame waited (its
//! flow-control window stayed shut). A connection holds at most
//! `h2_max_streams` streams; resets, CONTINUATION frames and header lists
//! are bounded by h2's own limits, set here.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::stats::Counters;

tokio::task_local! {
    /// The control of the HTTP/2 stream whose task is running.
    static STREAM: Arc<StreamControl>;
}

/// Resets seen on one connection, for streams it had not yet accepted,
/// before it is closed with `ENHANCE_YOUR_CALM` (rapid reset).
pub(crate) const MAX_PENDING_RESETS: usize = 20;

/// Resets the server itself sent on one connection (for protocol errors
/// of its streams) before it gives up on the connection.
pub(crate) const MAX_LOCAL_RESETS: usize = 256;

/// One HTTP/2 stream: the signal that ends it, and since when a frame it
/// was handed has waited for its client (0: none waits).
pub(crate) struct StreamControl {
    stop: Arc<Notify>,
    /// Milliseconds since `epoch`, plus one; 0 when the last poll of the
    /// body found nothing to send.
    waiting_since: AtomicU64,
    epoch: Instant,
}

impl StreamControl {
    /// The control of the HTTP/2 stream being served, if the caller runs
    /// in one.
    pub(crate) fn current() -> Option<Arc<Self>> {
        STREAM.try_with(Arc::clone).ok()
    }

    /// The signal that ends this stream (and only it).
    pub(crate) fn stop_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.stop)
    }

    /// Notes what the last poll of the body gave: a frame (which then
    /// waits for the client's window) or nothing.
    pub(crate) fn handed(&self, frame: bool) {
        let now = if frame { millis_since(self.epoch).saturating_add(1) } else { 0 };
        self.waiting_since.store(now, Ordering::Relaxed);
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The executor of one HTTP/2 connection: spawns each stream's task with
/// its control, and keeps the controls for the stall sweep.
#[derive(Clone)]
pub(crate) struct StreamExecutor {
    streams: Arc<Mutex<Vec<Weak<StreamControl>>>>,
    epoch: Instant,
}

impl StreamExecutor {
    pub(crate) fn new() -> Self {
        Self { streams: Arc::default(), epoch: Instant::now() }
    }

    /// Stops every stream that has had a frame waiting for longer than
    /// `stall`, counting each in `counters`; forgets ended streams.
    fn sweep(&self, stall: Duration, counters: &Counters) {
        let now = millis_since(self.epoch);
        let stall = u64::try_from(stall.as_millis()).unwrap_or(u64::MAX);
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        streams.retain(|weak| {
            let Some(control) = weak.upgrade() else { return false };
            let since = control.waiting_since.load(Ordering::Relaxed);
            if since != 0 && now.saturating_sub(since.saturating_sub(1)) > stall {
                tracing::debug!("closing an HTTP/2 stream whose client took nothing for stall_timeout");
                counters.stalled();
                control.waiting_since.store(0, Ordering::Relaxed);
                control.stop.notify_one();
            }
            true
        });
    }

    /// Sweeps every quarter of `stall` for as long as the connection
    /// lives (the caller drops this future with the connection).
    pub(crate) async fn sweep_stalls(&self, stall: Option<Duration>, counters: &Counters) {
        let Some(stall) = stall else { return std::future::pending().await };
        let period = stall.checked_div(4).unwrap_or(stall).max(Duration::from_millis(100));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.sweep(stall, counters);
        }
    }
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, task: F) {
        let control = Arc::new(StreamControl {
            stop: Arc::default(),
            waiting_since: AtomicU64::new(0),
            epoch: self.epoch,
        });
        {
            let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
            // Ended streams leave at the sweep; without one, here.
            if streams.len() >= 64 && streams.len().is_power_of_two() {
                streams.retain(|weak| weak.strong_count() > 0);
            }
            streams.push(Arc::downgrade(&control));
        }
        let stop = control.stop_signal();
        tokio::spawn(STREAM.scope(control, async move {
            tokio::select! {
                _ = task => {}
                // Dropping the task drops the stream's handle: h2 resets it.
                () = stop.notified() => {}
            }
        }));
    }
}

/// A stream body that tells its [`StreamControl`] whether a frame waits
/// for the client.
pub(crate) struct Watched<S> {
    pub(crate) inner: S,
    pub(crate) control: Arc<StreamControl>,
}

impl<S: futures_core::Stream<Item = bytes::Bytes> + Unpin> futures_core::Stream for Watched<S> {
    type Item = bytes::Bytes;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<bytes::Bytes>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        self.control.handed(matches!(polled, std::task::Poll::Ready(Some(_))));
        polled
    }
}
