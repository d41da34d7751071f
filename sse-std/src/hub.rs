//! The broadcast hub: encode each event once, fan it out to every
//! subscriber, replay after `Last-Event-ID`.
//!
//! Invariant: every published event is encoded exactly once by sse-core,
//! into the replay history, and the same bytes (a shared `Bytes`) go to
//! every subscriber. Publishing never waits for a subscriber: each one can
//! fall at most `queue_len` events behind (one shared `tokio::sync::broadcast`
//! ring), after which the slow-consumer policy applies and the loss is
//! counted. A subscriber never sees a silent gap: replay, lag and stale ids
//! all end in either the missing events or [`MISSED_EVENTS`].
//!
//! Publishing and subscribing take one short lock, so an event is either in
//! a new subscriber's replay or in its live feed, never both or neither.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sse_core::{Event, FieldError, HistoryIn, KEEP_ALIVE, MISSED_EVENTS, Resume, Slot};
use tokio::sync::{Notify, broadcast};
use tokio::time::{Instant, Sleep};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

/// What to do with a subscriber that fell more than `queue_len` events
/// behind (for example a client on a stalled connection).
///
/// ```
/// use sse_std::{HubConfig, SlowConsumer};
/// let config = HubConfig { slow_consumer: SlowConsumer::Disconnect, ..HubConfig::default() };
/// assert_eq!(config.slow_consumer, SlowConsumer::Disconnect);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SlowConsumer {
    /// Drop the oldest events it has not read, send it [`MISSED_EVENTS`]
    /// (an event of type `missed`), and go on with the oldest event still
    /// queued. Its dropped events are counted in [`HubStats::dropped`].
    #[default]
    DropOldest,
    /// End its stream (its client reconnects with `Last-Event-ID` and
    /// catches up from the history if it can). The hub checks every few
    /// publishes, so a client that stopped reading altogether is caught
    /// too, and notifies the subscriber's
    /// [disconnect signal](Subscriber::set_disconnect_signal) so that its
    /// server can close the connection. Counted in
    /// [`HubStats::slow_disconnects`], its unread events in
    /// [`HubStats::dropped`].
    Disconnect,
}

/// Settings of a [`Hub`].
///
/// ```
/// use std::time::Duration;
/// let config = sse_std::HubConfig {
///     history_events: 100,
///     keep_alive: Some(Duration::from_secs(30)),
///     ..Default::default()
/// };
/// let hub = sse_std::Hub::new(config);
/// assert_eq!(hub.client_count(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Events kept for replay after `Last-Event-ID` (default 1024).
    pub history_events: usize,
    /// Bytes of encoded events kept for replay (default 1 MiB).
    pub history_bytes: usize,
    /// How many events one subscriber may fall behind before
    /// [`slow_consumer`](Self::slow_consumer) applies (default 256; at
    /// least 1).
    pub queue_len: usize,
    /// The slow-consumer policy (default: drop the oldest and tell).
    pub slow_consumer: SlowConsumer,
    /// Send a keep-alive comment after this long without traffic (default
    /// 15 s; `None`: never).
    pub keep_alive: Option<Duration>,
    /// Send `retry: <ms>` first on every new stream (default: not sent).
    pub retry: Option<Duration>,
    /// The most subscribers at once (default: no limit).
    pub max_clients: Option<usize>,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            history_events: 1024,
            history_bytes: 1 << 20,
            queue_len: 256,
            slow_consumer: SlowConsumer::DropOldest,
            keep_alive: Some(Duration::from_secs(15)),
            retry: None,
            max_clients: None,
        }
    }
}

