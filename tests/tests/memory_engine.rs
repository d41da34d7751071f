//! A scale-out engine written outside sse-std with nothing but its public
//! API (`PublishSink`, `ReplaySource`, `Hub::publish_to`,
//! `Hub::announce_gap`, `encode_frame`): an in-memory shared log that two
//! hubs follow, as two instances would follow a Redis stream or a NATS
//! subject. It proves the traits suffice for another engine: the same
//! events with the same ids on both hubs, exact resume through the shared
//! log past each hub's own short history, and `missed` after a trim.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use sse_std::{
    EngineError, Hub, HubConfig, PublishSink, Publishing, Replay, ReplaySource, Selectors, Subscription,
    Update, encode_frame,
};
use sse_wire::{Audience, Event, Topic};
use tokio::sync::Notify;

/// One stored event.
#[derive(Clone, Debug)]
struct Entry {
    seq: u64,
    topic: Option<String>,
    private: bool,
    data: String,
}

impl Entry {
    fn id(&self) -> String {
        format!("mem-{}", self.seq)
    }

    /// Calls `f` with the entry as an audience and an event with its id.
    fn with_event<R>(&self, f: impl FnOnce(Audience<'_>, &Event<'_>) -> R) -> Option<R> {
        let topic = match &self.topic {
            Some(name) => Some(Topic::new(name).ok()?),
            None => None,
        };
        let audience = match topic {
            Some(topic) => Audience::on(topic),
            None => Audience::EVERYONE,
        };
        let audience = if self.private { audience.private() } else { audience };
        let id = self.id();
        let event = Event::new().with_id(&id).ok()?.with_data(&self.data);
        Some(f(audience, &event))
    }
}

/// The log every instance reads: entries numbered from 0, of which the
/// oldest may have been trimmed.
#[derive(Debug, Default)]
struct Log {
    entries: Mutex<Vec<Entry>>,
    next: Mutex<u64>,
    grew: Notify,
}

/// The publishing half, shared by every instance.
#[derive(Debug, Clone)]
struct MemoryEngine {
    log: Arc<Log>,
}

