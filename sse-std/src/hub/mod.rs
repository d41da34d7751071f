//! The broadcast hub: encode each event once, fan it out to the
//! subscribers it is for, replay after `Last-Event-ID`.
//!
//! Invariant: every published event is encoded exactly once by sse-wire,
//! and the same bytes (a shared `Bytes`) go to the history and to every
//! subscriber. Publishing never waits for a subscriber.
//!
//! Routing: subscribers with the same [`Subscription`] form a group with
//! one queue (`group`), and the router (`route`) finds the groups an event
//! is for by its topic, so a publish costs its own audience (one queue
//! push and one wake-up per matching group), never the hub's size. A
//! subscriber falls behind by its own subscription's rate: at most
//! `queue_len` of its group's events, after which the slow-consumer policy
//! applies and the loss is counted. A subscriber never sees a silent gap:
//! replay, lag and stale ids all end in either the missing events or
//! [`MISSED_EVENTS`].
//!
//! Ids stay global to the hub, so one `Last-Event-ID` resumes a
//! subscription to many topics exactly, in publish order, from the history
//! kept per topic (`history`). Publishing and joining a group take one
//! short lock (the history is written under it), so an event is either in
//! a new subscriber's replay (numbered below the point it joined at) or in
//! its live queue, never both or neither; the replay itself is read after
//! that lock is released, under the history's own.
//!
//! Modules: `config` (settings), `delivery` (an event and its audience),
//! `error`, `stats` (counters), `route` (the topic index), `group` (a
//! subscription's queue), `history` (the replay history), `subscriber`
//! (the stream a client reads), `keep_alive` (its idle timer).

mod config;
mod delivery;
mod error;
mod group;
mod history;
mod keep_alive;
mod route;
mod stats;
mod subscriber;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;

use bytes::{Bytes, BytesMut};
use sse_wire::{Audience, Event, MISSED_EVENTS};

#[cfg(feature = "redis")]
pub(crate) use config::new_epoch;
pub use config::{HubConfig, IdForm, MAX_QUEUE_LEN, SlowConsumer};
pub use error::{PublishError, SubscribeError};
pub(crate) use keep_alive::{KeepAlive, deadline};
pub use stats::HubStats;
pub use subscriber::Subscriber;

use crate::engine::{Replay, ReplaySource};
use crate::topics::Subscription;
pub(crate) use delivery::Delivery;
pub use delivery::Update;
use group::{Group, Pushed};
use history::{Found, History};
use route::Router;
use stats::{Counters, add};
use subscriber::{ClientSlot, Member};

/// The `Last-Event-ID` that asks for every event the history still holds
/// (the Mercure protocol's reserved value): a subscriber that sends it is
/// replayed all of them that its subscription admits, then goes on live.
///
/// ```
/// use futures_util::StreamExt as _;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = sse_std::Hub::new(Default::default());
/// hub.publish(&sse_wire::Event::new().with_id("a")?.with_data("first"))?;
/// let mut late = hub.subscribe(Some(sse_std::EARLIEST))?;
/// assert_eq!(&late.next().await.unwrap()[..], b"id: a\ndata: first\n\n");
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub const EARLIEST: &str = "earliest";

/// What [`Hub::publish`] did with an event.
///
/// ```
/// let mut config = sse_std::HubConfig::default();
/// config.epoch = Some("run7".into());
/// let hub = sse_std::Hub::new(config);
/// let published = hub.publish(&sse_wire::Event::new().with_data("x")).unwrap();
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
    next_seq: u64,
    /// The id of the newest event, while the history holds it (what a
    /// replay from a shared history goes up to).
    newest_id: Option<Box<str>>,
    router: Router,
    /// `false` once shut down.
    open: bool,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// Written under `state`, read alone.
    history: Mutex<History>,
    config: HubConfig,
    epoch: String,
    counters: Counters,
    /// Consulted when the history cannot answer a `Last-Event-ID`.
    source: OnceLock<Arc<dyn ReplaySource>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every
        // update is a single call into the router or a counter.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn queue_len(&self) -> usize {
        self.config.queue_len.clamp(1, MAX_QUEUE_LEN)
    }

    /// Queues `frame` to `group` and counts the subscribers it disconnects.
    fn push(&self, group: &Group, frame: &Bytes, seq: Option<u64>, wake: &mut Vec<Waker>) {
        let disconnect = self.config.slow_consumer == SlowConsumer::Disconnect;
        let Pushed { dropped, disconnected } = group.push(frame, seq, self.queue_len(), disconnect, wake);
        if disconnected > 0 {
            add(&self.counters.slow_disconnects, disconnected);
            add(&self.counters.dropped, dropped);
            tracing::debug!(disconnected, "disconnecting stalled subscribers");
        }
    }

    /// A group left empty leaves the index (unless someone joined since).
    pub(crate) fn left(&self, group: &Arc<Group>) {
        self.lock().router.remove_if_empty(group);
    }
}

