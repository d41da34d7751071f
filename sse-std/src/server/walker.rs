//! Walkers: tasks that each write many event streams. A stream whose
//! client keeps up is handed to a walker, which, when events arrive,
//! walks its streams and gives each the frames it has waiting in one
//! non-blocking write: one task wake-up per event instead of one
//! per stream (at 10 000 clients the per-stream wake-up, task poll and
//! `select!` cost about a quarter of a delivery).
//!
//! Invariant: a stream's frames are written in order by one owner at a
//! time, its own task (`direct.rs`) or one walker. A walker writes only
//! what a socket takes at once: a stream whose socket does not take all
//! its frames, or whose subscriber ends, goes back to its own task with
//! the rest (which then applies the stall timeout, as before) and rejoins
//! once it has caught up. Every stream a walker holds either has its
//! subscriber's wake-up registered with the walker or is due for the
//! next walk, so no frame waits without a walk coming. Walks are made in
//! slices of [`SLICE`] streams, so that other tasks run in between.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::direct::{poll_batch, try_write_batch};
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
}

/// A stream handed to a walker, from its own task's side.
pub(crate) struct Joined {
    left: Arc<AtomicBool>,
    walker: usize,
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

/// The way to one walker: streams joining, and a wake-up for each stream
/// that leaves (its `left` flag is set first).
#[derive(Debug)]
struct Sender {
    join: mpsc::UnboundedSender<Entry>,
    leave: mpsc::UnboundedSender<()>,
}

struct Entry {
    /// Set by the stream's task when it leaves (its client went away, or
    /// the hub disconnected it): the walker drops the entry.
    left: Arc<AtomicBool>,
    stream: Arc<TcpStream>,
    subscriber: Subscriber,
    back: oneshot::Sender<Back>,
}

impl Walkers {
    /// Starts `count` walkers (at least one) on the current runtime.
    pub(crate) fn start(count: usize) -> Self {
        let senders = (0..count.max(1))
            .map(|_| {
                let (join, joins) = mpsc::unbounded_channel();
                let (leave, leaves) = mpsc::unbounded_channel();
                // A walk polls many subscribers in one task poll: tokio's
                // per-poll budget would end it after 128 of them.
                tokio::spawn(tokio::task::unconstrained(walk(joins, leaves)));
                Sender { join, leave }
            })
            .collect();
        Self { senders, next: AtomicUsize::new(0) }
    }

    /// Hands `stream` and its `subscriber` to a walker; gives the
    /// subscriber back if no walker runs any more.
    pub(crate) fn join(
        &self,
        stream: Arc<TcpStream>,
        subscriber: Subscriber,
    ) -> Result<Joined, Box<Subscriber>> {
        let walker = self.next.fetch_add(1, Ordering::Relaxed).checked_rem(self.senders.len()).unwrap_or(0);
        let left = Arc::new(AtomicBool::new(false));
        let (back, receiver) = oneshot::channel();
        let Some(sender) = self.senders.get(walker) else { return Err(Box::new(subscriber)) };
        match sender.join.send(Entry { left: Arc::clone(&left), stream, subscriber, back }) {
            Ok(()) => Ok(Joined { left, walker, back: receiver }),
            Err(mpsc::error::SendError(entry)) => Err(Box::new(entry.subscriber)),
        }
    }

