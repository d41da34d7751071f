//! A group: the subscribers that share one subscription, and the queue of
//! frames published for it.
//!
//! Invariant: a group's queue holds only frames its subscription admits
//! (and the hub's signals), in publish order, each frame once however many
//! selectors matched it. It holds at most `cap` frames; a frame leaves it
//! when every member has read it, or, unread, when a newer one needs its
//! place; a member that had not read it then is behind, finds out on its
//! next read (`Lagged` with the count), and is never handed a later frame
//! before it has been told. Every member that found the queue empty has a
//! waker in `waiting` (or is woken by the next push, which drains it), so
//! no frame waits without a wake-up coming. A group is as busy as its own
//! subscription: its members fall behind by their topics' rate, never the
//! hub's.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::topics::Subscription;

/// One member's progress, shared with the hub so that it can disconnect a
/// member that fell too far behind.
pub(crate) struct Tracker {
    /// Position in its group's queue of the next frame it has not read;
    /// changed only under the group's lock.
    pub(crate) next: AtomicU64,
    /// Set once when the hub disconnects it for being too slow.
    pub(crate) killed: AtomicBool,
    pub(crate) signal: Mutex<Option<Arc<Notify>>>,
}

impl Tracker {
    fn new(next: u64) -> Self {
        Self { next: AtomicU64::new(next), killed: AtomicBool::new(false), signal: Mutex::new(None) }
    }

    /// Marks it disconnected (once) and wakes its server; `false` if it
    /// already was.
    pub(crate) fn kill(&self) -> bool {
        if self.killed.swap(true, Ordering::AcqRel) {
            return false;
        }
        if let Some(signal) = self.signal.lock().unwrap_or_else(PoisonError::into_inner).take() {
            signal.notify_one();
        }
        true
    }
}

/// What one read of the queue gave.
pub(crate) enum Read {
    Frame(Bytes),
    /// This many frames were dropped before the member read them.
    Lagged(u64),
    /// The hub shut down and the member has read everything.
    Closed,
}

/// What a push did to the members.
#[derive(Default)]
pub(crate) struct Pushed {
    /// Frames dropped unread by members disconnected for it
    /// ([`SlowConsumer::Disconnect`](crate::SlowConsumer::Disconnect)).
    pub(crate) dropped: u64,
    pub(crate) disconnected: u64,
}

pub(crate) struct Group {
    /// Unique within its hub.
    pub(crate) id: u64,
    pub(crate) subscription: Subscription,
    queue: Mutex<Queue>,
}

struct Slot {
    frame: Bytes,
    /// Members that have not read it yet.
    unread: u32,
}

struct Queue {
    slots: VecDeque<Slot>,
    /// Position of `slots[0]`.
    head: u64,
    members: u32,
    /// Wakers of members that found the queue empty; drained by a push.
    waiting: Vec<Waker>,
    /// Kept only to disconnect the stalled (the `Disconnect` policy).
    trackers: Vec<Weak<Tracker>>,
    /// Hub sequence number of the newest frame pushed, so that a frame
    /// matched by several selectors is queued once.
    last_seq: Option<u64>,
    closed: bool,
}

impl Queue {
    fn tail(&self) -> u64 {
        self.head.saturating_add(self.slots.len() as u64)
    }

    /// Frees the frames every member has read.
    fn trim(&mut self) {
        while self.slots.front().is_some_and(|slot| slot.unread == 0) {
            self.slots.pop_front();
            self.head = self.head.saturating_add(1);
        }
        if self.slots.is_empty() && self.slots.capacity() > 64 {
            self.slots.shrink_to(8);
        }
    }
}

