//! The hub's replay history for `Last-Event-ID`, kept per topic: each
//! topic's newest events as the shared `Bytes` also sent live, so a
//! resuming subscriber takes reference-counted handles and copies nothing.
//!
//! Invariant: every topic's log (events without a topic form one more) is
//! a run of that topic's most recent events (an event with several topics
//! is in the log of each, sharing one frame), oldest first, at most
//! `per_topic` of them; all logs together cost at most `max_bytes`
//! (frames, ids and bookkeeping), and to stay under it the least recently
//! published topic gives up its oldest event first. An event that leaves
//! a log is remembered as that log's `evicted` mark (a log emptied
//! altogether leaves its mark in `removed`; an event too large to keep
//! also marks `unkept`, for `*`), so a replay never skips over an event silently: it holds
//! every event after the client's that its subscription admits, merged
//! across its topics in publish order, or it says the client missed
//! events. Ids are global to the hub: an id this hub assigned
//! (`<epoch>-<seq>`) is found by its number even after its event left the
//! history, so a quiet subscription resumes exactly however busy the rest
//! of the hub is; a publisher's own id is found while its event is kept.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::{Delivery, IdForm};
use crate::topics::{Parsed, Subscription};

/// What an entry costs beyond its frame and id: the entry itself, its
/// share of the maps, and the frame's allocation.
const ENTRY_COST: usize = 96;

/// What a topic costs beyond its entries.
const TOPIC_COST: usize = 192;

/// A topic's name; `None` for events without a topic.
type Key = Option<Box<str>>;

struct Entry {
    seq: u64,
    /// `None`: an id of the hub's own form.
    id: Option<Box<str>>,
    delivery: Delivery,
    /// Which of the event's topics this log is (0: the canonical one).
    place: usize,
}

impl Entry {
    fn cost(&self) -> usize {
        let id = self.id.as_deref().map_or(0, str::len);
        self.delivery.frame.len().saturating_add(id).saturating_add(ENTRY_COST)
    }
}

#[derive(Default)]
struct Log {
    entries: std::collections::VecDeque<Entry>,
    /// The newest event that left this log without being kept.
    evicted: Option<u64>,
}

impl Log {
    /// Its newest event, and the log's place among that event's topics
    /// (its key in `recency`).
    fn newest_place(&self) -> Option<(u64, usize)> {
        self.entries.back().map(|e| (e.seq, e.place))
    }

    /// Every event of this log from `after` on that a replay needs
    /// (`None` if one of them left it).
    fn after(
        &self,
        after: u64,
        until: u64,
        subscription: &Subscription,
        out: &mut Vec<(u64, Bytes)>,
    ) -> bool {
        if self.evicted.is_some_and(|evicted| evicted > after) {
            return false;
        }
        let first = self.entries.partition_point(|e| e.seq <= after);
        for entry in self.entries.range(first..) {
            if entry.seq >= until {
                break;
            }
            if entry.delivery.reaches(subscription) {
                out.push((entry.seq, entry.delivery.frame.clone()));
            }
        }
        true
    }
}

pub(crate) struct History {
    topics: BTreeMap<Box<str>, Log>,
    untopiced: Log,
    /// Each log with entries by its newest event (and the topic's place
    /// among that event's topics): the least recently published first.
    recency: BTreeMap<(u64, usize), Key>,
    /// Publishers' own ids of the stored events, with the newest event
    /// that carries each and how many logs hold that event.
    ids: HashMap<Box<str>, (u64, usize)>,
    /// The newest event that left a log that was then removed.
    removed: Option<u64>,
    /// The newest event too large to keep.
    unkept: Option<u64>,
    bytes: usize,
    per_topic: usize,
    max_bytes: usize,
    epoch: String,
    ids_form: IdForm,
    /// Sequence number of the next event.
    next_seq: u64,
}

/// Where a `Last-Event-ID` resumes.
pub(crate) enum Found {
    /// After the event with this number.
    After(u64),
    /// An id this history cannot place.
    Unknown,
}

fn log_of<'a>(
    topics: &'a mut BTreeMap<Box<str>, Log>,
    untopiced: &'a mut Log,
    key: &Key,
) -> Option<&'a mut Log> {
    match key {
        None => Some(untopiced),
        Some(name) => topics.get_mut(name),
    }
}

