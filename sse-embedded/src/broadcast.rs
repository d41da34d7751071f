//! The ready broadcaster of the async server: one history that any task
//! publishes into, and the connection tasks that serve it.
//!
//! Invariant: all shared state (the history, the stream slots, the
//! counters) sits behind one `critical_section::Mutex`, held only for
//! short, non-blocking work and never across an `.await`; a waiting task
//! parks its waker in its stream slot, and every publish (or the purge of
//! its slot) wakes it. A slot belongs to one stream at a time: purging
//! bumps its generation, which ends the old stream at its next look, even
//! while a write waits for its client. The rules (who streams, who is
//! purged, what a client that fell behind gets) are `crate::slots`, the
//! same as the smoltcp server's.

use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Context, Poll, Waker};

use critical_section::Mutex;
use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Read, Write};
use sse_wire::{Event, HistoryEntry, HistoryError, HistoryIn};

use crate::conn::{ConnError, Count, Next, Served, StreamSource, frames_after, serve_with};
use crate::deadline::within;
use crate::limits::Limits;
use crate::log::log_debug;
use crate::route::{self, Config};
use crate::slots::{self, Admit, Behind, Held};
use crate::stats::{Stats, bump};

/// A stream slot.
#[derive(Debug)]
struct Slot {
    /// Bumped whenever the slot is given to a new stream.
    generation: u32,
    open: bool,
    /// Logical ticks (the purge rule needs only their order).
    opened: u64,
    progress: u64,
    /// Bytes are being written to its client now.
    writing: bool,
    waker: Option<Waker>,
}

impl Slot {
    const FREE: Self =
        Self { generation: 0, open: false, opened: 0, progress: 0, writing: false, waker: None };
}

/// What the lock guards.
struct Shared<I, B, const TASKS: usize> {
    history: HistoryIn<I, B>,
    epoch: Option<u32>,
    slots: [Slot; TASKS],
    tick: u64,
    stats: Stats,
}

impl<I, B, const TASKS: usize> Shared<I, B, TASKS> {
    fn tick(&mut self) -> u64 {
        self.tick = self.tick.saturating_add(1);
        self.tick
    }

    /// The slot of stream `claim`, if it still owns it.
    fn slot(&mut self, claim: Claim) -> Option<&mut Slot> {
        self.slots.get_mut(claim.index).filter(|s| s.open && s.generation == claim.generation)
    }
}

/// A stream's hold on a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Claim {
    index: usize,
    generation: u32,
}

/// An SSE server for async executors (embassy, or any other): a history
/// that every task publishes into with [`publish`](Self::publish), served
/// to each connection by [`serve`](Self::serve). Spawn `TASKS` connection
/// tasks that accept a TCP connection and call `serve` on it, in a loop;
/// that is all.
///
/// It keeps the smoltcp [`Server`](crate::Server)'s rules: the same routes
/// and pages ([`Config`]), `TASKS` slots of which
/// [`Limits::page_slots`] stay free for pages, the stalest stream closed
/// for a newcomer when the stream slots are full
/// ([`Limits::purge_stalest`]; otherwise 503), `missed` or a close for a
/// client that fell behind ([`SlowClient`](crate::SlowClient)), keep-alives,
/// the request and stall timeouts measured by the caller's `DelayNs`,
/// `<epoch>-<seq>` ids, and the same [`Stats`].
///
/// No heap: everything is in the value, which `new` builds in a `const`
/// context, so it can be a `static`. The lock is `critical-section`'s
/// (your platform provides it, as embassy's do).
///
/// ```
/// use sse_embedded::{Broadcaster, Config, Limits};
/// use sse_wire::{Event, History, HistoryEntry};
///
/// // Four connection tasks (three streams and a page slot), the last 16
/// // events (4 KiB) kept for replay.
/// static HUB: Broadcaster<'static, [HistoryEntry; 16], [u8; 4096], 4> =
///     Broadcaster::new(Config::new(), Limits::new(), History::new());
///
/// # #[derive(Clone)]
/// # struct Delay;
/// # impl embedded_hal_async::delay::DelayNs for Delay { async fn delay_ns(&mut self, _: u32) {} }
/// // In each of the four tasks, with an embassy-net `TcpSocket`:
/// async fn connection_task<C: embedded_io_async::Read + embedded_io_async::Write>(mut socket: C) {
///     let mut buf = [0u8; 2048]; // request head, then frames
///     let _ = HUB.serve(&mut socket, &mut buf, &mut Delay).await; // embassy_time::Delay
/// }
///
/// // Anywhere:
/// HUB.publish(&Event::new().with_data("21.5")).unwrap();
/// assert_eq!(HUB.stats().streams, 0);
/// ```
pub struct Broadcaster<'a, I, B, const TASKS: usize> {
    config: Config<'a>,
    limits: Limits,
    shared: Mutex<RefCell<Shared<I, B, TASKS>>>,
}

