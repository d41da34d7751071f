//! Mercure's active subscriptions: who is subscribed to what, as private
//! subscription events and as the subscriptions API's JSON-LD documents,
//! in the form the Mercure hub publishes them.
//!
//! Invariant: every Mercure stream, while open, is listed once per topic
//! selector it gave, under a subscriber id the hub drew (`urn:uuid:`,
//! never taken from the client); its arrival and its departure are each
//! published once, in that order (one task publishes them all, in the
//! order they happened), as private updates whose topic is the
//! subscription's own URL path, so only subscribers granted that path see
//! them. The listing is this instance's; the events go through the
//! engine, so with Redis every instance's subscribers see every
//! instance's. The queue of events not yet published is bounded: while
//! [`MAX_BACKLOG`] arrivals wait (a slow engine, a flood of short-lived
//! streams), a new stream is refused rather than listed without its
//! event; a departure is always queued, so at most `MAX_BACKLOG` plus
//! one per active subscription ever wait.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use sse_wire::{Audience, Event, Topic};
use tokio::sync::mpsc;

use crate::engine::PublishSink;
use crate::hub::Update;

/// The `@context` of the documents.
const CONTEXT: &str = "https://mercure.rocks/";

/// Subscription events that may wait to be published before a new
/// stream is refused (503, or an `EventSource` told to come back).
pub(crate) const MAX_BACKLOG: usize = 4096;

/// One subscription: its topic selector, its subscriber, the subscriber's
/// token payload (JSON text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    topic: String,
    subscriber: String,
}

/// The active subscriptions of this instance, and the queue of events
/// about them.
#[derive(Debug)]
pub(crate) struct Presence {
    hub_path: String,
    active: Mutex<BTreeMap<Key, Option<String>>>,
    events: Mutex<Option<mpsc::UnboundedSender<(String, String)>>>,
    /// Events queued and not yet published.
    backlog: Arc<AtomicUsize>,
    sink: Arc<dyn PublishSink>,
}

/// A stream's subscriptions, withdrawn (and announced so) when dropped.
#[derive(Debug)]
pub(crate) struct Joined {
    presence: Arc<Presence>,
    subscriber: String,
    topics: Vec<String>,
    payload: Option<String>,
}

impl Drop for Joined {
    fn drop(&mut self) {
        let mut active = self.presence.lock();
        for topic in &self.topics {
            active.remove(&Key { topic: topic.clone(), subscriber: self.subscriber.clone() });
        }
        drop(active);
        for topic in &self.topics {
            self.presence.announce(topic, &self.subscriber, self.payload.as_deref(), false);
        }
    }
}

/// `text` percent-encoded whole, as one URL path segment (every byte but
/// the unreserved ones).
fn segment(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

/// A new subscriber id: a random RFC 9562 version 4 UUID as a URN.
fn new_subscriber() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    // std seeds every `RandomState` from the OS's random source.
    let draw = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    let (high, low) = (draw(), draw());
    format!(
        "urn:uuid:{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | (low >> 48 & 0x3fff),
        low & 0xffff_ffff_ffff
    )
}

