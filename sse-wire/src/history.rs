//! Replay history for `Last-Event-ID`.
//!
//! Invariant: the history holds a contiguous run of the most recently
//! pushed events, numbered by consecutive sequence numbers, each stored
//! already encoded together with its id. An event that cannot be stored
//! clears the whole history, so a lookup can never skip over an event
//! silently: it either finds the client's id and replays everything after
//! it, or says the client missed events.
//!
//! An entry is its id and its frame, nothing more: a microcontroller pays
//! for no routing data. (sse-std's hub keeps its own history per topic,
//! with each event's audience.)
//!
//! Storage is one byte ring plus an index ring of [`HistoryEntry`]s, both fixed
//! when the history is made: arrays for [`History`] (no heap, `const`), or
//! any caller-provided buffers for [`HistoryIn`] (sized at run time on
//! std). Each entry's bytes are contiguous (an entry that does not fit
//! before the end of the ring starts again at offset 0), and the oldest
//! entries are evicted to make room.

use crate::error::HistoryError;
use crate::event::Event;

/// One entry of a history's index: where an event's id and frame are.
/// Opaque; provide `HistoryEntry::EMPTY`s as index storage to
/// [`HistoryIn::with_storage`].
///
/// ```
/// let index = [sse_wire::HistoryEntry::EMPTY; 8];
/// assert_eq!(index.len(), 8);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HistoryEntry(Entry);

impl HistoryEntry {
    /// An unused slot.
    pub const EMPTY: Self = Self(Entry { start: 0, id_len: None, frame_len: 0 });
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    start: usize,
    /// Length of the stored id, or `None` for an event without an id.
    id_len: Option<usize>,
    frame_len: usize,
}

impl Entry {
    fn len(&self) -> usize {
        self.id_len.unwrap_or(0).saturating_add(self.frame_len)
    }

    fn end(&self) -> usize {
        self.start.saturating_add(self.len())
    }
}

/// Where a reconnecting client resumes, from [`History::resume_after`].
///
/// ```
/// use sse_wire::{Event, History, Resume};
/// let mut h: History<8, 256> = History::new();
/// h.push(&Event::new().with_id("1")?.with_data("a")).unwrap();
/// h.push(&Event::new().with_id("2")?.with_data("b")).unwrap();
/// assert_eq!(h.resume_after("1"), Resume::From(1));
/// assert_eq!(h.resume_after("2"), Resume::UpToDate);
/// assert_eq!(h.resume_after("0"), Resume::Missed);
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resume {
    /// The id is the newest event's: nothing to replay.
    UpToDate,
    /// Replay every stored event from this sequence number on.
    From(u64),
    /// The id is too old (evicted) or was never sent: the client missed an
    /// unknown number of events, and the adapter must tell it so (for
    /// example with [`MISSED_EVENTS`]) instead of leaving a silent gap.
    Missed,
}

/// The frame adapters send to a client that resumed with an id the history
/// no longer knows: an event of type `missed` with empty data. Applications
/// listen for it (`source.addEventListener("missed", …)`) and reload their
/// state.
///
/// ```
/// assert_eq!(sse_wire::MISSED_EVENTS, b"event: missed\ndata: \n\n");
/// ```
pub const MISSED_EVENTS: &[u8] = b"event: missed\ndata: \n\n";

/// One stored event.
///
/// ```
/// use sse_wire::{Event, History};
/// let mut h: History<4, 128> = History::new();
/// let seq = h.push(&Event::new().with_id("9")?.with_data("x")).unwrap();
/// let stored = h.get(seq).unwrap();
/// assert_eq!(stored.id, Some("9"));
/// assert_eq!(stored.frame, b"id: 9\ndata: x\n\n");
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored<'h> {
    /// Sequence number: 0 for the first event ever pushed, then +1 each.
    pub seq: u64,
    /// The event's id, if it had one.
    pub id: Option<&'h str>,
    /// The encoded frame, exactly as [`Event::encode`] writes it.
    pub frame: &'h [u8],
}