/// A broadcast hub. Cheap to clone: clones share the hub.
///
/// ```
/// use futures_util::StreamExt;
/// use sse_wire::Event;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut config = sse_std::HubConfig::default();
/// config.epoch = Some("e".into());
/// let hub = sse_std::Hub::new(config);
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
        let epoch = config.epoch.clone().unwrap_or_else(config::new_epoch);
        let history = History::new(config.history_events, config.history_bytes, &epoch, config.ids);
        let state = State { next_seq: 0, newest_id: None, router: Router::default(), open: true };
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                history: Mutex::new(history),
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
    /// let id = a.publish(&sse_wire::Event::new().with_data("x")).unwrap().id;
    /// assert_eq!(id, format!("{}-0", a.epoch()));
    /// ```
    #[must_use]
    pub fn epoch(&self) -> &str {
        &self.inner.epoch
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
    /// let e = sse_wire::Event::new().with_id("custom")?.with_data("x");
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
    /// use sse_wire::{Audience, Event, Topic};
    /// let mut config = sse_std::HubConfig::default();
    /// config.epoch = Some("e".into());
    /// let hub = sse_std::Hub::new(config);
    /// let t = Audience::on(Topic::new("orders/42")?).private();
    /// assert_eq!(hub.publish_to(t, &Event::new().with_data("paid"))?.id, "e-0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish_to(&self, audience: Audience<'_>, event: &Event<'_>) -> Result<Published, PublishError> {
        self.publish_update(&Update::new(audience, *event))
    }

    /// Publishes an [`Update`]: its event for the subscribers that select
    /// one of its topics (and, if it is private, are granted one of them),
    /// each of whom receives it once, live and in replay.
    ///
    /// # Errors
    /// As for [`publish_to`](Self::publish_to).
    ///
    /// ```
    /// use futures_util::StreamExt as _;
    /// use sse_wire::{Audience, Event, Topic};
    /// use sse_std::{Selectors, Subscription, Update};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = sse_std::Hub::new(Default::default());
    /// let mut author = hub.subscribe_with(Subscription::new(Selectors::parse(["authors/7"])?), None)?;
    /// let also = [Topic::new("authors/7")?];
    /// let update = Update::new(Audience::on(Topic::new("books/1")?), Event::new().with_data("new edition"));
    /// hub.publish_update(&update.with_alternates(&also))?;
    /// assert!(author.next().await.unwrap().ends_with(b"data: new edition\n\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn publish_update(&self, update: &Update<'_>) -> Result<Published, PublishError> {
        let inner = &*self.inner;
        let mut wake = Vec::new();
        let mut state = inner.lock();
        if !state.open {
            return Err(PublishError::ShutDown);
        }
        let seq = state.next_seq;
        let assigned;
        let event = match update.event.id() {
            Some(_) => update.event,
            None => {
                assigned = inner.config.ids.assign(&inner.epoch, seq);
                update.event.with_id(&assigned).map_err(PublishError::Field)?
            }
        };
        let frame = encode(&event)?;
        let id = event.id().unwrap_or_default();
        let len = frame.len() as u64;
        state.next_seq = seq.saturating_add(1);
        let kept = inner.history().push(seq, id, Delivery::new(frame.clone(), update));
        if !kept {
            tracing::warn!(
                bytes = len,
                "event larger than the replay history: a resume across it gets missed"
            );
        }
        state.newest_id = kept.then(|| Box::from(id));
        state.router.route(update, |group| inner.push(group, &frame, Some(seq), &mut wake));
        drop(state);
        wake.into_iter().for_each(Waker::wake);
        add(&inner.counters.published, 1);
        add(&inner.counters.published_bytes, len);
        Ok(Published { seq, id: id.to_owned() })
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
    /// use sse_wire::{Audience, Event, Topic};
    /// use sse_std::{Selectors, Subscription};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut config = sse_std::HubConfig::default();
    /// config.epoch = Some("e".into());
    /// let hub = sse_std::Hub::new(config);
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
        let inner = &self.inner;
        let slot = ClientSlot::take(inner)?;
        let mut first = Vec::new();
        if let Some(retry) = inner.config.retry {
            let ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            if let Ok(frame) = encode(&Event::new().with_retry(ms)) {
                first.push(frame);
            }
        }
        let track = inner.config.slow_consumer == SlowConsumer::Disconnect;
        let (member, until, newest_id) = {
            let mut state = inner.lock();
            if !state.open {
                return Err(SubscribeError::ShutDown);
            }
            let group = state.router.group(subscription);
            let tracker = group.join(track);
            // Events numbered from `until` on reach the group's queue.
            (Member::new(group, tracker, Arc::clone(inner)), state.next_seq, state.newest_id.clone())
        };
        let Some(last_event_id) = last_event_id else {
            let mut subscriber = Subscriber::new(member, first, slot);
            subscriber.set_joined_after(newest_id);
            return Ok(subscriber);
        };
        if last_event_id == EARLIEST {
            first.extend(inner.history().retained(until, member.subscription()));
            add(&inner.counters.replays, 1);
            let mut subscriber = Subscriber::new(member, first, slot);
            subscriber.set_joined_after(newest_id);
            return Ok(subscriber);
        }
        let subscription = member.subscription();
        let replayed = {
            let history = inner.history();
            match history.find(last_event_id) {
                Found::After(seq) => history.replay(seq, until, subscription).map(|frames| (seq, frames)),
                Found::Unknown => None,
            }
        };
        let counters = &inner.counters;
        let mut pending = None;
        match replayed {
            Some((seq, frames)) => {
                if seq.saturating_add(1) < until {
                    add(&counters.replays, 1);
                }
                first.extend(frames);
            }
            // The shared history answers what this one cannot, up to the
            // newest event here: every later one reaches the queue.
            None => match inner.source.get() {
                Some(source) => {
                    pending = Some(source.replay(last_event_id, newest_id.as_deref(), subscription))
                }
                None => {
                    add(&counters.stale_resumes, 1);
                    add(&counters.missed_sent, 1);
                    first.push(Bytes::from_static(MISSED_EVENTS));
                }
            },
        }
        let mut subscriber = Subscriber::new(member, first, slot);
        subscriber.set_joined_after(newest_id);
        if let Some(pending) = pending {
            subscriber.replay_from(pending);
        }
        Ok(subscriber)
    }

    /// Makes `source` answer the `Last-Event-ID`s the hub's own history
    /// cannot (a scale-out engine's shared history; see
    /// [`ReplaySource`]); the first one set stays.
    ///
    /// ```
    /// # #[derive(Debug)] struct Forgetful;
    /// # impl sse_std::ReplaySource for Forgetful {
    /// #     fn replay(&self, _: &str, _: Option<&str>, _: &sse_std::Subscription) -> sse_std::Replay { Box::pin(std::future::ready(None)) }
    /// # }
    /// let hub = sse_std::Hub::new(Default::default());
    /// hub.set_replay_source(std::sync::Arc::new(Forgetful));
    /// ```
    pub fn set_replay_source(&self, source: Arc<dyn ReplaySource>) {
        let _ = self.inner.source.set(source);
    }

    /// Tells the hub it lost continuity with its engine (the shared
    /// history was trimmed past what it had read, or restarted empty):
    /// its own history is cleared, so that no resume crosses the gap, and
    /// every subscriber gets `missed` now.
    ///
    /// ```
    /// use futures_util::StreamExt as _;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = sse_std::Hub::new(Default::default());
    /// let mut subscriber = hub.subscribe(None)?;
    /// hub.announce_gap();
    /// assert_eq!(&subscriber.next().await.unwrap()[..], sse_wire::MISSED_EVENTS);
    /// # Ok::<(), sse_std::SubscribeError>(()) }).unwrap();
    /// ```
    pub fn announce_gap(&self) {
        let inner = &*self.inner;
        let mut wake = Vec::new();
        let mut state = inner.lock();
        inner.history().clear();
        state.newest_id = None;
        let missed = Bytes::from_static(MISSED_EVENTS);
        let mut receivers = 0u64;
        state.router.each(|group| {
            receivers = receivers.saturating_add(u64::from(group.members()));
            inner.push(group, &missed, None, &mut wake);
        });
        drop(state);
        wake.into_iter().for_each(Waker::wake);
        add(&inner.counters.missed_sent, receivers);
    }

    /// The id of the newest event, while the history holds it (what a
    /// subscriber joining now is caught up to).
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// assert_eq!(hub.last_event_id(), None);
    /// let id = hub.publish(&sse_wire::Event::new().with_data("x")).unwrap().id;
    /// assert_eq!(hub.last_event_id(), Some(id));
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> Option<String> {
        self.inner.lock().newest_id.as_deref().map(str::to_owned)
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
    /// hub.publish(&sse_wire::Event::new().with_data("x")).unwrap();
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
        let mut wake = Vec::new();
        let mut state = self.inner.lock();
        state.open = false;
        state.router.each(|group| group.close(&mut wake));
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// ```
    /// assert!(!sse_std::Hub::new(Default::default()).is_shut_down());
    /// ```
    #[must_use]
    pub fn is_shut_down(&self) -> bool {
        !self.inner.lock().open
    }
}

/// Encodes one event into new `Bytes`, measured once.
pub(crate) fn encode(event: &Event<'_>) -> Result<Bytes, PublishError> {
    let mut buf = BytesMut::zeroed(event.encoded_len());
    let n = event.encode(&mut buf).map_err(|_| PublishError::Format)?;
    buf.truncate(n);
    Ok(buf.freeze())
}
