//! Unit tests, next to the code they test.
use std::vec::Vec;
use std::{format, vec};

use super::*;
use crate::FieldError;

fn encode(ev: &Event<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; ev.encoded_len()];
    let n = ev.encode(&mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len must be exact");
    buf
}

/// Formats its text one `write_str` call per byte-run given, so line
/// breaks (CRLF included) can be split across calls.
struct Chunked<'a>(&'a [&'a str]);

impl fmt::Display for Chunked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|part| f.write_str(part))
    }
}

struct Failing;

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("partial\n")?;
        Err(fmt::Error)
    }
}

#[test]
fn every_field_in_order_with_a_space_after_the_colon() {
    let ev = Event::new()
        .with_comment("c")
        .with_event("e")
        .unwrap()
        .with_id("i")
        .unwrap()
        .with_retry(10)
        .with_data("d");
    assert_eq!(encode(&ev), b": c\nevent: e\nid: i\nretry: 10\ndata: d\n\n");
}

#[test]
fn event_name_with_cr_or_lf_is_refused() {
    for name in ["a\rb", "a\nb", "\r\n", "\r", "x\n"] {
        assert_eq!(Event::new().with_event(name).unwrap_err(), FieldError::EventNameLineBreak);
    }
    // NUL and colons are harmless in an event name.
    assert!(Event::new().with_event("a:\0b").is_ok());
}

#[test]
fn id_with_cr_lf_or_nul_is_refused_and_empty_id_is_sent() {
    for id in ["1\r", "\n1", "1\r\n2"] {
        assert_eq!(Event::new().with_id(id).unwrap_err(), FieldError::IdLineBreak);
    }
    assert_eq!(Event::new().with_id("1\u{0}2").unwrap_err(), FieldError::IdNul);
    assert_eq!(Event::new().with_id("\0\n").unwrap_err(), FieldError::IdLineBreak);
    assert_eq!(encode(&Event::new().with_id("").unwrap()), b"id: \n\n");
}

#[test]
fn each_line_break_in_data_starts_a_data_line_and_crlf_is_one_break() {
    let cases: &[(&str, &[u8])] = &[
        ("a\nb", b"data: a\ndata: b\n\n"),
        ("a\rb", b"data: a\ndata: b\n\n"),
        ("a\r\nb", b"data: a\ndata: b\n\n"),
        ("a\n\rb", b"data: a\ndata: \ndata: b\n\n"),
        ("\r\r\n\n", b"data: \ndata: \ndata: \ndata: \n\n"),
        ("a\n", b"data: a\ndata: \n\n"),
        ("\n", b"data: \ndata: \n\n"),
        ("", b"data: \n\n"),
        (" lead", b"data:  lead\n\n"),
        ("data: x\n\nid: 1", b"data: data: x\ndata: \ndata: id: 1\n\n"),
    ];
    for (data, want) in cases {
        assert_eq!(encode(&Event::new().with_data(data)), *want, "data {data:?}");
    }
}

#[test]
fn comment_lines_are_split_like_data() {
    assert_eq!(encode(&Event::new().with_comment("a\r\nb\rc")), b": a\n: b\n: c\n\n");
    assert_eq!(encode(&Event::new().with_comment("")), b": \n\n");
}

#[test]
fn retry_is_decimal_for_every_width() {
    for ms in [0, 9, 10, 3000, u64::from(u32::MAX), u64::MAX] {
        let want = format!("retry: {ms}\n\n");
        assert_eq!(encode(&Event::new().with_retry(ms)), want.as_bytes());
    }
}

#[test]
fn display_data_is_split_the_same_whatever_the_chunking() {
    let text = "a\r\nb\rc\n\r\nd\r";
    let parts: &[&[&str]] = &[
        &[text],
        &["a\r", "\nb\r", "c\n\r", "\nd\r"],
        &["a", "\r", "\n", "b", "\r", "c", "\n", "\r", "\n", "d", "\r"],
        &["", "a\r", "", "\n", "b\rc\n\r", "", "\nd\r", ""],
    ];
    let want = encode(&Event::new().with_data(text));
    for p in parts {
        let chunked = Chunked(p);
        assert_eq!(encode(&Event::new().with_data_fmt(&chunked)), want, "{p:?}");
    }
    // A CR alone at the end of one call and a CR starting the next are
    // two breaks, not one CRLF.
    let two = Chunked(&["a\r", "\rb"]);
    assert_eq!(encode(&Event::new().with_data_fmt(&two)), b"data: a\ndata: \ndata: b\n\n");
}