fn raise(mark: &mut Option<u64>, seq: u64) {
    *mark = Some(mark.map_or(seq, |m| m.max(seq)));
}

impl History {
    pub(crate) fn new(per_topic: usize, max_bytes: usize, epoch: &str, ids_form: IdForm) -> Self {
        Self {
            topics: BTreeMap::new(),
            untopiced: Log::default(),
            recency: BTreeMap::new(),
            ids: HashMap::new(),
            removed: None,
            unkept: None,
            bytes: 0,
            per_topic,
            max_bytes,
            epoch: epoch.to_owned(),
            ids_form,
            next_seq: 0,
        }
    }

    fn log_mut(&mut self, key: &Key) -> Option<&mut Log> {
        log_of(&mut self.topics, &mut self.untopiced, key)
    }

    /// Stores event `seq` (the next one) with its id, in the log of each
    /// of its delivery's topics; `false` if it is larger than the whole
    /// history and was not kept (a resume across it gets `missed`).
    pub(crate) fn push(&mut self, seq: u64, id: &str, delivery: Delivery) -> bool {
        self.next_seq = seq.saturating_add(1);
        let keys: Vec<Key> = match delivery.topics() {
            [] => vec![None],
            topics => topics.iter().map(|t| Some(t.clone())).collect(),
        };
        let own = self.own_seq(id) == Some(seq);
        let own_id: Option<Box<str>> = (!own).then(|| Box::from(id));
        let entry = Entry { seq, id: own_id.clone(), delivery, place: 0 };
        let new_logs = keys.iter().filter(|key| self.log_mut(key).is_none()).count();
        let cost =
            entry.cost().saturating_mul(keys.len()).saturating_add(TOPIC_COST.saturating_mul(new_logs));
        if cost > self.max_bytes || self.per_topic == 0 {
            // Not kept: a resume across it must say so, on its topics, and
            // for `*` (which finds logs by their newest kept event).
            for key in &keys {
                match self.log_mut(key) {
                    Some(log) => raise(&mut log.evicted, seq),
                    None => raise(&mut self.removed, seq),
                }
            }
            raise(&mut self.unkept, seq);
            return false;
        }
        if let Some(id) = own_id {
            self.ids.insert(id, (seq, keys.len()));
        }
        for (place, key) in keys.into_iter().enumerate() {
            let copy = Entry { seq, id: entry.id.clone(), delivery: entry.delivery.clone(), place };
            self.push_to(seq, key, copy);
        }
        while self.bytes > self.max_bytes && self.evict_oldest() {}
        true
    }

    /// Appends `entry` to the log of `key` (made if new).
    fn push_to(&mut self, seq: u64, key: Key, entry: Entry) {
        if let Some(name) = &key
            && !self.topics.contains_key(name)
        {
            self.topics.insert(name.clone(), Log::default());
            self.bytes = self.bytes.saturating_add(TOPIC_COST);
        }
        let per_topic = self.per_topic;
        let Some(log) = log_of(&mut self.topics, &mut self.untopiced, &key) else { return };
        let previous = log.newest_place();
        let mut freed = 0usize;
        let mut forgotten = Vec::new();
        while log.entries.len() >= per_topic {
            let Some(old) = log.entries.pop_front() else { break };
            raise(&mut log.evicted, old.seq);
            freed = freed.saturating_add(old.cost());
            forgotten.push(old);
        }
        let entry_cost = entry.cost();
        let place = entry.place;
        log.entries.push_back(entry);
        if let Some(previous) = previous {
            self.recency.remove(&previous);
        }
        self.recency.insert((seq, place), key);
        self.bytes = self.bytes.saturating_sub(freed).saturating_add(entry_cost);
        forgotten.iter().for_each(|old| self.forget_id(old));
    }

