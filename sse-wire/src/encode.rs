//! Encoding events into bytes: one-shot, exact length, and resumable.
//!
//! Invariant: the writer sinks and the resumable [`Encoder`] are fed by one
//! piece generator ([`step`]); the slice and `heapless::Vec` sinks take the
//! direct path of `direct.rs` for borrowed text, and the property tests hold
//! the two to identical bytes. Nothing here panics on any
//! input; an encoder whose buffer is at least `encoded_len()` bytes always
//! succeeds (given a `Display` that formats the same text each time).
//!
//! Frame layout (WHATWG HTML §9.2.6 "Interpreting an event stream" read
//! backwards): comment lines, `event`, `id`, `retry`, data lines, blank
//! line. Every line ends with LF and every field is written as
//! `name: value`, so a value that starts with a space keeps it.

use core::fmt::{self, Write as _};

use crate::error::EncodeError;
use crate::event::{Data, Event};

const COMMENT: &[u8] = b": ";
const EVENT: &[u8] = b"event: ";
const ID: &[u8] = b"id: ";
const RETRY: &[u8] = b"retry: ";
const DATA: &[u8] = b"data: ";
const LF: &[u8] = b"\n";

/// The keep-alive frame: an empty comment and a blank line. Clients ignore
/// it; proxies and load balancers see traffic and keep the connection.
///
/// ```
/// assert_eq!(sse_wire::KEEP_ALIVE, b":\n\n");
/// ```
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// Which part of the frame the generator is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Comment,
    Event,
    Id,
    Retry,
    Data,
    End,
    Done,
}

/// Which part of the current line the generator is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Prefix,
    Value,
    Eol,
}

/// Position of the piece generator. For multi-line text (comment, data) it
/// remembers where the current line starts and ends and where the next one
/// starts, so each line end is searched for once, whatever the windows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor {
    stage: Stage,
    part: Part,
    line: usize,
    end: usize,
    next: Option<usize>,
}

impl Cursor {
    pub(crate) const START: Self =
        Self { stage: Stage::Comment, part: Part::Prefix, line: 0, end: 0, next: None };

    fn enter(&mut self, stage: Stage) {
        *self = Self { stage, ..Self::START };
    }
}

/// Decimal digits of a `u64`, right-aligned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    pub(crate) fn new(mut n: u64) -> Self {
        let mut buf = [0u8; 20];
        let mut start = buf.len();
        for slot in buf.iter_mut().rev() {
            // `n % 10 < 10`, so the cast and the addition cannot overflow.
            *slot = b'0'.wrapping_add((n % 10) as u8);
            start = start.saturating_sub(1);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self { buf, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }
}

/// One piece of output.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Piece<'a> {
    Bytes(&'a [u8]),
    Digits(Digits),
}

impl Piece<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b,
            Self::Digits(d) => d.as_bytes(),
        }
    }
}

