//! The parser against the conformance vectors, fed whole, one byte at a
//! time, and split in two at every point; plus chunking-equivalence and
//! encoder round-trip properties.

mod strategies;
mod vectors;

use proptest::prelude::*;
use sse_wire::{Output, Parser};
use strategies::{Parts, parts, with_event};
use vectors::{Rec, ev};

type P = Parser<256, 64, 64>;

fn record(out: Output<'_>, recs: &mut Vec<Rec>) {
    match out {
        Output::Event(e) => recs.push(Rec::Ev(
            e.event_type().as_bytes().to_vec(),
            e.data().as_bytes().to_vec(),
            e.last_event_id().as_bytes().to_vec(),
        )),
        Output::Retry(ms) => recs.push(Rec::Retry(ms)),
        Output::Skipped(why) => panic!("unexpected skip: {why}"),
    }
}

/// Feeds `chunks` through `parse` (checking that each call makes progress
/// or finishes the chunk) and ends the stream.
fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Rec>, Vec<u8>) {
    let mut p = P::new();
    let mut recs = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        while !rest.is_empty() {
            let (used, out) = p.parse(rest);
            assert!(used <= rest.len());
            match out {
                Some(out) => record(out, &mut recs),
                None => assert_eq!(used, rest.len(), "None means all of the input was used"),
            }
            assert!(used > 0, "no progress");
            rest = &rest[used..];
        }
    }
    p.end_of_stream();
    (recs, p.last_event_id().as_bytes().to_vec())
}

#[test]
fn every_vector_whole_byte_by_byte_and_at_every_split() {
    for v in vectors::all() {
        let want = (v.want.clone(), v.last_id.to_vec());
        assert_eq!(run([v.input]), want, "{}: whole", v.name);
        assert_eq!(run(v.input.chunks(1)), want, "{}: byte by byte", v.name);
        for i in 0..=v.input.len() {
            let (a, b) = v.input.split_at(i);
            assert_eq!(run([a, b]), want, "{}: split at {i}", v.name);
        }
    }
}

#[test]
fn end_of_stream_starts_a_new_stream_keeping_id_and_retry() {
    let mut p = P::new();
    let mut recs = Vec::new();
    p.feed(b"id: 1\nretry: 50\n\ndata: lost", |o| record(o, &mut recs));
    p.end_of_stream();
    // The next connection's stream: its BOM is dropped again.
    p.feed(b"\xEF\xBB\xBFdata: new\n\n", |o| record(o, &mut recs));
    assert_eq!(recs, [Rec::Retry(50), ev("message", b"new", b"1")]);
    assert_eq!(p.retry(), Some(50));
}

#[test]
fn text_view_replaces_invalid_utf8() {
    let mut p = P::new();
    let (_, out) = p.parse(b"event: \xC3\ndata: ok\xFF\xC3\xA9\nid: \xE2\x82\n\n");
    let Some(Output::Event(e)) = out else { panic!() };
    assert_eq!(e.event_type().to_string(), "\u{FFFD}");
    assert_eq!(e.data().to_string(), "ok\u{FFFD}é");
    assert_eq!(e.last_event_id().to_string(), "\u{FFFD}");
}

fn owned(p: &mut P, input: &[u8], recs: &mut Vec<String>) {
    p.feed(input, |o| {
        recs.push(match o {
            Output::Event(e) => format!("{:?}", (e.event_type(), e.data(), e.last_event_id())),
            Output::Retry(ms) => format!("retry {ms}"),
            Output::Skipped(why) => format!("skipped {why:?}"),
        });
    });
}

/// Appends the encoding of the event `p` describes.
fn encode(p: &Parts, out: &mut Vec<u8>) {
    with_event(p, |e| {
        let start = out.len();
        out.resize(start + e.encoded_len(), 0);
        e.encode(&mut out[start..]).unwrap();
    });
}