    /// Takes a stream away from its walker, which drops it (with its
    /// subscriber) at its next poll, or when it arrives if it has not yet.
    pub(crate) fn leave(&self, joined: &Joined) {
        joined.left.store(true, Ordering::Release);
        if let Some(sender) = self.senders.get(joined.walker) {
            let _ = sender.leave.send(());
        }
    }
}

/// The wake-up every subscriber of a walker gets: marks a walk due and
/// wakes the walker once per walk, however many subscribers have news.
struct Due {
    due: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Due {
    fn register(&self, waker: &Waker) {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if !task.as_ref().is_some_and(|t| t.will_wake(waker)) {
            *task = Some(waker.clone());
        }
    }

    fn take(&self) -> bool {
        self.due.swap(false, Ordering::AcqRel)
    }

    fn set(&self) {
        self.due.store(true, Ordering::Release);
    }

    fn is_set(&self) -> bool {
        self.due.load(Ordering::Acquire)
    }
}

impl Wake for Due {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.due.swap(true, Ordering::AcqRel)
            && let Some(task) = self.task.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
        {
            task.wake_by_ref();
        }
    }
}

/// A walker's state between polls.
struct Walk {
    entries: Vec<Entry>,
    /// Where the walk under way stands, if one is.
    cursor: Option<usize>,
    due: Arc<Due>,
    /// `due` as a waker, given to every subscriber.
    waker: Waker,
    /// The frames of the stream being visited.
    scratch: Vec<Bytes>,
}

/// What a visit leaves of a stream.
enum Visit {
    /// Caught up: its subscriber will wake the walker.
    Keep,
    /// Its share written with more waiting: the next walk goes on.
    Again,
    /// Back to its own task: its socket did not take everything, or its
    /// subscriber ended.
    Back { more: bool },
    /// Its connection failed.
    Failed,
}

async fn walk(mut joins: mpsc::UnboundedReceiver<Entry>, mut leaves: mpsc::UnboundedReceiver<()>) {
    let due = Arc::new(Due { due: AtomicBool::new(false), task: Mutex::new(None) });
    let waker = Waker::from(Arc::clone(&due));
    let mut walk = Walk { entries: Vec::new(), cursor: None, due, waker, scratch: Vec::new() };
    std::future::poll_fn(|cx| walk.poll(&mut joins, &mut leaves, cx)).await;
}

impl Walk {
    fn poll(
        &mut self,
        joins: &mut mpsc::UnboundedReceiver<Entry>,
        leaves: &mut mpsc::UnboundedReceiver<()>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        self.due.register(cx.waker());
        let mut sweep = false;
        while let Poll::Ready(Some(())) = leaves.poll_recv(cx) {
            sweep = true;
        }
        if sweep {
            let before = self.entries.len();
            self.entries.retain(|e| !e.left.load(Ordering::Acquire));
            // Streams shifted under a walk under way may be skipped by it,
            // one with frames waiting among them: walk again after it.
            if self.cursor.is_some() && self.entries.len() != before {
                self.due.set();
            }
        }
        loop {
            match joins.poll_recv(cx) {
                // Left before it arrived.
                Poll::Ready(Some(entry)) if entry.left.load(Ordering::Acquire) => {}
                Poll::Ready(Some(entry)) => {
                    // Visited at once: frames published since its task
                    // last looked are written, and its subscriber now
                    // wakes this walker.
                    self.entries.push(entry);
                    self.visit(self.entries.len().saturating_sub(1));
                }
                // The server and every stream are gone.
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        if self.cursor.is_none() && self.due.take() {
            self.cursor = Some(0);
        }
        if let Some(mut at) = self.cursor {
            let mut visits = 0usize;
            while at < self.entries.len() && visits < SLICE {
                visits = visits.saturating_add(1);
                // A stream that leaves is replaced at `at` by the last one.
                if self.visit(at) {
                    at = at.saturating_add(1);
                }
            }
            if at < self.entries.len() {
                self.cursor = Some(at);
                cx.waker().wake_by_ref();
            } else {
                self.cursor = None;
                // Woken while this walk was under way: walk again.
                if self.due.is_set() {
                    cx.waker().wake_by_ref();
                }
            }
        }
        Poll::Pending
    }

    /// Writes what the stream at `at` has waiting; `false` if the stream
    /// left (another stream, or none, is at `at` now).
    fn visit(&mut self, at: usize) -> bool {
        let mut cx = Context::from_waker(&self.waker);
        let Some(entry) = self.entries.get_mut(at) else { return false };
        let outcome = visit(entry, &mut cx, &mut self.scratch);
        match outcome {
            Visit::Keep => return true,
            Visit::Again => {
                self.due.set();
                return true;
            }
            Visit::Back { .. } | Visit::Failed => {}
        }
        let entry = self.entries.swap_remove(at);
        let batch = std::mem::take(&mut self.scratch);
        if let Visit::Back { more } = outcome {
            // A closed receiver means the task has left: the entry drops.
            let _ = entry.back.send(Back { subscriber: entry.subscriber, batch, more });
        }
        false
    }
}

/// Writes up to [`BATCHES_PER_VISIT`] batches of `entry`'s frames, as far
/// as its socket takes them without waiting. `scratch` is empty after
/// `Keep` and `Again`; after `Back` it holds what the socket did not take.
fn visit(entry: &mut Entry, cx: &mut Context<'_>, scratch: &mut Vec<Bytes>) -> Visit {
    for _ in 0..BATCHES_PER_VISIT {
        let more = match poll_batch(&mut entry.subscriber, cx, scratch) {
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
    // Frames may be waiting with no wake-up registered: walk again.
    Visit::Again
}
