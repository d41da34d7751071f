//! The broadcast hub: encode each event once, fan it out to every
//! subscriber, replay after `Last-Event-ID`.
//!
//! Invariant: every published event is encoded exactly once by sse-core,
//! and the same bytes (a shared `Bytes`) go to the replay log and to every
//! subscriber. Publishing never waits for a subscriber: each one can fall
//! at most `queue_len` events behind (one shared `tokio::sync::broadcast`
//! ring), after which the slow-consumer policy applies and the loss is
//! counted. A subscriber never sees a silent gap: replay, lag and stale ids
//! all end in either the missing events or [`MISSED_EVENTS`].
//!
//! Topics: every event carries its audience (topic, private flag) and
//! every subscriber its [`Subscription`]; ids stay global to the hub, so
//! one `Last-Event-ID` resumes a subscription to many topics exactly, in
//! publish order. All events share one ring, so every subscriber sees
//! (and skips) the events of other topics: lag is measured in hub events.
//!
//! Publishing and subscribing take one short lock, so an event is either in
//! a new subscriber's replay or in its live feed, never both or neither.
//! Under it a subscriber only takes reference-counted handles to the
//! frames it replays; nothing is copied.
//!
//! Modules: `config` (settings), `delivery` (an event and its audience),
//! `error`, `stats` (counters), `replay` (the replay log), `subscriber`
//! (the stream a client reads),
//! `keep_alive` (its idle timer).

mod config;
mod delivery;
mod error;
mod keep_alive;
mod replay;
mod source;
mod stats;
mod subscriber;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use bytes::{Bytes, BytesMut};
use sse_core::{Audience, Event, MISSED_EVENTS, Resume};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

#[cfg(feature = "redis")]
pub(crate) use config::new_epoch;
pub use config::{HubConfig, MAX_QUEUE_LEN, SlowConsumer};
pub use error::{PublishError, SubscribeError};
pub(crate) use keep_alive::{KeepAlive, deadline};
pub use stats::HubStats;
pub use subscriber::Subscriber;

use crate::topics::Subscription;
pub(crate) use delivery::Delivery;
use replay::ReplayLog;
pub(crate) use source::{Replay, ReplaySource};
use stats::{Counters, add};
use subscriber::{ClientSlot, Tracker};

/// What [`Hub::publish`] did with an event.
///
/// ```
/// let hub = sse_std::Hub::new(sse_std::HubConfig { epoch: Some("run7".into()), ..Default::default() });
/// let published = hub.publish(&sse_core::Event::new().with_data("x")).unwrap();
/// assert_eq!((published.seq, published.id.as_str()), (0, "run7-0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// Position of the event in the hub's sequence, from 0.
    pub seq: u64,
    /// The event's id: the publisher's, or `<epoch>-<seq>` as the hub
    /// assigned it when the publisher gave none.
    pub id: String,
}

struct State {
    log: ReplayLog,
    /// `None` once shut down: dropping the sender ends every subscriber
    /// after it has read what was already queued.
    sender: Option<broadcast::Sender<Delivery>>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    trackers: Mutex<Vec<Weak<Tracker>>>,
    config: HubConfig,
    epoch: String,
    counters: Counters,
    /// Consulted when the log cannot answer a `Last-Event-ID`.
    source: OnceLock<Arc<dyn ReplaySource>>,
}

