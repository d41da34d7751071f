//! Encode and parse throughput, each next to its peers in the same run:
//! axum's `sse::Event` and a bare `memcpy` for encoding; the
//! `eventsource-stream` crate and a bare `memchr2` scan for parsing.
//! `scripts/bench.sh` turns the results into ratios.

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt as _;
use sse_tests::payloads::{SMALL, large, medium, stream};
use sse_wire::{Event, Output, Parser};

fn encode(c: &mut Criterion) {
    let payloads = [("small", SMALL.to_owned()), ("medium", medium()), ("large", large())];
    for (size, data) in &payloads {
        let event = Event::new().with_event("update").unwrap().with_id("12345").unwrap().with_data(data);
        let len = event.encoded_len();
        let mut out = vec![0u8; len];
        let source = {
            let mut v = vec![0u8; len];
            event.encode(&mut v).unwrap();
            v
        };
        let mut group = c.benchmark_group(format!("encode_{size}"));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("sse-wire", len), |b| {
            b.iter(|| black_box(&event).encode(black_box(&mut out)).unwrap())
        });
        // axum serialises while the event is built (into its own BytesMut);
        // building it is its whole per-event encoding cost.
        group.bench_function(BenchmarkId::new("axum", len), |b| {
            b.iter(|| {
                black_box(
                    axum::response::sse::Event::default()
                        .event(black_box("update"))
                        .id(black_box("12345"))
                        .data(black_box(data.as_str())),
                )
            })
        });
        group.bench_function(BenchmarkId::new("memcpy", len), |b| {
            b.iter(|| black_box(&mut out).copy_from_slice(black_box(&source)))
        });
        if *size == "large" {
            // The measuring pass alone (the exact length, found before a
            // byte is written): part of every `encode`.
            group.bench_function(BenchmarkId::new("encoded_len", len), |b| {
                b.iter(|| black_box(&event).encoded_len())
            });
        }
        group.finish();
        if *size == "large" {
            encode_cold(c, &event, &source);
        }
    }
}

/// The same large event written where frames really go: each iteration
/// writes to the next place in an arena larger than the last-level cache
/// (as the hub's history ring and socket buffers are, under many clients),
/// next to a memcpy of the frame into the same arena. The benchmarks above
/// write into one cache-resident buffer, where memcpy runs at the L1/L2
/// bandwidth.
fn encode_cold(c: &mut Criterion, event: &Event<'_>, frame: &[u8]) {
    const ARENA: usize = 256 << 20;
    let len = frame.len();
    // Written once, so that every page is mapped before measuring.
    let mut arena = vec![1u8; ARENA];
    // The next place to write: one frame further each time, wrapping.
    let next = |at: &mut usize| {
        *at = if *at + 2 * len > ARENA { 0 } else { *at + len };
        *at..*at + len
    };
    let mut group = c.benchmark_group("encode_large_cold");
    group.throughput(Throughput::Bytes(len as u64));
    let mut at = 0;
    group.bench_function(BenchmarkId::new("sse-wire", len), |b| {
        b.iter(|| black_box(event).encode(black_box(&mut arena[next(&mut at)])).unwrap())
    });
    group.bench_function(BenchmarkId::new("memcpy", len), |b| {
        b.iter(|| arena[next(&mut at)].copy_from_slice(black_box(frame)))
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    for (kind, expected) in [("small", 10_000usize), ("large", 16)] {
        let bytes = stream(kind);
        let chunks: Vec<Bytes> = bytes.chunks(4096).map(Bytes::copy_from_slice).collect();
        let mut group = c.benchmark_group(format!("parse_{kind}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut parser: Box<Parser<{ 1 << 17 }, 64, 64>> = Box::default();
        group.bench_function(BenchmarkId::new("sse-wire", bytes.len()), |b| {
            b.iter(|| {
                let mut events = 0usize;
                for chunk in &chunks {
                    parser.feed(black_box(chunk), |o| events += usize::from(matches!(o, Output::Event(_))));
                }
                parser.end_of_stream();
                assert_eq!(events, expected);
                events
            })
        });
        group.bench_function(BenchmarkId::new("eventsource-stream", bytes.len()), |b| {
            use eventsource_stream::Eventsource as _;
            b.iter(|| {
                let input = futures::stream::iter(chunks.iter().cloned().map(Ok::<_, Infallible>));
                let events = futures::executor::block_on(
                    input.eventsource().filter(|e| futures::future::ready(e.is_ok())).count(),
                );
                assert_eq!(events, expected);
                events
            })
        });
        group.bench_function(BenchmarkId::new("memchr2", bytes.len()), |b| {
            b.iter(|| memchr::memchr2_iter(b'\r', b'\n', black_box(&bytes)).count())
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = encode, parse }
criterion_main!(benches);
