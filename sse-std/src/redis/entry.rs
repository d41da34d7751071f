//! Events as Redis stream entries, and the ids clients see.
//!
//! Invariant: an entry holds every field of an event (data, name, retry,
//! comment) and its audience (topic, alternate topics one per line,
//! private flag) under one-letter field
//! names, plus the epoch of the stream it was added to and its number in
//! that epoch, so that every
//! instance re-encodes the same frame with the same id: `<epoch>-<stream
//! id>`. An entry that does not decode to a valid event is skipped by
//! every instance alike.

use std::collections::HashMap;

use redis::Value;
use sse_wire::{Audience, Event, Topic};

use crate::hub::Update;

/// Field names in a stream entry.
pub(crate) const EPOCH: &str = "x";
const NUMBER: &str = "n";
const DATA: &str = "d";
const NAME: &str = "e";
const RETRY: &str = "r";
const COMMENT: &str = "c";
const TOPIC: &str = "t";
const PRIVATE: &str = "p";
/// Alternate topics, one per line (a topic holds no control character).
const ALTERNATES: &str = "a";

/// The fields that describe `update` (the epoch is added by the script
/// that adds the entry).
pub(crate) fn fields(update: &Update<'_>) -> Vec<(&'static str, String)> {
    let (audience, event) = (update.audience, &update.event);
    let mut fields = Vec::with_capacity(6);
    if let Some(data) = event.data() {
        let text = match data {
            sse_wire::Data::Text(text) => text.to_owned(),
            sse_wire::Data::Display(display) => display.to_string(),
        };
        fields.push((DATA, text));
    }
    if let Some(name) = event.event() {
        fields.push((NAME, name.to_owned()));
    }
    if let Some(retry) = event.retry() {
        fields.push((RETRY, retry.to_string()));
    }
    if let Some(comment) = event.comment() {
        fields.push((COMMENT, comment.to_owned()));
    }
    if let Some(topic) = audience.topic_name() {
        fields.push((TOPIC, topic.to_owned()));
    }
    if audience.private {
        fields.push((PRIVATE, "1".to_owned()));
    }
    let alternates: Vec<&str> = update.topics().skip(1).map(|t| t.as_str()).collect();
    if !alternates.is_empty() {
        fields.push((ALTERNATES, alternates.join("\n")));
    }
    fields
}

/// One entry read back: everything needed to publish it locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `<epoch>-<stream id>`.
    pub(crate) id: String,
    pub(crate) epoch: String,
    /// The entry's number in its epoch: consecutive, from 1.
    pub(crate) number: u64,
    data: Option<String>,
    name: Option<String>,
    retry: Option<u64>,
    comment: Option<String>,
    topic: Option<String>,
    alternates: Vec<String>,
    private: bool,
}

impl Entry {
    /// Decodes a stream entry; `None` if it is not one of ours.
    pub(crate) fn decode(stream_id: &str, map: &HashMap<String, Value>) -> Option<Self> {
        let text = |name: &str| map.get(name).and_then(|v| redis::from_redis_value_ref::<String>(v).ok());
        let epoch = text(EPOCH)?;
        let entry = Self {
            id: format!("{epoch}-{stream_id}"),
            epoch,
            number: text(NUMBER)?.parse().ok()?,
            data: text(DATA),
            name: text(NAME),
            retry: match text(RETRY) {
                Some(retry) => Some(retry.parse().ok()?),
                None => None,
            },
            comment: text(COMMENT),
            topic: text(TOPIC),
            alternates: text(ALTERNATES)
                .map(|a| a.split('\n').map(str::to_owned).collect())
                .unwrap_or_default(),
            private: text(PRIVATE).as_deref() == Some("1"),
        };
        // Refuse what would not make a valid event, here rather than later.
        entry.with_event(|_| ())?;
        Some(entry)
    }

