//! Cross-crate tests live in `tests/`. The workspace README is compiled
//! here so that its examples run as doctests. [`payloads`] holds the data
//! that the codec benchmark and its callgrind profile share, `uring` the
//! io_uring sends of the send-cost benchmark and the fan-out floor.
#![doc = include_str!("../../README.md")]

#[cfg(target_os = "linux")]
pub mod uring;

pub mod payloads {
    //! The payloads of `benches/codec.rs` and `examples/profile_codec.rs`.
    //!
    //! ```
    //! assert_eq!(sse_tests::payloads::large().len(), 65536);
    //! ```

    use sse_wire::Event;

    /// About 50 bytes of JSON: the small event's data.
    pub const SMALL: &str = r#"{"sensor":"kitchen","t":21.5,"rh":45,"ok":true}"#;

    /// About 1 KiB of JSON on one line.
    #[must_use]
    pub fn medium() -> String {
        let mut s = String::from("{\"readings\":[");
        let mut i = 0;
        while s.len() < 1000 {
            s.push_str(&format!("{{\"id\":{i},\"t\":{}.5}},", 20 + i % 7));
            i += 1;
        }
        s.pop();
        s.push_str("]}");
        s
    }

    /// 64 KiB of 63-byte lines.
    #[must_use]
    pub fn large() -> String {
        let line = "x".repeat(63);
        let mut s = String::with_capacity(1 << 16);
        while s.len() + 64 <= 1 << 16 {
            s.push_str(&line);
            s.push('\n');
        }
        s
    }

    /// The parse benchmark's stream: 10 000 small events with a name and
    /// an id (`"small"`), or 16 large ones with an id (anything else).
    #[must_use]
    pub fn stream(kind: &str) -> Vec<u8> {
        let (data, count, name) =
            if kind == "small" { (SMALL.to_owned(), 10_000, Some("update")) } else { (large(), 16, None) };
        let mut out = Vec::new();
        for i in 0..count {
            let id = i.to_string();
            let mut event = Event::new().with_id(&id).expect("a decimal id is valid").with_data(&data);
            if let Some(name) = name {
                event = event.with_event(name).expect("a valid name");
            }
            let start = out.len();
            out.resize(start + event.encoded_len(), 0);
            event.encode(&mut out[start..]).expect("the buffer has the exact length");
        }
        out
    }
}
