//! Walkers: tasks that each write many event streams. A stream whose
//! client keeps up is handed to a walker, which, when events arrive,
//! visits the streams they are for and gives each the frames it has
//! waiting in one non-blocking write: one task wake-up per event instead
//! of one per stream (at 10 000 clients the per-stream wake-up, task poll
//! and `select!` cost about a quarter of a delivery).
//!
//! Invariant: a stream's frames are written in order by one owner at a
//! time, its own task (`direct.rs`) or one walker. A walker writes only
//! what a socket takes at once: a stream whose socket does not take all
//! its frames, or whose subscriber ends, goes back to its own task with
//! the rest (which then applies the stall timeout, as before) and rejoins
//! once it has caught up. A walker keeps its streams in buckets, one per
//! hub subscription group, each with its own wake-up: an event wakes the
//! buckets of the groups it was queued to and the walker visits those
//! only, so a publish to one of 10 000 topics visits one stream, not the
//! walker's thousands. Every stream a walker holds either has its
//! subscriber's wake-up registered for its bucket or its bucket is due,
//! so no frame waits without a visit coming. Walks are made in slices of
//! [`SLICE`] stream visits, so that other tasks run in between.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::direct::{Framing, poll_batch, try_write_batch};
use crate::hub::Subscriber;

/// Streams visited per poll of a walker before it lets other tasks run.
const SLICE: usize = 512;

/// Batches a walker writes to one stream per visit; a stream with more
/// waiting is visited again in the next walk.
const BATCHES_PER_VISIT: usize = 4;

/// A server's walkers, one per runtime worker; streams are spread over
/// them in turn. Each walker ends when the `Walkers` and every stream
/// that joined it are gone.
#[derive(Debug)]
pub(crate) struct Walkers {
    senders: Vec<Sender>,
    next: AtomicUsize,
    /// Stream visits made, one counter per walker (so that walkers on
    /// different threads do not share a cache line's worth of counting).
    /// Read by the tests, which count that a publish visits only the
    /// streams it is for.
    #[cfg_attr(not(test), allow(dead_code))]
    visits: Vec<Arc<AtomicUsize>>,
}

/// A stream handed to a walker, from its own task's side.
pub(crate) struct Joined {
    left: Arc<AtomicBool>,
    walker: usize,
    bucket: u64,
    /// The stream coming back: its frames not yet written, and whether
    /// its subscriber goes on (`more`). Closed if the walker dropped the
    /// stream (its connection failed).
    pub(crate) back: oneshot::Receiver<Back>,
}

/// A stream handed back to its own task.
pub(crate) struct Back {
    pub(crate) subscriber: Subscriber,
    pub(crate) batch: Vec<Bytes>,
    pub(crate) more: bool,
}

/// The way to one walker: streams joining, and the bucket of each stream
/// that leaves (its `left` flag is set first).
#[derive(Debug)]
struct Sender {
    join: mpsc::UnboundedSender<Entry>,
    leave: mpsc::UnboundedSender<u64>,
}

struct Entry {
    /// Set by the stream's task when it leaves (its client went away, or
    /// the hub disconnected it): the walker drops the entry.
    left: Arc<AtomicBool>,
    stream: Arc<TcpStream>,
    subscriber: Subscriber,
    framing: Framing,
    back: oneshot::Sender<Back>,
}

impl Walkers {
    /// Starts `count` walkers (at least one) on the current runtime.
    pub(crate) fn start(count: usize) -> Self {
        let visits: Vec<_> = (0..count.max(1)).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let senders = visits
            .iter()
            .map(|visits| {
                let (join, joins) = mpsc::unbounded_channel();
                let (leave, leaves) = mpsc::unbounded_channel();
                // A walk polls many subscribers in one task poll: tokio's
                // per-poll budget would end it after 128 of them.
                tokio::spawn(tokio::task::unconstrained(walk(joins, leaves, Arc::clone(visits))));
                Sender { join, leave }
            })
            .collect();
        Self { senders, next: AtomicUsize::new(0), visits }
    }

    /// Stream visits made by every walker so far.
    #[cfg(test)]
    pub(crate) fn visits(&self) -> usize {
        self.visits.iter().map(|v| v.load(Ordering::Relaxed)).fold(0, usize::saturating_add)
    }

    /// Hands `stream` and its `subscriber` (its frames written with
    /// `framing`) to a walker; gives the subscriber back if no walker runs
    /// any more.
    pub(crate) fn join(
        &self,
        stream: Arc<TcpStream>,
        subscriber: Subscriber,
        framing: Framing,
    ) -> Result<Joined, Box<Subscriber>> {
        let walker = self.next.fetch_add(1, Ordering::Relaxed).checked_rem(self.senders.len()).unwrap_or(0);
        let left = Arc::new(AtomicBool::new(false));
        let (back, receiver) = oneshot::channel();
        let bucket = subscriber.group_id();
        let Some(sender) = self.senders.get(walker) else { return Err(Box::new(subscriber)) };
        match sender.join.send(Entry { left: Arc::clone(&left), stream, subscriber, framing, back }) {
            Ok(()) => Ok(Joined { left, walker, bucket, back: receiver }),
            Err(mpsc::error::SendError(entry)) => Err(Box::new(entry.subscriber)),
        }
    }

