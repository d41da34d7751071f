//! Arbitrary bytes as what a Mercure publisher and subscriber send:
//! as a form, `MercureUpdate::parse` never panics and accepts only what
//! the protocol allows (valid topics, none `*` or in the hub's reserved
//! namespace, no `type` of `mercure`, no `earliest` or `#` id, and an
//! event whose frame holds only known fields); as a query,
//! `mercure_subscription` never panics and accepts only a subscription
//! with at least one selector; as a URI template, parsing never panics
//! and a template matches itself; as a URL pattern, parsing and matching
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "known_fields.rs"]
mod known_fields;
use sse_std::{MERCURE_PATH, MercureUpdate, Template, UrlPatternSelector, mercure_reserved, mercure_subscription};

fuzz_target!(|body: &[u8]| {
    if let Ok(update) = MercureUpdate::parse(body, MERCURE_PATH) {
        assert!(!update.topics().is_empty());
        for topic in update.topics() {
            assert!(sse_wire::check_topic(topic).is_ok() && topic != "*");
            assert!(!mercure_reserved(topic, MERCURE_PATH));
        }
        let frame = update
            .with_update(|u| {
                assert_eq!(u.topics().count(), update.topics().len());
                let mut buf = vec![0u8; u.event.encoded_len()];
                let n = u.event.encode(&mut buf).unwrap();
                buf.truncate(n);
                buf
            })
            .expect("a parsed update is a valid event");
        known_fields::assert_only_known_fields(&frame);
        for line in frame.split(|&b| b == b'\n') {
            assert!(line != b"event: mercure" && line != b"id: earliest");
        }
    }
    if let Ok(text) = std::str::from_utf8(body) {
        if let Ok(access) = mercure_subscription(Some(text), None, None, None) {
            assert!(access.subscription.grants.is_empty(), "no token, no grants");
        }
        if let Ok(template) = Template::parse(text) {
            assert!(template.matches(text));
        }
        if let Ok(pattern) = UrlPatternSelector::parse(text) {
            let _ = pattern.matches(text);
        }
    }
});
