//! The hub's replay log for `Last-Event-ID`: the newest encoded frames as
//! shared `Bytes`, so that a resuming subscriber takes reference-counted
//! handles under the hub's lock and copies nothing.
//!
//! Invariant: the log holds a contiguous run of the most recently pushed
//! events (consecutive sequence numbers), at most `max_events` of them and
//! at most `max_bytes` of frames and ids. An event that cannot be stored
//! clears the log, so a lookup never skips over an event silently: it
//! finds the client's id and replays everything after it, or says the
//! client missed events. (sse-core's `History` keeps the same promise in
//! one fixed byte ring; the hub keeps each frame in the `Bytes` that is
//! also sent live, so a stored frame costs no second copy.) Each entry
//! keeps the event's audience, so a replay is filtered by the same rule as
//! the live feed.

use std::collections::VecDeque;

use sse_core::Resume;

use super::Delivery;

struct Entry {
    id: Box<str>,
    delivery: Delivery,
}

impl Entry {
    fn cost(&self) -> usize {
        let topic = self.delivery.tag.as_ref().and_then(|tag| tag.topic.as_deref()).map_or(0, str::len);
        self.delivery.frame.len().saturating_add(self.id.len()).saturating_add(topic)
    }
}

pub(crate) struct ReplayLog {
    entries: VecDeque<Entry>,
    bytes: usize,
    next_seq: u64,
    max_events: usize,
    max_bytes: usize,
}

impl ReplayLog {
    pub(crate) fn new(max_events: usize, max_bytes: usize) -> Self {
        Self { entries: VecDeque::new(), bytes: 0, next_seq: 0, max_events, max_bytes }
    }

    /// The sequence number the next event gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn oldest_seq(&self) -> u64 {
        self.next_seq.saturating_sub(self.entries.len() as u64)
    }

    /// Stores the next event, evicting the oldest as needed; `false` if it
    /// is larger than the whole log, which is then cleared. Either way the
    /// event takes the next sequence number.
    pub(crate) fn push(&mut self, id: &str, delivery: Delivery) -> bool {
        self.next_seq = self.next_seq.saturating_add(1);
        let entry = Entry { id: Box::from(id), delivery };
        let cost = entry.cost();
        if cost > self.max_bytes || self.max_events == 0 {
            self.clear();
            return false;
        }
        while self.entries.len() >= self.max_events || self.bytes.saturating_add(cost) > self.max_bytes {
            let Some(old) = self.entries.pop_front() else { break };
            self.bytes = self.bytes.saturating_sub(old.cost());
        }
        self.bytes = self.bytes.saturating_add(cost);
        self.entries.push_back(entry);
        true
    }

    /// The id of the newest stored event.
    pub(crate) fn newest_id(&self) -> Option<&str> {
        self.entries.back().map(|e| &*e.id)
    }

    /// Forgets every stored event (sequence numbers go on).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Where a client that sends `Last-Event-ID: id` resumes. If several
    /// stored events carry the id, the newest counts.
    pub(crate) fn resume_after(&self, id: &str) -> Resume {
        let found = self.entries.iter().rev().position(|e| &*e.id == id);
        match found {
            None => Resume::Missed,
            Some(0) => Resume::UpToDate,
            Some(from_newest) => Resume::From(self.next_seq.saturating_sub(from_newest as u64)),
        }
    }

    /// The stored events from `seq` on, oldest first.
    pub(crate) fn from(&self, seq: u64) -> impl Iterator<Item = &Delivery> + '_ {
        let skip = usize::try_from(seq.saturating_sub(self.oldest_seq())).unwrap_or(usize::MAX);
        self.entries.iter().skip(skip).map(|e| &e.delivery)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn log_of(ids: &[&str], max_events: usize, max_bytes: usize) -> ReplayLog {
        let mut log = ReplayLog::new(max_events, max_bytes);
        for id in ids {
            log.push(id, Delivery::everyone(Bytes::from(format!("id: {id}\n\n"))));
        }
        log
    }

    fn replayed(log: &ReplayLog, id: &str) -> Option<Vec<Bytes>> {
        match log.resume_after(id) {
            Resume::Missed => None,
            Resume::UpToDate => Some(Vec::new()),
            Resume::From(seq) => Some(log.from(seq).map(|d| d.frame.clone()).collect()),
        }
    }

    #[test]
    fn resumes_after_every_position_and_misses_the_evicted() {
        let log = log_of(&["a", "b", "c", "d"], 3, 1024);
        assert_eq!(replayed(&log, "a"), None);
        assert_eq!(replayed(&log, "b").unwrap().len(), 2);
        assert_eq!(replayed(&log, "c").unwrap(), [Bytes::from_static(b"id: d\n\n")]);
        assert_eq!(replayed(&log, "d").unwrap().len(), 0);
        assert_eq!(replayed(&log, "never"), None);
    }

    #[test]
    fn byte_bound_evicts_and_an_oversized_event_clears() {
        // Each entry costs 8 bytes ("id: x\n\n" plus the 1-byte id).
        let mut log = log_of(&["a", "b", "c"], 100, 17);
        assert_eq!(replayed(&log, "a"), None);
        assert_eq!(replayed(&log, "b").unwrap().len(), 1);
        assert!(!log.push("", Delivery::everyone(Bytes::from(vec![b'x'; 18]))));
        assert_eq!(replayed(&log, "c"), None, "a gap must not be skipped");
        assert_eq!(log.next_seq(), 4);
    }

    #[test]
    fn the_newest_of_repeated_ids_counts() {
        let log = log_of(&["x", "y", "x", "z"], 10, 1024);
        assert_eq!(replayed(&log, "x").unwrap(), [Bytes::from_static(b"id: z\n\n")]);
    }
}
