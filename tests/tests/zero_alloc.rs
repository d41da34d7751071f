//! Encoding performs zero heap allocations, on every sink.
//!
//! A counting global allocator counts allocations made by the current
//! thread between `start` and `stop`; everything the test needs (events,
//! buffers, expected bytes) is prepared outside that span.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt;

use sse_wire::{Event, History, ResponseHead, Status};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards to `System` unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations this thread made during it.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

struct Reading(f64, u32);

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{\"t\":{},\n\"rh\":{}}}\r\n", self.0, self.1)
    }
}

/// A writer into a fixed buffer, for the embedded-io sinks.
struct Fixed<'b>(&'b mut [u8], usize);

impl embedded_io::ErrorType for Fixed<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Fixed<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let free = &mut self.0[self.1..];
        let n = buf.len().min(free.len());
        free[..n].copy_from_slice(&buf[..n]);
        self.1 += n;
        if n == 0 && !buf.is_empty() { Err(embedded_io::ErrorKind::WriteZero) } else { Ok(n) }
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_io_async::Write for Fixed<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Proves the harness can fail: a boxed value is counted.
    let n = allocations(|| drop(std::hint::black_box(Box::new(7u64))));
    assert_eq!(n, 1);
}

#[test]
fn encoding_allocates_nothing_on_any_sink() {
    let reading = Reading(21.5, 40);
    let long = "line one\r\nline two\rline three\n".repeat(100);
    let events = [
        Event::new().with_event("sensor").unwrap().with_id("42").unwrap().with_retry(3000).with_data(&long),
        Event::new().with_comment("hello\nthere").with_data_fmt(&reading),
        Event::new().with_id("").unwrap(),
    ];
    let mut slice = vec![0u8; 8192];
    let mut vec: Box<heapless::Vec<u8, 8192>> = Box::default();
    let mut io = vec![0u8; 8192];
    let mut window = [0u8; 7];
    let mut history: Box<History<8, 16384>> = Box::default();
    let mut head = [0u8; 256];
    let mut json_scratch = [0u8; 64];
    let mut waker_cx = std::task::Context::from_waker(std::task::Waker::noop());

    let n = allocations(|| {
        for ev in &events {
            let len = ev.encoded_len();
            assert_eq!(ev.encode(&mut slice), Ok(len));
            vec.clear();
            assert_eq!(ev.encode_to_vec(&mut vec), Ok(len));
            let mut w = Fixed(&mut io, 0);
            ev.write_to(&mut w).unwrap();
            let mut w = Fixed(&mut io, 0);
            let fut = std::pin::pin!(ev.write_to_async(&mut w));
            assert!(fut.poll(&mut waker_cx).is_ready());
            let mut enc = ev.encoder();
            while let Ok(Status::Partial(_)) = enc.encode(&mut window) {}
            assert_eq!(enc.written(), len);
            history.push(ev).unwrap();
        }
        assert!(matches!(history.resume_after("42"), sse_wire::Resume::From(_)));
        assert_eq!(history.iter_from(0).count(), 3);
        ResponseHead::stream()
            .with_headers(&[("Access-Control-Allow-Origin", "*")])
            .encode(&mut head)
            .unwrap();
        let json = Event::new().with_json(&[1, 2, 3], &mut json_scratch).unwrap();
        assert_eq!(json.encode(&mut slice), Ok(15));
    });
    assert_eq!(n, 0, "encoding allocated {n} times");
}

#[test]
fn parsing_allocates_nothing() {
    let mut stream = Vec::new();
    stream.extend_from_slice(b"\xEF\xBB\xBFretry: 3000\n: comment\n");
    for i in 0..200 {
        stream.extend_from_slice(format!("id: {i}\r\nevent: tick\rdata: line one\ndata: {i}\n\n").as_bytes());
    }
    stream
        .extend_from_slice(b"data: too long for the parser's data buffer of 64 bytes, so it is skipped\n\n");
    let mut parser: Box<sse_wire::Parser<64>> = Box::default();
    let mut events = 0usize;
    let mut skipped = 0usize;
    let mut text_len = 0usize;
    let n = allocations(|| {
        for chunk in stream.chunks(7) {
            parser.feed(chunk, |out| match out {
                sse_wire::Output::Event(e) => {
                    events += 1;
                    text_len += e.data().chunks().map(str::len).sum::<usize>();
                }
                sse_wire::Output::Skipped(_) => skipped += 1,
                sse_wire::Output::Retry(_) => {}
            });
        }
        parser.end_of_stream();
    });
    assert_eq!((events, skipped), (200, 1));
    assert!(text_len > 0);
    assert_eq!(n, 0, "parsing allocated {n} times");
}
