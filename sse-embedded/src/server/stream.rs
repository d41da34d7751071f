//! A streaming connection: the stream head, then every event of the
//! history from its next sequence number on, keep-alive comments, and the
//! bounds on a client that does not keep up.
//!
//! Invariant: an event frame is written only when it fits whole in the
//! free part of the TX buffer, so a stream never holds a half-written
//! frame. Every event a client does not get (evicted before it had room,
//! or larger than its whole TX buffer) is followed by
//! [`MISSED_EVENTS`] or by closing the stream, and counted. A client that
//! accepts no bytes for the stall timeout while data waits is closed.

use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use sse_wire::{HistoryEntry, KEEP_ALIVE, MISSED_EVENTS};

use super::connection::{Ctx, State};
use super::{free, later, send, stamp};
use crate::log::log_debug;
use crate::slots::{self, Behind, Held};
use crate::stats::bump;

/// Where a stream is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stream {
    /// Bytes of the stream head sent.
    sent: usize,
    /// Sequence number of the next event to send.
    next_seq: u64,
    /// A `missed` signal is owed before the next event.
    missed: bool,
    /// When traffic was last written (keep-alive timer).
    last_write: Instant,
    /// `send_to` wrote since the last poll.
    pub(super) fresh: bool,
    /// Bytes in the TX buffer after the last poll, and when the client
    /// last took some or the buffer was empty (stall clock).
    queued: usize,
    progress: Instant,
    /// When it opened.
    opened: Instant,
}

impl Stream {
    pub(super) fn new(next_seq: u64, now: Instant) -> Self {
        Self {
            sent: 0,
            next_seq,
            missed: false,
            last_write: now,
            fresh: false,
            queued: 0,
            progress: now,
            opened: now,
        }
    }

    /// The stream as the purge rule sees it, in slot `index`.
    pub(super) fn held(&self, index: usize) -> Held {
        Held { index, opened: stamp(self.opened), progress: stamp(self.progress), waiting: self.queued > 0 }
    }

    /// Whether the stream head has been sent whole.
    pub(super) fn started(&self, head_len: usize) -> bool {
        self.sent >= head_len
    }

    /// When the stream next needs a poll without network traffic.
    pub(super) fn deadline(&self, limits: &crate::Limits) -> Option<Instant> {
        let keep_alive = later(self.last_write, limits.keep_alive_ms);
        let stall = later(self.progress, limits.stall_timeout_ms).filter(|_| self.queued > 0);
        match (keep_alive, stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<'a, I, B> Ctx<'_, 'a, I, B>
where
    I: AsRef<[HistoryEntry]> + AsMut<[HistoryEntry]>,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    pub(super) fn stream(&mut self, head: &[u8], socket: &mut tcp::Socket<'_>, mut s: Stream) -> State<'a> {
        // The client closed its side, reset, or TCP gave up on it: free
        // the slot.
        if !socket.is_active() || !socket.may_recv() {
            return self.close(socket, true);
        }
        discard_input(socket);
        if s.fresh {
            s.last_write = self.now;
            s.fresh = false;
        }
        // The stall clock: progress is the client taking bytes (the queue
        // shrank) or nothing waiting.
        let queued = socket.send_queue();
        if queued == 0 || queued < s.queued {
            s.progress = self.now;
        }
        if let Some(due) = later(s.progress, self.limits.stall_timeout_ms)
            && queued > 0
            && self.now >= due
        {
            bump(&mut self.stats.stalled);
            log_debug!("sse-embedded: closing a stream whose client stopped reading");
            return self.close(socket, true);
        }
        if let Some(rest) = head.get(s.sent..)
            && !rest.is_empty()
        {
            s.sent = s.sent.saturating_add(send(socket, rest));
            s.last_write = self.now;
        }
        if s.started(head.len()) {
            match self.send_events(socket, &mut s) {
                Ok(()) => {}
                Err(closed) => return closed,
            }
            if let Some(due) = later(s.last_write, self.limits.keep_alive_ms)
                && self.now >= due
            {
                // Bytes that still wait in the TX buffer are traffic enough:
                // the next keep-alive is due a period from now either way,
                // so the deadline never stays in the past.
                if free(socket) >= KEEP_ALIVE.len() {
                    send(socket, KEEP_ALIVE);
                }
                s.last_write = self.now;
            }
        }
        s.queued = socket.send_queue();
        State::Streaming(s)
    }

    /// Writes every stored event from `s.next_seq` on that fits, with the
    /// `missed` signal where events were lost; `Err` with the new state if
    /// the slow-client policy closed the stream.
    fn send_events(&mut self, socket: &mut tcp::Socket<'_>, s: &mut Stream) -> Result<(), State<'a>> {
        loop {
            // Evicted before it could be sent: the slow-client policy.
            if !s.missed {
                match slots::behind(
                    s.next_seq,
                    self.history.oldest_seq(),
                    self.limits.slow_client,
                    self.stats,
                ) {
                    Behind::No => {}
                    Behind::Close => return Err(self.close(socket, true)),
                    Behind::Missed(oldest) => {
                        s.missed = true;
                        s.next_seq = oldest;
                    }
                }
            }
            if s.missed {
                if free(socket) < MISSED_EVENTS.len() {
                    return Ok(());
                }
                send(socket, MISSED_EVENTS);
                bump(&mut self.stats.missed_sent);
                s.missed = false;
                s.last_write = self.now;
                continue;
            }
            let Some(stored) = self.history.get(s.next_seq) else { return Ok(()) };
            let frame = stored.frame;
            if frame.len() > socket.send_capacity() {
                // It can never be sent to this client: tell it instead.
                slots::oversized(self.stats);
                s.next_seq = s.next_seq.saturating_add(1);
                s.missed = true;
                continue;
            }
            if frame.len() > free(socket) {
                return Ok(());
            }
            send(socket, frame);
            s.next_seq = s.next_seq.saturating_add(1);
            s.last_write = self.now;
        }
    }
}

/// Reads and drops whatever the client sends on a connection that has
/// its request already (so its RX window never closes).
pub(super) fn discard_input(socket: &mut tcp::Socket<'_>) {
    while socket.can_recv() {
        match socket.recv(|data| (data.len(), data.len())) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