    /// Drops the oldest event of the least recently published topic (the
    /// topic too, once empty); `false` if there is nothing to drop.
    fn evict_oldest(&mut self) -> bool {
        let Some((&newest, key)) = self.recency.first_key_value() else { return false };
        let key = key.clone();
        let Some(log) = self.log_mut(&key) else {
            self.recency.remove(&newest);
            return true;
        };
        let Some(old) = log.entries.pop_front() else {
            self.recency.remove(&newest);
            return true;
        };
        raise(&mut log.evicted, old.seq);
        let emptied = log.entries.is_empty();
        let evicted = log.evicted;
        self.bytes = self.bytes.saturating_sub(old.cost());
        self.forget_id(&old);
        if emptied {
            self.recency.remove(&newest);
            if let Some(name) = &key {
                self.topics.remove(name);
                self.bytes = self.bytes.saturating_sub(TOPIC_COST);
                if let Some(evicted) = evicted {
                    raise(&mut self.removed, evicted);
                }
            }
        }
        true
    }

    /// Counts a copy of `old` gone; its id is forgotten with the last.
    fn forget_id(&mut self, old: &Entry) {
        if let Some(id) = &old.id
            && let Some((seq, copies)) = self.ids.get_mut(id)
            && *seq == old.seq
        {
            *copies = copies.saturating_sub(1);
            if *copies == 0 {
                self.ids.remove(id);
            }
        }
    }

    /// Forgets every stored event: no resume crosses this point (sequence
    /// numbers go on).
    pub(crate) fn clear(&mut self) {
        self.topics.clear();
        self.untopiced = Log::default();
        self.recency.clear();
        self.ids.clear();
        self.bytes = 0;
        if let Some(last) = self.next_seq.checked_sub(1) {
            raise(&mut self.removed, last);
            raise(&mut self.untopiced.evicted, last);
        }
    }

    /// The event a client that sends `Last-Event-ID: id` saw last. If
    /// several stored events carry the id, the newest counts.
    pub(crate) fn find(&self, id: &str) -> Found {
        if let Some(&(seq, _)) = self.ids.get(id) {
            return Found::After(seq);
        }
        match self.own_seq(id) {
            Some(seq) if seq < self.next_seq => Found::After(seq),
            _ => Found::Unknown,
        }
    }

    /// The number in an id of this hub's form, written as the hub writes
    /// it (`e-01` is not `e-1`).
    fn own_seq(&self, id: &str) -> Option<u64> {
        self.ids_form.seq_of(&self.epoch, id)
    }

    /// Every stored event before `until` that `subscription` admits, in
    /// publish order, each once: what a client that asks for the earliest
    /// events gets.
    pub(crate) fn retained(&self, until: u64, subscription: &Subscription) -> Vec<Bytes> {
        let mut out = Vec::new();
        for log in std::iter::once(&self.untopiced).chain(self.topics.values()) {
            for entry in log.entries.iter().take_while(|e| e.seq < until) {
                if entry.delivery.reaches(subscription) {
                    out.push((entry.seq, entry.delivery.frame.clone()));
                }
            }
        }
        out.sort_unstable_by_key(|(seq, _)| *seq);
        out.dedup_by_key(|(seq, _)| *seq);
        out.into_iter().map(|(_, frame)| frame).collect()
    }