impl Group {
    pub(crate) fn new(id: u64, subscription: Subscription) -> Self {
        let queue = Queue {
            slots: VecDeque::new(),
            head: 0,
            members: 0,
            waiting: Vec::new(),
            trackers: Vec::new(),
            last_seq: None,
            closed: false,
        };
        Self { id, subscription, queue: Mutex::new(queue) }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every update keeps the queue consistent between statements that
        // cannot panic.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new member, reading from the next frame pushed; its tracker is
    /// kept for the stall check when `track` is set.
    pub(crate) fn join(&self, track: bool) -> Arc<Tracker> {
        let mut queue = self.lock();
        queue.members = queue.members.saturating_add(1);
        let tracker = Arc::new(Tracker::new(queue.tail()));
        if track {
            let members = queue.members as usize;
            if queue.trackers.len() >= members.saturating_mul(2).max(16) {
                queue.trackers.retain(|weak| weak.strong_count() > 0);
            }
            queue.trackers.push(Arc::downgrade(&tracker));
        }
        tracker
    }

    /// A member leaves: the frames it had not read no longer wait for it.
    /// The number of members left.
    pub(crate) fn leave(&self, tracker: &Tracker) -> u32 {
        let mut queue = self.lock();
        let next = tracker.next.load(Ordering::Relaxed);
        let skip = usize::try_from(next.saturating_sub(queue.head)).unwrap_or(usize::MAX);
        for slot in queue.slots.iter_mut().skip(skip) {
            slot.unread = slot.unread.saturating_sub(1);
        }
        queue.members = queue.members.saturating_sub(1);
        queue.trim();
        queue.members
    }

    /// Members now.
    pub(crate) fn members(&self) -> u32 {
        self.lock().members
    }

    /// Queues `frame`, published as hub event `seq` (`None`: a signal),
    /// keeping at most `cap` frames; moves the wakers to call into `wake`.
    /// With `disconnect`, members left behind by the frame it drops are
    /// disconnected.
    pub(crate) fn push(
        &self,
        frame: &Bytes,
        seq: Option<u64>,
        cap: usize,
        disconnect: bool,
        wake: &mut Vec<Waker>,
    ) -> Pushed {
        let mut pushed = Pushed::default();
        let mut queue = self.lock();
        if seq.is_some() {
            if queue.last_seq == seq {
                return pushed;
            }
            queue.last_seq = seq;
        }
        if queue.members == 0 || queue.closed {
            return pushed;
        }
        let mut behind = false;
        while queue.slots.len() >= cap.max(1) {
            let Some(old) = queue.slots.pop_front() else { break };
            queue.head = queue.head.saturating_add(1);
            behind |= old.unread > 0;
        }
        let members = queue.members;
        queue.slots.push_back(Slot { frame: frame.clone(), unread: members });
        if behind && disconnect {
            let (head, tail) = (queue.head, queue.tail());
            for tracker in queue.trackers.iter().filter_map(Weak::upgrade) {
                let next = tracker.next.load(Ordering::Relaxed);
                if next < head && tracker.kill() {
                    // Every frame it had not read is lost to it.
                    pushed.dropped = pushed.dropped.saturating_add(tail.saturating_sub(next));
                    pushed.disconnected = pushed.disconnected.saturating_add(1);
                }
            }
        }
        wake.append(&mut queue.waiting);
        pushed
    }

    /// Ends the queue: members read what is left, then `Closed`.
    pub(crate) fn close(&self, wake: &mut Vec<Waker>) {
        let mut queue = self.lock();
        queue.closed = true;
        wake.append(&mut queue.waiting);
    }

    /// How far `tracker` is behind the newest frame.
    pub(crate) fn behind(&self, tracker: &Tracker) -> u64 {
        self.lock().tail().saturating_sub(tracker.next.load(Ordering::Relaxed))
    }

    /// The member's next frame, or `Pending` with its waker registered.
    /// `registered` is the waker it last left here and the queue's tail
    /// then, so that a member polled again before anything new arrives
    /// does not add itself twice.
    pub(crate) fn read(
        &self,
        tracker: &Tracker,
        registered: &mut Option<(Waker, u64)>,
        cx: &mut Context<'_>,
    ) -> Poll<Read> {
        let mut queue = self.lock();
        let next = tracker.next.load(Ordering::Relaxed);
        if next < queue.head {
            tracker.next.store(queue.head, Ordering::Relaxed);
            return Poll::Ready(Read::Lagged(queue.head.saturating_sub(next)));
        }
        let at = usize::try_from(next.saturating_sub(queue.head)).unwrap_or(usize::MAX);
        if let Some(slot) = queue.slots.get_mut(at) {
            slot.unread = slot.unread.saturating_sub(1);
            let frame = slot.frame.clone();
            tracker.next.store(next.saturating_add(1), Ordering::Relaxed);
            queue.trim();
            return Poll::Ready(Read::Frame(frame));
        }
        if queue.closed {
            return Poll::Ready(Read::Closed);
        }
        let tail = queue.tail();
        let waker = cx.waker();
        if registered.as_ref().is_some_and(|(w, at)| *at == tail && w.will_wake(waker)) {
            return Poll::Pending;
        }
        // The streams of a group that one walker writes share a waker:
        // one is enough (they register one after another, or nearly).
        if !queue.waiting.iter().rev().take(4).any(|w| w.will_wake(waker)) {
            // Members that re-registered or left since the last push leave
            // stale wakers: past a bound, wake them all (each live one
            // registers again) rather than grow.
            if queue.waiting.len() >= (queue.members as usize).saturating_mul(2).max(16) {
                queue.waiting.drain(..).for_each(Waker::wake);
            }
            queue.waiting.push(waker.clone());
        }
        *registered = Some((waker.clone(), tail));
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::task::Wake;

    use super::*;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn frame(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    fn read(group: &Group, tracker: &Tracker, cx: &mut Context<'_>) -> Option<Read> {
        match group.read(tracker, &mut None, cx) {
            Poll::Ready(read) => Some(read),
            Poll::Pending => None,
        }
    }

    #[test]
    fn frames_are_freed_once_every_member_read_them_and_lag_is_told() {
        let group = Group::new(0, Subscription::default());
        let counter = Arc::new(Count(Default::default()));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let (a, b) = (group.join(false), group.join(false));
        let mut wake = Vec::new();
        for n in 0..3 {
            group.push(&frame(n), Some(u64::from(n)), 2, false, &mut wake);
        }
        // `a` reads what is left: told of the one dropped, then 1 and 2.
        assert!(matches!(read(&group, &a, &mut cx), Some(Read::Lagged(1))));
        assert!(matches!(read(&group, &a, &mut cx), Some(Read::Frame(f)) if f == frame(1)));
        assert!(matches!(read(&group, &a, &mut cx), Some(Read::Frame(f)) if f == frame(2)));
        assert!(read(&group, &a, &mut cx).is_none());
        assert_eq!(group.lock().slots.len(), 2, "b has not read them");
        assert_eq!(group.leave(&b), 1);
        assert_eq!(group.lock().slots.len(), 0, "nobody waits for them any more");
        // The same seq twice (two selectors matching) is queued once.
        group.push(&frame(9), Some(9), 2, false, &mut wake);
        group.push(&frame(9), Some(9), 2, false, &mut wake);
        assert_eq!(wake.len(), 1);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        assert!(matches!(read(&group, &a, &mut cx), Some(Read::Frame(f)) if f == frame(9)));
    }

    #[test]
    fn a_member_left_behind_is_disconnected_with_its_loss_counted() {
        let group = Group::new(0, Subscription::default());
        let slow = group.join(true);
        let mut wake = Vec::new();
        let mut pushed = Pushed::default();
        for n in 0..5 {
            let p = group.push(&frame(n), Some(u64::from(n)), 3, true, &mut wake);
            pushed.dropped += p.dropped;
            pushed.disconnected += p.disconnected;
        }
        assert!(slow.killed.load(Ordering::Relaxed));
        assert_eq!((pushed.disconnected, pushed.dropped), (1, 4), "killed at the fourth: 0 to 3 unread");
    }
}