fn split_at_points<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for c in cuts {
        chunks.push(&bytes[at..c]);
        at = c;
    }
    chunks.push(&bytes[at..]);
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Encoder → arbitrary chunking → parser gives back the events; CR and
    /// CRLF in data arrive as LF, the id persists, retry is reported.
    #[test]
    fn encoder_round_trip_in_any_chunking(
        events in prop::collection::vec(parts(), 0..8),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut bytes = Vec::new();
        let mut want = Vec::new();
        let mut last_id = String::new();
        for p in &events {
            encode(p, &mut bytes);
            if let Some(r) = p.retry {
                want.push(Rec::Retry(r));
            }
            if let Some(id) = &p.id {
                last_id = id.clone();
            }
            if let Some(d) = &p.data {
                let ty = p.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("message");
                let data = d.replace("\r\n", "\n").replace('\r', "\n");
                want.push(ev(ty, data.as_bytes(), last_id.as_bytes()));
            }
        }
        let mut p: Parser<4096, 256, 256> = Parser::new();
        let mut got = Vec::new();
        for chunk in split_at_points(&bytes, &points) {
            p.feed(chunk, |o| match o {
                Output::Event(e) => got.push(Rec::Ev(
                    e.event_type().as_bytes().to_vec(),
                    e.data().as_bytes().to_vec(),
                    e.last_event_id().as_bytes().to_vec(),
                )),
                Output::Retry(ms) => got.push(Rec::Retry(ms)),
                Output::Skipped(why) => panic!("{why}"),
            });
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(p.last_event_id().as_bytes(), last_id.as_bytes());
    }

    /// Arbitrary bytes give the same outputs in any chunking as fed whole,
    /// including skips under tight limits.
    #[test]
    fn arbitrary_bytes_in_any_chunking_equal_whole(
        bytes in prop::collection::vec(
            prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(0u8), Just(0xEF), Just(0xBB), Just(0xBF),
                Just(b'd'), Just(b'a'), Just(b't'), Just(b'i'), Just(b'e'), Just(b'v'), Just(b'n'), Just(b'r'),
                Just(b'y'), Just(b'1'), any::<u8>(),
            ],
            0..300,
        ),
        chunks in prop::collection::vec(any::<usize>(), 0..20),
        framed in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if framed {
            // Also well-formed prefixes, so that dispatches are common.
            let mut f = b"data: x\nid: 1\n\n".to_vec();
            f.extend_from_slice(&bytes);
            bytes = f;
        }
        let mut whole = Vec::new();
        let mut p = P::new().with_max_line_len(24);
        owned(&mut p, &bytes, &mut whole);
        let mut pieces = Vec::new();
        let mut q = P::new().with_max_line_len(24);
        for chunk in split_at_points(&bytes, &chunks) {
            owned(&mut q, chunk, &mut pieces);
        }
        prop_assert_eq!(&whole, &pieces);
        prop_assert_eq!(p.last_event_id(), q.last_event_id());
        prop_assert_eq!(p.retry(), q.retry());
        prop_assert_eq!(p.skipped(), q.skipped());
    }

    /// Lines made of real field names, values near every limit and every
    /// line end: fed whole (whole lines take the parser's one-step path)
    /// they give the same outputs as fed byte by byte (where every line is
    /// read piece by piece).
    #[test]
    fn whole_lines_and_byte_by_byte_agree_near_every_limit(
        lines in prop::collection::vec(
            (
                prop_oneof![
                    Just("data"), Just("id"), Just("event"), Just("retry"), Just("dat"), Just("datax"),
                    Just("evento"), Just(""), Just("x"),
                ],
                prop_oneof![Just(""), Just(":"), Just(": "), Just(":  "), Just("::")],
                prop_oneof![
                    Just(String::new()),
                    "[a-c0-9\u{0} ]{1,12}",
                    "[a-z]{6,10}",
                ],
                prop_oneof![Just("\n"), Just("\r"), Just("\r\n"), Just("\n\n"), Just("\r\n\r\n")],
            ),
            0..40,
        ),
        max_line in 4usize..24,
    ) {
        let mut bytes = Vec::new();
        for (name, colon, value, end) in &lines {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(colon.as_bytes());
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(end.as_bytes());
        }
        type Tight = Parser<12, 6, 6>;
        let run = |chunk: usize| {
            let mut p = Tight::new().with_max_line_len(max_line);
            let mut out = Vec::new();
            for piece in bytes.chunks(chunk) {
                p.feed(piece, |o| out.push(format!("{o:?}")));
            }
            (out, p.last_event_id().as_bytes().to_vec(), p.retry(), p.skipped())
        };
        prop_assert_eq!(run(bytes.len().max(1)), run(1));
    }
}
