//! The poll-driven server over smoltcp TCP sockets.
//!
//! Invariant: memory is fixed when the server is made: `SLOTS` slots of
//! `HEAD` bytes each, the caller's sockets and their buffers, and the
//! replay history, which is also the broadcast queue: `broadcast` encodes
//! an event once into it, and each streaming slot keeps only the sequence
//! number of the next event it must send. An event frame is written to a
//! socket only when it fits whole in the free part of the TX buffer, so a
//! stream never holds a half-written frame, and a client whose buffer stays
//! full never blocks the others: it is skipped, and later catches up from
//! the history or, if its next event was evicted, gets the missed-events
//! signal (or is closed, per [`SlowClient`]).

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use sse_core::{
    Event, HistoryError, HistoryIn, KEEP_ALIVE, MISSED_EVENTS, Slot as HistorySlot, Status as EncodeStatus,
};

use crate::log::{log_debug, log_warn};
use crate::route::{self, Config, Parsed, Route, Status};

/// What to do with a streaming client whose next event was evicted from
/// the history before its TX buffer had room for it.
///
/// ```
/// let policy = sse_embedded::SlowClient::default();
/// assert_eq!(policy, sse_embedded::SlowClient::CatchUp);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlowClient {
    /// Send it [`MISSED_EVENTS`] (an event of type `missed`) and go on from
    /// the oldest event still stored. Counted in [`Stats::lagged`].
    #[default]
    CatchUp,
    /// Close its connection; its EventSource reconnects with
    /// `Last-Event-ID`. Counted in [`Stats::slow_closed`].
    Close,
}

/// Timing and slot settings of the smoltcp [`Server`].
///
/// ```
/// use smoltcp::time::Duration;
/// let timing = sse_embedded::Timing { keep_alive: Some(Duration::from_secs(30)), ..Default::default() };
/// assert_eq!(timing.request_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// A request head must arrive, and a page be sent, within this time;
    /// slower connections are dropped (default 5 s).
    pub request_timeout: Duration,
    /// Keep-alive comment after this long without traffic on a stream
    /// (default 15 s; `None`: never).
    pub keep_alive: Option<Duration>,
    /// Most streams at once; further stream requests get 503 with
    /// `Retry-After`. Default: one less than the number of slots, so that
    /// one slot always remains to serve pages and say 503.
    pub max_streams: Option<usize>,
    /// The slow-client policy.
    pub slow_client: SlowClient,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            keep_alive: Some(Duration::from_secs(15)),
            max_streams: None,
            slow_client: SlowClient::CatchUp,
        }
    }
}

/// Counters of a [`Server`].
///
/// ```
/// let stats = sse_embedded::Stats::default();
/// assert_eq!(stats.streams, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Streams open now.
    pub streams: usize,
    /// Streams opened since start.
    pub streams_opened: u64,
    /// Pages and error responses sent.
    pub responses: u64,
    /// Stream requests refused with 503.
    pub busy: u64,
    /// Connections dropped for not sending a request (or not reading a
    /// page) in time.
    pub timeouts: u64,
    /// Times a streaming client missed events ([`SlowClient::CatchUp`]).
    pub lagged: u64,
    /// Events such clients missed.
    pub missed_events: u64,
    /// Streams closed for being too slow ([`SlowClient::Close`]).
    pub slow_closed: u64,
    /// Event frames larger than a client's whole TX buffer, skipped.
    pub oversized: u64,
}

/// A streaming client, for [`Server::send_to`].
///
/// ```
/// # fn f(server: &sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>) {
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

#[derive(Clone, Copy, Debug)]
enum State<'a> {
    /// Listening (or about to) for a connection.
    Idle,
    /// Reading a request head into the slot buffer.
    Reading { since: Instant },
    /// Sending the response head in the buffer, then `body`, then closing.
    Responding { since: Instant, sent: usize, body: &'a [u8] },
    /// Streaming: the head in the buffer first, then events from the
    /// history from `next_seq` on.
    /// `fresh`: `send_to` wrote since the last poll.
    Streaming { sent: usize, next_seq: u64, missed: bool, last_write: Instant, fresh: bool },
    /// Closed by us; waiting for the connection to finish.
    Closing { since: Instant },
}

