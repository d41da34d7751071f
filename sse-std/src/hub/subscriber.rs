//! One subscriber of a hub: a `Stream` of encoded frames.
//!
//! Invariant: a subscriber sends, in order, its first frames (`retry:`,
//! then the replay or the `missed` signal), then the frames of its group's
//! queue; every queued frame it loses (lag) is counted and followed by
//! `missed` or by the end of the stream, never a silent gap. Its client
//! slot and its place in the group are given back when it is dropped.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use sse_wire::{KEEP_ALIVE, MISSED_EVENTS};
use tokio::sync::Notify;

use super::config::SlowConsumer;
use super::error::SubscribeError;
use super::group::{Group, Read, Tracker};
use super::keep_alive::KeepAlive;
use super::stats::add;
use super::{Inner, Replay};
use crate::topics::Subscription;

/// One counted place among the hub's clients, given back on drop.
pub(crate) struct ClientSlot {
    inner: Arc<Inner>,
}

impl ClientSlot {
    pub(crate) fn take(inner: &Arc<Inner>) -> Result<Self, SubscribeError> {
        let max = inner.config.max_clients.unwrap_or(usize::MAX);
        inner
            .counters
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then(|| n.saturating_add(1)))
            .map_err(|_| {
                add(&inner.counters.refused_full, 1);
                SubscribeError::TooManyClients
            })?;
        Ok(Self { inner: Arc::clone(inner) })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.inner.counters.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A place in a group, given back on drop (the group leaves the index
/// with its last member).
pub(crate) struct Member {
    group: Arc<Group>,
    tracker: Arc<Tracker>,
    inner: Arc<Inner>,
}

impl Member {
    pub(crate) fn new(group: Arc<Group>, tracker: Arc<Tracker>, inner: Arc<Inner>) -> Self {
        Self { group, tracker, inner }
    }

    pub(crate) fn subscription(&self) -> &Subscription {
        &self.group.subscription
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if self.group.leave(&self.tracker) == 0 {
            self.inner.left(&self.group);
        }
    }
}

/// The end of a stream whose token expires.
struct End {
    at: std::time::SystemTime,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// One subscriber of a [`Hub`](crate::Hub): a `Stream` of encoded frames,
/// ready to be a response body (`Stream<Item = Bytes>`; hyper and axum
/// serve it directly). Dropping it leaves the hub.
///
/// ```
/// fn assert_stream<S: futures_core::Stream<Item = bytes::Bytes> + Send + Unpin>(_: &S) {}
/// let hub = sse_std::Hub::new(Default::default());
/// assert_stream(&hub.subscribe(None)?);
/// # Ok::<(), sse_std::SubscribeError>(())
/// ```
pub struct Subscriber {
    member: Member,
    /// Retry, replay or stale-id signal, sent before anything live.
    first: std::vec::IntoIter<Bytes>,
    /// A replay from the hub's shared history, sent after `first`.
    pending: Option<Replay>,
    /// The waker last left with the group, and the queue's tail then.
    registered: Option<(Waker, u64)>,
    keep_alive: Option<KeepAlive>,
    /// When the stream ends (its token expires), and the timer for it.
    end: Option<End>,
    policy: SlowConsumer,
    ended: bool,
    slot: ClientSlot,
    /// The id of the newest event in the history when it joined.
    joined_after: Option<Box<str>>,
    /// Kept as long as the stream (dropped with it).
    #[cfg_attr(not(feature = "json"), allow(dead_code))]
    held: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("policy", &self.policy)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Subscriber {
    pub(crate) fn new(member: Member, first: Vec<Bytes>, slot: ClientSlot) -> Self {
        let config = &slot.inner.config;
        Self {
            member,
            first: first.into_iter(),
            pending: None,
            registered: None,
            keep_alive: config.keep_alive.map(KeepAlive::new),
            end: None,
            policy: config.slow_consumer,
            ended: false,
            slot,
            joined_after: None,
            held: None,
        }
    }

    /// Gives the hub a signal to notify if it disconnects this subscriber
    /// for being too slow ([`SlowConsumer::Disconnect`]). A server selects
    /// on it to close the connection even while it is blocked writing to a
    /// client that stopped reading (the built-in [`Server`](crate::Server)
    /// does).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let hub = sse_std::Hub::new(Default::default());
    /// let mut subscriber = hub.subscribe(None)?;
    /// let close_connection = Arc::new(tokio::sync::Notify::new());
    /// subscriber.set_disconnect_signal(Arc::clone(&close_connection));
    /// # Ok::<(), sse_std::SubscribeError>(())
    /// ```
    pub fn set_disconnect_signal(&mut self, signal: Arc<Notify>) {
        let tracker = &self.member.tracker;
        if tracker.killed.load(Ordering::Acquire) {
            signal.notify_one();
        } else {
            *tracker.signal.lock().unwrap_or_else(PoisonError::into_inner) = Some(signal);
        }
    }

    /// The id of the newest event the hub's history held when this
    /// subscriber joined (every later event reaches it live); `None` if
    /// it held none. The Mercure endpoint sends it as the response's
    /// `Last-Event-ID`.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let id = hub.publish(&sse_wire::Event::new().with_data("x")).unwrap().id;
    /// assert_eq!(hub.subscribe(None)?.joined_after(), Some(id.as_str()));
    /// # Ok::<(), sse_std::SubscribeError>(())
    /// ```
    #[must_use]
    pub fn joined_after(&self) -> Option<&str> {
        self.joined_after.as_deref()
    }

    pub(crate) fn set_joined_after(&mut self, id: Option<Box<str>>) {
        self.joined_after = id;
    }

    /// Keeps `value` until the stream is dropped (what must end with it).
    #[cfg_attr(not(feature = "json"), allow(dead_code))]
    pub(crate) fn hold(&mut self, value: Box<dyn std::any::Any + Send + Sync>) {
        self.held = Some(value);
    }

    /// Ends the stream at `at` (for example when the token that opened it
    /// expires: [`Grant::expires`](crate::Grant::expires)), counted in
    /// [`HubStats::expired`](crate::HubStats::expired). The client
    /// reconnects, resuming with `Last-Event-ID`, and presents whatever
    /// token it holds then. A time already past ends it at once; the timer
    /// needs tokio's time driver, like the keep-alive.
    ///
    /// ```
    /// use futures_util::StreamExt as _;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = sse_std::Hub::new(Default::default());
    /// let mut subscriber = hub.subscribe(None)?;
    /// subscriber.end_at(std::time::SystemTime::now());
    /// assert_eq!(subscriber.next().await, None);
    /// assert_eq!(hub.stats().expired, 1);
    /// # Ok::<(), sse_std::SubscribeError>(()) }).unwrap();
    /// ```
    pub fn end_at(&mut self, at: std::time::SystemTime) {
        self.end = Some(End { at, sleep: None });
    }

    /// Whether the end set by [`end_at`](Self::end_at) has come.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(end) = self.end.as_mut() else { return false };
        let left = end.at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        let due = left.is_zero() || {
            if end.sleep.is_none() && tokio::runtime::Handle::try_current().is_ok() {
                end.sleep = Some(Box::pin(tokio::time::sleep_until(super::keep_alive::deadline(left))));
            }
            end.sleep.as_mut().is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready())
        };
        if due {
            add(&self.slot.inner.counters.expired, 1);
            tracing::debug!("stream ended: its token expired");
        }
        due
    }

    /// Identifies the subscription this subscriber shares with others of
    /// the same hub: subscribers with equal ids are woken together.
    pub(crate) fn group_id(&self) -> u64 {
        self.member.group.id
    }

    /// Sends what `replay` yields (or `missed`) before anything live.
    pub(crate) fn replay_from(&mut self, replay: Replay) {
        self.pending = Some(replay);
    }

    /// Polls the pending replay: its frames (or `missed`) become the next
    /// ones sent. `Pending` while it runs.
    fn poll_replay(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(pending) = self.pending.as_mut() else { return Poll::Ready(()) };
        let Poll::Ready(replayed) = pending.as_mut().poll(cx) else { return Poll::Pending };
        self.pending = None;
        let counters = &self.slot.inner.counters;
        let frames = match replayed {
            Some(frames) => {
                add(&counters.replays, 1);
                frames
            }
            None => {
                add(&counters.stale_resumes, 1);
                add(&counters.missed_sent, 1);
                vec![Bytes::from_static(MISSED_EVENTS)]
            }
        };
        self.first = frames.into_iter();
        Poll::Ready(())
    }

    /// Real traffic resets the keep-alive timer.
    fn traffic(&mut self, frame: Bytes) -> Poll<Option<Bytes>> {
        if let Some(keep_alive) = self.keep_alive.as_mut() {
            keep_alive.reset();
        }
        Poll::Ready(Some(frame))
    }

    /// It fell `missed` events behind: apply the policy.
    fn lagged(&mut self, missed: u64) -> Poll<Option<Bytes>> {
        tracing::debug!(missed, policy = ?self.policy, "slow subscriber");
        let counters = &self.slot.inner.counters;
        match self.policy {
            SlowConsumer::DropOldest => {
                add(&counters.dropped, missed);
                add(&counters.missed_sent, 1);
                self.traffic(Bytes::from_static(MISSED_EVENTS))
            }
            SlowConsumer::Disconnect => {
                // Unless a publish got there first. Every event it had not
                // read is lost to it: the ones dropped and the ones queued.
                if self.member.tracker.kill() {
                    let queued = self.member.group.behind(&self.member.tracker);
                    add(&counters.dropped, missed.saturating_add(queued));
                    add(&counters.slow_disconnects, 1);
                }
                self.ended = true;
                Poll::Ready(None)
            }
        }
    }
}

impl futures_core::Stream for Subscriber {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        if this.ended || this.member.tracker.killed.load(Ordering::Acquire) || this.poll_end(cx) {
            this.ended = true;
            return Poll::Ready(None);
        }
        if let Some(first) = this.first.next() {
            return this.traffic(first);
        }
        if this.poll_replay(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(first) = this.first.next() {
            return this.traffic(first);
        }
        match this.member.group.read(&this.member.tracker, &mut this.registered, cx) {
            Poll::Ready(Read::Frame(frame)) => return this.traffic(frame),
            Poll::Ready(Read::Lagged(missed)) => return this.lagged(missed),
            // The hub shut down and this subscriber has read everything.
            Poll::Ready(Read::Closed) => {
                this.ended = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        match this.keep_alive.as_mut().map(|k| k.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Bytes::from_static(KEEP_ALIVE))),
            _ => Poll::Pending,
        }
    }
}