/// What the generator produces next.
#[derive(Clone, Copy)]
pub(crate) enum Step<'a> {
    Piece(Piece<'a>),
    /// Data given as `Display`: the caller formats it through a
    /// [`LineSplitter`], which writes the data lines.
    Fmt(&'a dyn fmt::Display),
    Done,
}

/// Finds the line that starts at `start`: returns where it ends and where
/// the next line starts (`None` if this is the last line). CR LF, LF and a
/// lone CR each end a line.
fn line_at(text: &[u8], start: usize) -> (usize, Option<usize>) {
    let rest = text.get(start..).unwrap_or(&[]);
    match memchr::memchr2(b'\r', b'\n', rest) {
        Some(i) => {
            let end = start.saturating_add(i);
            let crlf = text.get(end) == Some(&b'\r') && text.get(end.saturating_add(1)) == Some(&b'\n');
            let next = end.saturating_add(if crlf { 2 } else { 1 });
            (end, Some(next))
        }
        None => (text.len(), None),
    }
}

/// Produces the next piece of a multi-line field and advances `c`.
fn multi_line<'a>(text: &'a [u8], prefix: &'static [u8], c: &mut Cursor, then: Stage) -> Piece<'a> {
    match c.part {
        Part::Prefix => {
            let (end, next) = line_at(text, c.line);
            c.end = end;
            c.next = next;
            c.part = Part::Value;
            Piece::Bytes(prefix)
        }
        Part::Value => {
            c.part = Part::Eol;
            Piece::Bytes(text.get(c.line..c.end).unwrap_or(&[]))
        }
        Part::Eol => {
            match c.next {
                Some(next) => {
                    c.line = next;
                    c.part = Part::Prefix;
                }
                None => c.enter(then),
            }
            Piece::Bytes(LF)
        }
    }
}

/// Produces the next piece of a single-line field and advances `c`.
fn single_line<'a>(value: Piece<'a>, prefix: &'static [u8], c: &mut Cursor, then: Stage) -> Piece<'a> {
    match c.part {
        Part::Prefix => {
            c.part = Part::Value;
            Piece::Bytes(prefix)
        }
        Part::Value => {
            c.part = Part::Eol;
            value
        }
        Part::Eol => {
            c.enter(then);
            Piece::Bytes(LF)
        }
    }
}

/// The piece generator: the one place that decides the bytes of a frame.
pub(crate) fn step<'a>(ev: &Event<'a>, c: &mut Cursor) -> Step<'a> {
    loop {
        let piece = match c.stage {
            Stage::Comment => match ev.comment() {
                Some(text) => multi_line(text.as_bytes(), COMMENT, c, Stage::Event),
                None => {
                    c.enter(Stage::Event);
                    continue;
                }
            },
            Stage::Event => match ev.event() {
                Some(name) => single_line(Piece::Bytes(name.as_bytes()), EVENT, c, Stage::Id),
                None => {
                    c.enter(Stage::Id);
                    continue;
                }
            },
            Stage::Id => match ev.id() {
                Some(id) => single_line(Piece::Bytes(id.as_bytes()), ID, c, Stage::Retry),
                None => {
                    c.enter(Stage::Retry);
                    continue;
                }
            },
            Stage::Retry => match ev.retry() {
                Some(ms) => single_line(Piece::Digits(Digits::new(ms)), RETRY, c, Stage::Data),
                None => {
                    c.enter(Stage::Data);
                    continue;
                }
            },
            Stage::Data => match ev.data() {
                Some(Data::Text(text)) => multi_line(text.as_bytes(), DATA, c, Stage::End),
                Some(Data::Display(d)) => {
                    c.enter(Stage::End);
                    return Step::Fmt(d);
                }
                None => {
                    c.enter(Stage::End);
                    continue;
                }
            },
            // The blank line that dispatches the event (§9.2.6: "If the line
            // is empty (a blank line): Dispatch the event").
            Stage::End => {
                c.enter(Stage::Done);
                Piece::Bytes(LF)
            }
            Stage::Done => return Step::Done,
        };
        return Step::Piece(piece);
    }
}

/// Why a sink stopped taking bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Halt {
    Full,
    Format,
}

/// An event measured before writing: the exact frame length, and for
/// borrowed text the direct path's plan.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measured {
    pub(crate) len: usize,
    plan: Option<crate::direct::Plan>,
}

/// Where pieces go.
pub(crate) trait Sink {
    /// Takes all of `bytes`, or as many as fit and then `Err(Halt::Full)`.
    fn put(&mut self, bytes: &[u8]) -> Result<(), Halt>;
}

/// Turns formatter output into `data:` lines. Breaks are found the same way
/// as by [`line_at`]; a CR at the end of one `write_str` waits to see whether
/// the next one starts with LF, so the chunking never changes the bytes.
pub(crate) struct LineSplitter<'s, S: Sink> {
    sink: &'s mut S,
    at_line_start: bool,
    pending_cr: bool,
    halt: Option<Halt>,
}

impl<'s, S: Sink> LineSplitter<'s, S> {
    fn new(sink: &'s mut S) -> Self {
        Self { sink, at_line_start: true, pending_cr: false, halt: None }
    }

    fn put(&mut self, bytes: &[u8]) -> fmt::Result {
        self.sink.put(bytes).map_err(|halt| {
            self.halt = Some(halt);
            fmt::Error
        })
    }

    fn content(&mut self, bytes: &[u8]) -> fmt::Result {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.at_line_start {
            self.put(DATA)?;
            self.at_line_start = false;
        }
        self.put(bytes)
    }

    /// Ends the current line (also used once at the very end: the last line
    /// of data always gets its own `data:` line, even when empty).
    fn line_break(&mut self) -> fmt::Result {
        if self.at_line_start {
            self.put(DATA)?;
        }
        self.put(LF)?;
        self.at_line_start = true;
        Ok(())
    }

