//! The incremental `text/event-stream` parser (WHATWG HTML §9.2.6,
//! "Interpreting an event stream").
//!
//! Invariant: every input byte is looked at once (line ends are found with
//! `memchr`, field values are copied straight into their fixed buffers), so
//! the work is linear in the input whatever the chunking, and the memory is
//! the parser value itself: it never grows. The events produced are the
//! same for any split of the same bytes into chunks. Nothing panics.
//!
//! Two paths, one behaviour: a whole line inside one chunk, far from every
//! limit, is taken in one step (`whole_line`); the byte-driven state
//! machine takes everything else (lines split across chunks, the BOM,
//! limits). The property tests feed the same bytes whole and byte by byte.
//!
//! Memory: `DATA + EVENT + 3 * ID` bytes of buffers plus about 80 bytes of
//! state. The three id buffers are the stream's last event id (committed at
//! each blank line), the id buffer of the block being read, and the value
//! of an `id` line still being read (ignored if it turns out to hold NUL).

use core::fmt;

use memchr::{memchr, memchr2};

mod output;

pub use output::{IdTooLong, MessageEvent, Output, Skipped};

use crate::text::Text;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Which field the current line sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Unknown,
}

impl Field {
    fn named(name: &[u8]) -> Self {
        match name {
            b"data" => Self::Data,
            b"event" => Self::Event,
            b"id" => Self::Id,
            b"retry" => Self::Retry,
            _ => Self::Unknown,
        }
    }
}

/// Where in a line the parser is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the very start of the stream, `n` bytes of a BOM matched so far.
    Bom(u8),
    /// Reading a field name (or the whole line, if no colon comes).
    Name,
    /// Just after the first colon: one space is to be dropped.
    ValueStart(Field),
    /// Reading the value of a field.
    Value(Field),
    /// In a comment line.
    Comment,
    /// Skipping the rest of a block that exceeded a limit.
    Skip,
}

/// What ended a call to `parse` early.
#[derive(Clone, Copy, Debug)]
enum Found {
    Dispatch,
    Retry(u64),
    Skipped(Skipped),
}