struct SlotState<'a, const HEAD: usize> {
    socket: SocketHandle,
    state: State<'a>,
    /// The request head, then the response head.
    buf: [u8; HEAD],
    len: usize,
}

/// An SSE server over smoltcp: `SLOTS` connection slots of `HEAD` bytes
/// each (the most a request head may take; 431 beyond), and a replay
/// history that is also the broadcast queue. Call [`poll`](Self::poll)
/// after each `Interface::poll`.
///
/// ```
/// use smoltcp::iface::SocketSet;
/// use smoltcp::socket::tcp;
/// use sse_core::{Event, History};
/// use sse_embedded::{Config, Server, Timing};
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
///     Server::new(Config::new(), Timing::default(), handles, History::<8, 2048>::new());
/// server.broadcast(&Event::new().with_data("hello")).unwrap();
/// // In the main loop: iface.poll(now, &mut device, &mut sockets); server.poll(now, &mut sockets);
/// server.poll(smoltcp::time::Instant::from_millis(0), &mut sockets);
/// ```
pub struct Server<'a, I, B, const SLOTS: usize, const HEAD: usize> {
    config: Config<'a>,
    timing: Timing,
    slots: [SlotState<'a, HEAD>; SLOTS],
    history: HistoryIn<I, B>,
    stats: Stats,
}

impl<I, B, const SLOTS: usize, const HEAD: usize> core::fmt::Debug for Server<'_, I, B, SLOTS, HEAD> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server").field("stats", &self.stats).finish_non_exhaustive()
    }
}

/// Writes as much of `bytes` as the socket takes; returns how much.
fn send(socket: &mut tcp::Socket<'_>, bytes: &[u8]) -> usize {
    socket.send_slice(bytes).unwrap_or(0)
}

fn free(socket: &tcp::Socket<'_>) -> usize {
    socket.send_capacity().saturating_sub(socket.send_queue())
}