    /// Takes a stream away from its walker, which drops it (with its
    /// subscriber) at its next poll, or when it arrives if it has not yet.
    pub(crate) fn leave(&self, joined: &Joined) {
        joined.left.store(true, Ordering::Release);
        if let Some(sender) = self.senders.get(joined.walker) {
            let _ = sender.leave.send(joined.bucket);
        }
    }
}

/// The buckets with news, and the walker's own wake-up.
struct Ready {
    due: Mutex<Vec<u64>>,
    task: Mutex<Option<Waker>>,
}

impl Ready {
    fn register(&self, waker: &Waker) {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if !task.as_ref().is_some_and(|t| t.will_wake(waker)) {
            *task = Some(waker.clone());
        }
    }

    fn take(&self, into: &mut VecDeque<u64>) {
        into.extend(self.due.lock().unwrap_or_else(PoisonError::into_inner).drain(..));
    }
}

/// The wake-up of one bucket: queues it (once until it is visited) and
/// wakes the walker.
struct BucketWake {
    bucket: u64,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for BucketWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        self.ready.due.lock().unwrap_or_else(PoisonError::into_inner).push(self.bucket);
        if let Some(task) = self.ready.task.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            task.wake_by_ref();
        }
    }
}

/// The streams of one hub group that a walker holds.
struct Bucket {
    entries: Vec<Entry>,
    wake: Arc<BucketWake>,
    /// `wake` as a waker, given to every subscriber of the bucket.
    waker: Waker,
}

/// A walker's state between polls.
struct Walk {
    buckets: HashMap<u64, Bucket>,
    ready: Arc<Ready>,
    /// Buckets due, in the order they became due.
    due: VecDeque<u64>,
    /// The bucket being walked and the next stream in it.
    cursor: Option<(u64, usize)>,
    /// The frames of the stream being visited.
    scratch: Vec<Bytes>,
    visits: Arc<AtomicUsize>,
}

/// What a visit leaves of a stream.
enum Visit {
    /// Caught up: its subscriber will wake the bucket.
    Keep,
    /// Its share written with more waiting: the bucket is due again.
    Again,
    /// Back to its own task: its socket did not take everything, or its
    /// subscriber ended.
    Back { more: bool },
    /// Its connection failed.
    Failed,
}

async fn walk(
    mut joins: mpsc::UnboundedReceiver<Entry>,
    mut leaves: mpsc::UnboundedReceiver<u64>,
    visits: Arc<AtomicUsize>,
) {
    let ready = Arc::new(Ready { due: Mutex::new(Vec::new()), task: Mutex::new(None) });
    let mut walk = Walk {
        buckets: HashMap::new(),
        ready,
        due: VecDeque::new(),
        cursor: None,
        scratch: Vec::new(),
        visits,
    };
    std::future::poll_fn(|cx| walk.poll(&mut joins, &mut leaves, cx)).await;
}

