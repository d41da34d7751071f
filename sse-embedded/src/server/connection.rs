//! One connection slot of the smoltcp server: its state machine from
//! listening to closing.
//!
//! Invariant: a slot changes state only in [`Ctx::step`], one change per
//! step, and every state but `Idle` and `Streaming` has the request
//! timeout as its deadline (a stream has the stall timeout and smoltcp's
//! TCP timeout). A slot owns its `HEAD`-byte buffer: the request head, then
//! the response head.

use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use sse_wire::{HistoryEntry, HistoryIn};

use super::stream::{Stream, discard_input};
use super::{duration, later, send};
use crate::limits::Limits;
use crate::log::{log_debug, log_warn};
use crate::route::{self, Config, Parsed, Route, Status};
use crate::slots::{self, Admit};
use crate::stats::{Stats, bump};

#[derive(Clone, Copy, Debug)]
pub(super) enum State<'a> {
    /// Listening (or about to) for a connection.
    Idle,
    /// Reading a request head into the slot buffer.
    Reading { since: Instant },
    /// Sending the response head in the buffer, then `body`, then closing.
    Responding { since: Instant, sent: usize, body: &'a [u8] },
    /// Streaming: the head in the buffer first, then events from the
    /// history.
    Streaming(Stream),
    /// Closed by us; waiting for the connection to finish.
    Closing { since: Instant },
}

/// A connection slot: its state and buffer (its socket is the server's
/// socket of the same index).
pub(super) struct Connection<'a, const HEAD: usize> {
    pub(super) state: State<'a>,
    /// The request head, then the response head.
    pub(super) buf: [u8; HEAD],
    pub(super) len: usize,
}

impl<const HEAD: usize> Connection<'_, HEAD> {
    /// A slot with no connection yet.
    pub(super) const IDLE: Self = Self { state: State::Idle, buf: [0; HEAD], len: 0 };
}

/// A request's answer, no longer borrowing the request.
#[derive(Clone, Copy, Debug)]
enum Decision<'a> {
    Stream(route::StreamStart),
    Page { page: &'a crate::Page<'a>, head_only: bool },
    Error(Status),
}

/// What one connection needs to be driven.
pub(super) struct Ctx<'c, 'a, I, B> {
    pub(super) config: &'c Config<'a>,
    pub(super) limits: &'c Limits,
    pub(super) history: &'c HistoryIn<I, B>,
    pub(super) stats: &'c mut Stats,
    pub(super) now: Instant,
    /// Streams open, slots, and the stream a newcomer would displace.
    pub(super) admit: (usize, usize, Option<usize>),
    /// Set when a stream request displaced that stream: the server closes it.
    pub(super) purge: Option<usize>,
}

impl<'a, I, B> Ctx<'_, 'a, I, B>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    pub(super) fn drive<const HEAD: usize>(
        &mut self,
        slot: &mut Connection<'a, HEAD>,
        socket: &mut tcp::Socket<'_>,
    ) {
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
        later(since, Some(self.limits.request_timeout_ms)).is_some_and(|due| self.now >= due)
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
                    // Kept by smoltcp across connections; set each time so
                    // that the limits are the server's, whatever came before.
                    socket.set_timeout(duration(self.limits.tcp_timeout_ms));
                    socket.set_keep_alive(duration(self.limits.tcp_keep_alive_ms));
                    if socket.listen(self.config.port).is_err() {
                        log_warn!("sse-embedded: cannot listen");
                    }
                    return State::Idle;
                }
                // Past the handshake: ESTABLISHED, or CLOSE-WAIT when the
                // client sent its request and FIN (or only a FIN) before
                // this poll. Either is read (and answered) with the
                // request timeout; left in `Idle`, a CLOSE-WAIT socket
                // would hold the slot for ever.
                match socket.state() {
                    tcp::State::Listen | tcp::State::SynReceived => State::Idle,
                    _ => {
                        *len = 0;
                        State::Reading { since: self.now }
                    }
                }
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
                    Parsed::Partial if self.expired(since) => {
                        bump(&mut self.stats.timeouts);
                        log_debug!("sse-embedded: request timed out");
                        self.close(socket, true)
                    }
                    // The client closed before its head was whole.
                    Parsed::Partial if !socket.may_recv() => self.close(socket, true),
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
                    bump(&mut self.stats.responses);
                    return self.close(socket, false);
                }
                if self.expired(since) {
                    bump(&mut self.stats.timeouts);
                    return self.close(socket, true);
                }
                State::Responding { since, sent, body }
            }
            State::Streaming(stream) => self.stream(buf.get(..*len).unwrap_or_default(), socket, stream),
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
    pub(super) fn close(&self, socket: &mut tcp::Socket<'_>, abort: bool) -> State<'a> {
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
            Route::Stream { last_event_id } => {
                let (open, slots, victim) = self.admit;
                match slots::admit(open, slots, self.limits, self.stats, || victim) {
                    Admit::Stream => {}
                    Admit::Purge(victim) => self.purge = Some(victim),
                    Admit::Busy => return Decision::Error(Status::Busy),
                }
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
                bump(&mut self.stats.streams_opened);
                if start.missed {
                    bump(&mut self.stats.missed_sent);
                }
                State::Streaming(Stream::new(start.next_seq, self.now))
            }
            None => State::Responding { since: self.now, sent: 0, body: &[] },
        }
    }
}
