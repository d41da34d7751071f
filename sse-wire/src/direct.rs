//! The direct path for events whose text is all borrowed (no `Display`
//! data): a [`Plan`] (the exact length by arithmetic over the line breaks
//! that `memchr` finds, and which line breaks each text has: none, LF only,
//! or CR among them), then a single pass
//! that writes the frame.
//!
//! Invariant: it produces exactly the bytes of the piece generator in
//! `encode.rs` (which the resumable encoder and the writer sinks use); the
//! property tests compare the two on arbitrary events. Nothing here panics:
//! every write goes through a checked range.

use memchr::memchr2_iter;

use crate::encode::Digits;
use crate::event::{Data, Event};

// Fixed-size prefixes, so that copying them compiles to plain stores.
const COMMENT: &[u8; 2] = b": ";
const EVENT: &[u8; 7] = b"event: ";
const ID: &[u8; 4] = b"id: ";
const RETRY: &[u8; 7] = b"retry: ";
const DATA: &[u8; 6] = b"data: ";
const LF: &[u8; 1] = b"\n";

/// Calls `line(start, end)` for every line of `text` (CR LF, LF and a lone
/// CR each end one; the last line may be empty). Text without CR takes
/// `Out::lf_lines` instead.
fn for_each_line(text: &[u8], mut line: impl FnMut(usize, usize) -> Option<()>) -> Option<()> {
    let mut start = 0usize;
    // Position of an LF that completes a CR LF, if the last break was CR.
    let mut crlf_at = usize::MAX;
    for i in memchr2_iter(b'\r', b'\n', text) {
        let byte = text.get(i).copied();
        if i == crlf_at && byte == Some(b'\n') {
            start = i.checked_add(1)?;
            continue;
        }
        line(start, i)?;
        start = i.checked_add(1)?;
        crlf_at = if byte == Some(b'\r') { start } else { usize::MAX };
    }
    line(start, text.len())
}

/// Whether text without CR takes `Out::lf_lines`: on targets whose vector
/// unit runs its 16-byte compare (measured on x86_64). Elsewhere (a
/// Cortex-M, say) text takes the `memchr` path, as before, and the block
/// writer adds no code (it cost the firmware 0.6 to 0.8 KB of flash).
const BLOCKS: bool = cfg!(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_feature = "simd128"
));

/// The block `Out::lf_lines` scans and copies at a time.
const BLOCK: usize = 16;

/// A bit for every LF in `block` (bit `i` for byte `i`), or 0. The any-test
/// compiles to a vector compare and a mask move; only a block that has an
/// LF pays for the bits.
#[inline(always)]
fn lf_bits(block: &[u8; BLOCK]) -> u32 {
    if !block.iter().fold(false, |any, &b| any | (b == b'\n')) {
        return 0;
    }
    block.iter().rev().fold(0u32, |m, &b| (m << 1) | u32::from(b == b'\n'))
}

/// The line breaks a text has, as far as writing it cares.
#[derive(Clone, Copy, Debug)]
enum Breaks {
    /// None: one line, written with one copy.
    None,
    /// LF only: see `Out::lf_lines`.
    LfOnly,
    /// CR among them.
    Any,
}

/// A multi-line field measured: its length, and its line breaks.
#[derive(Clone, Copy, Debug)]
struct Multi {
    len: usize,
    breaks: Breaks,
}

/// Measures a multi-line field: each line is prefix, content and LF.
fn multi(prefix: &[u8], text: &[u8]) -> Option<Multi> {
    let per_line = prefix.len().checked_add(1)?;
    // Without CR (the common case), every LF is a one-byte break: counting
    // them is enough. `memchr`'s count is made for long text; short text
    // (under 64 bytes) is counted in a loop the compiler vectorises
    // (callgrind: 570 instead of 664 instructions for a 79-byte event).
    if memchr::memchr(b'\r', text).is_none() {
        let breaks = if text.len() < 64 {
            // At most 63: a byte counter cannot wrap.
            usize::from(text.iter().fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'\n'))))
        } else {
            memchr::memchr_iter(b'\n', text).count()
        };
        let lines = breaks.checked_add(1)?;
        let len = text.len().checked_sub(breaks)?.checked_add(lines.checked_mul(per_line)?)?;
        return Some(Multi { len, breaks: if breaks == 0 { Breaks::None } else { Breaks::LfOnly } });
    }
    let mut len = 0usize;
    for_each_line(text, |start, end| {
        len = len.checked_add(end.checked_sub(start)?)?.checked_add(per_line)?;
        Some(())
    })?;
    Some(Multi { len, breaks: Breaks::Any })
}

fn single_len(prefix: &[u8], value_len: usize) -> Option<usize> {
    prefix.len().checked_add(value_len)?.checked_add(1)
}

/// An event with borrowed text, measured: the exact frame length, and what
/// writing it needs to know about the text (found while measuring, so the
/// write does not search again).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// The exact frame length.
    pub(crate) len: usize,
    data_breaks: Breaks,
    comment_breaks: Breaks,
}

/// Measures an event, or `None` for `Display` data (or a length beyond
/// `usize`).
pub(crate) fn plan(event: &Event<'_>) -> Option<Plan> {
    let data = match event.data() {
        Some(Data::Display(_)) => return None,
        Some(Data::Text(text)) => multi(DATA, text.as_bytes())?,
        None => Multi { len: 0, breaks: Breaks::None },
    };
    let mut len = data.len.checked_add(LF.len())?;
    let mut comment_breaks = Breaks::None;
    if let Some(comment) = event.comment() {
        let comment = multi(COMMENT, comment.as_bytes())?;
        len = len.checked_add(comment.len)?;
        comment_breaks = comment.breaks;
    }
    if let Some(name) = event.event() {
        len = len.checked_add(single_len(EVENT, name.len())?)?;
    }
    if let Some(id) = event.id() {
        len = len.checked_add(single_len(ID, id.len())?)?;
    }
    if let Some(ms) = event.retry() {
        len = len.checked_add(single_len(RETRY, Digits::new(ms).as_bytes().len())?)?;
    }
    Some(Plan { len, data_breaks: data.breaks, comment_breaks })
}

