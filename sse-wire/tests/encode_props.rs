//! Property tests for the encoder: exact length, every sink and every
//! windowing give the same bytes, no caller text can start a foreign line,
//! and the data survives (CR and CRLF arrive as LF).

use proptest::prelude::*;
use sse_wire::{Event, Status};

mod strategies;

use strategies::{parts, text, with_event};

fn one_shot(ev: &Event<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; ev.encoded_len()];
    let n = ev.encode(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn normalize_breaks(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encoded_len_is_exact_for_every_sink(p in parts()) {
        with_event(&p, |ev| {
            let bytes = one_shot(ev);
            prop_assert_eq!(bytes.len(), ev.encoded_len());
            let mut vec: heapless::Vec<u8, 4096> = heapless::Vec::new();
            prop_assert_eq!(ev.encode_to_vec(&mut vec), Ok(bytes.len()));
            prop_assert_eq!(vec.as_slice(), &bytes[..]);
            #[cfg(feature = "embedded-io")]
            {
                let mut io = Vec::new();
                ev.write_to(&mut io).unwrap();
                prop_assert_eq!(io, bytes);
            }
            Ok(())
        })?;
    }

    #[test]
    fn resumable_encoder_equals_one_shot(p in parts(), windows in prop::collection::vec(0usize..24, 1..64)) {
        with_event(&p, |ev| {
            let want = one_shot(ev);
            let mut enc = ev.encoder();
            let mut got = Vec::new();
            // Cycle through the window sizes; the all-zero case is helped
            // along by a one-byte window every 64 calls.
            for (i, size) in windows.iter().cycle().enumerate() {
                let size = if i % 64 == 63 { (*size).max(1) } else { *size };
                let mut window = vec![0u8; size];
                let status = enc.encode(&mut window).unwrap();
                got.extend_from_slice(&window[..status.written()]);
                if let Status::Complete(_) = status {
                    break;
                }
                prop_assert!(got.len() <= want.len());
            }
            prop_assert_eq!(enc.written(), want.len());
            prop_assert_eq!(got, want);
            Ok(())
        })?;
    }

    #[test]
    fn no_line_starts_with_anything_but_a_known_field_or_colon(p in parts()) {
        with_event(&p, |ev| {
            let bytes = one_shot(ev);
            // Line ends are always LF alone: a CR anywhere would be a break.
            prop_assert!(!bytes.contains(&b'\r'));
            prop_assert!(bytes.ends_with(b"\n"));
            let body = &bytes[..bytes.len() - 1];
            prop_assert!(body.is_empty() || body.ends_with(b"\n"));
            let lines: Vec<&[u8]> = if body.is_empty() {
                vec![]
            } else {
                body[..body.len() - 1].split(|&b| b == b'\n').collect()
            };
            for line in &lines {
                let known = [&b"data: "[..], b"event: ", b"id: ", b"retry: ", b": "];
                prop_assert!(
                    known.iter().any(|k| line.starts_with(k)),
                    "line {:?}", String::from_utf8_lossy(line)
                );
            }
            // The text survives: data lines joined by LF give the data with
            // CR and CRLF turned into LF; the other fields appear once.
            let field = |prefix: &[u8]| -> Vec<String> {
                lines
                    .iter()
                    .filter(|l| l.starts_with(prefix))
                    .map(|l| String::from_utf8(l[prefix.len()..].to_vec()).unwrap())
                    .collect()
            };
            if let Some(d) = &p.data {
                prop_assert_eq!(field(b"data: ").join("\n"), normalize_breaks(d));
            } else {
                prop_assert!(field(b"data: ").is_empty());
            }
            if let Some(c) = &p.comment {
                prop_assert_eq!(field(b": ").join("\n"), normalize_breaks(c));
            }
            prop_assert_eq!(field(b"event: "), p.name.iter().cloned().collect::<Vec<_>>());
            prop_assert_eq!(field(b"id: "), p.id.iter().cloned().collect::<Vec<_>>());
            prop_assert_eq!(
                field(b"retry: "),
                p.retry.iter().map(u64::to_string).collect::<Vec<_>>()
            );
            Ok(())
        })?;
    }

    #[test]
    fn any_name_or_id_is_either_refused_or_encoded_on_one_line(s in text()) {
        match Event::new().with_event(&s) {
            Ok(ev) => prop_assert_eq!(one_shot(&ev), format!("event: {s}\n\n").into_bytes()),
            Err(_) => prop_assert!(s.contains(['\r', '\n'])),
        }
        match Event::new().with_id(&s) {
            Ok(ev) => prop_assert_eq!(one_shot(&ev), format!("id: {s}\n\n").into_bytes()),
            Err(_) => prop_assert!(s.chars().any(|c| c != '\t' && c.is_ascii_control())),
        }
    }

    /// Text without CR takes the block-copying writer: lines of every
    /// length around its 16- and 64-byte blocks, empty lines and runs of LF, in a
    /// buffer of exactly the frame's size, give the frame that the
    /// resumable encoder (one byte at a time) and a plain split on LF give.
    #[test]
    fn lf_only_text_of_every_line_length(
        lines in prop::collection::vec(
            prop_oneof![0usize..3, 13usize..20, 29usize..36, 61usize..68, 125usize..132, 0usize..200],
            0..12,
        ),
        fill in prop::char::range('a', 'z'),
        comment in any::<bool>(),
    ) {
        let text = lines.iter().map(|&n| fill.to_string().repeat(n)).collect::<Vec<_>>().join("\n");
        let ev = if comment { Event::new().with_comment(&text) } else { Event::new().with_data(&text) };
        let got = one_shot(&ev);
        let prefix = if comment { ": " } else { "data: " };
        let want: String = text.split('\n').map(|line| format!("{prefix}{line}\n")).collect::<String>() + "\n";
        prop_assert_eq!(String::from_utf8_lossy(&got), want);
        let mut enc = ev.encoder();
        let mut one_by_one = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            let status = enc.encode(&mut byte).unwrap();
            one_by_one.extend_from_slice(&byte[..status.written()]);
            if let Status::Complete(_) = status {
                break;
            }
        }
        prop_assert_eq!(one_by_one, got);
    }
}