/// A fixed-capacity ring of the last events sent: at most `N` events and
/// `BYTES` bytes of encoded frames and ids. No heap; `new` is `const`, so
/// it can live in a `static`. (The same type with caller-provided storage
/// is [`HistoryIn`].)
///
/// ```
/// use sse_wire::{Event, History, Resume};
/// let mut h: History<16, 1024> = History::new();
/// for i in 0..5u32 {
///     let id = i.to_string();
///     h.push(&Event::new().with_id(&id)?.with_data("tick")).unwrap();
/// }
/// let Resume::From(seq) = h.resume_after("2") else { panic!() };
/// let replay: Vec<_> = h.iter_from(seq).map(|s| s.id.unwrap()).collect();
/// assert_eq!(replay, ["3", "4"]);
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
pub type History<const N: usize, const BYTES: usize> = HistoryIn<[HistoryEntry; N], [u8; BYTES]>;

/// A replay history in caller-provided storage: an index of `I` (at most
/// as many events as it has [`HistoryEntry`]s) and a byte store `B`. Everything
/// else is as for [`History`].
///
/// ```
/// use sse_wire::{Event, HistoryIn, Resume, HistoryEntry};
/// // Sizes chosen at run time (e.g. from a command-line flag).
/// let (events, bytes) = (100, 64 * 1024);
/// let mut h = HistoryIn::with_storage(vec![HistoryEntry::EMPTY; events], vec![0u8; bytes]);
/// h.push(&Event::new().with_id("1")?.with_data("x")).unwrap();
/// assert_eq!(h.resume_after("1"), Resume::UpToDate);
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone)]
pub struct HistoryIn<I, B> {
    store: B,
    index: I,
    /// Position in `index` of the oldest entry.
    head: usize,
    /// Number of entries.
    len: usize,
    next_seq: u64,
}

impl<const N: usize, const BYTES: usize> Default for History<N, BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I, B> core::fmt::Debug for HistoryIn<I, B>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("History")
            .field("len", &self.len())
            .field("oldest_seq", &self.oldest_seq())
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl<const N: usize, const BYTES: usize> History<N, BYTES> {
    const NON_EMPTY: () = assert!(N > 0 && BYTES > 0, "History needs N > 0 and BYTES > 0");

    /// An empty history.
    ///
    /// ```
    /// static HISTORY: std::sync::Mutex<sse_wire::History<32, 4096>> =
    ///     std::sync::Mutex::new(sse_wire::History::new());
    /// assert!(HISTORY.lock().unwrap().is_empty());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        let () = Self::NON_EMPTY;
        Self { store: [0; BYTES], index: [HistoryEntry::EMPTY; N], head: 0, len: 0, next_seq: 0 }
    }
}