impl<'a, I, B, const SLOTS: usize, const HEAD: usize> Server<'a, I, B, SLOTS, HEAD>
where
    I: AsRef<[HistorySlot]> + AsMut<[HistorySlot]>,
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
    ///     Default::default(), Default::default(), [handle], sse_core::History::<4, 512>::new());
    /// assert_eq!(server.stats().streams, 0);
    /// ```
    pub fn new(
        config: Config<'a>,
        timing: Timing,
        sockets: [SocketHandle; SLOTS],
        history: HistoryIn<I, B>,
    ) -> Self {
        Self {
            config,
            timing,
            slots: sockets.map(|socket| SlotState { socket, state: State::Idle, buf: [0; HEAD], len: 0 }),
            history,
            stats: Stats::default(),
        }
    }

    /// The server's counters.
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>) {
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
    /// # fn f(server: &sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>) {
    /// let stored = server.history().len();
    /// # }
    /// ```
    pub fn history(&self) -> &HistoryIn<I, B> {
        &self.history
    }

    /// The clients streaming now.
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>) {
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
    /// # fn f(server: &mut sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>) {
    /// let t = 21.5;
    /// let data = format_args!("{{\"t\":{t}}}");
    /// server.broadcast(&sse_core::Event::new().with_data_fmt(&data)).unwrap();
    /// # }
    /// ```
    pub fn broadcast(&mut self, event: &Event<'_>) -> Result<u64, HistoryError> {
        route::publish(&mut self.history, event)
    }

    /// Sends `event` to one streaming client only, now, through the
    /// resumable encoder into the TX buffer's contiguous windows. The
    /// frame is written whole or not at all.
    ///
    /// # Errors
    /// See [`SendError`].
    ///
    /// ```
    /// # fn f(server: &mut sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>, sockets: &mut smoltcp::iface::SocketSet<'_>) {
    /// let clients: heapless::Vec<_, 2> = server.streams().collect();
    /// for client in clients {
    ///     let _ = server.send_to(sockets, client, &sse_core::Event::new().with_data("just you"));
    /// }
    /// # }
    /// ```
    pub fn send_to(
        &mut self,
        sockets: &mut SocketSet<'_>,
        client: ClientId,
        event: &Event<'_>,
    ) -> Result<(), SendError> {
        let slot = self.slots.get_mut(client.0).ok_or(SendError::NotStreaming)?;
        let State::Streaming { sent, fresh, .. } = &mut slot.state else {
            return Err(SendError::NotStreaming);
        };
        let socket = sockets.get_mut::<tcp::Socket<'_>>(slot.socket);
        // The stream head goes first.
        if *sent < slot.len || !socket.may_send() {
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
        *fresh = true;
        Ok(())
    }

    /// Drives every slot: accepts connections, reads and answers requests,
    /// writes pending events and keep-alives, enforces timeouts, frees the
    /// slots of closed connections. Call it after every `Interface::poll`
    /// (and after [`broadcast`](Self::broadcast)), then poll the interface
    /// again to transmit.
    ///
    /// ```
    /// # fn f(server: &mut sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>, sockets: &mut smoltcp::iface::SocketSet<'_>) {
    /// server.poll(smoltcp::time::Instant::from_millis(1000), sockets);
    /// # }
    /// ```
    pub fn poll(&mut self, now: Instant, sockets: &mut SocketSet<'_>) {
        let max_streams = self.timing.max_streams.unwrap_or(SLOTS.saturating_sub(1).max(1));
        for index in 0..SLOTS {
            let streams = self.slots.iter().filter(|s| matches!(s.state, State::Streaming { .. })).count();
            let Some(slot) = self.slots.get_mut(index) else { continue };
            let socket = sockets.get_mut::<tcp::Socket<'_>>(slot.socket);
            let mut ctx = Ctx {
                config: &self.config,
                timing: &self.timing,
                history: &self.history,
                stats: &mut self.stats,
                now,
                can_stream: streams < max_streams,
            };
            ctx.drive(slot, socket);
        }
    }

    /// When the server next needs a poll even without network traffic (a
    /// keep-alive or timeout is due), for a main loop that sleeps.
    ///
    /// ```
    /// # fn f(server: &sse_embedded::Server<'_, [sse_core::Slot; 4], [u8; 1024], 2, 512>) {
    /// let wake = server.poll_at();
    /// # }
    /// ```
    pub fn poll_at(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|slot| match slot.state {
                State::Idle => None,
                State::Reading { since } | State::Responding { since, .. } | State::Closing { since } => {
                    Some(later(since, self.timing.request_timeout))
                }
                State::Streaming { last_write, .. } => self.timing.keep_alive.map(|k| later(last_write, k)),
            })
            .min()
    }
}

/// `t + d`, saturating instead of overflowing.
fn later(t: Instant, d: Duration) -> Instant {
    let micros = i64::try_from(d.total_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(t.total_micros().saturating_add(micros))
}

/// A request's answer, no longer borrowing the request.
#[derive(Clone, Copy, Debug)]
enum Decision<'a> {
    Stream(route::StreamStart),
    Page { page: &'a crate::Page<'a>, head_only: bool },
    Error(Status),
}

/// What one slot needs to be driven.
struct Ctx<'c, 'a, I, B> {
    config: &'c Config<'a>,
    timing: &'c Timing,
    history: &'c HistoryIn<I, B>,
    stats: &'c mut Stats,
    now: Instant,
    can_stream: bool,
}