    /// Formats `d` as data lines. `Err(Halt::Format)` if `d` failed.
    pub(crate) fn run(sink: &'s mut S, d: &dyn fmt::Display) -> Result<(), Halt> {
        let mut splitter = Self::new(sink);
        let formatted = write!(splitter, "{d}");
        if let Some(halt) = splitter.halt {
            return Err(halt);
        }
        formatted.map_err(|_| Halt::Format)?;
        splitter.line_break().map_err(|_| splitter.halt.unwrap_or(Halt::Format))
    }
}

impl<S: Sink> fmt::Write for LineSplitter<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        // An empty write says nothing about whether LF follows a CR.
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if let Some((b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
        }
        while let Some(i) = memchr::memchr2(b'\r', b'\n', rest) {
            let (line, tail) = rest.split_at_checked(i).unwrap_or((rest, &[]));
            self.content(line)?;
            self.line_break()?;
            rest = match tail {
                [b'\r', b'\n', after @ ..] => after,
                [b'\r'] => {
                    self.pending_cr = true;
                    &[]
                }
                [_, after @ ..] => after,
                [] => &[],
            };
        }
        self.content(rest)
    }
}

/// Feeds the whole frame of `ev` to `sink`.
pub(crate) fn emit<S: Sink>(ev: &Event<'_>, sink: &mut S) -> Result<(), Halt> {
    let mut cursor = Cursor::START;
    loop {
        match step(ev, &mut cursor) {
            Step::Piece(p) => sink.put(p.as_bytes())?,
            Step::Fmt(d) => LineSplitter::run(sink, d)?,
            Step::Done => return Ok(()),
        }
    }
}

/// Counts bytes (saturating at `usize::MAX`).
struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Halt> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// Copies into a slice, skipping the first `skip` bytes it is given.
pub(crate) struct Window<'b> {
    pub(crate) skip: usize,
    pub(crate) out: &'b mut [u8],
    pub(crate) len: usize,
}

impl Sink for Window<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Halt> {
        let bytes = match bytes.get(self.skip..) {
            Some(rest) => {
                self.skip = 0;
                rest
            }
            None => {
                self.skip = self.skip.saturating_sub(bytes.len());
                return Ok(());
            }
        };
        let free = self.out.get_mut(self.len..).unwrap_or(&mut []);
        let n = bytes.len().min(free.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.len = self.len.saturating_add(n);
        if n < bytes.len() { Err(Halt::Full) } else { Ok(()) }
    }
}