    /// Calls `f` with the entry's update (its event's id included).
    pub(crate) fn with_event<R>(&self, f: impl FnOnce(&Update<'_>) -> R) -> Option<R> {
        let mut event = Event::new().with_id(&self.id).ok()?;
        if let Some(data) = &self.data {
            event = event.with_data(data);
        }
        if let Some(name) = &self.name {
            event = event.with_event(name).ok()?;
        }
        if let Some(retry) = self.retry {
            event = event.with_retry(retry);
        }
        if let Some(comment) = &self.comment {
            event = event.with_comment(comment);
        }
        let topic = self.topic.as_deref().map(Topic::new).transpose().ok()?;
        let alternates: Vec<Topic<'_>> =
            self.alternates.iter().map(|t| Topic::new(t)).collect::<Result<_, _>>().ok()?;
        let update =
            Update::new(Audience { topic, private: self.private }, event).with_alternates(&alternates);
        Some(f(&update))
    }
}

/// A client's id split into the epoch and the stream id, if it has the
/// shape `<epoch>-<ms>-<seq>`.
pub(crate) fn parse_id(id: &str) -> Option<(&str, StreamId)> {
    let (epoch, stream) = id.split_once('-')?;
    Some((epoch, StreamId::parse(stream)?))
}

/// A Redis stream id, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StreamId {
    ms: u64,
    seq: u64,
}

impl StreamId {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(Self { ms: ms.parse().ok()?, seq: seq.parse().ok()? })
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&str, &str)]) -> HashMap<String, Value> {
        fields.iter().map(|(k, v)| ((*k).to_owned(), Value::BulkString(v.as_bytes().to_vec()))).collect()
    }

    #[test]
    fn an_event_survives_the_round_trip() {
        let event = Event::new().with_event("e").unwrap().with_retry(5).with_data("a\nb").with_comment("c");
        let audience = Audience::on(Topic::new("t/1").unwrap()).private();
        let also = [Topic::new("t/2").unwrap(), Topic::new("https://example.com/t/3").unwrap()];
        let mut fields: Vec<(&str, String)> = fields(&Update::new(audience, event).with_alternates(&also));
        fields.push((EPOCH, "ep".to_owned()));
        fields.push((NUMBER, "7".to_owned()));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let entry = Entry::decode("17-3", &map(&pairs)).unwrap();
        assert_eq!(entry.id, "ep-17-3");
        let mut got = Vec::new();
        entry
            .with_event(|u| {
                assert_eq!(u.audience, audience);
                assert_eq!(
                    u.topics().map(|t| t.as_str()).collect::<Vec<_>>(),
                    ["t/1", "t/2", "https://example.com/t/3"]
                );
                got = vec![0; u.event.encoded_len()];
                u.event.encode(&mut got).unwrap();
            })
            .unwrap();
        assert_eq!(got, b": c\nevent: e\nid: ep-17-3\nretry: 5\ndata: a\ndata: b\n\n");
    }

    #[test]
    fn foreign_or_broken_entries_are_not_events() {
        assert!(Entry::decode("1-0", &map(&[("d", "no epoch"), ("n", "1")])).is_none());
        assert!(Entry::decode("1-0", &map(&[("x", "e")])).is_none(), "no number");
        assert!(Entry::decode("1-0", &map(&[("x", "e"), ("n", "1"), ("e", "a\nb")])).is_none());
        assert!(Entry::decode("1-0", &map(&[("x", "e"), ("n", "1"), ("t", "a*")])).is_none());
        assert!(Entry::decode("1-0", &map(&[("x", "e"), ("n", "1"), ("r", "soon")])).is_none());
        assert!(Entry::decode("1-0", &map(&[("x", "e"), ("n", "1")])).is_some());
    }

    #[test]
    fn ids_parse_and_order_like_redis() {
        let (epoch, id) = parse_id("abc-1700000000000-12").unwrap();
        assert_eq!((epoch, id.to_string().as_str()), ("abc", "1700000000000-12"));
        assert!(StreamId::parse("5-2").unwrap() < StreamId::parse("5-10").unwrap());
        assert!(StreamId::parse("10-0").unwrap() > StreamId::parse("9-99").unwrap());
        for bad in ["", "abc", "abc-1", "abc-1-", "abc--1", "abc-1-x", "abc-+1-2"] {
            assert!(parse_id(bad).is_none(), "{bad}");
        }
    }
}
