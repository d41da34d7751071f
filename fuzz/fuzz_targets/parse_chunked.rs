//! The parser fed whole and in arbitrary chunkings gives the same outputs;
//! limits are never exceeded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_wire::{Output, Parser};

const DATA: usize = 64;
const EVENT: usize = 8;
const ID: usize = 8;

#[derive(Debug, PartialEq)]
enum Rec {
    Event(Vec<u8>, Vec<u8>, Vec<u8>),
    Retry(u64),
    Skipped(sse_wire::Skipped),
}

fn run(chunks: &[&[u8]]) -> (Vec<Rec>, Vec<u8>, u64) {
    let mut parser: Parser<DATA, EVENT, ID> = Parser::new().with_max_line_len(48);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut rest = *chunk;
        while !rest.is_empty() {
            let (used, found) = parser.parse(rest);
            assert!(used <= rest.len());
            match found {
                Some(Output::Event(e)) => {
                    // Limits hold.
                    assert!(e.data().as_bytes().len() < DATA);
                    assert!(e.event_type().as_bytes().len() <= EVENT.max(7));
                    assert!(e.last_event_id().as_bytes().len() <= ID);
                    assert!(!e.last_event_id().as_bytes().contains(&0));
                    out.push(Rec::Event(
                        e.event_type().as_bytes().to_vec(),
                        e.data().as_bytes().to_vec(),
                        e.last_event_id().as_bytes().to_vec(),
                    ));
                }
                Some(Output::Retry(ms)) => out.push(Rec::Retry(ms)),
                Some(Output::Skipped(why)) => out.push(Rec::Skipped(why)),
                None => assert_eq!(used, rest.len()),
            }
            assert!(used > 0);
            rest = &rest[used..];
        }
    }
    (out, parser.last_event_id().as_bytes().to_vec(), parser.skipped())
}

fuzz_target!(|bytes: &[u8]| {
    let whole = run(&[bytes]);
    // Chunk sizes from a small generator seeded by the input, so that the
    // corpus stays plain `text/event-stream` bytes.
    let mut state = bytes.iter().fold(0x9e37_79b9_u32, |h, b| h.rotate_left(5) ^ u32::from(*b));
    let mut chunks = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (state >> 24) as usize % 9;
        let (now, later) = rest.split_at(n.min(rest.len()));
        chunks.push(now);
        rest = later;
    }
    assert_eq!(whole, run(&chunks));
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(whole, run(&bytewise));
});