impl<I, B, const TASKS: usize> core::fmt::Debug for Broadcaster<'_, I, B, TASKS> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Broadcaster")
            .field("config", &self.config)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<'a, I, B, const TASKS: usize> Broadcaster<'a, I, B, TASKS>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    /// A broadcaster for `TASKS` connection tasks, publishing into
    /// `history`. The boot epoch of generated ids is `config.epoch`
    /// (change it at boot with [`set_epoch`](Self::set_epoch)).
    ///
    /// ```
    /// let hub: sse_embedded::Broadcaster<'_, _, _, 3> = sse_embedded::Broadcaster::new(
    ///     sse_embedded::Config::new(), sse_embedded::Limits::new(), sse_wire::History::<8, 1024>::new());
    /// assert_eq!(hub.stats().streams_opened, 0);
    /// ```
    pub const fn new(config: Config<'a>, limits: Limits, history: HistoryIn<I, B>) -> Self {
        let shared = Shared {
            history,
            epoch: config.epoch,
            slots: [const { Slot::FREE }; TASKS],
            tick: 0,
            stats: Stats::new(),
        };
        Self { config, limits, shared: Mutex::new(RefCell::new(shared)) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared<I, B, TASKS>) -> R) -> R {
        critical_section::with(|cs| f(&mut self.shared.borrow_ref_mut(cs)))
    }

    /// Sets the boot epoch of the ids given to events published without
    /// one (see [`Config::epoch`]); call it at boot, before publishing.
    ///
    /// ```
    /// # let hub: sse_embedded::Broadcaster<'_, _, _, 2> = sse_embedded::Broadcaster::new(
    /// #     sse_embedded::Config::new(), sse_embedded::Limits::new(), sse_wire::History::<4, 512>::new());
    /// hub.set_epoch(0x2a);
    /// let seq = hub.publish(&sse_wire::Event::new().with_data("x")).unwrap();
    /// assert_eq!(hub.frame(seq, &mut [0u8; 64]), Some(&b"id: 0000002a-0\ndata: x\n\n"[..]));
    /// ```
    pub fn set_epoch(&self, epoch: u32) {
        self.with(|s| s.epoch = Some(epoch));
    }

    /// Publishes `event` to every stream: encoded once into the history
    /// (with `<epoch>-<seq>` as id if it has none) and sent by each
    /// connection task, which it wakes. Callable from any task (or an
    /// interrupt handler, where your critical section allows). Returns its
    /// sequence number.
    ///
    /// # Errors
    /// As [`sse_wire::History::push`]: an event too large for the whole
    /// history is not sent, and the history is cleared so that no client
    /// resumes across it.
    ///
    /// ```
    /// # let hub: sse_embedded::Broadcaster<'_, _, _, 2> = sse_embedded::Broadcaster::new(
    /// #     sse_embedded::Config::new(), sse_embedded::Limits::new(), sse_wire::History::<4, 512>::new());
    /// let t = 21.5;
    /// hub.publish(&sse_wire::Event::new().with_data_fmt(&format_args!("{{\"t\":{t}}}"))).unwrap();
    /// ```
    pub fn publish(&self, event: &Event<'_>) -> Result<u64, HistoryError> {
        let mut wakers: [Option<Waker>; TASKS] = [const { None }; TASKS];
        let seq = self.with(|s| {
            let seq = route::publish(&mut s.history, s.epoch, event)?;
            for (slot, waker) in s.slots.iter_mut().zip(wakers.iter_mut()) {
                *waker = slot.waker.take();
            }
            Ok(seq)
        })?;
        wakers.into_iter().flatten().for_each(Waker::wake);
        Ok(seq)
    }

    /// Copies the frame of the event with sequence number `seq` into `buf`
    /// and returns it, if it is still stored and fits.
    ///
    /// ```
    /// # let hub: sse_embedded::Broadcaster<'_, _, _, 2> = sse_embedded::Broadcaster::new(
    /// #     sse_embedded::Config::new(), sse_embedded::Limits::new(), sse_wire::History::<4, 512>::new());
    /// let seq = hub.publish(&sse_wire::Event::new().with_data("x")).unwrap();
    /// assert_eq!(hub.frame(seq, &mut [0u8; 64]), Some(&b"id: 0\ndata: x\n\n"[..]));
    /// ```
    pub fn frame<'b>(&self, seq: u64, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let len = self.with(|s| {
            let frame = s.history.get(seq)?.frame;
            buf.get_mut(..frame.len())?.copy_from_slice(frame);
            Some(frame.len())
        })?;
        buf.get(..len)
    }

    /// The counters, with the streams open now.
    ///
    /// ```
    /// # let hub: sse_embedded::Broadcaster<'_, _, _, 2> = sse_embedded::Broadcaster::new(
    /// #     sse_embedded::Config::new(), sse_embedded::Limits::new(), sse_wire::History::<4, 512>::new());
    /// assert_eq!(hub.stats().purged, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.with(|s| {
            let mut stats = s.stats;
            stats.streams = s.slots.iter().filter(|slot| slot.open).count();
            stats
        })
    }

    /// Serves one connection: reads its request head into `buf` (431 if it
    /// does not fit), answers pages and errors, or streams the history
    /// until the client goes, a deadline passes, or the slot is purged for
    /// a newcomer. `buf` also holds the frames on their way out: give it
    /// room for the largest event (a larger one is replaced by `missed`)
    /// and for a request head (browsers send 600 to 900 bytes).
    ///
    /// `timer` measures the deadlines and keep-alives (embassy-time's
    /// `Delay`; it is cloned for the stream's keep-alive clock).
    ///
    /// # Errors
    /// [`ConnError::Io`] when the connection fails,
    /// [`ConnError::BufferTooSmall`] when a response head does not fit.
    ///
    /// ```
    /// # struct Delay;
    /// # impl embedded_hal_async::delay::DelayNs for Delay { async fn delay_ns(&mut self, _: u32) {} }
    /// # impl Clone for Delay { fn clone(&self) -> Self { Delay } }
    /// # static HUB: sse_embedded::Broadcaster<'static, [sse_wire::HistoryEntry; 4], [u8; 512], 2> =
    /// #     sse_embedded::Broadcaster::new(sse_embedded::Config::new(), sse_embedded::Limits::new(), sse_wire::History::new());
    /// async fn task<C: embedded_io_async::Read + embedded_io_async::Write>(socket: &mut C) {
    ///     let mut buf = [0u8; 1024];
    ///     match HUB.serve(socket, &mut buf, &mut Delay).await {
    ///         Ok(served) => { /* close the socket and accept the next */ }
    ///         Err(_) => { /* the connection failed: abort it */ }
    ///     }
    /// }
    /// ```
    pub async fn serve<C, T>(
        &self,
        conn: &mut C,
        buf: &mut [u8],
        timer: &mut T,
    ) -> Result<Served, ConnError<C::Error>>
    where
        C: Read + Write,
        T: DelayNs + Clone,
    {
        let mut stream = Subscription { hub: self, claim: None, timer: timer.clone() };
        serve_with(conn, &self.config, buf, &mut stream, &self.limits, timer, self).await
    }
}