    /// Where a client that saw event `after` resumes, when every event
    /// before `until` is in the history or was not kept, and later ones
    /// reach it live: the frames it needs (possibly none, the subscriber
    /// was up to date), in publish order, or `None` if one of them is no
    /// longer kept.
    pub(crate) fn replay(&self, after: u64, until: u64, subscription: &Subscription) -> Option<Vec<Bytes>> {
        if after.saturating_add(1) >= until {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        let topics = &subscription.topics;
        // Selectors that may match a topic whose log was removed.
        let mut open = topics.has_all();
        if topics.has_all() {
            if self.unkept.is_some_and(|unkept| unkept > after)
                || !self.untopiced.after(after, until, subscription, &mut out)
            {
                return None;
            }
            // Only logs with an event after `after` have anything to give,
            // and only they can have lost one since.
            for (_, key) in self.recency.range((after.saturating_add(1), 0)..) {
                if let Some(name) = key
                    && let Some(log) = self.topics.get(name)
                    && !log.after(after, until, subscription, &mut out)
                {
                    return None;
                }
            }
        } else {
            for parsed in topics.parsed() {
                match parsed {
                    Parsed::Exact(topic) => match self.topics.get(topic) {
                        Some(log) => {
                            if !log.after(after, until, subscription, &mut out) {
                                return None;
                            }
                        }
                        None => open = true,
                    },
                    Parsed::Under(prefix) => {
                        open = true;
                        let under = self.topics.range::<str, _>((
                            std::ops::Bound::Excluded(&**prefix),
                            std::ops::Bound::Unbounded,
                        ));
                        for (_, log) in under.take_while(|(name, _)| name.starts_with(&**prefix)) {
                            if !log.after(after, until, subscription, &mut out) {
                                return None;
                            }
                        }
                    }
                    Parsed::Template(_) | Parsed::UrlPattern(_) => {
                        open = true;
                        // As for `*`: only logs with an event after `after`.
                        for (_, key) in self.recency.range((after.saturating_add(1), 0)..) {
                            if let Some(name) = key
                                && parsed.matches(Some(name))
                                && let Some(log) = self.topics.get(name)
                                && !log.after(after, until, subscription, &mut out)
                            {
                                return None;
                            }
                        }
                    }
                }
            }
        }
        if open && self.removed.is_some_and(|removed| removed > after) {
            return None;
        }
        // A topic under two selectors was read twice.
        out.sort_unstable_by_key(|(seq, _)| *seq);
        out.dedup_by_key(|(seq, _)| *seq);
        Some(out.into_iter().map(|(_, frame)| frame).collect())
    }
}

#[cfg(test)]
mod tests {
    use sse_wire::{Audience, Event, Topic};

    use super::*;
    use crate::hub::Update;
    use crate::topics::Selectors;

    fn on(topic: &str) -> Delivery {
        let audience = Audience::on(Topic::new(topic).unwrap());
        Delivery::new(Bytes::from(format!("data: {topic}\n\n")), &Update::new(audience, Event::new()))
    }

    /// An event on `topics` (the first canonical).
    fn on_all(topics: &[&str]) -> Delivery {
        let all: Vec<Topic<'_>> = topics.iter().map(|t| Topic::new(t).unwrap()).collect();
        let update = Update::new(Audience::on(all[0]), Event::new()).with_alternates(&all[1..]);
        Delivery::new(Bytes::from(format!("data: {}\n\n", topics.join("+"))), &update)
    }

    fn sub(selectors: &[&str]) -> Subscription {
        Subscription::new(Selectors::parse(selectors).unwrap())
    }

    fn frames(replayed: Option<Vec<Bytes>>) -> Option<Vec<String>> {
        replayed.map(|f| f.iter().map(|b| String::from_utf8_lossy(b).trim().to_owned()).collect())
    }

    #[test]
    fn a_replay_merges_its_topics_in_publish_order() {
        let mut history = History::new(10, 1 << 20, "e", IdForm::Epoch);
        for (seq, topic) in ["a", "b", "c/1", "a", "c/2", "b"].into_iter().enumerate() {
            history.push(seq as u64, &format!("e-{seq}"), on(topic));
        }
        let Found::After(seq) = history.find("e-0") else { panic!("e-0 is known") };
        let got = frames(history.replay(seq, 6, &sub(&["a", "c/*"])));
        assert_eq!(got.unwrap(), ["data: c/1", "data: a", "data: c/2"]);
        // Up to `until` only: later events reach it live.
        assert_eq!(frames(history.replay(0, 4, &sub(&["*"]))).unwrap().len(), 3);
        assert_eq!(history.replay(5, 6, &sub(&["*"])).unwrap().len(), 0);
        assert!(matches!(history.find("e-01"), Found::Unknown));
        assert!(matches!(history.find("e-6"), Found::Unknown));
    }

    #[test]
    fn a_busy_topic_does_not_cost_a_quiet_one_its_resume() {
        let mut history = History::new(4, 1 << 20, "e", IdForm::Epoch);
        history.push(0, "e-0", on("quiet"));
        history.push(1, "e-1", on("quiet"));
        for seq in 2..100 {
            history.push(seq, &format!("e-{seq}"), on("busy"));
        }
        // The quiet subscriber saw e-0 and resumes exactly with e-1.
        assert_eq!(frames(history.replay(0, 100, &sub(&["quiet"]))).unwrap(), ["data: quiet"]);
        // The busy one lost events: missed.
        assert!(history.replay(10, 100, &sub(&["busy"])).is_none());
        assert_eq!(history.replay(96, 100, &sub(&["busy"])).unwrap().len(), 3);
        assert!(history.replay(0, 100, &sub(&["*"])).is_none());
    }