impl Event<'_> {
    /// The exact number of bytes [`encode`](Self::encode) writes, computed
    /// without writing (data given as `Display` is formatted into a counter).
    /// Saturates at `usize::MAX`. If a `Display` fails, this is the length
    /// up to the failure.
    ///
    /// ```
    /// let ev = sse_wire::Event::new().with_data("a\r\nb");
    /// assert_eq!(ev.encoded_len(), b"data: a\ndata: b\n\n".len());
    /// ```
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        if let Some(plan) = crate::direct::plan(self) {
            return plan.len;
        }
        let mut counter = Counter(0);
        // A counter never halts with `Full`; a failing `Display` stops the
        // count where it failed, as documented.
        let _ = emit(self, &mut counter);
        counter.0
    }

    /// Encodes the event into `buf` and returns the number of bytes written.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] with the exact size needed if the
    /// frame does not fit; `buf` is then left untouched.
    /// [`EncodeError::Format`] if `Display` data failed.
    ///
    /// ```
    /// use sse_wire::{EncodeError, Event};
    /// let ev = Event::new().with_event("tick")?.with_data("1");
    /// let mut buf = [0u8; 64];
    /// let n = ev.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"event: tick\ndata: 1\n\n");
    /// assert_eq!(
    ///     ev.encode(&mut buf[..8]),
    ///     Err(EncodeError::BufferTooSmall { needed: n, available: 8 })
    /// );
    /// # Ok::<(), sse_wire::FieldError>(())
    /// ```
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let available = buf.len();
        let too_small = |needed| EncodeError::BufferTooSmall { needed, available };
        // Measure before writing, so that a failure leaves `buf` untouched.
        let Some(measured) = self.measure() else {
            return Err(EncodeError::Format);
        };
        if measured.len > available {
            return Err(too_small(measured.len));
        }
        match self.write_measured(&measured, buf) {
            Ok(n) => Ok(n),
            Err(Halt::Format) => Err(EncodeError::Format),
            // Only a `Display` that grew between two formattings gets here.
            Err(Halt::Full) => Err(too_small(self.encoded_len())),
        }
    }

    /// Measures the event: `None` if `Display` data fails.
    pub(crate) fn measure(&self) -> Option<Measured> {
        if let Some(plan) = crate::direct::plan(self) {
            return Some(Measured { len: plan.len, plan: Some(plan) });
        }
        let mut counter = Counter(0);
        emit(self, &mut counter).ok().map(|()| Measured { len: counter.0, plan: None })
    }

    /// Writes the frame that `measured` (from [`measure`](Self::measure) on
    /// this event) describes into `buf`; on `Err` an unspecified prefix of
    /// `buf` was overwritten.
    pub(crate) fn write_measured(&self, measured: &Measured, buf: &mut [u8]) -> Result<usize, Halt> {
        if let Some(plan) = &measured.plan {
            return crate::direct::write(self, plan, buf).ok_or(Halt::Full);
        }
        let mut window = Window { skip: 0, out: buf, len: 0 };
        emit(self, &mut window).map(|()| window.len)
    }

    /// Appends the event to a `heapless::Vec` and returns the number of
    /// bytes appended.
    ///
    /// # Errors
    /// As [`encode`](Self::encode); on error the vector is unchanged.
    ///
    /// ```
    /// let mut out: heapless::Vec<u8, 64> = heapless::Vec::new();
    /// sse_wire::Event::new().with_data("x").encode_to_vec(&mut out).unwrap();
    /// assert_eq!(out.as_slice(), b"data: x\n\n");
    /// ```
    pub fn encode_to_vec<const N: usize>(
        &self,
        vec: &mut heapless::Vec<u8, N>,
    ) -> Result<usize, EncodeError> {
        let old = vec.len();
        let free = N.saturating_sub(old);
        let measured = self.measure().ok_or(EncodeError::Format)?;
        let needed = measured.len;
        if needed > free {
            return Err(EncodeError::BufferTooSmall { needed, available: free });
        }
        // `resize` cannot fail: `old + needed <= N`.
        let _ = vec.resize(old.saturating_add(needed), 0);
        let result = self.write_measured(&measured, vec.get_mut(old..).unwrap_or(&mut []));
        match result {
            Ok(n) => {
                vec.truncate(old.saturating_add(n));
                Ok(n)
            }
            Err(halt) => {
                vec.truncate(old);
                Err(match halt {
                    Halt::Format => EncodeError::Format,
                    // Only a `Display` that grew between two formattings.
                    Halt::Full => EncodeError::BufferTooSmall { needed: self.encoded_len(), available: free },
                })
            }
        }
    }

    /// A resumable encoder for this event: it writes the frame into any
    /// sequence of windows, such as the free contiguous parts of a TCP ring
    /// buffer.
    ///
    /// ```
    /// use sse_wire::{Event, Status};
    /// let ev = Event::new().with_data("hello");
    /// let mut enc = ev.encoder();
    /// let mut out = Vec::new();
    /// loop {
    ///     let mut window = [0u8; 3];
    ///     let status = enc.encode(&mut window).unwrap();
    ///     out.extend_from_slice(&window[..status.written()]);
    ///     if status.is_complete() {
    ///         break;
    ///     }
    /// }
    /// assert_eq!(out, b"data: hello\n\n");
    /// ```
    #[must_use]
    pub fn encoder(&self) -> Encoder<'_> {
        Encoder::new(*self)
    }
}

/// Progress of an [`Encoder`]: like httparse's `Status`, `Complete` when
/// the frame is finished.
///
/// ```
/// use sse_wire::Status;
/// assert_eq!(Status::Partial(3).written(), 3);
/// assert!(Status::Complete(0).is_complete());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The frame is finished; this many bytes were written to this window.
    Complete(usize),
    /// The window is full; this many bytes were written to it. Call again
    /// with the next window.
    Partial(usize),
}

impl Status {
    /// Bytes written into the window.
    ///
    /// ```
    /// assert_eq!(sse_wire::Status::Complete(5).written(), 5);
    /// ```
    #[must_use]
    pub const fn written(self) -> usize {
        match self {
            Self::Complete(n) | Self::Partial(n) => n,
        }
    }

    /// Whether the frame is finished.
    ///
    /// ```
    /// assert!(!sse_wire::Status::Partial(5).is_complete());
    /// ```
    #[must_use]
    pub const fn is_complete(self) -> bool {
        matches!(self, Self::Complete(_))
    }
}