/// Counters of a [`Hub`], from [`Hub::stats`].
///
/// ```
/// let hub = sse_std::Hub::new(Default::default());
/// assert_eq!(hub.stats().published, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Subscribers connected now.
    pub clients: usize,
    /// Events published since the hub was made.
    pub published: u64,
    /// Events that slow subscribers never received: those dropped from
    /// their queue ([`SlowConsumer::DropOldest`]), and those not yet read
    /// when a subscriber was disconnected ([`SlowConsumer::Disconnect`]).
    pub dropped: u64,
    /// Subscribers ended by [`SlowConsumer::Disconnect`].
    pub slow_disconnects: u64,
    /// Subscribers that resumed from an id the history no longer had, and
    /// were sent [`MISSED_EVENTS`].
    pub stale_resumes: u64,
}

/// Why [`Hub::publish`] failed.
///
/// ```
/// let hub = sse_std::Hub::new(Default::default());
/// hub.shutdown();
/// let err = hub.publish(&sse_core::Event::new().with_data("x")).unwrap_err();
/// assert_eq!(err, sse_std::PublishError::ShutDown);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The hub was shut down.
    ShutDown,
    /// The event's `Display` data failed to format.
    Format,
    /// The id the hub assigned was refused (never happens for its decimal
    /// ids; kept so that no failure is hidden).
    Field(FieldError),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ShutDown => f.write_str("the hub is shut down"),
            Self::Format => f.write_str("formatting the event data failed"),
            Self::Field(e) => write!(f, "assigned id refused: {e}"),
        }
    }
}

impl std::error::Error for PublishError {}

/// Why [`Hub::subscribe`] failed.
///
/// ```
/// let hub = sse_std::Hub::new(sse_std::HubConfig { max_clients: Some(0), ..Default::default() });
/// assert_eq!(hub.subscribe(None).unwrap_err(), sse_std::SubscribeError::TooManyClients);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The hub was shut down: tell the client to stop reconnecting (204).
    ShutDown,
    /// `max_clients` subscribers are connected: ask it to retry later (503).
    TooManyClients,
}

impl std::fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ShutDown => "the hub is shut down",
            Self::TooManyClients => "too many clients",
        })
    }
}

impl std::error::Error for SubscribeError {}

/// What [`Hub::publish`] did with an event.
///
/// ```
/// let hub = sse_std::Hub::new(Default::default());
/// let published = hub.publish(&sse_core::Event::new().with_data("x")).unwrap();
/// assert_eq!((published.seq, published.id.as_str()), (0, "0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// Position of the event in the hub's sequence, from 0.
    pub seq: u64,
    /// The event's id: the publisher's, or the decimal `seq` the hub
    /// assigned when the publisher gave none.
    pub id: String,
}

type Store = HistoryIn<Box<[Slot]>, Box<[u8]>>;

struct State {
    history: Store,
    /// `None` once shut down: dropping the sender ends every subscriber
    /// after it has read what was already queued.
    sender: Option<broadcast::Sender<Bytes>>,
}

/// What the hub knows of one subscriber's progress.
struct Tracker {
    /// Sequence number of the next live event the subscriber has not read.
    next: AtomicU64,
    /// Set once when the hub disconnects it for being too slow.
    killed: AtomicBool,
    signal: Mutex<Option<Arc<Notify>>>,
}

struct Inner {
    state: Mutex<State>,
    trackers: Mutex<Vec<Weak<Tracker>>>,
    config: HubConfig,
    clients: AtomicUsize,
    published: AtomicU64,
    dropped: AtomicU64,
    slow_disconnects: AtomicU64,
    stale_resumes: AtomicU64,
}