    #[test]
    fn bytes_evict_the_least_recently_published_topic_first_and_leave_a_mark() {
        // Room for about three one-entry topics.
        let mut history = History::new(10, 3 * (TOPIC_COST + ENTRY_COST + 16), "e", IdForm::Epoch);
        history.push(0, "e-0", on("old"));
        history.push(1, "e-1", on("mid"));
        history.push(2, "e-2", on("new"));
        history.push(3, "e-3", on("mid"));
        history.push(4, "e-4", on("newest"));
        assert!(!history.topics.contains_key("old"), "the least recently published goes first");
        assert!(history.replay(0, 5, &sub(&["mid"])).is_some(), "mid kept everything after e-0");
        assert!(history.replay(0, 5, &sub(&["old"])).is_none(), "old's event is gone");
        assert!(history.replay(0, 5, &sub(&["o/*"])).is_none(), "a prefix may have held it");
        assert!(history.bytes <= history.max_bytes);
    }

    #[test]
    fn publisher_ids_and_oversized_events() {
        let mut history = History::new(10, 4096, "e", IdForm::Epoch);
        history.push(0, "x", on("a"));
        history.push(1, "y", on("a"));
        history.push(2, "x", on("a"));
        assert!(matches!(history.find("x"), Found::After(2)), "the newest carrying it");
        let big = Delivery::new(
            Bytes::from(vec![b'x'; 5000]),
            &Update::new(Audience::on(Topic::new("a").unwrap()), Event::new()),
        );
        assert!(!history.push(3, "z", big));
        assert!(history.replay(2, 4, &sub(&["a"])).is_none(), "a gap must not be skipped");
        assert!(history.replay(2, 4, &sub(&["*"])).is_none(), "nor for `*`");
        assert!(history.replay(2, 4, &sub(&["b"])).unwrap().is_empty(), "b lost nothing");
        history.clear();
        assert!(history.replay(2, 5, &sub(&["b"])).is_none(), "nothing crosses a clear");
        assert!(history.replay(3, 5, &sub(&["b"])).unwrap().is_empty());
    }

    /// An event with several topics is replayed once to a subscriber of
    /// any of them (or of several), by every kind of selector; when it
    /// leaves one topic's log it is still found through another, and its
    /// publisher's id is known while any log holds it.
    #[test]
    fn an_event_on_several_topics_is_replayed_once_through_each() {
        let mut history = History::new(2, 1 << 20, "e", IdForm::Urn);
        history.push(0, "first", on("a"));
        history.push(1, "both", on_all(&["a", "https://example.com/b/1"]));
        history.push(2, &IdForm::Urn.assign("e", 2), on("c"));
        let template = Subscription::new(Selectors::parse_mercure(["https://example.com/b/{id}"]).unwrap());
        for subscription in [
            sub(&["a"]),
            sub(&["https://example.com/b/1"]),
            sub(&["a", "https://example.com/b/1"]),
            sub(&["*"]),
            template,
        ] {
            let got = frames(history.replay(0, 3, &subscription)).unwrap();
            assert_eq!(
                got.iter().filter(|f| *f == "data: a+https://example.com/b/1").count(),
                1,
                "{subscription:?}"
            );
        }
        // Two more on `a` push it out of a's log (2 per topic): a resume on
        // `a` from before it is missed, on the other topic it is exact.
        history.push(3, "x", on("a"));
        history.push(4, "y", on("a"));
        assert!(history.replay(0, 5, &sub(&["a"])).is_none());
        assert_eq!(
            frames(history.replay(0, 5, &sub(&["https://example.com/b/1"]))).unwrap(),
            ["data: a+https://example.com/b/1"]
        );
        assert!(matches!(history.find("both"), Found::After(1)), "still held by the other log");
        // The hub's own URN ids resume by their number.
        assert!(matches!(history.find(&IdForm::Urn.assign("e", 2)), Found::After(2)));
        assert!(matches!(history.find(&IdForm::Urn.assign("other", 2)), Found::Unknown));
    }
}