impl PublishSink for MemoryEngine {
    fn publish_all(&self, items: &[Update<'_>]) -> Publishing {
        if items.iter().any(|update| update.event.id().is_some()) {
            return Box::pin(std::future::ready(Err(EngineError::Refused("the engine assigns ids".into()))));
        }
        let mut entries = self.log.entries.lock().unwrap();
        let mut next = self.log.next.lock().unwrap();
        let mut ids = Vec::new();
        for Update { audience, event, .. } in items {
            let entry = Entry {
                seq: *next,
                topic: audience.topic_name().map(str::to_owned),
                private: audience.private,
                data: match event.data() {
                    Some(sse_wire::Data::Text(text)) => text.to_owned(),
                    Some(sse_wire::Data::Display(display)) => display.to_string(),
                    None => String::new(),
                },
            };
            *next += 1;
            ids.push(entry.id());
            entries.push(entry);
        }
        drop((entries, next));
        self.log.grew.notify_waiters();
        Box::pin(std::future::ready(Ok(ids)))
    }
}

/// The replay half: it holds the log, never the hub.
#[derive(Debug)]
struct MemorySource {
    log: Arc<Log>,
}

fn seq_of(id: &str) -> Option<u64> {
    id.strip_prefix("mem-")?.parse().ok()
}

impl ReplaySource for MemorySource {
    fn replay(&self, after: &str, until: Option<&str>, subscription: &Subscription) -> Replay {
        let entries = self.log.entries.lock().unwrap();
        let answer = (|| {
            let after = seq_of(after)?;
            let until = match until {
                Some(id) => seq_of(id)?,
                None => entries.last()?.seq,
            };
            // The client's own entry must still be there: nothing between
            // was trimmed.
            if entries.first()?.seq > after {
                return None;
            }
            let frames = entries
                .iter()
                .filter(|e| e.seq > after && e.seq <= until)
                .filter_map(|e| {
                    e.with_event(|audience, event| {
                        Update::new(audience, *event)
                            .admitted_by(subscription)
                            .then(|| encode_frame(event).ok())
                    })
                    .flatten()
                    .flatten()
                })
                .collect();
            Some(frames)
        })();
        Box::pin(std::future::ready(answer))
    }
}

/// One instance's follower: every entry, in order, into its hub; a trim
/// past its position is a gap.
async fn follow(log: Arc<Log>, hub: Hub) {
    let mut position = 0u64;
    loop {
        let grew = log.grew.notified();
        let fresh: Vec<Entry> = {
            let entries = log.entries.lock().unwrap();
            if entries.first().is_some_and(|e| e.seq > position) {
                hub.announce_gap();
                position = entries.first().map_or(position, |e| e.seq);
            }
            entries.iter().filter(|e| e.seq >= position).cloned().collect()
        };
        for entry in fresh {
            entry.with_event(|audience, event| hub.publish_to(audience, event).unwrap());
            position = entry.seq + 1;
        }
        if hub.is_shut_down() {
            return;
        }
        grew.await;
    }
}

/// An instance: a hub with a short history of its own, following `log`.
fn instance(log: &Arc<Log>) -> Hub {
    let hub = Hub::new({
        let mut config = HubConfig::default();
        config.history_events = 2;
        config.keep_alive = None;
        config
    });
    hub.set_replay_source(Arc::new(MemorySource { log: Arc::clone(log) }));
    tokio::spawn(follow(Arc::clone(log), hub.clone()));
    hub
}

async fn next_frames(subscriber: &mut sse_std::Subscriber, n: usize) -> Vec<String> {
    let mut frames = Vec::new();
    while frames.len() < n {
        let frame = tokio::time::timeout(Duration::from_secs(5), subscriber.next()).await.unwrap().unwrap();
        frames.push(String::from_utf8(frame.to_vec()).unwrap());
    }
    frames
}

fn frame(seq: u64, data: &str) -> String {
    format!("id: mem-{seq}\ndata: {data}\n\n")
}

#[tokio::test]
async fn an_engine_outside_sse_std_shares_events_resumes_exactly_and_reports_gaps() {
    let log = Arc::new(Log::default());
    let engine: Arc<dyn PublishSink> = Arc::new(MemoryEngine { log: Arc::clone(&log) });
    let (a, b) = (instance(&log), instance(&log));
    let everything = Subscription::new(Selectors::all());
    let mut on_a = a.subscribe_with(everything.clone(), None).unwrap();
    let mut on_b = b.subscribe_with(everything.clone(), None).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let orders = Audience::on(Topic::new("orders/1").unwrap());
    let items: Vec<Update<'_>> = (0..6)
        .map(|i| {
            Update::new(
                if i % 2 == 0 { orders } else { Audience::EVERYONE },
                Event::new().with_data(["e0", "e1", "e2", "e3", "e4", "e5"][i]),
            )
        })
        .collect();
    let ids = engine.publish_all(&items).await.unwrap();
    assert_eq!(ids, (0..6).map(|i| format!("mem-{i}")).collect::<Vec<_>>());
    let want: Vec<String> = (0..6).map(|i| frame(i, &format!("e{i}"))).collect();
    assert_eq!(next_frames(&mut on_a, 6).await, want, "instance A");
    assert_eq!(next_frames(&mut on_b, 6).await, want, "instance B: the same events, the same ids");

    // Each hub keeps 2 events per topic: a resume from mem-0 on the
    // topic is answered by the shared log, exactly.
    let topic = Subscription::new(Selectors::parse(["orders/*"]).unwrap());
    let mut resumed = b.subscribe_with(topic.clone(), Some("mem-0")).unwrap();
    assert_eq!(next_frames(&mut resumed, 2).await, [frame(2, "e2"), frame(4, "e4")]);
    let more = engine.publish_all(&[Update::new(orders, Event::new().with_data("live"))]).await.unwrap();
    assert_eq!(more, ["mem-6"]);
    assert_eq!(next_frames(&mut resumed, 1).await, [frame(6, "live")], "live follows the replay, no gap");
    assert_eq!(b.stats().replays, 1);

    // An id the engine did not assign is refused at publish, and one it
    // no longer holds gives `missed`.
    let with_id = [Update::new(Audience::EVERYONE, Event::new().with_id("mine").unwrap().with_data("x"))];
    assert!(matches!(engine.publish_all(&with_id).await, Err(EngineError::Refused(_))));
    log.entries.lock().unwrap().drain(..4);
    let mut stale = a.subscribe_with(everything.clone(), Some("mem-1")).unwrap();
    assert_eq!(next_frames(&mut stale, 1).await, ["event: missed\ndata: \n\n"]);

    // The shared log trimmed past what an instance read: its subscribers
    // get `missed` (the follower announces the gap).
    let c = Hub::new({
        let mut config = HubConfig::default();
        config.history_events = 2;
        config.keep_alive = None;
        config
    });
    let mut on_c = c.subscribe_with(everything, None).unwrap();
    tokio::spawn(follow(Arc::clone(&log), c.clone()));
    let got = next_frames(&mut on_c, 1).await;
    assert_eq!(got, ["event: missed\ndata: \n\n"], "C starts at 0 and finds the log trimmed to 4");
}
