//! Links sse-wire into a `#![no_std]`, `#![no_main]` program on the host.
//!
//! If sse-wire (or anything it depends on with the features enabled here)
//! pulled in `std`, this would not link: `std` brings its own panic handler
//! and this crate defines one too. The program also runs: it encodes with
//! every sink, parses the result back, and exits 0 only if all is right.

#![no_std]
#![no_main]

use core::fmt::Write as _;

use sse_wire::{Event, History, Output, Parser, ResponseHead, Resume, Status};

#[link(name = "c")]
unsafe extern "C" {
    fn abort() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: `abort` takes no arguments and never returns.
    unsafe { abort() }
}

/// The host's precompiled `core` is built with unwinding and refers to this
/// symbol; with `panic = "abort"` it is never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

/// A fixed-capacity `fmt::Write` for building the expected id.
struct Small {
    buf: [u8; 16],
    len: usize,
}

impl core::fmt::Write for Small {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn check() -> bool {
    const WANT: &[u8] = b"event: sensor\nid: 7\ndata: {\"t\":21}\ndata: x\n\n";
    let mut id = Small { buf: [0; 16], len: 0 };
    if write!(id, "{}", 7).is_err() {
        return false;
    }
    let Ok(id) = core::str::from_utf8(&id.buf[..id.len]) else {
        return false;
    };
    let t = 21;
    let data = format_args!("{{\"t\":{t}}}\r\nx");
    let Ok(Ok(event)) = Event::new().with_event("sensor").map(|e| e.with_id(id)) else {
        return false;
    };
    let event = event.with_data_fmt(&data);

    let mut buf = [0u8; 128];
    let Ok(n) = event.encode(&mut buf) else {
        return false;
    };
    let one_shot_ok = &buf[..n] == WANT && event.encoded_len() == n;

    let mut vec: heapless::Vec<u8, 128> = heapless::Vec::new();
    let vec_ok = event.encode_to_vec(&mut vec).is_ok() && vec.as_slice() == WANT;

    let mut io = [0u8; 128];
    let mut io_slice = &mut io[..];
    let io_ok = event.write_to(&mut io_slice).is_ok() && io.get(..WANT.len()) == Some(WANT);

    let mut windows = [0u8; 128];
    let mut enc = event.encoder();
    let mut at = 0;
    while at < windows.len() {
        let end = (at + 5).min(windows.len());
        match enc.encode(&mut windows[at..end]) {
            Ok(Status::Partial(k)) => at += k,
            Ok(Status::Complete(k)) => {
                at += k;
                break;
            }
            Err(_) => return false,
        }
    }
    let resumable_ok = &windows[..at] == WANT;

    let mut history: History<4, 256> = History::new();
    let history_ok = history.push(&event).is_ok() && history.resume_after("7") == Resume::UpToDate;

    let mut head = [0u8; 128];
    let head_ok = ResponseHead::stream().encode(&mut head).is_ok();

    // The parser reads back what the encoder wrote, in small chunks.
    let mut parser: Parser<64, 16, 16> = Parser::new();
    let mut parsed_ok = false;
    for chunk in WANT.chunks(3) {
        parser.feed(chunk, |out| {
            if let Output::Event(ev) = out {
                parsed_ok = ev.event_type().as_bytes() == b"sensor"
                    && ev.data().as_bytes() == b"{\"t\":21}\nx"
                    && ev.last_event_id().as_bytes() == b"7";
            }
        });
    }

    one_shot_ok && vec_ok && io_ok && resumable_ok && history_ok && head_ok && parsed_ok
}

/// The C runtime's entry point calls this.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    if check() { 0 } else { 1 }
}