/// A fixed-capacity buffer.
#[derive(Clone, Copy, Debug)]
struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Buf<N> {
    const EMPTY: Self = Self { bytes: [0; N], len: 0 };

    /// Appends all of `more`, or nothing and `false`.
    fn push(&mut self, more: &[u8]) -> bool {
        // `checked_add`, not `saturating_add`: the slot is then exactly
        // `more.len()` long, which lets the compiler drop the length check
        // of `copy_from_slice` (the panic-never link check relies on it).
        let Some(end) = self.len.checked_add(more.len()) else { return false };
        match self.bytes.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(more);
                self.len = end;
                true
            }
            None => false,
        }
    }

    /// Appends one byte, or nothing and `false`.
    fn push_byte(&mut self, byte: u8) -> bool {
        match self.bytes.get_mut(self.len) {
            Some(slot) => {
                *slot = byte;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// A push parser for `text/event-stream`: feed it byte slices of any size;
/// it returns each dispatched event, reconnection-time change and skipped
/// block. `DATA` bounds an event's data (each `data` line counts its bytes
/// plus one LF), `EVENT` the event type, `ID` the id.
///
/// ```
/// use sse_wire::{Output, Parser};
/// let mut parser: Parser<1024> = Parser::new();
/// let mut events = Vec::new();
/// // Chunks may split anything, even a CR LF or the BOM.
/// for chunk in [&b"\xEF\xBB"[..], b"\xBFevent: greet\r", b"\ndata: hello\r\n\r", b"\n"] {
///     parser.feed(chunk, |out| {
///         if let Output::Event(ev) = out {
///             events.push((ev.event_type().to_string(), ev.data().to_string()));
///         }
///     });
/// }
/// assert_eq!(events, [("greet".to_string(), "hello".to_string())]);
/// ```
#[derive(Clone)]
pub struct Parser<const DATA: usize, const EVENT: usize = 64, const ID: usize = 128> {
    state: State,
    /// The previous byte was a CR: an LF right after it belongs to it.
    after_cr: bool,
    /// Bytes of the current line so far, line end excluded.
    line_len: usize,
    max_line_len: usize,
    /// The field name read so far, up to the longest known name + 1.
    name: Buf<6>,
    data: Buf<DATA>,
    event_type: Buf<EVENT>,
    /// The id buffers, by role: see the module docs.
    ids: [Buf<ID>; 3],
    committed: usize,
    pending: usize,
    scratch: usize,
    /// An `id` line in this block set the pending id.
    block_has_id: bool,
    /// An event was shown; its buffers are cleared on the next call.
    dispatched: bool,
    id_has_nul: bool,
    retry_value: u64,
    /// The `retry` value read so far has only digits, and at least one.
    retry_valid: bool,
    retry_digits: bool,
    retry: Option<u64>,
    skipped: u64,
    /// Bytes looked at so far (tests check that this stays linear).
    #[cfg(test)]
    examined: usize,
}

impl<const DATA: usize, const EVENT: usize, const ID: usize> Default for Parser<DATA, EVENT, ID> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const DATA: usize, const EVENT: usize, const ID: usize> fmt::Debug for Parser<DATA, EVENT, ID> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("state", &self.state)
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl<const DATA: usize, const EVENT: usize, const ID: usize> Parser<DATA, EVENT, ID> {
    /// The default maximum line length: long enough for any line whose
    /// value could fit its buffer.
    pub const DEFAULT_MAX_LINE_LEN: usize = {
        let longest = if DATA > EVENT { DATA } else { EVENT };
        let longest = if longest > ID { longest } else { ID };
        longest.saturating_add(16)
    };

    /// A parser at the start of a stream.
    ///
    /// ```
    /// let p: sse_wire::Parser<4096> = sse_wire::Parser::new();
    /// assert_eq!(p.retry(), None);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: State::Bom(0),
            after_cr: false,
            line_len: 0,
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            name: Buf::EMPTY,
            data: Buf::EMPTY,
            event_type: Buf::EMPTY,
            ids: [Buf::EMPTY; 3],
            committed: 0,
            pending: 1,
            scratch: 2,
            block_has_id: false,
            dispatched: false,
            id_has_nul: false,
            retry_value: 0,
            retry_valid: false,
            retry_digits: false,
            retry: None,
            skipped: 0,
            #[cfg(test)]
            examined: 0,
        }
    }

    /// Sets the maximum line length, counting one byte for the line end.
    /// A longer line makes its block be skipped ([`Skipped::LineTooLong`]).
    ///
    /// ```
    /// use sse_wire::{Output, Parser, Skipped};
    /// let mut p: Parser<64> = Parser::new().with_max_line_len(8);
    /// assert_eq!(p.parse(b": a long comment\n").1, Some(Output::Skipped(Skipped::LineTooLong)));
    /// ```
    #[must_use]
    pub const fn with_max_line_len(mut self, max: usize) -> Self {
        self.max_line_len = max;
        self
    }

    /// The stream's last event id: the value the client sends as
    /// `Last-Event-ID` when it reconnects (if not empty).
    ///
    /// ```
    /// let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// p.feed(b"id: 7\n\n", |_| {});
    /// assert_eq!(p.last_event_id().as_bytes(), b"7");
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> Text<'_> {
        Text::new(self.ids.get(self.committed).map_or(&[][..], Buf::as_slice))
    }

    /// Sets the stream's last event id, as a client that resumes a stream
    /// does (the id it sends as `Last-Event-ID`): events dispatched before
    /// the stream sets an id of its own carry it. Call it before feeding,
    /// or after [`end_of_stream`](Self::end_of_stream).
    ///
    /// # Errors
    /// [`IdTooLong`] if `id` is longer than `ID`; nothing changes then.
    ///
    /// ```
    /// let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// p.set_last_event_id(b"41").unwrap();
    /// p.feed(b"data: x\n\n", |out| {
    ///     if let sse_wire::Output::Event(e) = out {
    ///         assert_eq!(e.last_event_id().as_bytes(), b"41");
    ///     }
    /// });
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), IdTooLong> {
        let too_long = IdTooLong { len: id.len(), capacity: ID };
        let committed = self.ids.get_mut(self.committed).ok_or(too_long)?;
        if id.len() > ID {
            return Err(too_long);
        }
        committed.len = 0;
        if committed.push(id) { Ok(()) } else { Err(too_long) }
    }

    /// The reconnection time set by the last valid `retry` field.
    ///
    /// ```
    /// let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// p.feed(b"retry: 10\nretry: x\n", |_| {});
    /// assert_eq!(p.retry(), Some(10));
    /// ```
    #[must_use]
    pub const fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// How many blocks were skipped for exceeding a limit.
    ///
    /// ```
    /// let mut p: sse_wire::Parser<2> = sse_wire::Parser::new();
    /// p.feed(b"data: abc\n\ndata: a\n\n", |_| {});
    /// assert_eq!(p.skipped(), 1);
    /// ```
    #[must_use]
    pub const fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Ends the stream: an unfinished block is discarded (§9.2.6: "Once the
    /// end of the file is reached, any pending data must be discarded"), and
    /// the parser is ready for the next connection's stream (a BOM at its
    /// start is dropped again). The last event id and the reconnection time
    /// are kept, as an EventSource keeps them across reconnections.
    ///
    /// ```
    /// let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// p.feed(b"id: 1\n\ndata: unfinished\n", |_| panic!("nothing is dispatched"));
    /// p.end_of_stream();
    /// p.feed(b"\n", |_| panic!("the unfinished block is gone"));
    /// assert_eq!(p.last_event_id().as_bytes(), b"1");
    /// ```
    pub fn end_of_stream(&mut self) {
        self.reset_block();
        self.reset_line();
        self.state = State::Bom(0);
        self.after_cr = false;
    }

    fn reset_line(&mut self) {
        self.state = State::Name;
        self.line_len = 0;
        self.name.len = 0;
    }

    /// Forgets the block being read (after dispatch or a skip).
    fn reset_block(&mut self) {
        self.data.len = 0;
        self.event_type.len = 0;
        self.block_has_id = false;
        self.dispatched = false;
    }

    /// Feeds `input` and calls `on_output` for everything found.
    ///
    /// ```
    /// let mut p: sse_wire::Parser<64> = sse_wire::Parser::new();
    /// let mut n = 0;
    /// p.feed(b"data: 1\n\ndata: 2\n\n", |_| n += 1);
    /// assert_eq!(n, 2);
    /// ```
    pub fn feed(&mut self, mut input: &[u8], mut on_output: impl FnMut(Output<'_>)) {
        while !input.is_empty() {
            let (used, output) = self.parse(input);
            if let Some(output) = output {
                on_output(output);
            }
            input = input.get(used..).unwrap_or(&[]);
        }
    }

    /// Reads `input` up to and including the first thing found, and returns
    /// how many bytes it used and what it found (`None` when it used all of
    /// `input` and found nothing). Call again with the rest.
    ///
    /// ```
    /// use sse_wire::{Output, Parser};
    /// let mut p: Parser<64> = Parser::new();
    /// let input = b"data: a\n\ndata: b\n\n";
    /// let (used, out) = p.parse(input);
    /// assert_eq!(used, 9);
    /// assert!(matches!(out, Some(Output::Event(e)) if e.data().as_bytes() == b"a"));
    /// let (used2, out) = p.parse(&input[used..]);
    /// assert_eq!(used + used2, input.len());
    /// assert!(matches!(out, Some(Output::Event(e)) if e.data().as_bytes() == b"b"));
    /// ```
    pub fn parse(&mut self, input: &[u8]) -> (usize, Option<Output<'_>>) {
        let (used, found) = self.scan(input);
        (used, found.map(|found| self.output(found)))
    }

    fn output(&self, found: Found) -> Output<'_> {
        match found {
            Found::Dispatch => Output::Event(MessageEvent {
                event_type: self.event_type.as_slice(),
                // Step 3: remove the last LF of the data buffer.
                data: self.data.as_slice().split_last().map_or(&[][..], |(_, rest)| rest),
                last_event_id: self.last_event_id().as_bytes(),
            }),
            Found::Retry(ms) => Output::Retry(ms),
            Found::Skipped(why) => Output::Skipped(why),
        }
    }

    /// The state machine: consumes input until something is found.
    fn scan(&mut self, input: &[u8]) -> (usize, Option<Found>) {
        // Step 5 of dispatch: the buffers of the event shown last time are
        // cleared now that it is no longer borrowed.
        if self.dispatched {
            self.reset_block();
        }
        let mut rest = input;
        let used = |rest: &[u8]| input.len().saturating_sub(rest.len());
        while let Some((&first, after_first)) = rest.split_first() {
            // A CR ended the previous line; an LF right after it is part of
            // that line end ("CRLF", §9.2.5), even across chunks.
            if self.after_cr {
                self.after_cr = false;
                if first == LF {
                    rest = after_first;
                    continue;
                }
            }
            // §9.2.6: "a single U+FEFF BYTE ORDER MARK character" at the
            // start of the stream is ignored, even split across chunks.
            if let State::Bom(matched) = self.state {
                let index = usize::from(matched);
                if BOM.get(index) == Some(&first) {
                    rest = after_first;
                    self.state = if index >= 2 { State::Name } else { State::Bom(matched.saturating_add(1)) };
                    continue;
                }
                // Not a BOM: the bytes that matched are content.
                self.state = State::Name;
                if let Some(found) = self.content(BOM.get(..index).unwrap_or(&[])) {
                    return (used(rest), Some(found));
                }
                continue;
            }
            let found_at = memchr2(CR, LF, rest);
            #[cfg(test)]
            {
                self.examined += found_at.map_or(rest.len(), |i| i + 1);
            }
            let (line, end) = match found_at {
                Some(i) => match rest.split_at_checked(i) {
                    Some((line, end)) => (line, end.split_first()),
                    None => (rest, None),
                },
                None => (rest, None),
            };
            // A whole line in this chunk, read from its start: the fast
            // path takes it in one step unless a limit is near.
            if let Some((&terminator, after)) = end
                && self.line_len == 0
                && self.state == State::Name
                && self.whole_line(line)
            {
                rest = after;
                self.after_cr = terminator == CR;
                continue;
            }
            let found = self.content(line);
            rest = rest.get(line.len()..).unwrap_or(&[]);
            if found.is_some() {
                return (used(rest), found);
            }
            if let Some((&terminator, after)) = end {
                rest = after;
                self.after_cr = terminator == CR;
                if let Some(found) = self.end_of_line() {
                    return (used(rest), Some(found));
                }
            }
        }
        (input.len(), None)
    }

    /// Takes a whole non-empty line that ends in this chunk, if it needs
    /// neither a dispatch, nor a `retry` result, nor any limit check to fail:
    /// the same effect as the general path (`content`, then `end_of_line`),
    /// in one step. `false` (and nothing changed) leaves it to that path.
    fn whole_line(&mut self, line: &[u8]) -> bool {
        // The line and its end must fit in the line limit.
        if line.is_empty() || line.len() >= self.max_line_len {
            return false;
        }
        // The usual fields are recognised by their prefix, without a search.
        let (field, value) = if let Some(value) = line.strip_prefix(b"data:") {
            (Field::Data, value)
        } else if let Some(value) = line.strip_prefix(b"id:") {
            (Field::Id, value)
        } else if let Some(value) = line.strip_prefix(b"event:") {
            (Field::Event, value)
        } else {
            match self.find_colon(line) {
                // A comment.
                Some(0) => return true,
                Some(i) => match line.split_at_checked(i) {
                    Some((name, value)) => (Field::named(name), value.get(1..).unwrap_or(&[])),
                    None => return false,
                },
                None => (Field::named(line), &[][..]),
            }
        };
        let value = match value.split_first() {
            Some((b' ', after)) => after,
            _ => value,
        };
        // Only what can complete here without a limit, a skip or a `retry`
        // result; the field's effect is then the general path's own.
        let fits = match field {
            Field::Data => self.data.len.checked_add(value.len()).is_some_and(|end| end < DATA),
            Field::Event => value.len() <= EVENT,
            Field::Id => value.len() <= ID,
            Field::Unknown => true,
            Field::Retry => false,
        };
        if !fits {
            return false;
        }
        self.start_value(field);
        // Neither reports anything for a field that fits.
        let _ = self.value(field, value);
        let _ = self.finish_field(field);
        true
    }

    /// Enters the skip state for `why`, forgetting the block.
    fn skip(&mut self, why: Skipped) -> Option<Found> {
        self.state = State::Skip;
        self.reset_block();
        self.skipped = self.skipped.saturating_add(1);
        Some(Found::Skipped(why))
    }

    /// Takes bytes of the current line (no CR or LF among them).
    fn content(&mut self, bytes: &[u8]) -> Option<Found> {
        if bytes.is_empty() {
            return None;
        }
        if self.state == State::Skip {
            self.line_len = self.line_len.saturating_add(bytes.len());
            return None;
        }
        // The line may take this many more bytes (its end needs one too).
        // Whatever limit is hit first, in byte order, is the one reported,
        // so the result does not depend on how the input was chunked.
        let room = self.max_line_len.saturating_sub(1).saturating_sub(self.line_len);
        let (allowed, over) = bytes.split_at_checked(room).unwrap_or((bytes, &[]));
        self.line_len = self.line_len.saturating_add(allowed.len());
        if let Some(found) = self.fields(allowed) {
            return Some(found);
        }
        if over.is_empty() {
            return None;
        }
        self.line_len = self.line_len.saturating_add(over.len());
        self.skip(Skipped::LineTooLong)
    }

    /// Takes bytes of the current line that are within its length limit.
    fn fields(&mut self, mut bytes: &[u8]) -> Option<Found> {
        if bytes.is_empty() {
            return None;
        }
        loop {
            match self.state {
                State::Bom(_) | State::Name => match self.find_colon(bytes) {
                    // "If the line starts with a U+003A COLON character (:)":
                    // ignore the line.
                    Some(0) if self.name.len == 0 => {
                        self.state = State::Comment;
                        return None;
                    }
                    // "If the line contains a U+003A COLON character": the
                    // field name is what comes before the first colon.
                    Some(i) => {
                        let (name, value) = bytes.split_at_checked(i).unwrap_or((bytes, &[]));
                        self.push_name(name);
                        let field = self.field();
                        self.start_value(field);
                        self.state = State::ValueStart(field);
                        bytes = value.get(1..).unwrap_or(&[]);
                    }
                    None => {
                        self.push_name(bytes);
                        return None;
                    }
                },
                // "If value starts with a U+0020 SPACE character, remove it."
                State::ValueStart(field) => {
                    let (&first, after) = bytes.split_first()?;
                    self.state = State::Value(field);
                    if first == b' ' {
                        bytes = after;
                    }
                }
                State::Value(field) => return self.value(field, bytes),
                State::Comment | State::Skip => return None,
            }
            if bytes.is_empty() {
                return None;
            }
        }
    }

    fn find_colon(&mut self, bytes: &[u8]) -> Option<usize> {
        let at = memchr(b':', bytes);
        #[cfg(test)]
        {
            self.examined += at.map_or(bytes.len(), |i| i + 1);
        }
        at
    }

    fn push_name(&mut self, bytes: &[u8]) {
        // Names longer than the longest known one are unknown: keep only
        // enough to tell (one byte more than "retry"/"event").
        let room = self.name.bytes.len().saturating_sub(self.name.len);
        let take = bytes.get(..room.min(bytes.len())).unwrap_or(&[]);
        self.name.push(take);
    }

    /// Field names are case-sensitive; unknown ones are ignored.
    fn field(&self) -> Field {
        Field::named(self.name.as_slice())
    }

    fn start_value(&mut self, field: Field) {
        match field {
            // "Set the event type buffer to field value."
            Field::Event => self.event_type.len = 0,
            Field::Id => {
                self.id_has_nul = false;
                if let Some(scratch) = self.ids.get_mut(self.scratch) {
                    scratch.len = 0;
                }
            }
            Field::Retry => {
                self.retry_value = 0;
                self.retry_valid = true;
                self.retry_digits = false;
            }
            Field::Data | Field::Unknown => {}
        }
    }

    fn value(&mut self, field: Field, bytes: &[u8]) -> Option<Found> {
        #[cfg(test)]
        {
            self.examined += bytes.len();
        }
        match field {
            // "Append the field value to the data buffer" (the LF comes at
            // the end of the line).
            Field::Data => {
                if !self.data.push(bytes) {
                    return self.skip(Skipped::DataTooLong);
                }
            }
            Field::Event => {
                if !self.event_type.push(bytes) {
                    return self.skip(Skipped::EventTypeTooLong);
                }
            }
            Field::Id => {
                // Ids are short: a plain search beats `memchr`'s call here.
                self.id_has_nul |= bytes.contains(&0);
                let fits = self.ids.get_mut(self.scratch).is_some_and(|scratch| scratch.push(bytes));
                if !fits {
                    return self.skip(Skipped::IdTooLong);
                }
            }
            // "If the field value consists of only ASCII digits": base ten,
            // any size (saturating at u64::MAX).
            Field::Retry => {
                for &b in bytes {
                    if b.is_ascii_digit() {
                        self.retry_digits = true;
                        self.retry_value = self
                            .retry_value
                            .saturating_mul(10)
                            .saturating_add(u64::from(b.wrapping_sub(b'0')));
                    } else {
                        self.retry_valid = false;
                    }
                }
            }
            Field::Unknown => {}
        }
        None
    }

    /// A line ended. (Its length was checked in `content`: a line whose
    /// content reaches the maximum is too long once its end is counted.)
    fn end_of_line(&mut self) -> Option<Found> {
        let empty = self.line_len == 0;
        let state = self.state;
        // Only a line without a colon is a field name as a whole.
        let whole_line_field = if matches!(state, State::Bom(_) | State::Name) && !empty {
            self.field()
        } else {
            Field::Unknown
        };
        self.reset_line();
        match state {
            // An empty line ends the skip; nothing of the block applies.
            State::Skip => {
                if !empty {
                    self.state = State::Skip;
                }
                None
            }
            State::Comment => None,
            // "If the line is empty (a blank line): Dispatch the event."
            State::Bom(_) | State::Name if empty => self.dispatch(),
            // "Otherwise, the string is not empty but does not contain a
            // U+003A COLON character": the whole line is the field name and
            // the value is empty.
            State::Bom(_) | State::Name => {
                self.start_value(whole_line_field);
                self.finish_field(whole_line_field)
            }
            State::ValueStart(field) | State::Value(field) => self.finish_field(field),
        }
    }

    fn finish_field(&mut self, field: Field) -> Option<Found> {
        match field {
            Field::Data => {
                if !self.data.push_byte(b'\n') {
                    return self.skip(Skipped::DataTooLong);
                }
                None
            }
            // "If the field value does not contain U+0000 NULL, then set the
            // last event ID buffer to the field value. Otherwise, ignore the
            // field."
            Field::Id => {
                if !self.id_has_nul {
                    core::mem::swap(&mut self.pending, &mut self.scratch);
                    self.block_has_id = true;
                }
                None
            }
            Field::Retry if self.retry_valid && self.retry_digits => {
                self.retry = Some(self.retry_value);
                Some(Found::Retry(self.retry_value))
            }
            Field::Retry | Field::Event | Field::Unknown => None,
        }
    }

    /// §9.2.6 "dispatch the event", steps 1 and 2; the event itself is
    /// built by `output`, and step 5 happens on the next call.
    fn dispatch(&mut self) -> Option<Found> {
        // Step 1: "Set the last event ID string of the event source to the
        // value of the last event ID buffer" (even if nothing dispatches).
        if self.block_has_id {
            core::mem::swap(&mut self.committed, &mut self.pending);
            self.block_has_id = false;
        }
        // Step 2: "If the data buffer is an empty string, set the data
        // buffer and the event type buffer to the empty string and return."
        if self.data.len == 0 {
            self.event_type.len = 0;
            return None;
        }
        self.dispatched = true;
        Some(Found::Dispatch)
    }
}

#[cfg(test)]
mod tests;
