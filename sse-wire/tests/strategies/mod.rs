//! Strategies shared by the property tests: arbitrary events rich in the
//! characters that matter (CR, LF, colon, space, NUL, BOM), and a helper
//! that builds the `Event` they describe.

#![allow(dead_code, unreachable_pub)]

use std::fmt;

use proptest::prelude::*;
use sse_wire::Event;

/// Owned parts of an arbitrary event.
#[derive(Debug, Clone)]
pub struct Parts {
    pub comment: Option<String>,
    pub name: Option<String>,
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: Option<String>,
    /// Give the data as `Display`, formatted in these chunk sizes.
    pub display_chunks: Option<Vec<usize>>,
}

/// Text rich in the characters that matter: CR, LF, colon, space, NUL.
pub fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\r'),
            Just('\n'),
            Just(':'),
            Just(' '),
            Just('\0'),
            Just('é'),
            Just('\u{FEFF}'),
            any::<char>(),
            prop::char::range('a', 'z'),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn without(s: impl Strategy<Value = String>, bad: &'static [char]) -> impl Strategy<Value = String> {
    s.prop_map(move |s| s.chars().filter(|c| !bad.contains(c)).collect())
}

/// Text that is a valid id: no ASCII control character but tab.
fn id_text() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.chars().filter(|c| *c == '\t' || !c.is_ascii_control()).collect())
}

pub fn parts() -> impl Strategy<Value = Parts> {
    (
        prop::option::of(text()),
        prop::option::of(without(text(), &['\r', '\n'])),
        prop::option::of(id_text()),
        prop::option::of(any::<u64>()),
        prop::option::of(text()),
        prop::option::of(prop::collection::vec(1usize..8, 1..10)),
    )
        .prop_map(|(comment, name, id, retry, data, display_chunks)| Parts {
            comment,
            name,
            id,
            retry,
            data,
            display_chunks,
        })
}

/// Writes a string in chunks of the given sizes (in chars, cycling).
struct Chunked<'a>(&'a str, &'a [usize]);

impl fmt::Display for Chunked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars: Vec<char> = self.0.chars().collect();
        let mut sizes = self.1.iter().cycle();
        let mut rest = &chars[..];
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap_or(&1)).min(rest.len());
            let (now, later) = rest.split_at(n);
            f.write_str(&now.iter().collect::<String>())?;
            rest = later;
        }
        Ok(())
    }
}

pub fn with_event<R>(p: &Parts, f: impl FnOnce(&Event<'_>) -> R) -> R {
    let mut ev = Event::new();
    if let Some(c) = &p.comment {
        ev = ev.with_comment(c);
    }
    if let Some(n) = &p.name {
        ev = ev.with_event(n).unwrap();
    }
    if let Some(i) = &p.id {
        ev = ev.with_id(i).unwrap();
    }
    if let Some(r) = p.retry {
        ev = ev.with_retry(r);
    }
    let chunked;
    if let Some(d) = &p.data {
        ev = match &p.display_chunks {
            Some(sizes) => {
                chunked = Chunked(d, sizes);
                ev.with_data_fmt(&chunked)
            }
            None => ev.with_data(d),
        };
    }
    f(&ev)
}
