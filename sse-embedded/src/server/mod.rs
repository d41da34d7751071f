//! The poll-driven server over smoltcp TCP sockets.
//!
//! Invariant: memory is fixed when the server is made: `SLOTS` slots of
//! `HEAD` bytes each, the caller's sockets and their buffers, and the
//! replay history, which is also the broadcast queue: `broadcast` encodes
//! an event once into it, and each streaming slot keeps only the sequence
//! number of the next event it must send. A client whose buffer stays full
//! never blocks the others: it is skipped, and later catches up from the
//! history or, if its next event was evicted, gets the missed-events signal
//! (or is closed, per [`SlowClient`]); one that accepts nothing for the
//! stall timeout is closed.
//!
//! When every stream slot is busy, a stream request closes the stalest
//! stream ([`Limits::purge_stalest`]) by the rules the async broadcaster
//! shares (`crate::slots`).
//!
//! Modules, the way smoltcp keeps sockets apart from the interface:
//! `connection` (one slot's state machine), `stream` (a streaming slot);
//! this file holds the server that owns the slots and the history.

mod connection;
mod stream;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use sse_wire::{Event, HistoryEntry, HistoryError, HistoryIn, Status as EncodeStatus};

use crate::limits::Limits;
use crate::log::log_debug;
use crate::route::{self, Config};
use crate::slots;
use crate::stats::Stats;
use connection::{Connection, Ctx, State};

/// A streaming client, for [`Server::send_to`].
///
/// ```
/// # fn f(server: &sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>) {
/// for client in server.streams() {
///     let _: sse_embedded::ClientId = client;
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientId(usize);

/// Why [`Server::send_to`] did not send.
///
/// ```
/// let e = sse_embedded::SendError::WouldBlock;
/// assert_eq!(e, sse_embedded::SendError::WouldBlock);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SendError {
    /// The client is not streaming (it left, or the id is stale).
    NotStreaming,
    /// Its TX buffer has no room for the whole frame now; try later.
    WouldBlock,
    /// The frame is larger than its whole TX buffer.
    TooLarge,
    /// The event's `Display` data failed to format.
    Format,
}

/// An SSE server over smoltcp: `SLOTS` connection slots of `HEAD` bytes
/// each (the most a request head may take; 431 beyond), and a replay
/// history that is also the broadcast queue. Call [`poll`](Self::poll)
/// after each `Interface::poll`.
///
/// ```
/// use smoltcp::iface::SocketSet;
/// use smoltcp::socket::tcp;
/// use sse_wire::{Event, History};
/// use sse_embedded::{Config, Server, Limits};
///
/// let mut storage: [_; 2] = Default::default();
/// let mut sockets = SocketSet::new(&mut storage[..]);
/// let mut buffers = [[0u8; 1024]; 4];
/// let [rx0, tx0, rx1, tx1] = &mut buffers;
/// let handles = [
///     sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(&mut rx0[..]), tcp::SocketBuffer::new(&mut tx0[..]))),
///     sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(&mut rx1[..]), tcp::SocketBuffer::new(&mut tx1[..]))),
/// ];
/// let mut server: Server<'_, _, _, 2, 512> =
///     Server::new(Config::new(), Limits::default(), handles, History::<8, 2048>::new());
/// server.broadcast(&Event::new().with_data("hello")).unwrap();
/// // In the main loop: iface.poll(now, &mut device, &mut sockets); server.poll(now, &mut sockets);
/// server.poll(smoltcp::time::Instant::from_millis(0), &mut sockets);
/// ```
pub struct Server<'a, I, B, const SLOTS: usize, const HEAD: usize> {
    config: Config<'a>,
    limits: Limits,
    /// `None` until [`attach`](Server::attach) for a server built in a
    /// `static`.
    sockets: Option<[SocketHandle; SLOTS]>,
    slots: [Connection<'a, HEAD>; SLOTS],
    history: HistoryIn<I, B>,
    stats: Stats,
}

