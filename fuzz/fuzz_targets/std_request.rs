//! Arbitrary publish bodies against sse-std's publish-body handling (the
//! part of `POST /publish` that sees the client's bytes): no panic, and
//! only the documented outcomes: 202 with every item a valid event on a
//! valid topic, or 400 with a message naming the item. The same bytes as
//! a stream request's query: no panic, and every accepted `topic` is a
//! valid selector that matches the way sse-wire says.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "known_fields.rs"]
mod known_fields;

fuzz_target!(|body: &[u8]| {
    match sse_std::parse_publish(body) {
        Ok(items) => {
            for item in &items {
                let audience = item.audience().expect("validated items have valid topics");
                if let Some(topic) = audience.topic_name() {
                    assert!(sse_wire::check_topic(topic).is_ok() && !topic.contains('*'));
                    let exact = sse_wire::Selector::parse(topic).expect("a topic is an exact selector");
                    assert!(exact.matches(Some(topic)) && sse_wire::Selector::All.matches(Some(topic)));
                }
                let event = item.to_event().expect("validated items are valid events");
                let mut buf = vec![0u8; event.encoded_len()];
                event.encode(&mut buf).unwrap();
                known_fields::assert_only_known_fields(&buf);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("invalid JSON") || message.starts_with("item "), "{message}");
        }
    }
    if let Ok(query) = std::str::from_utf8(body) {
        if let Ok(access) = sse_std::stream_subscription(Some(query), None, None, None) {
            let subscription = access.subscription;
            assert!(access.expires.is_none(), "no token, no expiry");
            for text in subscription.topics.iter() {
                let selector = sse_wire::Selector::parse(&text).expect("a selector as written parses again");
                assert_eq!(selector.to_string(), text);
                if let sse_wire::Selector::Under(prefix) = selector {
                    assert!(subscription.topics.covers(Some(&format!("{prefix}x"))));
                }
            }
            assert!(subscription.grants.is_empty(), "no token, no grants");
        }
    }
});