impl Walk {
    fn poll(
        &mut self,
        joins: &mut mpsc::UnboundedReceiver<Entry>,
        leaves: &mut mpsc::UnboundedReceiver<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        self.ready.register(cx.waker());
        while let Poll::Ready(Some(id)) = leaves.poll_recv(cx) {
            let Some(bucket) = self.buckets.get_mut(&id) else { continue };
            let before = bucket.entries.len();
            bucket.entries.retain(|e| !e.left.load(Ordering::Acquire));
            if bucket.entries.is_empty() {
                self.buckets.remove(&id);
            } else if self.cursor.is_some_and(|(at, _)| at == id) && bucket.entries.len() != before {
                // Streams shifted under the walk of this bucket may be
                // skipped by it, one with frames waiting among them: walk
                // it again after.
                Wake::wake_by_ref(&bucket.wake);
            }
        }
        loop {
            match joins.poll_recv(cx) {
                // Left before it arrived.
                Poll::Ready(Some(entry)) if entry.left.load(Ordering::Acquire) => {}
                Poll::Ready(Some(entry)) => {
                    // Visited at once: frames published since its task
                    // last looked are written, and its subscriber now
                    // wakes this bucket.
                    let id = entry.subscriber.group_id();
                    let bucket = self.buckets.entry(id).or_insert_with(|| Bucket::new(id, &self.ready));
                    bucket.entries.push(entry);
                    let at = bucket.entries.len().saturating_sub(1);
                    self.visit(id, at);
                }
                // The server and every stream are gone.
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        let mut visits = 0usize;
        while visits < SLICE {
            let (id, mut at) = match self.cursor.take() {
                Some(cursor) => cursor,
                None => {
                    if self.due.is_empty() {
                        self.ready.take(&mut self.due);
                    }
                    let Some(id) = self.due.pop_front() else { break };
                    // News from here on queues it again.
                    if let Some(bucket) = self.buckets.get(&id) {
                        bucket.wake.queued.store(false, Ordering::Release);
                    }
                    (id, 0)
                }
            };
            while visits < SLICE && self.buckets.get(&id).is_some_and(|b| at < b.entries.len()) {
                visits = visits.saturating_add(1);
                // A stream that leaves is replaced at `at` by the last one.
                if self.visit(id, at) {
                    at = at.saturating_add(1);
                }
            }
            if self.buckets.get(&id).is_some_and(|b| at < b.entries.len()) {
                self.cursor = Some((id, at));
            } else if self.buckets.get(&id).is_some_and(|b| b.entries.is_empty()) {
                self.buckets.remove(&id);
            }
        }
        if visits >= SLICE {
            // More to walk: let other tasks run first.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Writes what the stream at `at` of bucket `id` has waiting; `false`
    /// if the stream left (another stream, or none, is at `at` now).
    fn visit(&mut self, id: u64, at: usize) -> bool {
        let Some(bucket) = self.buckets.get_mut(&id) else { return false };
        let mut cx = Context::from_waker(&bucket.waker);
        let Some(entry) = bucket.entries.get_mut(at) else { return false };
        self.visits.fetch_add(1, Ordering::Relaxed);
        let outcome = visit(entry, &mut cx, &mut self.scratch);
        match outcome {
            Visit::Keep => return true,
            Visit::Again => {
                Wake::wake_by_ref(&bucket.wake);
                return true;
            }
            Visit::Back { .. } | Visit::Failed => {}
        }
        let entry = bucket.entries.swap_remove(at);
        let batch = std::mem::take(&mut self.scratch);
        if let Visit::Back { more } = outcome {
            // A closed receiver means the task has left: the entry drops.
            let _ = entry.back.send(Back { subscriber: entry.subscriber, batch, more });
        }
        false
    }
}

impl Bucket {
    fn new(bucket: u64, ready: &Arc<Ready>) -> Self {
        let wake = Arc::new(BucketWake { bucket, queued: AtomicBool::new(false), ready: Arc::clone(ready) });
        Self { entries: Vec::new(), waker: Waker::from(Arc::clone(&wake)), wake }
    }
}

/// Writes up to [`BATCHES_PER_VISIT`] batches of `entry`'s frames, as far
/// as its socket takes them without waiting. `scratch` is empty after
/// `Keep` and `Again`; after `Back` it holds what the socket did not take.
fn visit(entry: &mut Entry, cx: &mut Context<'_>, scratch: &mut Vec<Bytes>) -> Visit {
    for _ in 0..BATCHES_PER_VISIT {
        let more = match poll_batch(&mut entry.subscriber, cx, scratch, entry.framing) {
            Poll::Pending => return Visit::Keep,
            Poll::Ready(more) => more,
        };
        if try_write_batch(&entry.stream, scratch).is_err() {
            scratch.clear();
            return Visit::Failed;
        }
        if !scratch.is_empty() || !more {
            return Visit::Back { more };
        }
    }
    // Frames may be waiting with no wake-up registered: visit again.
    Visit::Again
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sse_wire::{Audience, Event, Topic};
    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpListener;

    use super::*;
    use crate::hub::{Hub, HubConfig};
    use crate::topics::{Selectors, Subscription};

    async fn until(what: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !what() {
            assert!(tokio::time::Instant::now() < deadline, "timed out");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_publish_to_one_of_many_topics_visits_one_stream() {
        let hub = Hub::new(HubConfig { keep_alive: None, epoch: Some("e".into()), ..HubConfig::default() });
        let walkers = Walkers::start(2);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mut clients, mut joined) = (Vec::new(), Vec::new());
        for i in 0..600 {
            let client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let topics = Selectors::parse([format!("user/{i}")]).unwrap();
            let subscriber = hub.subscribe_with(Subscription::new(topics), None).unwrap();
            joined.push(walkers.join(Arc::new(server), subscriber, Framing::Close).ok().unwrap());
            clients.push(client);
        }
        // Each stream is visited once as it joins.
        until(|| walkers.visits() >= 600).await;
        let before = walkers.visits();
        let topic = Topic::new("user/417").unwrap();
        hub.publish_to(Audience::on(topic), &Event::new().with_data("hi")).unwrap();
        let mut got = [0u8; 64];
        let n =
            tokio::time::timeout(Duration::from_secs(5), clients[417].read(&mut got)).await.unwrap().unwrap();
        assert_eq!(&got[..n], b"id: e-0\ndata: hi\n\n");
        tokio::time::sleep(Duration::from_millis(100)).await;
        // One wake-up of one bucket: the other 599 streams (and the 299
        // others of its walker) were not visited.
        assert_eq!(walkers.visits() - before, 1);
        for j in &joined {
            walkers.leave(j);
        }
    }
}
