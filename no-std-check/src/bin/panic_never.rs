//! Panic freedom, proven at link time (the approach of the `no-panic` and
//! `panic-never` crates): this `#![no_std]` program's panic handler calls a
//! function that does not exist. In a release build with fat LTO, the
//! handler is linked only if some panicking path survives optimization in
//! the code it runs: the encoder through every sink, the resumable encoder,
//! the parser, the history and the response heads, on inputs the optimizer
//! cannot see. If one does, the link fails with an undefined reference to
//! `sse_wire_has_a_reachable_panic`.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::task::{Context, Poll, Waker};

use sse_wire::{Event, History, Output, Parser, ResponseHead, Status};

#[link(name = "c")]
unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, len: usize) -> isize;
}

unsafe extern "Rust" {
    /// Deliberately undefined: see the module docs.
    fn sse_wire_has_a_reachable_panic() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: never runs; if it is linked at all, the link fails.
    unsafe { sse_wire_has_a_reachable_panic() }
}

/// The host's precompiled `core` refers to this symbol; with
/// `panic = "abort"` it is never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

/// Bytes the optimizer cannot know: the program's own arguments.
fn input(argv: *const *const u8, argc: i32, index: i32) -> &'static [u8] {
    if index >= argc {
        return black_box(b"data: x\r\nid: 1\n\n");
    }
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings.
    unsafe {
        let arg = *argv.add(index as usize);
        let mut len = 0;
        while *arg.add(len) != 0 {
            len += 1;
        }
        core::slice::from_raw_parts(arg, len)
    }
}

#[inline(never)]
fn encode_everywhere(name: &str, id: &str, data: &str, retry: u64, window: usize, out: &mut [u8]) -> usize {
    let Ok(event) = Event::new().with_event(name) else { return 0 };
    let Ok(event) = event.with_id(id) else { return 1 };
    let event = event.with_retry(retry).with_data(data).with_comment(data);
    let mut total = event.encoded_len();
    if let Ok(n) = event.encode(out) {
        total = total.wrapping_add(n);
    }
    let mut vec: heapless::Vec<u8, 256> = heapless::Vec::new();
    if let Ok(n) = event.encode_to_vec(&mut vec) {
        total = total.wrapping_add(n);
    }
    {
        let mut sink = &mut *out;
        if event.write_to(&mut sink).is_ok() {
            total = total.wrapping_add(1);
        }
    }
    {
        let mut async_sink = &mut *out;
        let mut future = core::pin::pin!(event.write_to_async(&mut async_sink));
        if let Poll::Ready(Ok(())) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            total = total.wrapping_add(1);
        }
    }
    let mut encoder = event.encoder();
    let mut scratch = [0u8; 64];
    let size = window % scratch.len();
    for _ in 0..1000 {
        let Some(w) = scratch.get_mut(..size.max(1)) else { break };
        match encoder.encode(w) {
            Ok(Status::Complete(n)) => {
                total = total.wrapping_add(n);
                break;
            }
            Ok(Status::Partial(n)) => total = total.wrapping_add(n),
            Err(_) => break,
        }
    }
    let fmt_data = format_args!("{retry}:{data}");
    let formatted = Event::new().with_data_fmt(&fmt_data);
    if let Ok(n) = formatted.encode(out) {
        total = total.wrapping_add(n);
    }
    total
}

#[inline(never)]
fn parse_everything(bytes: &[u8], chunk: usize) -> usize {
    let mut parser: Parser<256, 32, 32> = Parser::new().with_max_line_len(black_box(200));
    let mut seen = 0usize;
    for piece in bytes.chunks(chunk.max(1)) {
        parser.feed(piece, |out| match out {
            Output::Event(e) => {
                seen = seen.wrapping_add(e.data().as_bytes().len());
                seen = seen.wrapping_add(e.data().chunks().count());
                seen = seen.wrapping_add(e.event_type().as_bytes().len());
            }
            Output::Retry(ms) => seen = seen.wrapping_add(ms as usize),
            Output::Skipped(_) => seen = seen.wrapping_add(1),
        });
    }
    parser.end_of_stream();
    let _ = parser.set_last_event_id(bytes);
    seen.wrapping_add(parser.last_event_id().as_bytes().len())
}

#[inline(never)]
fn history_and_heads(id: &str, data: &str, out: &mut [u8]) -> usize {
    let mut history: History<8, 512> = History::new();
    let mut total = 0usize;
    if let Ok(event) = Event::new().with_id(id) {
        for _ in 0..10 {
            if let Ok(seq) = history.push(&event.with_data(data)) {
                total = total.wrapping_add(history.get(seq).map_or(0, |s| s.frame.len()));
            }
        }
    }
    if let sse_wire::Resume::From(seq) = history.resume_after(id) {
        total = total.wrapping_add(history.iter_from(seq).count());
    }
    let headers = [("Access-Control-Allow-Origin", data)];
    if let Ok(n) = ResponseHead::stream().with_headers(&headers).encode(out) {
        total = total.wrapping_add(n);
    }
    if let Ok(n) = ResponseHead::status(black_box(404), id).encode(out) {
        total = total.wrapping_add(n);
    }
    total
}

#[unsafe(no_mangle)]
pub extern "C" fn main(argc: i32, argv: *const *const u8) -> i32 {
    let text = |i| core::str::from_utf8(input(argv, argc, i)).unwrap_or("");
    let mut out = [0u8; 512];
    let a = encode_everywhere(text(1), text(2), text(3), argc as u64, argc as usize, &mut out);
    let b = parse_everything(input(argv, argc, 3), argc as usize);
    let c = history_and_heads(text(2), text(3), &mut out);
    let message = b"panic-never: encoder, parser, history and heads linked without a panicking path\n";
    // SAFETY: writing a valid buffer to stdout.
    unsafe { write(1, message.as_ptr(), message.len()) };
    (black_box(a.wrapping_add(b).wrapping_add(c)) == usize::MAX) as i32
}