impl Presence {
    /// Subscription events published through `sink`, for a hub served at
    /// `hub_path`.
    pub(crate) fn new(hub_path: &str, sink: Arc<dyn PublishSink>) -> Self {
        Self {
            hub_path: hub_path.trim_end_matches('/').to_owned(),
            active: Mutex::new(BTreeMap::new()),
            events: Mutex::new(None),
            backlog: Arc::new(AtomicUsize::new(0)),
            sink,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Option<String>>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists a new stream's subscriptions (one per topic selector) under
    /// a new subscriber id, and announces them; `None`, listing nothing,
    /// while [`MAX_BACKLOG`] events wait to be published.
    pub(crate) fn join(self: &Arc<Self>, topics: Vec<String>, payload: Option<String>) -> Option<Joined> {
        if self.backlog.load(Ordering::Relaxed) >= MAX_BACKLOG {
            tracing::warn!("subscription events are not being published fast enough; a stream is refused");
            return None;
        }
        let subscriber = new_subscriber();
        let mut active = self.lock();
        for topic in &topics {
            active.insert(Key { topic: topic.clone(), subscriber: subscriber.clone() }, payload.clone());
        }
        drop(active);
        for topic in &topics {
            self.announce(topic, &subscriber, payload.as_deref(), true);
        }
        Some(Joined { presence: Arc::clone(self), subscriber, topics, payload })
    }

    /// The URL path of a subscription (`subscriber` given) or of a
    /// topic's subscriptions.
    fn path(&self, topic: Option<&str>, subscriber: Option<&str>) -> String {
        let mut path = format!("{}/subscriptions", self.hub_path);
        for part in [topic, subscriber].into_iter().flatten() {
            path.push('/');
            path.push_str(&segment(part));
        }
        path
    }

    /// The document of one subscription.
    fn document(&self, topic: &str, subscriber: &str, payload: Option<&str>, active: bool) -> Value {
        let mut document = json!({
            "@context": CONTEXT,
            "id": self.path(Some(topic), Some(subscriber)),
            "type": "Subscription",
            "topic": topic,
            "subscriber": subscriber,
            "active": active,
        });
        if let (Some(payload), Some(map)) =
            (payload.and_then(|p| serde_json::from_str::<Value>(p).ok()), document.as_object_mut())
        {
            map.insert("payload".to_owned(), payload);
        }
        document
    }

    /// Queues the event of a subscription that began or ended.
    fn announce(&self, topic: &str, subscriber: &str, payload: Option<&str>, active: bool) {
        let id = self.path(Some(topic), Some(subscriber));
        let data = self.document(topic, subscriber, payload, active).to_string();
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if events.is_none() {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
            let (send, receive) = mpsc::unbounded_channel();
            runtime.spawn(publish_in_order(Arc::clone(&self.sink), receive, Arc::clone(&self.backlog)));
            *events = Some(send);
        }
        if let Some(events) = events.as_ref() {
            // Counted before it can be counted off.
            self.backlog.fetch_add(1, Ordering::Relaxed);
            if events.send((id, data)).is_err() {
                self.backlog.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// The subscriptions API's document for `path` below the hub's path
    /// (`/subscriptions`, `/subscriptions/{topic}`,
    /// `/subscriptions/{topic}/{subscriber}`, percent-encoded), with the
    /// id of the newest event as `lastEventID`; `None` if there is no
    /// such subscription or the path is none of these.
    pub(crate) fn api(&self, path: &str, last_event_id: &str) -> Option<Value> {
        let rest = path.strip_prefix(&self.hub_path)?.strip_prefix("/subscriptions")?;
        let parts: Vec<String> = if rest.is_empty() {
            Vec::new()
        } else {
            let rest = rest.strip_prefix('/')?;
            rest.split('/')
                .map(|p| percent_encoding::percent_decode_str(p).decode_utf8().map(|s| s.into_owned()))
                .collect::<Result<_, _>>()
                .ok()?
        };
        let active = self.lock();
        match parts.as_slice() {
            [topic, subscriber] => {
                let key = Key { topic: topic.clone(), subscriber: subscriber.clone() };
                let payload = active.get(&key)?;
                let mut document = self.document(topic, subscriber, payload.as_deref(), true);
                if let Some(map) = document.as_object_mut() {
                    map.insert("lastEventID".to_owned(), json!(last_event_id));
                }
                Some(document)
            }
            [] | [_] => {
                let topic = parts.first();
                let subscriptions: Vec<Value> = active
                    .iter()
                    .filter(|(key, _)| topic.is_none_or(|t| *t == key.topic))
                    .map(|(key, payload)| {
                        self.document(&key.topic, &key.subscriber, payload.as_deref(), true)
                    })
                    .collect();
                Some(json!({
                    "@context": CONTEXT,
                    "id": self.path(topic.map(String::as_str), None),
                    "type": "Subscriptions",
                    "lastEventID": last_event_id,
                    "subscriptions": subscriptions,
                }))
            }
            _ => None,
        }
    }
}

/// Publishes each `(topic, data)` received, one after the other, as a
/// private update, counting each off `backlog` once done with; until
/// every sender is gone.
async fn publish_in_order(
    sink: Arc<dyn PublishSink>,
    mut events: mpsc::UnboundedReceiver<(String, String)>,
    backlog: Arc<AtomicUsize>,
) {
    while let Some((topic, data)) = events.recv().await {
        let _done = Done(&backlog);
        let Ok(topic) = Topic::new(&topic) else {
            tracing::warn!("a subscription event's topic is not a valid topic; not published");
            continue;
        };
        // The future borrows nothing of the update.
        let publishing =
            sink.publish_all(&[Update::new(Audience::on(topic).private(), Event::new().with_data(&data))]);
        if let Err(e) = publishing.await {
            tracing::warn!(error = %e, "a subscription event could not be published");
        }
    }
}

/// Counts one event off the backlog when dropped (published, failed or
/// skipped alike).
struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_each_part_once_and_subscriber_ids_are_uuids() {
        let presence = Presence::new("/.well-known/mercure", Arc::new(crate::Hub::new(Default::default())));
        assert_eq!(
            presence.path(Some("https://example.com/{id}"), Some("urn:uuid:1")),
            "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bid%7D/urn%3Auuid%3A1"
        );
        let id = new_subscriber();
        assert!(id.starts_with("urn:uuid:") && id.len() == 45 && id.as_bytes()[23] == b'4', "{id}");
        assert_ne!(id, new_subscriber());
    }

    /// An engine that never answers.
    #[derive(Debug)]
    struct Stuck;

    impl PublishSink for Stuck {
        fn publish_all(&self, _: &[Update<'_>]) -> crate::engine::Publishing {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn while_the_engine_is_stuck_new_streams_are_refused_at_the_bound_and_departures_still_queue() {
        let presence = Arc::new(Presence::new("/.well-known/mercure", Arc::new(Stuck)));
        let joined: Vec<Joined> =
            (0..MAX_BACKLOG).map(|_| presence.join(vec!["a".into()], None).expect("room")).collect();
        assert!(presence.join(vec!["a".into()], None).is_none(), "the backlog is full");
        assert_eq!(presence.lock().len(), MAX_BACKLOG, "a refused stream is not listed");
        drop(joined);
        assert!(presence.lock().is_empty());
        assert_eq!(presence.backlog.load(Ordering::Relaxed), 2 * MAX_BACKLOG, "every departure queued");
    }

    #[tokio::test]
    async fn once_published_the_backlog_empties_and_streams_are_listed_again() {
        let hub = Arc::new(crate::Hub::new(Default::default()));
        let presence = Arc::new(Presence::new("/.well-known/mercure", hub.clone()));
        let joined: Vec<Joined> =
            (0..MAX_BACKLOG).map(|_| presence.join(vec!["a".into()], None).expect("room")).collect();
        drop(joined);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while presence.backlog.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(presence.backlog.load(Ordering::Relaxed), 0);
        assert_eq!(hub.stats().published, 2 * MAX_BACKLOG as u64, "each arrival and departure published");
        assert!(presence.join(vec!["a".into()], None).is_some());
    }
}