/// A broadcast hub (the seed's `Send-KrSseBroadcastEvent` and
/// `Get-KrSseConnectedClientCount`). Cheap to clone: clones share the hub.
///
/// ```
/// use futures_util::StreamExt;
/// use sse_core::Event;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = sse_std::Hub::new(Default::default());
/// let mut alice = hub.subscribe(None).unwrap();
/// hub.publish(&Event::new().with_event("greeting")?.with_data("hello"))?;
/// assert_eq!(&alice.next().await.unwrap()[..], b"event: greeting\nid: 0\ndata: hello\n\n");
///
/// // Bob was away and comes back with the last id he saw: he is replayed
/// // everything after it.
/// hub.publish(&Event::new().with_data("one"))?;
/// let mut bob = hub.subscribe(Some("0")).unwrap();
/// assert_eq!(&bob.next().await.unwrap()[..], b"id: 1\ndata: one\n\n");
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
        let history = HistoryIn::with_storage(
            vec![Slot::EMPTY; config.history_events].into_boxed_slice(),
            vec![0u8; config.history_bytes].into_boxed_slice(),
        );
        let (sender, _) = broadcast::channel(config.queue_len.max(1));
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State { history, sender: Some(sender) }),
                trackers: Mutex::new(Vec::new()),
                config,
                clients: AtomicUsize::new(0),
                published: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                slow_disconnects: AtomicU64::new(0),
                stale_resumes: AtomicU64::new(0),
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

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every
        // update is a single call into the history or the sender.
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes `event` once, keeps it for replay, and queues the same bytes
    /// to every subscriber. An event without an id gets the next sequence
    /// number as its id, so that every client can resume.
    ///
    /// # Errors
    /// [`PublishError::ShutDown`] after [`shutdown`](Self::shutdown);
    /// [`PublishError::Format`] if `Display` data fails.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let e = sse_core::Event::new().with_id("custom")?.with_data("x");
    /// assert_eq!(hub.publish(&e)?.id, "custom");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish(&self, event: &Event<'_>) -> Result<Published, PublishError> {
        let mut state = self.lock();
        let Some(sender) = state.sender.clone() else {
            return Err(PublishError::ShutDown);
        };
        let seq = state.history.next_seq();
        let assigned;
        let event = match event.id() {
            Some(_) => *event,
            None => {
                assigned = seq.to_string();
                event.with_id(&assigned).map_err(PublishError::Field)?
            }
        };
        let id = event.id().unwrap_or_default().to_owned();
        let frame = match state.history.push(&event) {
            Ok(stored) => match state.history.get(stored) {
                Some(s) => Bytes::copy_from_slice(s.frame),
                None => encode(&event)?,
            },
            Err(sse_core::HistoryError::Format) => return Err(PublishError::Format),
            Err(e) => {
                tracing::warn!(error = %e, "event too large for the replay history");
                encode(&event)?
            }
        };
        // `send` fails only when nobody subscribes; the event is still in
        // the history for clients that come back.
        let _ = sender.send(frame);
        drop(state);
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        if self.inner.config.slow_consumer == SlowConsumer::Disconnect {
            let every = (self.inner.config.queue_len / 4).max(1) as u64;
            if seq.is_multiple_of(every) {
                self.disconnect_stalled(seq.saturating_add(1));
            }
        }
        Ok(Published { seq, id })
    }

    /// Ends every subscriber that fell more than `queue_len` events behind
    /// `next_seq`, even one that no longer reads at all.
    fn disconnect_stalled(&self, next_seq: u64) {
        let limit = self.inner.config.queue_len.max(1) as u64;
        let mut trackers = self.inner.trackers.lock().unwrap_or_else(PoisonError::into_inner);
        trackers.retain(|weak| {
            let Some(tracker) = weak.upgrade() else { return false };
            let behind = next_seq.saturating_sub(tracker.next.load(Ordering::Acquire));
            if behind > limit && !tracker.killed.swap(true, Ordering::AcqRel) {
                self.inner.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                self.inner.dropped.fetch_add(behind, Ordering::Relaxed);
                tracing::debug!(behind, "disconnecting a stalled subscriber");
                let signal = tracker.signal.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(signal) = signal {
                    signal.notify_one();
                }
            }
            true
        });
    }

    /// A new subscriber: a stream of encoded frames. With a
    /// `last_event_id` (the client's `Last-Event-ID` header) it first
    /// receives every stored event after that id, or [`MISSED_EVENTS`] if
    /// the id is too old or unknown; then every event published from now.
    /// It starts with `retry:` if the hub has one configured, and sends
    /// keep-alive comments while idle.
    ///
    /// # Errors
    /// [`SubscribeError::ShutDown`] after [`shutdown`](Self::shutdown),
    /// [`SubscribeError::TooManyClients`] at `max_clients`.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let subscriber = hub.subscribe(Some("42"))?;
    /// assert_eq!(hub.stats().stale_resumes, 1);
    /// # Ok::<(), sse_std::SubscribeError>(())
    /// ```
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Result<Subscriber, SubscribeError> {
        let slot = ClientSlot::take(&self.inner)?;
        let state = self.lock();
        let Some(sender) = state.sender.as_ref() else {
            return Err(SubscribeError::ShutDown);
        };
        let receiver = sender.subscribe();
        let tracker = Arc::new(Tracker {
            next: AtomicU64::new(state.history.next_seq()),
            killed: AtomicBool::new(false),
            signal: Mutex::new(None),
        });
        let mut first = BytesMut::new();
        if let Some(retry) = self.inner.config.retry {
            let ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            let _ = append(&mut first, &Event::new().with_retry(ms));
        }
        match last_event_id.map(|id| state.history.resume_after(id)) {
            None | Some(Resume::UpToDate) => {}
            Some(Resume::From(seq)) => {
                for stored in state.history.iter_from(seq) {
                    first.extend_from_slice(stored.frame);
                }
            }
            Some(Resume::Missed) => {
                self.inner.stale_resumes.fetch_add(1, Ordering::Relaxed);
                first.extend_from_slice(MISSED_EVENTS);
            }
        }
        drop(state);
        {
            let mut trackers = self.inner.trackers.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget subscribers that are gone, so that connect/disconnect
            // cycles without publishing cannot grow the list.
            if trackers.len() >= self.client_count().saturating_mul(2).max(64) {
                trackers.retain(|weak| weak.strong_count() > 0);
            }
            trackers.push(Arc::downgrade(&tracker));
        }
        Ok(Subscriber {
            tracker,
            first: (!first.is_empty()).then(|| first.freeze()),
            live: BroadcastStream::new(receiver),
            keep_alive: self.inner.config.keep_alive.map(|period| KeepAlive { period, sleep: None }),
            policy: self.inner.config.slow_consumer,
            ended: false,
            _slot: slot,
        })
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
        self.inner.clients.load(Ordering::Relaxed)
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
        let i = &self.inner;
        HubStats {
            clients: i.clients.load(Ordering::Relaxed),
            published: i.published.load(Ordering::Relaxed),
            dropped: i.dropped.load(Ordering::Relaxed),
            slow_disconnects: i.slow_disconnects.load(Ordering::Relaxed),
            stale_resumes: i.stale_resumes.load(Ordering::Relaxed),
        }
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

/// Encodes one event into new `Bytes`.
fn encode(event: &Event<'_>) -> Result<Bytes, PublishError> {
    let mut buf = BytesMut::new();
    append(&mut buf, event)?;
    Ok(buf.freeze())
}

fn append(buf: &mut BytesMut, event: &Event<'_>) -> Result<(), PublishError> {
    let start = buf.len();
    buf.resize(start.saturating_add(event.encoded_len()), 0);
    match event.encode(buf.get_mut(start..).unwrap_or_default()) {
        Ok(n) => {
            buf.truncate(start.saturating_add(n));
            Ok(())
        }
        Err(_) => {
            buf.truncate(start);
            Err(PublishError::Format)
        }
    }
}

/// One counted place among the hub's clients, given back on drop.
struct ClientSlot {
    inner: Arc<Inner>,
}

impl ClientSlot {
    fn take(inner: &Arc<Inner>) -> Result<Self, SubscribeError> {
        let max = inner.config.max_clients.unwrap_or(usize::MAX);
        inner
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then(|| n.saturating_add(1)))
            .map_err(|_| SubscribeError::TooManyClients)?;
        Ok(Self { inner: Arc::clone(inner) })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.inner.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

struct KeepAlive {
    period: Duration,
    /// Made on the first idle poll, so that a subscriber can be created
    /// outside a runtime.
    sleep: Option<Pin<Box<Sleep>>>,
}

/// `period` from now, saturating (a huge period means "not for a year").
pub(crate) fn deadline(period: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(period).or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600))).unwrap_or(now)
}

