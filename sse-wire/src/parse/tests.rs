//! Unit tests, next to the code they test.
use std::vec::Vec;

use super::*;

fn outputs<const D: usize, const E: usize, const I: usize>(
    p: &mut Parser<D, E, I>,
    input: &[u8],
) -> Vec<std::string::String> {
    let mut out = Vec::new();
    p.feed(input, |o| {
        out.push(match o {
            Output::Event(e) => {
                std::format!("{}|{}|{}", e.event_type(), e.data(), e.last_event_id())
            }
            Output::Retry(ms) => std::format!("retry {ms}"),
            Output::Skipped(why) => std::format!("skip {why:?}"),
        });
    });
    out
}

#[test]
fn data_limit_counts_each_line_and_its_lf() {
    // "abc" + LF is exactly 4 bytes: fits.
    let mut p: Parser<4> = Parser::new();
    assert_eq!(outputs(&mut p, b"data: abc\n\n"), ["message|abc|"]);
    // Four empty data lines are 4 bytes; a fifth is one too many.
    assert_eq!(outputs(&mut p, b"data\ndata\ndata\ndata\n\n"), ["message|\n\n\n|"]);
    assert_eq!(outputs(&mut p, b"data\ndata\ndata\ndata\ndata\n\n"), ["skip DataTooLong"]);
    assert_eq!(outputs(&mut p, b"data: abcd\n\n"), ["skip DataTooLong"]);
    assert_eq!(p.skipped(), 2);
}

#[test]
fn a_skipped_block_has_no_effect_and_the_next_one_is_parsed() {
    let mut p: Parser<8> = Parser::new();
    let input =
        b"id: 1\ndata: a\n\nid: 2\nevent: e\nretry: 9\ndata: far too long\nmore: x\nid: 3\n\ndata: b\n\n";
    assert_eq!(outputs(&mut p, input), ["message|a|1", "retry 9", "skip DataTooLong", "message|b|1"]);
    assert_eq!(p.last_event_id().as_bytes(), b"1");
}

#[test]
fn line_limit_counts_the_line_end() {
    let mut p: Parser<64> = Parser::new().with_max_line_len(8);
    // "data: a" is 7 bytes, 8 with its LF: allowed.
    assert_eq!(outputs(&mut p, b"data: a\n\n"), ["message|a|"]);
    // "data: ab" is 8 bytes, 9 with its LF: too long.
    assert_eq!(outputs(&mut p, b"data: ab\n\n"), ["skip LineTooLong"]);
    assert_eq!(outputs(&mut p, b": a comment that never ends"), ["skip LineTooLong"]);
    assert_eq!(outputs(&mut p, b" and goes on and on\ndata: x\n\ndata: y\n\n"), ["message|y|"]);
    assert_eq!(p.skipped(), 2);
}

#[test]
fn event_type_and_id_limits() {
    let mut p: Parser<64, 4, 4> = Parser::new();
    assert_eq!(outputs(&mut p, b"event: abcd\nid: 1234\ndata\n\n"), ["abcd||1234"]);
    assert_eq!(outputs(&mut p, b"event: abcde\ndata\n\n"), ["skip EventTypeTooLong"]);
    assert_eq!(outputs(&mut p, b"id: 12345\ndata\n\n"), ["skip IdTooLong"]);
    assert_eq!(p.last_event_id().as_bytes(), b"1234");
}

#[test]
fn skip_is_reported_once_per_block_even_across_chunks() {
    let mut p: Parser<4> = Parser::new();
    let mut all = Vec::new();
    for chunk in [&b"data: 123"[..], b"456", b"78\ndata: 9", b"\n", b"\n", b"data: z\n\n"] {
        all.extend(outputs(&mut p, chunk));
    }
    assert_eq!(all, ["skip DataTooLong", "message|z|"]);
}

#[test]
fn long_line_and_many_events_take_linear_work_and_fixed_memory() {
    // A 10 MiB data line: looked at once, skipped, memory unchanged.
    let size = core::mem::size_of::<Parser<1024>>();
    let mut long = Vec::with_capacity(10 << 20);
    long.extend_from_slice(b"data: ");
    long.resize(10 << 20, b'x');
    long.extend_from_slice(b"\n\ndata: after\n\n");
    let mut p: Parser<1024> = Parser::new();
    let mut seen = Vec::new();
    for chunk in long.chunks(1500) {
        seen.extend(outputs(&mut p, chunk));
    }
    // The data buffer fills (at byte 1030) before the line limit (1039).
    assert_eq!(seen, ["skip DataTooLong", "message|after|"]);
    let per_byte_long = p.examined as f64 / long.len() as f64;

    // 100 000 small events.
    let mut many = Vec::new();
    for i in 0..100_000u32 {
        many.extend_from_slice(std::format!("id: {i}\nevent: tick\ndata: {{\"n\":{i}}}\n\n").as_bytes());
    }
    let mut q: Parser<1024> = Parser::new();
    let mut count = 0;
    for chunk in many.chunks(1500) {
        q.feed(chunk, |o| count += usize::from(matches!(o, Output::Event(_))));
    }
    assert_eq!(count, 100_000);
    let per_byte_many = q.examined as f64 / many.len() as f64;

    // Each byte is looked at a bounded number of times in both, so the
    // work is linear in the input; a rescan of partial lines would make
    // the long line cost thousands of looks per byte.
    assert!(per_byte_long <= 2.0, "{per_byte_long}");
    assert!(per_byte_many <= 2.0, "{per_byte_many}");
    assert_eq!(core::mem::size_of_val(&p), size);
}

#[test]
fn parse_reports_progress_exactly() {
    let mut p: Parser<64> = Parser::new();
    let input = b"retry: 1\ndata: a\n\n: c\n";
    let (used, out) = p.parse(input);
    assert_eq!((used, out), (9, Some(Output::Retry(1))));
    let (used2, out) = p.parse(&input[used..]);
    assert_eq!(used2, 9);
    assert!(matches!(out, Some(Output::Event(_))));
    assert_eq!(p.parse(&input[used + used2..]), (4, None));
    assert_eq!(p.parse(b""), (0, None));
}

/// Found by `fuzz/parse_chunked`: an `id` value and the line limit
/// overflowing in the same chunk were reported in a different order
/// than when the bytes came one at a time.
#[test]
fn the_first_limit_hit_in_byte_order_is_reported_whatever_the_chunking() {
    let input = b"id:retr\x00y:\x00\x08retry: [\x00\x00\x00999999999999G99[99999999999\x00\x00\x00\x00";
    let run = |chunks: &mut dyn Iterator<Item = &[u8]>| {
        let mut p: Parser<64, 8, 8> = Parser::new().with_max_line_len(48);
        let mut out = std::vec::Vec::new();
        for chunk in chunks {
            out.extend(outputs(&mut p, chunk));
        }
        out
    };
    let whole = run(&mut core::iter::once(&input[..]));
    assert_eq!(whole, ["skip IdTooLong"]);
    assert_eq!(run(&mut input.chunks(1)), whole);
    for n in 2..input.len() {
        assert_eq!(run(&mut input.chunks(n)), whole, "chunks of {n}");
    }
    // A line limit hit before the id is full is a line limit.
    let mut p: Parser<64, 8, 8> = Parser::new().with_max_line_len(6);
    assert_eq!(outputs(&mut p, b"id: 123456\n\n"), ["skip LineTooLong"]);
}