#[test]
fn too_small_buffer_is_left_untouched_and_reports_the_size() {
    let data = Chunked(&["x\ny"]);
    for ev in
        [Event::new().with_id("1").unwrap().with_data("hello\nworld"), Event::new().with_data_fmt(&data)]
    {
        let needed = ev.encoded_len();
        for size in 0..needed {
            let mut buf = vec![0xAA; size];
            assert_eq!(ev.encode(&mut buf), Err(EncodeError::BufferTooSmall { needed, available: size }));
            assert!(buf.iter().all(|&b| b == 0xAA), "size {size} was written to");
        }
    }
}

#[test]
fn heapless_vec_appends_or_stays_unchanged() {
    let mut out: heapless::Vec<u8, 24> = heapless::Vec::new();
    out.extend_from_slice(b"xx").unwrap();
    assert_eq!(Event::new().with_data("0123456789").encode_to_vec(&mut out), Ok(18));
    assert_eq!(
        Event::new().with_data("abc").encode_to_vec(&mut out),
        Err(EncodeError::BufferTooSmall { needed: 11, available: 4 })
    );
    assert_eq!(out.as_slice(), b"xxdata: 0123456789\n\n");
}

#[test]
fn failing_display_is_a_format_error() {
    let ev = Event::new().with_data_fmt(&Failing);
    assert_eq!(ev.encode(&mut [0u8; 64]), Err(EncodeError::Format));
    assert_eq!(ev.encoder().encode(&mut [0u8; 64]), Err(fmt::Error));
    assert_eq!(ev.encoded_len(), b"data: partial\n".len());
}

fn by_windows(ev: &Event<'_>, sizes: &mut dyn Iterator<Item = usize>) -> Vec<u8> {
    let mut enc = ev.encoder();
    let mut out = Vec::new();
    for size in sizes {
        let mut window = vec![0u8; size];
        let status = enc.encode(&mut window).unwrap();
        out.extend_from_slice(&window[..status.written()]);
        assert_eq!(status.is_complete(), enc.is_complete());
        if status.is_complete() {
            return out;
        }
    }
    panic!("encoder not complete after the windows given");
}

#[test]
fn resumable_encoder_equals_one_shot_for_every_window_size() {
    let chunked = Chunked(&["{\"a\":", "1}\r", "\n", "x\r"]);
    let long = "line\n".repeat(50);
    let events = [
        Event::new(),
        Event::new().with_retry(12345).with_comment("k\r\na"),
        Event::new().with_event("e").unwrap().with_id("77").unwrap().with_data("a\r\nb\rc\n"),
        Event::new().with_id("1").unwrap().with_data_fmt(&chunked),
        Event::new().with_data(&long),
    ];
    for ev in &events {
        let want = encode(ev);
        for size in 1..=want.len() + 1 {
            assert_eq!(by_windows(ev, &mut core::iter::repeat(size)), want, "window {size}");
        }
        // Empty windows in between make no progress and do no harm.
        let mut sizes = [0, 1, 0, 2, 0, 3].into_iter().cycle();
        assert_eq!(by_windows(ev, &mut sizes), want);
    }
}

#[test]
fn exactly_full_window_at_the_end_reports_complete() {
    let ev = Event::new().with_data("x");
    let mut enc = ev.encoder();
    let mut buf = [0u8; 9];
    assert_eq!(enc.encode(&mut buf), Ok(Status::Complete(9)));
}

#[test]
fn keep_alive_is_a_comment_and_retry_only_frame_dispatches_nothing() {
    assert_eq!(KEEP_ALIVE, b":\n\n");
    assert_eq!(encode(&Event::new().with_retry(1000)), b"retry: 1000\n\n");
}