impl KeepAlive {
    fn reset(&mut self) {
        if let Some(sleep) = self.sleep.as_mut() {
            sleep.as_mut().reset(deadline(self.period));
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let period = self.period;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline(period))));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                sleep.as_mut().reset(deadline(period));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One subscriber of a [`Hub`]: a `Stream` of encoded frames, ready to be
/// a response body (`Stream<Item = Bytes>`; hyper and axum serve it
/// directly). Dropping it leaves the hub.
///
/// ```
/// fn assert_stream<S: futures_core::Stream<Item = bytes::Bytes> + Send + Unpin>(_: &S) {}
/// let hub = sse_std::Hub::new(Default::default());
/// assert_stream(&hub.subscribe(None)?);
/// # Ok::<(), sse_std::SubscribeError>(())
/// ```
pub struct Subscriber {
    tracker: Arc<Tracker>,
    /// Retry, replay or stale-id signal, sent before anything live.
    first: Option<Bytes>,
    live: BroadcastStream<Bytes>,
    keep_alive: Option<KeepAlive>,
    policy: SlowConsumer,
    ended: bool,
    _slot: ClientSlot,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("policy", &self.policy)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl futures_core::Stream for Subscriber {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        if this.ended || this.tracker.killed.load(Ordering::Acquire) {
            this.ended = true;
            return Poll::Ready(None);
        }
        if let Some(first) = this.first.take() {
            return this.traffic(first);
        }
        match Pin::new(&mut this.live).poll_next(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.tracker.next.fetch_add(1, Ordering::AcqRel);
                return this.traffic(frame);
            }
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(missed)))) => {
                this.tracker.next.fetch_add(missed, Ordering::AcqRel);
                tracing::debug!(missed, policy = ?this.policy, "slow subscriber");
                return match this.policy {
                    SlowConsumer::DropOldest => {
                        this._slot.inner.dropped.fetch_add(missed, Ordering::Relaxed);
                        this.traffic(Bytes::from_static(MISSED_EVENTS))
                    }
                    SlowConsumer::Disconnect => {
                        // Unless the periodic check got there first. Every
                        // event it had not read is lost to it: the ones
                        // overwritten and the ones still queued.
                        let inner = &this._slot.inner;
                        if !this.tracker.killed.swap(true, Ordering::AcqRel) {
                            let queued = inner
                                .published
                                .load(Ordering::Acquire)
                                .saturating_sub(this.tracker.next.load(Ordering::Acquire));
                            inner.dropped.fetch_add(missed.saturating_add(queued), Ordering::Relaxed);
                            inner.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                        }
                        this.ended = true;
                        Poll::Ready(None)
                    }
                };
            }
            // The hub shut down and this subscriber has read everything.
            Poll::Ready(None) => {
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

impl Subscriber {
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
        if self.tracker.killed.load(Ordering::Acquire) {
            signal.notify_one();
        } else {
            *self.tracker.signal.lock().unwrap_or_else(PoisonError::into_inner) = Some(signal);
        }
    }

    /// Real traffic resets the keep-alive timer.
    fn traffic(&mut self, frame: Bytes) -> Poll<Option<Bytes>> {
        if let Some(keep_alive) = self.keep_alive.as_mut() {
            keep_alive.reset();
        }
        Poll::Ready(Some(frame))
    }
}