/// A cursor over the output buffer.
struct Out<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(bytes.len())?;
        self.buf.get_mut(self.pos..end)?.copy_from_slice(bytes);
        self.pos = end;
        Some(())
    }

    /// `put` for a fixed-size piece: the copy has a constant length.
    fn put_fixed<const N: usize>(&mut self, bytes: &[u8; N]) -> Option<()> {
        let end = self.pos.checked_add(N)?;
        let dst: &mut [u8; N] = self.buf.get_mut(self.pos..end)?.try_into().ok()?;
        *dst = *bytes;
        self.pos = end;
        Some(())
    }

    fn multi<const P: usize>(&mut self, prefix: &[u8; P], text: &[u8], breaks: Breaks) -> Option<()> {
        match breaks {
            Breaks::None => return self.single(prefix, text),
            Breaks::LfOnly if BLOCKS => return self.lf_lines(prefix, text),
            Breaks::LfOnly | Breaks::Any => {}
        }
        for_each_line(text, |start, end| {
            self.put_fixed(prefix)?;
            self.put(text.get(start..end)?)?;
            self.put_fixed(LF)
        })
    }

    /// `multi` for text without CR, where every LF becomes LF + prefix.
    ///
    /// Text is taken in 16-byte blocks at fixed offsets while the output
    /// has room for whole blocks: the block is stored with a fixed-length
    /// copy, and at each LF in it (a bit mask, see `lf_bits`) the output
    /// gets LF and prefix, then the rest of the block from there (bytes
    /// stored past the end of a piece are overwritten by the next). No
    /// search call per line (a 64 KiB event with a line every 64 bytes made
    /// 1 024 `memchr` restarts before), and the loads do not wait for the
    /// previous line's end. The tail goes through `memchr`.
    fn lf_lines<const P: usize>(&mut self, prefix: &[u8; P], text: &[u8]) -> Option<()> {
        self.put_fixed(prefix)?;
        // Room for a block, and for LF, prefix and a block after each LF.
        let room = BLOCK.saturating_add(BLOCK.saturating_mul(P.saturating_add(1 + BLOCK)));
        let mut at = 0usize;
        // A block is taken while a whole block follows it, so that the rest
        // of the text after any LF in it has a block's bytes.
        while let Some(block) = text.get(at..).and_then(|rest| rest.first_chunk::<{ 2 * BLOCK }>()) {
            if self.buf.len().saturating_sub(self.pos) < room {
                break;
            }
            let (block, _) = block.split_first_chunk::<BLOCK>()?;
            self.copy_block(block)?;
            let mut bits = lf_bits(block);
            let mut done = 0usize;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits.wrapping_sub(1);
                self.pos = self.pos.checked_add(i.checked_sub(done)?)?;
                self.put_fixed(LF)?;
                self.put_fixed(prefix)?;
                done = i.checked_add(1)?;
                self.copy_block(text.get(at.checked_add(done)?..)?.first_chunk::<BLOCK>()?)?;
            }
            self.pos = self.pos.checked_add(BLOCK.checked_sub(done)?)?;
            at = at.checked_add(BLOCK)?;
        }
        let rest = text.get(at..)?;
        let mut start = 0usize;
        for i in memchr::memchr_iter(b'\n', rest) {
            self.put(rest.get(start..i)?)?;
            self.put_fixed(LF)?;
            self.put_fixed(prefix)?;
            start = i.checked_add(1)?;
        }
        self.put(rest.get(start..)?)?;
        self.put_fixed(LF)
    }

    /// Stores a block at the cursor without advancing it.
    fn copy_block(&mut self, block: &[u8; BLOCK]) -> Option<()> {
        *self.buf.get_mut(self.pos..)?.first_chunk_mut::<BLOCK>()? = *block;
        Some(())
    }

    fn single<const P: usize>(&mut self, prefix: &[u8; P], value: &[u8]) -> Option<()> {
        self.put_fixed(prefix)?;
        self.put(value)?;
        self.put_fixed(LF)
    }
}

/// Writes the frame measured by `plan` into `buf` and returns its length;
/// `None` for `Display` data or when `buf` is too small (then an
/// unspecified prefix of `buf` was written: callers check `plan.len`
/// first).
pub(crate) fn write(event: &Event<'_>, plan: &Plan, buf: &mut [u8]) -> Option<usize> {
    let text = match event.data() {
        Some(Data::Display(_)) => return None,
        Some(Data::Text(text)) => Some(text),
        None => None,
    };
    let mut out = Out { buf, pos: 0 };
    if let Some(comment) = event.comment() {
        out.multi(COMMENT, comment.as_bytes(), plan.comment_breaks)?;
    }
    if let Some(name) = event.event() {
        out.single(EVENT, name.as_bytes())?;
    }
    if let Some(id) = event.id() {
        out.single(ID, id.as_bytes())?;
    }
    if let Some(ms) = event.retry() {
        out.single(RETRY, Digits::new(ms).as_bytes())?;
    }
    if let Some(text) = text {
        out.multi(DATA, text.as_bytes(), plan.data_breaks)?;
    }
    out.put_fixed(LF)?;
    Some(out.pos)
}
