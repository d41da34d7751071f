//! sse-embedded's client reading arbitrary server bytes (a response head
//! and a body of any framing), split into reads by the first byte: no
//! panic, bounded events, and the same events, last event id, stats and
//! outcome however the bytes are split.
#![no_main]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use sse_embedded::{ClientConfig, ClientStats, Connect, Control, Ended, EventSource, Target};

struct Conn(VecDeque<Vec<u8>>);

impl embedded_io_async::ErrorType for Conn {
    type Error = Infallible;
}

impl embedded_io_async::Read for Conn {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let Some(next) = self.0.front_mut() else { return Ok(0) };
        let n = next.len().min(buf.len());
        buf[..n].copy_from_slice(&next[..n]);
        next.drain(..n);
        if next.is_empty() {
            self.0.pop_front();
        }
        Ok(n)
    }
}

impl embedded_io_async::Write for Conn {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// One connection with these reads, then refusals.
struct Net(Option<VecDeque<Vec<u8>>>);

impl Connect for Net {
    type Conn<'c> = Conn;
    async fn connect(&mut self, _: &Target<'_>) -> Option<Conn> {
        self.0.take().map(Conn)
    }
}

struct Timer;

impl embedded_hal_async::delay::DelayNs for Timer {
    async fn delay_ns(&mut self, _: u32) {
        let mut once = false;
        std::future::poll_fn(|_| {
            if std::mem::replace(&mut once, true) { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

type Seen = (Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>, Vec<u8>, ClientStats, Ended);

fn run(reads: VecDeque<Vec<u8>>) -> Seen {
    let mut config = ClientConfig::new(Target::parse("http://h/events").unwrap());
    config.max_failures = Some(1);
    let mut source: EventSource<256, 128, 16, 16> = EventSource::new(&config);
    let mut events = Vec::new();
    let ended = block_on(source.run(&config, &mut Net(Some(reads)), &mut Timer, |e| {
        assert!(e.data().as_bytes().len() <= 128 && e.event_type().as_bytes().len() <= 16);
        events.push((
            e.event_type().as_bytes().to_vec(),
            e.data().as_bytes().to_vec(),
            e.last_event_id().as_bytes().to_vec(),
        ));
        Control::Continue
    }));
    (events, source.last_event_id().to_vec(), source.stats(), ended)
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else { return };
    let whole = run(VecDeque::from([bytes.to_vec()]));
    let mut reads = VecDeque::new();
    let mut rest = bytes;
    let mut k = 0u32;
    while !rest.is_empty() {
        let len = (usize::from(seed.rotate_left(k) & 0x1f) + 1).min(rest.len());
        let (piece, tail) = rest.split_at(len);
        reads.push_back(piece.to_vec());
        rest = tail;
        k += 1;
    }
    assert_eq!(run(reads), whole, "the outcome depends on how the bytes were split");
});