/// Writes one event into a sequence of windows of any sizes; the
/// concatenated output equals [`Event::encode`]'s.
///
/// Resuming costs O(1) for text (the generator keeps its place), and for
/// data given as `Display` re-formats it, skipping what was already written.
///
/// ```
/// use sse_wire::{Event, Status};
/// let ev = Event::new().with_id("7")?.with_data("a\nb");
/// let mut enc = ev.encoder();
/// let mut w = [0u8; 8];
/// assert_eq!(enc.encode(&mut w).unwrap(), Status::Partial(8));
/// assert_eq!(&w, b"id: 7\nda");
/// assert_eq!(enc.encode(&mut w).unwrap(), Status::Partial(8));
/// assert_eq!(enc.encode(&mut w).unwrap(), Status::Complete(7));
/// assert_eq!(enc.written(), 23);
/// # Ok::<(), sse_wire::FieldError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Encoder<'a> {
    event: Event<'a>,
    cursor: Cursor,
    /// The step being written and how many of its bytes are out already.
    current: Option<(Step<'a>, usize)>,
    written: usize,
}

impl core::fmt::Debug for Encoder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("event", &self.event)
            .field("written", &self.written)
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}

impl<'a> Encoder<'a> {
    /// An encoder at the start of `event`'s frame. Same as [`Event::encoder`].
    ///
    /// ```
    /// let enc = sse_wire::Encoder::new(sse_wire::Event::new());
    /// assert_eq!(enc.written(), 0);
    /// ```
    #[must_use]
    pub const fn new(event: Event<'a>) -> Self {
        Self { event, cursor: Cursor::START, current: None, written: 0 }
    }

    /// Bytes written so far, over all windows.
    ///
    /// ```
    /// let ev = sse_wire::Event::new();
    /// let mut enc = ev.encoder();
    /// enc.encode(&mut [0u8; 4]).unwrap();
    /// assert_eq!(enc.written(), 1);
    /// ```
    #[must_use]
    pub const fn written(&self) -> usize {
        self.written
    }

    /// Whether the whole frame has been written.
    ///
    /// ```
    /// let ev = sse_wire::Event::new();
    /// let mut enc = ev.encoder();
    /// assert!(!enc.is_complete());
    /// enc.encode(&mut [0u8; 1]).unwrap();
    /// assert!(enc.is_complete());
    /// ```
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.current.is_none() && self.cursor.stage == Stage::Done
    }

    /// Writes as much of the rest of the frame as fits into `window`.
    ///
    /// # Errors
    /// `fmt::Error` if `Display` data failed; the encoder then stays where
    /// it was and the bytes reported by earlier calls remain valid.
    ///
    /// ```
    /// use sse_wire::{Event, Status};
    /// let ev = Event::new().with_data("hi");
    /// let mut enc = ev.encoder();
    /// let mut w = [0u8; 64];
    /// assert_eq!(enc.encode(&mut w), Ok(Status::Complete(10)));
    /// assert_eq!(enc.encode(&mut w), Ok(Status::Complete(0)));
    /// ```
    pub fn encode(&mut self, window: &mut [u8]) -> Result<Status, fmt::Error> {
        let mut filled = 0usize;
        loop {
            let (current, done) = match self.current.take() {
                Some(current) => current,
                None => {
                    if self.cursor.stage == Stage::Done {
                        return Ok(Status::Complete(filled));
                    }
                    if filled == window.len() {
                        return Ok(Status::Partial(filled));
                    }
                    (step(&self.event, &mut self.cursor), 0)
                }
            };
            let mut sink = Window { skip: done, out: window.get_mut(filled..).unwrap_or(&mut []), len: 0 };
            let result = match current {
                Step::Piece(p) => sink.put(p.as_bytes()),
                Step::Fmt(d) => LineSplitter::run(&mut sink, d),
                Step::Done => Ok(()),
            };
            filled = filled.saturating_add(sink.len);
            self.written = self.written.saturating_add(sink.len);
            match result {
                Ok(()) => {}
                Err(Halt::Full) => {
                    self.current = Some((current, done.saturating_add(sink.len)));
                    return Ok(Status::Partial(filled));
                }
                Err(Halt::Format) => {
                    // Keep the place: bytes already handed out stay valid.
                    self.current = Some((current, done.saturating_add(sink.len)));
                    return Err(fmt::Error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