impl<'a, I, B> Ctx<'_, 'a, I, B>
where
    I: AsRef<[HistorySlot]> + AsMut<[HistorySlot]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    fn drive<const HEAD: usize>(&mut self, slot: &mut SlotState<'a, HEAD>, socket: &mut tcp::Socket<'_>) {
        // One state change per step; loop so that a request that arrived
        // whole is answered in the same poll.
        // A slot that just became idle listens again on the next poll, so
        // that the interface first sends the reset of an aborted
        // connection (listening would forget its peer).
        for _ in 0..4 {
            let before = core::mem::discriminant(&slot.state);
            slot.state = self.step(slot.state, &mut slot.buf, &mut slot.len, socket);
            if core::mem::discriminant(&slot.state) == before || matches!(slot.state, State::Idle) {
                break;
            }
        }
    }

    fn expired(&self, since: Instant) -> bool {
        self.now >= later(since, self.timing.request_timeout)
    }

    fn step<const HEAD: usize>(
        &mut self,
        state: State<'a>,
        buf: &mut [u8; HEAD],
        len: &mut usize,
        socket: &mut tcp::Socket<'_>,
    ) -> State<'a> {
        match state {
            State::Idle => {
                if !socket.is_open() {
                    *len = 0;
                    if socket.listen(self.config.port).is_err() {
                        log_warn!("sse-embedded: cannot listen");
                    }
                    return State::Idle;
                }
                if socket.state() == tcp::State::Established {
                    *len = 0;
                    return State::Reading { since: self.now };
                }
                State::Idle
            }
            State::Reading { since } => {
                if !socket.is_active() {
                    return self.close(socket, true);
                }
                if let Some(rest) = buf.get_mut(*len..)
                    && let Ok(n) = socket.recv_slice(rest)
                {
                    *len = len.saturating_add(n);
                }
                let full = *len >= HEAD;
                let request = buf.get(..*len).unwrap_or_default();
                match route::route(request, full, self.config) {
                    Parsed::Partial if self.expired(since) || !socket.may_recv() => {
                        self.stats.timeouts = self.stats.timeouts.saturating_add(1);
                        log_debug!("sse-embedded: request timed out");
                        self.close(socket, true)
                    }
                    Parsed::Partial => State::Reading { since },
                    Parsed::Done(route) => {
                        let decision = self.decide(route);
                        self.answer(decision, buf, len, socket)
                    }
                }
            }
            State::Responding { since, sent, body } => {
                if !socket.is_active() {
                    return self.close(socket, true);
                }
                discard_input(socket);
                let head = buf.get(..*len).unwrap_or_default();
                let mut sent = sent;
                if let Some(rest) = head.get(sent..) {
                    sent = sent.saturating_add(send(socket, rest));
                }
                if sent >= head.len() {
                    let body_sent = sent.saturating_sub(head.len());
                    if let Some(rest) = body.get(body_sent..) {
                        sent = sent.saturating_add(send(socket, rest));
                    }
                }
                if sent >= head.len().saturating_add(body.len()) {
                    self.stats.responses = self.stats.responses.saturating_add(1);
                    return self.close(socket, false);
                }
                if self.expired(since) {
                    self.stats.timeouts = self.stats.timeouts.saturating_add(1);
                    return self.close(socket, true);
                }
                State::Responding { since, sent, body }
            }
            State::Streaming { sent, next_seq, missed, last_write, fresh } => {
                let last_write = if fresh { self.now } else { last_write };
                self.stream(buf.get(..*len).unwrap_or_default(), socket, sent, next_seq, missed, last_write)
            }
            State::Closing { since } => match socket.state() {
                tcp::State::Closed | tcp::State::TimeWait => {
                    // TIME-WAIT would hold the slot for seconds: the peer
                    // has closed too, so the slot is free now.
                    socket.abort();
                    State::Idle
                }
                _ if self.expired(since) => {
                    socket.abort();
                    State::Idle
                }
                _ => {
                    discard_input(socket);
                    State::Closing { since }
                }
            },
        }
    }

    /// Closes (or, for `abort`, resets) the connection of a slot.
    fn close(&self, socket: &mut tcp::Socket<'_>, abort: bool) -> State<'a> {
        if abort {
            socket.abort();
            State::Idle
        } else {
            socket.close();
            State::Closing { since: self.now }
        }
    }

    /// Resolves a route while the request is still borrowed.
    fn decide(&mut self, route: Route<'a, '_>) -> Decision<'a> {
        match route {
            Route::Stream { .. } if !self.can_stream => {
                self.stats.busy = self.stats.busy.saturating_add(1);
                Decision::Error(Status::Busy)
            }
            Route::Stream { last_event_id } => {
                Decision::Stream(route::stream_start(self.history, last_event_id))
            }
            Route::Page { page, head_only } => Decision::Page { page, head_only },
            Route::Error(status) => Decision::Error(status),
        }
    }

    fn answer<const HEAD: usize>(
        &mut self,
        decision: Decision<'a>,
        buf: &mut [u8; HEAD],
        len: &mut usize,
        socket: &mut tcp::Socket<'_>,
    ) -> State<'a> {
        let (written, next) = match decision {
            Decision::Stream(start) => {
                (route::write_stream_start(buf, self.config, start.missed), Some(start))
            }
            Decision::Page { page, head_only } => {
                let head = route::write_simple(
                    buf,
                    self.config,
                    (200, "OK"),
                    Some(page.content_type),
                    page.body.len(),
                    None,
                );
                let body: &'a [u8] = if head_only { &[] } else { page.body };
                match head {
                    Ok(n) => {
                        *len = n;
                        return State::Responding { since: self.now, sent: 0, body };
                    }
                    Err(_) => (Err(route::TooSmall), None),
                }
            }
            Decision::Error(status) => (route::write_error(buf, self.config, status), None),
        };
        let Ok(n) = written else {
            log_warn!("sse-embedded: response head larger than the slot buffer");
            return self.close(socket, true);
        };
        *len = n;
        match next {
            Some(start) => {
                self.stats.streams_opened = self.stats.streams_opened.saturating_add(1);
                if start.missed {
                    self.stats.lagged = self.stats.lagged.saturating_add(1);
                }
                State::Streaming {
                    sent: 0,
                    next_seq: start.next_seq,
                    missed: false,
                    last_write: self.now,
                    fresh: false,
                }
            }
            None => State::Responding { since: self.now, sent: 0, body: &[] },
        }
    }

    fn stream(
        &mut self,
        head: &[u8],
        socket: &mut tcp::Socket<'_>,
        mut sent: usize,
        mut next_seq: u64,
        mut missed: bool,
        mut last_write: Instant,
    ) -> State<'a> {
        // The client closed its side or reset: free the slot.
        if !socket.is_active() || !socket.may_recv() {
            return self.close(socket, true);
        }
        discard_input(socket);
        if let Some(rest) = head.get(sent..)
            && !rest.is_empty()
        {
            sent = sent.saturating_add(send(socket, rest));
            last_write = self.now;
        }
        if sent < head.len() {
            return State::Streaming { sent, next_seq, missed, last_write, fresh: false };
        }
        loop {
            // Evicted before it could be sent: the slow-client policy.
            if next_seq < self.history.oldest_seq() && !missed {
                let skipped = self.history.oldest_seq().saturating_sub(next_seq);
                self.stats.missed_events = self.stats.missed_events.saturating_add(skipped);
                if self.timing.slow_client == SlowClient::Close {
                    self.stats.slow_closed = self.stats.slow_closed.saturating_add(1);
                    return self.close(socket, true);
                }
                self.stats.lagged = self.stats.lagged.saturating_add(1);
                missed = true;
                next_seq = self.history.oldest_seq();
            }
            if missed {
                if free(socket) < MISSED_EVENTS.len() {
                    break;
                }
                send(socket, MISSED_EVENTS);
                missed = false;
                last_write = self.now;
                continue;
            }
            let Some(stored) = self.history.get(next_seq) else { break };
            let frame = stored.frame;
            if frame.len() > socket.send_capacity() {
                self.stats.oversized = self.stats.oversized.saturating_add(1);
                next_seq = next_seq.saturating_add(1);
                continue;
            }
            if frame.len() > free(socket) {
                break;
            }
            send(socket, frame);
            next_seq = next_seq.saturating_add(1);
            last_write = self.now;
        }
        if let Some(period) = self.timing.keep_alive
            && self.now >= later(last_write, period)
            && free(socket) >= KEEP_ALIVE.len()
        {
            send(socket, KEEP_ALIVE);
            last_write = self.now;
        }
        State::Streaming { sent, next_seq, missed, last_write, fresh: false }
    }
}

/// Reads and drops whatever the client sends on a connection that has
/// its request already (so its RX window never closes).
fn discard_input(socket: &mut tcp::Socket<'_>) {
    while socket.can_recv() {
        match socket.recv(|data| (data.len(), data.len())) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