impl<I, B> HistoryIn<I, B>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    /// An empty history in the given storage: at most `index.len()` events
    /// and `store.len()` bytes. The contents of both are ignored. With an
    /// empty index or store, every push fails with
    /// [`HistoryError::TooLarge`].
    ///
    /// ```
    /// let h = sse_wire::HistoryIn::with_storage([sse_wire::HistoryEntry::EMPTY; 4], [0u8; 256]);
    /// assert!(h.is_empty());
    /// ```
    pub fn with_storage(index: I, store: B) -> Self {
        Self { store, index, head: 0, len: 0, next_seq: 0 }
    }

    /// Number of events stored.
    ///
    /// ```
    /// assert_eq!(sse_wire::History::<4, 64>::new().len(), 0);
    /// ```
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is stored.
    ///
    /// ```
    /// assert!(sse_wire::History::<4, 64>::new().is_empty());
    /// ```
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry `i` places after the oldest (no bounds beyond the ring).
    fn entry(&self, i: usize) -> Option<&Entry> {
        let index = self.index.as_ref();
        if i >= self.len {
            return None;
        }
        let at = self.head.checked_add(i)?.checked_rem(index.len())?;
        index.get(at).map(|slot| &slot.0)
    }

    fn front(&self) -> Option<&Entry> {
        self.entry(0)
    }

    fn back(&self) -> Option<&Entry> {
        self.entry(self.len.checked_sub(1)?)
    }

    fn pop_front(&mut self) -> Option<Entry> {
        let entry = *self.front()?;
        self.len = self.len.saturating_sub(1);
        let cap = self.index.as_ref().len();
        self.head = self.head.saturating_add(1).checked_rem(cap).unwrap_or(0);
        Some(entry)
    }

    /// Appends; `false` if the index is full.
    fn push_back(&mut self, entry: Entry) -> bool {
        let cap = self.index.as_ref().len();
        if self.len >= cap {
            return false;
        }
        let Some(at) = self.head.checked_add(self.len).and_then(|i| i.checked_rem(cap)) else {
            return false;
        };
        match self.index.as_mut().get_mut(at) {
            Some(slot) => {
                *slot = HistoryEntry(entry);
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Entries with their sequence numbers, oldest first.
    fn entries(&self) -> impl DoubleEndedIterator<Item = (&Entry, u64)> + '_ {
        let oldest = self.oldest_seq();
        (0..self.len).filter_map(move |i| Some((self.entry(i)?, oldest.saturating_add(i as u64))))
    }

    /// Sequence number the next pushed event will get.
    ///
    /// ```
    /// let mut h = sse_wire::History::<4, 64>::new();
    /// h.push(&sse_wire::Event::new().with_data("x")).unwrap();
    /// assert_eq!(h.next_seq(), 1);
    /// ```
    #[must_use]
    pub const fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Sequence number of the oldest stored event (equal to
    /// [`next_seq`](Self::next_seq) when empty).
    ///
    /// ```
    /// let h = sse_wire::History::<4, 64>::new();
    /// assert_eq!(h.oldest_seq(), h.next_seq());
    /// ```
    #[must_use]
    pub fn oldest_seq(&self) -> u64 {
        self.next_seq.saturating_sub(self.len as u64)
    }

    /// Forgets every stored event (sequence numbers go on).
    ///
    /// ```
    /// let mut h = sse_wire::History::<4, 64>::new();
    /// h.push(&sse_wire::Event::new().with_data("x")).unwrap();
    /// h.clear();
    /// assert!(h.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.len = 0;
        self.head = 0;
    }

    /// Where a free run of `need` contiguous bytes starts, if there is one.
    fn alloc(&self, need: usize) -> Option<usize> {
        let capacity = self.store.as_ref().len();
        let (Some(oldest), Some(newest)) = (self.front(), self.back()) else {
            return (need <= capacity).then_some(0);
        };
        let (read, write) = (oldest.start, newest.end());
        if newest.start >= oldest.start {
            // Not wrapped: free space is [write, BYTES) and [0, read).
            if capacity.saturating_sub(write) >= need { Some(write) } else { (read >= need).then_some(0) }
        } else {
            // Wrapped: free space is [write, read).
            (read.saturating_sub(write) >= need).then_some(write)
        }
    }

    /// Encodes `event` into the history, evicting the oldest events as
    /// needed, and returns its sequence number.
    ///
    /// # Errors
    /// [`HistoryError::TooLarge`] if the event and its id need more than
    /// `BYTES`: the history is then cleared (the sequence number is still
    /// used up), so resuming across it reports [`Resume::Missed`].
    /// [`HistoryError::Format`] if `Display` data fails; nothing changes.
    ///
    /// ```
    /// let mut h = sse_wire::History::<2, 256>::new();
    /// for data in ["a", "b", "c"] {
    ///     h.push(&sse_wire::Event::new().with_data(data)).unwrap();
    /// }
    /// assert_eq!((h.len(), h.oldest_seq()), (2, 1));
    /// ```
    pub fn push(&mut self, event: &Event<'_>) -> Result<u64, HistoryError> {
        let measured = event.measure().ok_or(HistoryError::Format)?;
        let frame_len = measured.len;
        let id = event.id().map(str::as_bytes);
        let head = id.unwrap_or_default().len();
        let entry_len = head.saturating_add(frame_len);
        let seq = self.next_seq;
        let capacity = self.store.as_ref().len();
        let too_large = HistoryError::TooLarge { needed: entry_len, capacity };
        if entry_len > capacity || self.index.as_ref().is_empty() {
            self.clear();
            self.next_seq = seq.saturating_add(1);
            return Err(too_large);
        }
        if self.len >= self.index.as_ref().len() {
            self.pop_front();
        }
        // Evict the oldest until a contiguous run is free. `alloc` succeeds
        // on an empty history since `entry_len <= capacity`.
        let start = loop {
            match self.alloc(entry_len) {
                Some(start) => break start,
                None => {
                    if self.pop_front().is_none() {
                        return Err(too_large);
                    }
                }
            }
        };
        let Some(slot) = self.store.as_mut().get_mut(start..start.saturating_add(entry_len)) else {
            return Err(too_large);
        };
        let Some((head_slot, frame_slot)) = slot.split_at_mut_checked(head) else {
            return Err(too_large);
        };
        for (dst, src) in head_slot.iter_mut().zip(id.unwrap_or_default()) {
            *dst = *src;
        }
        match event.write_measured(&measured, frame_slot) {
            Ok(n) if n == frame_len => {}
            // Only a `Display` that changed between two formattings fails
            // here; the slot is not recorded, so the history stays valid.
            _ => return Err(HistoryError::Format),
        }
        let entry = Entry { start, id_len: event.id().map(str::len), frame_len };
        if !self.push_back(entry) {
            return Err(too_large);
        }
        self.next_seq = seq.saturating_add(1);
        Ok(seq)
    }

    fn stored(&self, seq: u64, entry: &Entry) -> Stored<'_> {
        let bytes = self.store.as_ref().get(entry.start..entry.end()).unwrap_or(&[]);
        let (id, frame) = bytes.split_at_checked(entry.id_len.unwrap_or(0)).unwrap_or((&[], &[]));
        Stored { seq, id: entry.id_len.and_then(|_| core::str::from_utf8(id).ok()), frame }
    }

    /// The stored event with sequence number `seq`, if it is still stored.
    ///
    /// ```
    /// let mut h = sse_wire::History::<4, 64>::new();
    /// let seq = h.push(&sse_wire::Event::new().with_data("x")).unwrap();
    /// assert_eq!(h.get(seq).unwrap().frame, b"data: x\n\n");
    /// assert!(h.get(seq + 1).is_none());
    /// ```
    #[must_use]
    pub fn get(&self, seq: u64) -> Option<Stored<'_>> {
        let index = usize::try_from(seq.checked_sub(self.oldest_seq())?).ok()?;
        let entry = self.entry(index)?;
        Some(self.stored(seq, entry))
    }

    /// The stored events from sequence number `seq` on, oldest first. Empty
    /// if `seq` is not stored; starts at the oldest if `seq` is older.
    ///
    /// ```
    /// let mut h = sse_wire::History::<4, 64>::new();
    /// for d in ["a", "b"] { h.push(&sse_wire::Event::new().with_data(d)).unwrap(); }
    /// assert_eq!(h.iter_from(0).count(), 2);
    /// assert_eq!(h.iter_from(1).count(), 1);
    /// ```
    pub fn iter_from(&self, seq: u64) -> impl Iterator<Item = Stored<'_>> + '_ {
        let skip = usize::try_from(seq.saturating_sub(self.oldest_seq())).unwrap_or(usize::MAX);
        self.entries().skip(skip).map(|(entry, seq)| self.stored(seq, entry))
    }

    /// Where a client that reconnects with `Last-Event-ID: last_event_id`
    /// resumes. If several stored events carry the id, the newest counts.
    ///
    /// ```
    /// use sse_wire::{Event, History, Resume};
    /// let mut h: History<2, 256> = History::new();
    /// for id in ["1", "2", "3"] {
    ///     h.push(&Event::new().with_id(id)?.with_data("x")).unwrap();
    /// }
    /// assert_eq!(h.resume_after("1"), Resume::Missed); // evicted
    /// assert_eq!(h.resume_after("2"), Resume::From(2));
    /// assert_eq!(h.resume_after("3"), Resume::UpToDate);
    /// # Ok::<(), sse_wire::FieldError>(())
    /// ```
    #[must_use]
    pub fn resume_after(&self, last_event_id: &str) -> Resume {
        let found =
            self.entries().rev().find(|(entry, seq)| self.stored(*seq, entry).id == Some(last_event_id));
        match found {
            None => Resume::Missed,
            Some((_, seq)) => {
                let next = seq.saturating_add(1);
                if next == self.next_seq { Resume::UpToDate } else { Resume::From(next) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;

    fn ids<const N: usize, const B: usize>(h: &History<N, B>, from: u64) -> Vec<String> {
        h.iter_from(from).map(|s| s.id.unwrap_or("-").to_string()).collect()
    }

    #[test]
    fn replay_after_every_position() {
        let mut h: History<8, 1024> = History::new();
        let all: Vec<String> = (0..8).map(|i| i.to_string()).collect();
        for id in &all {
            h.push(&Event::new().with_id(id).unwrap().with_data("x")).unwrap();
        }
        for (i, id) in all.iter().enumerate() {
            match h.resume_after(id) {
                Resume::UpToDate => assert_eq!(i, 7),
                Resume::From(seq) => assert_eq!(ids(&h, seq), all[i + 1..]),
                Resume::Missed => panic!("{id} is stored"),
            }
        }
        assert_eq!(h.resume_after("8"), Resume::Missed);
        assert_eq!(h.resume_after(""), Resume::Missed);
    }

    #[test]
    fn evicts_by_count_and_reports_missed_for_evicted_ids() {
        let mut h: History<3, 1024> = History::new();
        for id in ["a", "b", "c", "d"] {
            h.push(&Event::new().with_id(id).unwrap()).unwrap();
        }
        assert_eq!(ids(&h, 0), ["b", "c", "d"]);
        assert_eq!(h.resume_after("a"), Resume::Missed);
        assert_eq!(h.resume_after("b"), Resume::From(2));
        assert!(h.get(0).is_none());
    }

    #[test]
    fn evicts_by_bytes_and_wraps_without_corrupting_frames() {
        // Each entry is "N" + "id: N\ndata: xxxx…\n\n"; sizes vary so that
        // entries wrap at different offsets.
        let mut h: History<64, 100> = History::new();
        let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
        for i in 0..500usize {
            let id = (i % 10).to_string();
            let data = "x".repeat(i % 37);
            let ev = Event::new().with_id(&id).unwrap().with_data(&data);
            let mut frame = std::vec![0u8; ev.encoded_len()];
            ev.encode(&mut frame).unwrap();
            assert_eq!(h.push(&ev).unwrap(), i as u64);
            expected.push((id, frame));
            let stored: Vec<_> = h.iter_from(0).collect();
            assert!(!stored.is_empty());
            let bytes: usize = stored.iter().map(|s| s.frame.len() + s.id.unwrap().len()).sum();
            assert!(bytes <= 100);
            let tail = &expected[expected.len() - stored.len()..];
            for (s, (id, frame)) in stored.iter().zip(tail) {
                assert_eq!((s.id.unwrap(), s.frame), (id.as_str(), frame.as_slice()));
            }
            assert_eq!(stored.last().unwrap().seq, i as u64);
        }
    }

    #[test]
    fn too_large_event_clears_so_no_gap_is_silent() {
        let mut h: History<4, 32> = History::new();
        h.push(&Event::new().with_id("1").unwrap().with_data("a")).unwrap();
        let big = "y".repeat(40);
        assert_eq!(
            h.push(&Event::new().with_id("2").unwrap().with_data(&big)),
            Err(HistoryError::TooLarge { needed: 1 + 6 + 47 + 1, capacity: 32 })
        );
        assert!(h.is_empty());
        assert_eq!(h.resume_after("1"), Resume::Missed);
        assert_eq!(h.push(&Event::new().with_id("3").unwrap()).unwrap(), 2);
    }

    #[test]
    fn events_without_id_are_replayed_and_newest_matching_id_wins() {
        let mut h: History<8, 256> = History::new();
        h.push(&Event::new().with_id("1").unwrap()).unwrap();
        h.push(&Event::new().with_data("no id")).unwrap();
        h.push(&Event::new().with_id("1").unwrap()).unwrap();
        h.push(&Event::new().with_data("after")).unwrap();
        assert_eq!(h.resume_after("1"), Resume::From(3));
        assert_eq!(h.get(1).unwrap().id, None);
        assert_eq!(ids(&h, 0), ["1", "-", "1", "-"]);
    }

    #[test]
    fn failing_display_changes_nothing() {
        struct Failing;
        impl core::fmt::Display for Failing {
            fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                Err(core::fmt::Error)
            }
        }
        let mut h: History<2, 64> = History::new();
        h.push(&Event::new().with_id("1").unwrap()).unwrap();
        assert_eq!(h.push(&Event::new().with_data_fmt(&Failing)), Err(HistoryError::Format));
        assert_eq!((h.len(), h.next_seq()), (1, 1));
    }

    #[test]
    fn empty_storage_refuses_without_panicking() {
        let ev = Event::new().with_id("1").unwrap().with_data("x");
        let mut no_index = HistoryIn::with_storage([HistoryEntry::EMPTY; 0], [0u8; 64]);
        assert!(matches!(no_index.push(&ev), Err(HistoryError::TooLarge { .. })));
        let mut no_bytes = HistoryIn::with_storage([HistoryEntry::EMPTY; 4], [0u8; 0]);
        assert!(matches!(no_bytes.push(&ev), Err(HistoryError::TooLarge { capacity: 0, .. })));
        assert_eq!(no_bytes.resume_after("1"), Resume::Missed);
        assert!(no_bytes.get(0).is_none());
        assert_eq!(no_bytes.iter_from(0).count(), 0);
    }

    #[test]
    fn runtime_sized_storage_behaves_like_arrays() {
        let mut fixed: History<3, 90> = History::new();
        let mut sized = HistoryIn::with_storage(std::vec![HistoryEntry::EMPTY; 3], std::vec![0u8; 90]);
        for i in 0..50usize {
            let id = i.to_string();
            let data = "z".repeat(i % 23);
            let ev = Event::new().with_id(&id).unwrap().with_data(&data);
            assert_eq!(fixed.push(&ev), sized.push(&ev));
            assert!(fixed.iter_from(0).eq(sized.iter_from(0)));
        }
    }

    proptest::proptest! {
        /// Whatever the sizes and wrap-around, every stored entry keeps
        /// its own id and frame, and a replay after any stored id is the
        /// tail of what was pushed.
        #[test]
        fn entries_survive_wrap_around_and_replay(events in proptest::collection::vec(0usize..40, 1..80)) {
            let mut h: History<16, 300> = History::new();
            let mut pushed: Vec<(String, Vec<u8>)> = Vec::new();
            for (i, &len) in events.iter().enumerate() {
                let id = i.to_string();
                let data = "d".repeat(len);
                let event = Event::new().with_id(&id).unwrap().with_data(&data);
                let mut frame = std::vec![0u8; event.encoded_len()];
                event.encode(&mut frame).unwrap();
                h.push(&event).unwrap();
                pushed.push((id, frame));
            }
            let stored: Vec<_> = h.iter_from(0).collect();
            let tail = &pushed[pushed.len() - stored.len()..];
            for (s, (id, frame)) in stored.iter().zip(tail) {
                proptest::prop_assert_eq!((s.id, s.frame), (Some(id.as_str()), frame.as_slice()));
            }
            for (at, (id, _)) in tail.iter().enumerate() {
                let replay: Vec<&[u8]> = match h.resume_after(id) {
                    Resume::From(seq) => h.iter_from(seq).map(|s| s.frame).collect(),
                    Resume::UpToDate => Vec::new(),
                    Resume::Missed => panic!("{id} is stored"),
                };
                let want: Vec<&[u8]> = tail[at + 1..].iter().map(|(_, frame)| frame.as_slice()).collect();
                proptest::prop_assert_eq!(replay, want);
            }
        }
    }

    #[test]
    fn an_entry_costs_its_id_and_frame_only() {
        let mut h: History<4, 16> = History::new();
        let event = Event::new().with_id("1").unwrap().with_data("x");
        // "1" + "id: 1\ndata: x\n\n" is 1 + 15 bytes.
        assert_eq!(h.push(&event), Ok(0));
        let long = Event::new().with_id("12").unwrap().with_data("x");
        assert_eq!(h.push(&long), Err(HistoryError::TooLarge { needed: 18, capacity: 16 }));
        assert_eq!(core::mem::size_of::<HistoryEntry>(), 4 * core::mem::size_of::<usize>());
    }
}
