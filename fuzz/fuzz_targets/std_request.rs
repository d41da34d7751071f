//! Arbitrary publish bodies against sse-std's publish-body handling (the
//! part of `POST /publish` that sees the client's bytes): no panic, and
//! only the documented outcomes: 202 with every item a valid event, or 400
//! with a message naming the item.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match sse_std::parse_publish(body) {
        Ok(items) => {
            for item in &items {
                let event = item.to_event().expect("validated items are valid events");
                let mut buf = vec![0u8; event.encoded_len()];
                event.encode(&mut buf).unwrap();
                // No field can be injected: only known fields start lines.
                for line in buf.split(|&b| b == b'\n') {
                    assert!(
                        line.is_empty()
                            || line.starts_with(b"data: ")
                            || line.starts_with(b"event: ")
                            || line.starts_with(b"id: ")
                            || line.starts_with(b"retry: ")
                    );
                }
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("invalid JSON") || message.starts_with("item "), "{message}");
        }
    }
});