impl<I, B, const TASKS: usize> Count for &Broadcaster<'_, I, B, TASKS> {
    fn count(&mut self, f: impl FnOnce(&mut Stats)) {
        critical_section::with(|cs| f(&mut self.shared.borrow_ref_mut(cs).stats));
    }
}

/// One connection's stream of a [`Broadcaster`].
struct Subscription<'h, 'a, I, B, T, const TASKS: usize> {
    hub: &'h Broadcaster<'a, I, B, TASKS>,
    claim: Option<Claim>,
    timer: T,
}

impl<I, B, T, const TASKS: usize> Drop for Subscription<'_, '_, I, B, T, TASKS> {
    fn drop(&mut self) {
        if let Some(claim) = self.claim {
            critical_section::with(|cs| {
                if let Some(slot) = self.hub.shared.borrow_ref_mut(cs).slot(claim) {
                    slot.open = false;
                    slot.waker = None;
                }
            });
        }
    }
}

impl<I, B, T, const TASKS: usize> StreamSource for Subscription<'_, '_, I, B, T, TASKS>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
    T: DelayNs,
{
    fn admit(&mut self) -> bool {
        let limits = &self.hub.limits;
        let (claim, purged) = self
            .hub
            .with(|s| {
                let open = s.slots.iter().filter(|slot| slot.open).count();
                // The stream a newcomer would displace (read before the
                // counters are borrowed for the admission).
                let victim = slots::stalest(s.slots.iter().enumerate().filter(|(_, slot)| slot.open).map(
                    |(index, slot)| Held {
                        index,
                        opened: slot.opened,
                        progress: slot.progress,
                        waiting: slot.writing,
                    },
                ));
                let index = match slots::admit(open, TASKS, limits, &mut s.stats, || victim) {
                    Admit::Busy => return None,
                    Admit::Purge(index) => index,
                    Admit::Stream => s.slots.iter().position(|slot| !slot.open)?,
                };
                let tick = s.tick();
                bump(&mut s.stats.streams_opened);
                let slot = s.slots.get_mut(index)?;
                let purged = if slot.open { slot.waker.take() } else { None };
                slot.generation = slot.generation.wrapping_add(1);
                slot.open = true;
                slot.opened = tick;
                slot.progress = tick;
                slot.writing = true;
                Some((Some(Claim { index, generation: slot.generation }), purged))
            })
            .unwrap_or((None, None));
        if let Some(waker) = purged {
            log_debug!("sse-embedded: closing the stalest stream for a new one");
            waker.wake();
        }
        self.claim = claim;
        claim.is_some()
    }

    fn start(&mut self, last_event_id: Option<&[u8]>) -> (u64, bool) {
        self.hub.with(|s| crate::conn::resume_point(&s.history, last_event_id))
    }

    async fn next(&mut self, next_seq: u64, buf: &mut [u8]) -> Next {
        let Some(claim) = self.claim else { return Next::End };
        let hub = self.hub;
        let limits = hub.limits;
        // What to send now (`None`: nothing yet, the waker is parked), or
        // the end if the slot was purged. Called once the previous write
        // completed, so the client is taking bytes: progress.
        let mut ready = |cx: &mut Context<'_>| {
            hub.with(|s| {
                let tick = s.tick();
                if s.slot(claim).is_none() {
                    return Some(Next::End);
                }
                let oldest = s.history.oldest_seq();
                let Shared { history, stats, .. } = &mut *s;
                let next = match slots::behind(next_seq, oldest, limits.slow_client, stats) {
                    Behind::Close => Some(Next::End),
                    Behind::Missed(oldest) => Some(Next::Missed { next_seq: oldest }),
                    Behind::No => match frames_after(history, next_seq, buf) {
                        Some(Next::Missed { next_seq }) => {
                            slots::oversized(stats);
                            Some(Next::Missed { next_seq })
                        }
                        other => other,
                    },
                };
                if let Some(slot) = s.slot(claim) {
                    slot.progress = tick;
                    slot.writing = next.is_some();
                    if next.is_none() {
                        slot.waker = Some(cx.waker().clone());
                    }
                }
                next
            })
        };
        let wait = poll_fn(|cx| ready(cx).map_or(Poll::Pending, Poll::Ready));
        let next = match limits.keep_alive_ms {
            Some(ms) => within!(wait, self.timer.delay_ms(ms)).unwrap_or(Next::KeepAlive),
            None => wait.await,
        };
        if next == Next::KeepAlive {
            hub.with(|s| {
                if let Some(slot) = s.slot(claim) {
                    slot.writing = true;
                }
            });
        }
        next
    }

    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(claim) = self.claim else { return Poll::Pending };
        self.hub.with(|s| match s.slot(claim) {
            None => Poll::Ready(()),
            Some(slot) => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}