impl<I, B, const SLOTS: usize, const HEAD: usize> core::fmt::Debug for Server<'_, I, B, SLOTS, HEAD> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server").field("stats", &self.stats).finish_non_exhaustive()
    }
}

/// Writes as much of `bytes` as the socket takes; returns how much.
pub(super) fn send(socket: &mut tcp::Socket<'_>, bytes: &[u8]) -> usize {
    socket.send_slice(bytes).unwrap_or(0)
}

/// Free bytes in the TX buffer.
pub(super) fn free(socket: &tcp::Socket<'_>) -> usize {
    socket.send_capacity().saturating_sub(socket.send_queue())
}

impl<'a, I, B, const SLOTS: usize, const HEAD: usize> Server<'a, I, B, SLOTS, HEAD>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    /// A server on the given TCP sockets (one per slot; the caller made
    /// them with their RX and TX buffers and added them to its
    /// `SocketSet`).
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut storage: [_; 1] = Default::default();
    /// # let mut sockets = SocketSet::new(&mut storage[..]);
    /// # let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    /// let handle = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(&mut rx[..]), tcp::SocketBuffer::new(&mut tx[..])));
    /// let server: sse_embedded::Server<'_, _, _, 1, 256> = sse_embedded::Server::new(
    ///     Default::default(), Default::default(), [handle], sse_wire::History::<4, 512>::new());
    /// assert_eq!(server.stats().streams, 0);
    /// ```
    pub const fn new(
        config: Config<'a>,
        limits: Limits,
        sockets: [SocketHandle; SLOTS],
        history: HistoryIn<I, B>,
    ) -> Self {
        let mut server = Self::unattached(config, limits, history);
        server.sockets = Some(sockets);
        server
    }

    /// A server without its sockets yet, built at compile time: a
    /// firmware keeps it in a `static` (a `static_cell::ConstStaticCell`),
    /// so that its slot buffers and history (kilobytes) are never built on
    /// the stack and copied, and gives it its sockets at boot with
    /// [`attach`](Self::attach). It serves nothing until then.
    ///
    /// ```
    /// use sse_embedded::{Config, Limits, Server};
    /// use sse_wire::{History, HistoryEntry};
    /// static SERVER: static_cell::ConstStaticCell<Server<'static, [HistoryEntry; 16], [u8; 4096], 3, 1024>> =
    ///     static_cell::ConstStaticCell::new(Server::unattached(Config::new(), Limits::new(), History::new()));
    /// let server = SERVER.take();
    /// assert_eq!(server.stats().streams, 0);
    /// ```
    pub const fn unattached(config: Config<'a>, limits: Limits, history: HistoryIn<I, B>) -> Self {
        Self {
            config,
            limits,
            sockets: None,
            slots: [const { Connection::IDLE }; SLOTS],
            history,
            stats: Stats::new(),
        }
    }

    /// Gives an [`unattached`](Self::unattached) server its TCP sockets,
    /// one per slot (made with their buffers and added to the caller's
    /// `SocketSet`); the next [`poll`](Self::poll) listens on them. Call it
    /// once: the slots of a server already serving are reset.
    ///
    /// ```
    /// # use smoltcp::iface::SocketSet;
    /// # use smoltcp::socket::tcp;
    /// # let mut storage: [_; 1] = Default::default();
    /// # let mut sockets = SocketSet::new(&mut storage[..]);
    /// # let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    /// let mut server: sse_embedded::Server<'_, _, _, 1, 256> = sse_embedded::Server::unattached(
    ///     Default::default(), Default::default(), sse_wire::History::<4, 512>::new());
    /// let handle = sockets.add(tcp::Socket::new(tcp::SocketBuffer::new(&mut rx[..]), tcp::SocketBuffer::new(&mut tx[..])));
    /// server.attach([handle]);
    /// ```
    pub fn attach(&mut self, sockets: [SocketHandle; SLOTS]) {
        self.sockets = Some(sockets);
        for slot in &mut self.slots {
            slot.state = State::Idle;
        }
    }

    /// Sets the boot epoch of the ids given to events broadcast without one
    /// (see [`Config::epoch`]); for a server built before the epoch was
    /// known.
    ///
    /// ```
    /// # let mut server: sse_embedded::Server<'_, _, _, 1, 256> = sse_embedded::Server::unattached(
    /// #     Default::default(), Default::default(), sse_wire::History::<4, 512>::new());
    /// server.set_epoch(0x2a);
    /// let seq = server.broadcast(&sse_wire::Event::new().with_data("x")).unwrap();
    /// assert_eq!(server.history().get(seq).unwrap().frame, b"id: 0000002a-0\ndata: x\n\n");
    /// ```
    pub fn set_epoch(&mut self, epoch: u32) {
        self.config.epoch = Some(epoch);
    }

    /// The socket of slot `index`, once attached.
    fn handle(&self, index: usize) -> Option<SocketHandle> {
        self.sockets.as_ref()?.get(index).copied()
    }

    /// The server's counters.
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>) {
    /// let open = server.stats().streams;
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats;
        stats.streams = self.slots.iter().filter(|s| matches!(s.state, State::Streaming { .. })).count();
        stats
    }

    /// The replay history (read-only).
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>) {
    /// let stored = server.history().len();
    /// # }
    /// ```
    pub fn history(&self) -> &HistoryIn<I, B> {
        &self.history
    }

    /// The clients streaming now.
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>) {
    /// let count = server.streams().count();
    /// # }
    /// ```
    pub fn streams(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, State::Streaming { .. }))
            .map(|(i, _)| ClientId(i))
    }

    /// Queues `event` to every streaming client: it is encoded once, into
    /// the history (with the next sequence number as id if it has none),
    /// and sent by the following polls. Returns its sequence number.
    ///
    /// # Errors
    /// [`HistoryError::TooLarge`] if the event does not fit the history at
    /// all (then it is not sent, and the history is cleared so that no
    /// client resumes across it); [`HistoryError::Format`].
    ///
    /// ```
    /// # fn f(server: &mut sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>) {
    /// let t = 21.5;
    /// let data = format_args!("{{\"t\":{t}}}");
    /// server.broadcast(&sse_wire::Event::new().with_data_fmt(&data)).unwrap();
    /// # }
    /// ```
    pub fn broadcast(&mut self, event: &Event<'_>) -> Result<u64, HistoryError> {
        route::publish(&mut self.history, self.config.epoch, event)
    }

    /// Sends `event` to one streaming client only, now, through the
    /// resumable encoder into the TX buffer's contiguous windows. The
    /// frame is written whole or not at all.
    ///
    /// # Errors
    /// See [`SendError`].
    ///
    /// ```
    /// # fn f(server: &mut sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>, sockets: &mut smoltcp::iface::SocketSet<'_>) {
    /// let clients: heapless::Vec<_, 2> = server.streams().collect();
    /// for client in clients {
    ///     let _ = server.send_to(sockets, client, &sse_wire::Event::new().with_data("just you"));
    /// }
    /// # }
    /// ```
    pub fn send_to(
        &mut self,
        sockets: &mut SocketSet<'_>,
        client: ClientId,
        event: &Event<'_>,
    ) -> Result<(), SendError> {
        let (Some(handle), Some(slot)) = (self.handle(client.0), self.slots.get_mut(client.0)) else {
            return Err(SendError::NotStreaming);
        };
        let State::Streaming(stream) = &mut slot.state else {
            return Err(SendError::NotStreaming);
        };
        let socket = sockets.get_mut::<tcp::Socket<'_>>(handle);
        // The stream head goes first.
        if !stream.started(slot.len) || !socket.may_send() {
            return Err(SendError::WouldBlock);
        }
        let needed = event.encoded_len();
        if needed > socket.send_capacity() {
            return Err(SendError::TooLarge);
        }
        if needed > free(socket) {
            return Err(SendError::WouldBlock);
        }
        let mut encoder = event.encoder();
        while !encoder.is_complete() {
            let progress = socket
                .send(|window| match encoder.encode(window) {
                    Ok(status) => (status.written(), Ok(status)),
                    Err(e) => (0, Err(e)),
                })
                .map_err(|_| SendError::WouldBlock)?;
            match progress {
                Ok(EncodeStatus::Complete(_)) => break,
                Ok(EncodeStatus::Partial(0)) => return Err(SendError::WouldBlock),
                Ok(EncodeStatus::Partial(_)) => {}
                Err(_) => return Err(SendError::Format),
            }
        }
        // Real traffic: the next poll restarts the keep-alive timer.
        stream.fresh = true;
        Ok(())
    }

    /// Drives every slot: accepts connections, reads and answers requests,
    /// writes pending events and keep-alives, enforces timeouts, frees the
    /// slots of closed connections. Call it after every `Interface::poll`
    /// (and after [`broadcast`](Self::broadcast)), then poll the interface
    /// again to transmit.
    ///
    /// ```
    /// # fn f(server: &mut sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>, sockets: &mut smoltcp::iface::SocketSet<'_>) {
    /// server.poll(smoltcp::time::Instant::from_millis(1000), sockets);
    /// # }
    /// ```
    pub fn poll(&mut self, now: Instant, sockets: &mut SocketSet<'_>) {
        for index in 0..SLOTS {
            let streams = self.slots.iter().filter(|s| matches!(s.state, State::Streaming { .. })).count();
            // The stream a stream request would displace, if the slots are full.
            let victim =
                slots::stalest(self.slots.iter().enumerate().filter(|&(i, _)| i != index).filter_map(
                    |(i, slot)| match &slot.state {
                        State::Streaming(stream) => Some(stream.held(i)),
                        _ => None,
                    },
                ));
            let (Some(handle), Some(slot)) = (self.handle(index), self.slots.get_mut(index)) else {
                continue;
            };
            let socket = sockets.get_mut::<tcp::Socket<'_>>(handle);
            let mut ctx = Ctx {
                config: &self.config,
                limits: &self.limits,
                history: &self.history,
                stats: &mut self.stats,
                now,
                admit: (streams, SLOTS, victim),
                purge: None,
            };
            ctx.drive(slot, socket);
            if let Some(victim) = ctx.purge
                && let (Some(handle), Some(slot)) = (self.handle(victim), self.slots.get_mut(victim))
            {
                log_debug!("sse-embedded: closing the stalest stream for a new one");
                sockets.get_mut::<tcp::Socket<'_>>(handle).abort();
                // Not `Idle`: a slot driven later in this poll would listen
                // at once and forget the peer before the interface sent it
                // the reset; `Closing` frees the slot on the next poll.
                slot.state = State::Closing { since: now };
            }
        }
    }

    /// When the server next needs a poll even without network traffic (a
    /// keep-alive, request or stall timeout is due), for a main loop that
    /// sleeps: sleep until the earlier of this and the interface's
    /// `poll_at`, or until a packet arrives.
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_wire::HistoryEntry; 4], [u8; 1024], 2, 512>) {
    /// let wake = server.poll_at();
    /// # }
    /// ```
    pub fn poll_at(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|slot| match slot.state {
                State::Idle => None,
                State::Reading { since } | State::Responding { since, .. } | State::Closing { since } => {
                    Some(later(since, Some(self.limits.request_timeout_ms))?)
                }
                State::Streaming(stream) => stream.deadline(&self.limits),
            })
            .min()
    }
}

/// `t` + `ms` milliseconds, saturating instead of overflowing; `None`
/// without a limit.
pub(crate) fn later(t: Instant, ms: Option<u32>) -> Option<Instant> {
    ms.map(|ms| Instant::from_micros(t.total_micros().saturating_add(i64::from(ms).saturating_mul(1000))))
}

/// A limit in milliseconds as smoltcp's duration.
pub(crate) fn duration(ms: Option<u32>) -> Option<Duration> {
    ms.map(|ms| Duration::from_millis(u64::from(ms)))
}

/// The instant as a number for the purge rule.
pub(crate) fn stamp(t: Instant) -> u64 {
    u64::try_from(t.total_micros()).unwrap_or(0)
}