/// A broadcast hub. Cheap to clone: clones share the hub.
///
/// ```
/// use futures_util::StreamExt;
/// use sse_core::Event;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = sse_std::Hub::new(sse_std::HubConfig { epoch: Some("e".into()), ..Default::default() });
/// let mut alice = hub.subscribe(None).unwrap();
/// hub.publish(&Event::new().with_event("greeting")?.with_data("hello"))?;
/// assert_eq!(&alice.next().await.unwrap()[..], b"event: greeting\nid: e-0\ndata: hello\n\n");
///
/// // Bob was away and comes back with the last id he saw: he is replayed
/// // everything after it.
/// hub.publish(&Event::new().with_data("one"))?;
/// let mut bob = hub.subscribe(Some("e-0")).unwrap();
/// assert_eq!(&bob.next().await.unwrap()[..], b"id: e-1\ndata: one\n\n");
/// assert_eq!(hub.client_count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with these settings.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(sse_std::HubConfig::default());
    /// assert!(!hub.is_shut_down());
    /// ```
    #[must_use]
    pub fn new(config: HubConfig) -> Self {
        let log = ReplayLog::new(config.history_events, config.history_bytes);
        let (sender, _) = broadcast::channel(config.queue_len.clamp(1, MAX_QUEUE_LEN));
        let epoch = config.epoch.clone().unwrap_or_else(config::new_epoch);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State { log, sender: Some(sender) }),
                trackers: Mutex::new(Vec::new()),
                config,
                epoch,
                counters: Counters::default(),
                source: OnceLock::new(),
            }),
        }
    }

    /// The settings the hub was made with.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// assert_eq!(hub.config().queue_len, 256);
    /// ```
    #[must_use]
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The first part of the ids this hub assigns (`<epoch>-<seq>`): the
    /// configured [`HubConfig::epoch`], or one drawn for this hub.
    ///
    /// ```
    /// let a = sse_std::Hub::new(Default::default());
    /// let b = sse_std::Hub::new(Default::default());
    /// assert_ne!(a.epoch(), b.epoch());
    /// let id = a.publish(&sse_core::Event::new().with_data("x")).unwrap().id;
    /// assert_eq!(id, format!("{}-0", a.epoch()));
    /// ```
    #[must_use]
    pub fn epoch(&self) -> &str {
        &self.inner.epoch
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every
        // update is a single call into the log or the sender.
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes `event` once, keeps it for replay, and queues the same bytes
    /// to every subscriber; for everyone (no topic, public). An event
    /// without an id gets `<epoch>-<seq>` (see [`HubConfig::epoch`]), so
    /// that every client can resume, even across a restart.
    ///
    /// # Errors
    /// As for [`publish_to`](Self::publish_to).
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let e = sse_core::Event::new().with_id("custom")?.with_data("x");
    /// assert_eq!(hub.publish(&e)?.id, "custom");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish(&self, event: &Event<'_>) -> Result<Published, PublishError> {
        self.publish_to(Audience::EVERYONE, event)
    }

    /// Publishes `event` for `audience`: the subscribers whose
    /// [`Subscription`] admits it receive it, live and in replay. The topic
    /// is not written into the frame. Ids are global to the hub, whatever
    /// the topic.
    ///
    /// # Errors
    /// [`PublishError::ShutDown`] after [`shutdown`](Self::shutdown);
    /// [`PublishError::Format`] if `Display` data fails;
    /// [`PublishError::Field`] if the configured epoch is not a valid id.
    ///
    /// ```
    /// use sse_core::{Audience, Event, Topic};
    /// let hub = sse_std::Hub::new(sse_std::HubConfig { epoch: Some("e".into()), ..Default::default() });
    /// let t = Audience::on(Topic::new("orders/42")?).private();
    /// assert_eq!(hub.publish_to(t, &Event::new().with_data("paid"))?.id, "e-0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish_to(&self, audience: Audience<'_>, event: &Event<'_>) -> Result<Published, PublishError> {
        let mut state = self.lock();
        let Some(sender) = state.sender.clone() else {
            return Err(PublishError::ShutDown);
        };
        let seq = state.log.next_seq();
        let assigned;
        let event = match event.id() {
            Some(_) => *event,
            None => {
                assigned = format!("{}-{seq}", self.inner.epoch);
                event.with_id(&assigned).map_err(PublishError::Field)?
            }
        };
        let delivery = Delivery::new(encode(&event)?, audience);
        let id = event.id().unwrap_or_default();
        let len = delivery.frame.len() as u64;
        if !state.log.push(id, delivery.clone()) {
            tracing::warn!(bytes = len, "event larger than the replay history; history cleared");
        }
        // `send` fails only when nobody subscribes; the event is still in
        // the log for clients that come back.
        let _ = sender.send(delivery);
        drop(state);
        add(&self.inner.counters.published, 1);
        add(&self.inner.counters.published_bytes, len);
        if self.inner.config.slow_consumer == SlowConsumer::Disconnect {
            let every = (self.inner.config.queue_len.min(MAX_QUEUE_LEN) / 4).max(1) as u64;
            if seq.is_multiple_of(every) {
                self.disconnect_stalled(seq.saturating_add(1));
            }
        }
        Ok(Published { seq, id: id.to_owned() })
    }

    /// Ends every subscriber that fell more than `queue_len` events behind
    /// `next_seq`, even one that no longer reads at all.
    fn disconnect_stalled(&self, next_seq: u64) {
        let limit = self.inner.config.queue_len.clamp(1, MAX_QUEUE_LEN) as u64;
        let counters = &self.inner.counters;
        let mut trackers = self.inner.trackers.lock().unwrap_or_else(PoisonError::into_inner);
        trackers.retain(|weak| {
            let Some(tracker) = weak.upgrade() else { return false };
            let behind = next_seq.saturating_sub(tracker.next.load(Ordering::Acquire));
            if behind > limit && tracker.kill() {
                add(&counters.slow_disconnects, 1);
                add(&counters.dropped, behind);
                tracing::debug!(behind, "disconnecting a stalled subscriber");
            }
            true
        });
    }

    /// A new subscriber to every public event: a stream of encoded
    /// frames. The same as [`subscribe_with`](Self::subscribe_with) and
    /// the default [`Subscription`].
    ///
    /// # Errors
    /// As for [`subscribe_with`](Self::subscribe_with).
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let subscriber = hub.subscribe(Some("42"))?;
    /// assert_eq!(hub.stats().stale_resumes, 1);
    /// # Ok::<(), sse_std::SubscribeError>(())
    /// ```
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Result<Subscriber, SubscribeError> {
        self.subscribe_with(Subscription::default(), last_event_id)
    }

    /// A new subscriber to the events `subscription` admits. With a
    /// `last_event_id` (the client's `Last-Event-ID` header) it first
    /// receives every stored event after that id that the subscription
    /// admits, or [`MISSED_EVENTS`] if the id is too old, unknown, or from
    /// another run; then every admitted event published from now. It
    /// starts with `retry:` if the hub has one configured, and sends
    /// keep-alive comments while idle.
    ///
    /// # Errors
    /// [`SubscribeError::ShutDown`] after [`shutdown`](Self::shutdown),
    /// [`SubscribeError::TooManyClients`] at `max_clients`.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_core::{Audience, Event, Topic};
    /// use sse_std::{Selectors, Subscription};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = sse_std::Hub::new(sse_std::HubConfig { epoch: Some("e".into()), ..Default::default() });
    /// for topic in ["a", "b", "c", "a"] {
    ///     hub.publish_to(Audience::on(Topic::new(topic)?), &Event::new().with_data(topic))?;
    /// }
    /// // Resuming after the first event, on topics a and c only.
    /// let mut s = hub.subscribe_with(Subscription::new(Selectors::parse(["a", "c"])?), Some("e-0"))?;
    /// assert_eq!(&s.next().await.unwrap()[..], b"id: e-2\ndata: c\n\n");
    /// assert_eq!(&s.next().await.unwrap()[..], b"id: e-3\ndata: a\n\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn subscribe_with(
        &self,
        subscription: Subscription,
        last_event_id: Option<&str>,
    ) -> Result<Subscriber, SubscribeError> {
        let slot = ClientSlot::take(&self.inner)?;
        let mut first = Vec::new();
        if let Some(retry) = self.inner.config.retry {
            let ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            if let Ok(frame) = encode(&Event::new().with_retry(ms)) {
                first.push(frame);
            }
        }
        let state = self.lock();
        let Some(sender) = state.sender.as_ref() else {
            return Err(SubscribeError::ShutDown);
        };
        let receiver = sender.subscribe();
        let tracker = Arc::new(Tracker::new(state.log.next_seq()));
        let resume = last_event_id.map(|id| state.log.resume_after(id));
        if let Some(Resume::From(seq)) = resume {
            let admitted = state.log.from(seq).filter(|d| d.reaches(&subscription));
            first.extend(admitted.map(|d| d.frame.clone()));
        }
        // The shared history answers what the log cannot, up to the
        // newest event here: every later one reaches `receiver`.
        let mut pending = None;
        if let (Some(Resume::Missed), Some(source), Some(after)) =
            (resume, self.inner.source.get(), last_event_id)
        {
            pending = Some(source.replay(after, state.log.newest_id(), &subscription));
        }
        drop(state);
        let counters = &self.inner.counters;
        match resume {
            None | Some(Resume::UpToDate) => {}
            Some(Resume::From(_)) => add(&counters.replays, 1),
            Some(Resume::Missed) if pending.is_some() => {}
            Some(Resume::Missed) => {
                add(&counters.stale_resumes, 1);
                add(&counters.missed_sent, 1);
                first.push(Bytes::from_static(MISSED_EVENTS));
            }
        }
        {
            let mut trackers = self.inner.trackers.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget subscribers that are gone, so that connect/disconnect
            // cycles without publishing cannot grow the list.
            if trackers.len() >= self.client_count().saturating_mul(2).max(64) {
                trackers.retain(|weak| weak.strong_count() > 0);
            }
            trackers.push(Arc::downgrade(&tracker));
        }
        let mut subscriber =
            Subscriber::new(tracker, first, BroadcastStream::new(receiver), subscription, slot);
        if let Some(pending) = pending {
            subscriber.replay_from(pending);
        }
        Ok(subscriber)
    }

    /// Makes `source` answer the `Last-Event-ID`s the log cannot; the
    /// first one set stays.
    #[cfg(feature = "redis")]
    pub(crate) fn set_replay_source(&self, source: Arc<dyn ReplaySource>) {
        let _ = self.inner.source.set(source);
    }

    /// The hub lost continuity (its shared history was trimmed past what
    /// it had read, or restarted empty): the log is cleared, so that no
    /// resume crosses the gap, and every subscriber gets `missed` now.
    #[cfg(feature = "redis")]
    pub(crate) fn gap(&self) {
        let mut state = self.lock();
        state.log.clear();
        if let Some(sender) = state.sender.as_ref() {
            let receivers = sender.send(Delivery::signal(Bytes::from_static(MISSED_EVENTS))).unwrap_or(0);
            add(&self.inner.counters.missed_sent, receivers as u64);
        }
    }

    /// Subscribers connected now.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let s = hub.subscribe(None)?;
    /// assert_eq!(hub.client_count(), 1);
    /// drop(s);
    /// assert_eq!(hub.client_count(), 0);
    /// # Ok::<(), sse_std::SubscribeError>(())
    /// ```
    #[must_use]
    pub fn client_count(&self) -> usize {
        self.inner.counters.clients.load(Ordering::Relaxed)
    }

    /// The hub's counters.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// hub.publish(&sse_core::Event::new().with_data("x")).unwrap();
    /// assert_eq!(hub.stats().published, 1);
    /// ```
    #[must_use]
    pub fn stats(&self) -> HubStats {
        self.inner.counters.snapshot()
    }

    /// Shuts the hub down: every subscriber's stream ends once it has
    /// read what was already queued to it, and publishing and subscribing
    /// fail from now on. Idempotent.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// hub.shutdown();
    /// assert!(hub.is_shut_down());
    /// assert!(hub.subscribe(None).is_err());
    /// ```
    pub fn shutdown(&self) {
        self.lock().sender = None;
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// ```
    /// assert!(!sse_std::Hub::new(Default::default()).is_shut_down());
    /// ```
    #[must_use]
    pub fn is_shut_down(&self) -> bool {
        self.lock().sender.is_none()
    }
}

/// Encodes one event into new `Bytes`, measured once.
pub(crate) fn encode(event: &Event<'_>) -> Result<Bytes, PublishError> {
    let mut buf = BytesMut::zeroed(event.encoded_len());
    let n = event.encode(&mut buf).map_err(|_| PublishError::Format)?;
    buf.truncate(n);
    Ok(buf.freeze())
}
