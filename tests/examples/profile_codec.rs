//! The hot paths of `benches/codec.rs`, one at a time, for callgrind
//! (`scripts/profile.sh` runs it): instructions are counted repeatably
//! where times are not.
//!
//!     profile_codec (encode-small|encode-large|parse-small|parse-large) ROUNDS

use std::hint::black_box;

use sse_tests::payloads::{SMALL, large, stream};
use sse_wire::{Event, Output, Parser};

/// The function callgrind collects in (`--toggle-collect=*encode_once*`).
#[inline(never)]
fn encode_once(event: &Event<'_>, out: &mut [u8]) -> usize {
    event.encode(out).unwrap()
}

/// The function callgrind collects in (`--toggle-collect=*parse_once*`).
#[inline(never)]
fn parse_once(parser: &mut Parser<{ 1 << 17 }, 64, 64>, stream: &[u8]) -> usize {
    let mut events = 0;
    for chunk in stream.chunks(4096) {
        parser.feed(chunk, |o| events += usize::from(matches!(o, Output::Event(_))));
    }
    parser.end_of_stream();
    events
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("encode-large", String::as_str);
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(100);
    let data = if which.ends_with("small") { SMALL.to_owned() } else { large() };
    let mut total = 0;
    if which.starts_with("encode") {
        let event = Event::new().with_event("update").unwrap().with_id("12345").unwrap().with_data(&data);
        let mut out = vec![0u8; event.encoded_len()];
        for _ in 0..rounds {
            total += encode_once(black_box(&event), black_box(&mut out));
        }
    } else {
        let bytes = stream(if which.ends_with("small") { "small" } else { "large" });
        let mut parser: Box<Parser<{ 1 << 17 }, 64, 64>> = Box::default();
        for _ in 0..rounds {
            total += parse_once(&mut parser, black_box(&bytes));
        }
    }
    println!("{which}: {rounds} rounds, {total}");
}
