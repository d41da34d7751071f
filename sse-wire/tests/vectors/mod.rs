//! Conformance vectors for the parser, written from the WHATWG HTML
//! "Interpreting an event stream" rules (summarised in SPEC.md).
//! Each vector is a byte stream and what a browser's EventSource sees.

/// What the parser reports, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rec {
    /// A dispatched event: type, data, last event id (raw bytes).
    Ev(Vec<u8>, Vec<u8>, Vec<u8>),
    /// A reconnection-time change.
    Retry(u64),
}

pub(crate) fn ev(ty: &str, data: &[u8], id: &[u8]) -> Rec {
    Rec::Ev(ty.as_bytes().to_vec(), data.to_vec(), id.to_vec())
}

pub(crate) struct Vector {
    pub(crate) name: &'static str,
    pub(crate) input: &'static [u8],
    pub(crate) want: Vec<Rec>,
    /// The stream's last event id at the end.
    pub(crate) last_id: &'static [u8],
}

fn v(name: &'static str, input: &'static [u8], want: Vec<Rec>, last_id: &'static [u8]) -> Vector {
    Vector { name, input, want, last_id }
}

pub(crate) fn all() -> Vec<Vector> {
    use Rec::Retry;
    vec![
        v("simple", b"data: hello\n\n", vec![ev("message", b"hello", b"")], b""),
        v("crlf", b"data: a\r\n\r\n", vec![ev("message", b"a", b"")], b""),
        v("cr", b"data: a\r\r", vec![ev("message", b"a", b"")], b""),
        v("cr cr-lf lf is three line ends", b"data: a\r\r\n\n", vec![ev("message", b"a", b"")], b""),
        v("mixed line ends", b"data: a\rdata: b\r\ndata: c\n\r\n", vec![ev("message", b"a\nb\nc", b"")], b""),
        v(
            "lf cr is two line ends",
            b"data: a\n\rdata: b\n\n",
            vec![ev("message", b"a", b""), ev("message", b"b", b"")],
            b"",
        ),
        v("bom stripped", b"\xEF\xBB\xBFdata: x\n\n", vec![ev("message", b"x", b"")], b""),
        v("second bom is content", b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", vec![], b""),
        v("bom later is content", b"data: x\n\n\xEF\xBB\xBFdata: y\n\n", vec![ev("message", b"x", b"")], b""),
        v("partial bom is content", b"\xEF\xBBdata: x\n\n", vec![], b""),
        v("bom then blank line", b"\xEF\xBB\xBF\n", vec![], b""),
        v("bom in data value", b"data: \xEF\xBB\xBF\n\n", vec![ev("message", b"\xEF\xBB\xBF", b"")], b""),
        v("first colon splits", b"data: a:b: c\n\n", vec![ev("message", b"a:b: c", b"")], b""),
        v("one space stripped", b"data:  x\n\n", vec![ev("message", b" x", b"")], b""),
        v("no space", b"data:x\n\n", vec![ev("message", b"x", b"")], b""),
        v("tab not stripped", b"data:\tx\n\n", vec![ev("message", b"\tx", b"")], b""),
        v("no colon is an empty value", b"data\n\n", vec![ev("message", b"", b"")], b""),
        v("empty value", b"data:\n\n", vec![ev("message", b"", b"")], b""),
        v("two empty data lines", b"data\ndata\n\n", vec![ev("message", b"\n", b"")], b""),
        v("joining", b"data: a\ndata: b\ndata: c\n\n", vec![ev("message", b"a\nb\nc", b"")], b""),
        v("one trailing lf removed", b"data: a\ndata:\n\n", vec![ev("message", b"a\n", b"")], b""),
        v(
            "names are case-sensitive",
            b"Data: x\n\nDATA: y\n\nEvent: e\ndata: z\n\n",
            vec![ev("message", b"z", b"")],
            b"",
        ),
        v("unknown fields ignored", b"foo: bar\ndata: x\nfoo\n\n", vec![ev("message", b"x", b"")], b""),
        v("space before colon", b"data : x\n\n", vec![], b""),
        v("space before name", b" data: x\n\n", vec![], b""),
        v("comment", b": hello\ndata: x\n:\n\n", vec![ev("message", b"x", b"")], b""),
        v("comment only block", b": ping\n\n", vec![], b""),
        v("event type", b"event: add\ndata: 1\n\n", vec![ev("add", b"1", b"")], b""),
        v(
            "event type resets",
            b"event: add\ndata: 1\n\ndata: 2\n\n",
            vec![ev("add", b"1", b""), ev("message", b"2", b"")],
            b"",
        ),
        v("empty event type is message", b"event:\ndata: x\n\n", vec![ev("message", b"x", b"")], b""),
        v(
            "event with no colon is empty",
            b"event: a\nevent\ndata: x\n\n",
            vec![ev("message", b"x", b"")],
            b"",
        ),
        v("last event field wins", b"event: a\nevent: b\ndata\n\n", vec![ev("b", b"", b"")], b""),
        v("event type with spaces", b"event:  two words \ndata\n\n", vec![ev(" two words ", b"", b"")], b""),
        v("block without data clears type", b"event: a\n\ndata: x\n\n", vec![ev("message", b"x", b"")], b""),
        v(
            "id persists",
            b"id: 1\ndata: a\n\ndata: b\n\n",
            vec![ev("message", b"a", b"1"), ev("message", b"b", b"1")],
            b"1",
        ),
        v("id after data in block", b"data: a\nid: 7\n\n", vec![ev("message", b"a", b"7")], b"7"),
        v(
            "empty id resets",
            b"id: 1\ndata: a\n\nid\ndata: b\n\n",
            vec![ev("message", b"a", b"1"), ev("message", b"b", b"")],
            b"",
        ),
        v("id: with empty value resets", b"id: 1\n\nid:\n\n", vec![], b""),
        v(
            "id with nul ignored",
            b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n",
            vec![ev("message", b"a", b"1"), ev("message", b"b", b"1")],
            b"1",
        ),
        v(
            "nul id does not undo earlier id in block",
            b"id: 1\nid: 2\0\ndata: x\n\n",
            vec![ev("message", b"x", b"1")],
            b"1",
        ),
        v("id committed without data", b"id: 5\n\ndata: x\n\n", vec![ev("message", b"x", b"5")], b"5"),
        v("id committed at end", b"data: x\n\nid: 9\n\n", vec![ev("message", b"x", b"")], b"9"),
        v("id not committed without blank line", b"id: 3\n\nid: 4\ndata: x\n", vec![], b"3"),
        v("id with colon and spaces", b"id:  a: b\ndata\n\n", vec![ev("message", b"", b" a: b")], b" a: b"),
        v("last id wins", b"id: 1\nid: 2\ndata\n\n", vec![ev("message", b"", b"2")], b"2"),
        v("retry", b"retry: 1000\n", vec![Retry(1000)], b""),
        v("retry zero", b"retry: 0\n", vec![Retry(0)], b""),
        v("retry leading zeros", b"retry: 007\n", vec![Retry(7)], b""),
        v("retry large", b"retry: 18446744073709551615\n", vec![Retry(u64::MAX)], b""),
        v("retry huge saturates", b"retry: 99999999999999999999999999\n", vec![Retry(u64::MAX)], b""),
        v("retry not digits", b"retry: 10a\nretry: -1\nretry: +1\nretry: 1.5\nretry: 1 \n", vec![], b""),
        v("retry empty", b"retry:\nretry\nretry: \n", vec![], b""),
        v("retry two spaces", b"retry:  100\n", vec![], b""),
        v(
            "retry in a dispatched block",
            b"retry: 5\ndata: x\n\n",
            vec![Retry(5), ev("message", b"x", b"")],
            b"",
        ),
        v(
            "retry then invalid keeps it",
            b"retry: 5\nretry: x\ndata: y\n\n",
            vec![Retry(5), ev("message", b"y", b"")],
            b"",
        ),
        v("no data no dispatch", b"event: e\nid: 1\n\n", vec![], b"1"),
        v("unfinished block discarded", b"data: x\n", vec![], b""),
        v("unfinished line discarded", b"data: x", vec![], b""),
        v("unfinished after an event", b"data: x\n\ndata: y\n", vec![ev("message", b"x", b"")], b""),
        v("cr as last byte is a blank line", b"data: x\n\r", vec![ev("message", b"x", b"")], b""),
        v("invalid utf-8 passes raw", b"data: \xFF\xFEa\n\n", vec![ev("message", b"\xFF\xFEa", b"")], b""),
        v("nul in data", b"data: a\0b\n\n", vec![ev("message", b"a\0b", b"")], b""),
        v("unicode", "data: héllo 🌍\n\n".as_bytes(), vec![ev("message", "héllo 🌍".as_bytes(), b"")], b""),
        v(
            "data looking like fields",
            b"data: data: x\ndata: id: 3\n\n",
            vec![ev("message", b"data: x\nid: 3", b"")],
            b"",
        ),
        v("blank lines only", b"\n\n\r\n\r\r", vec![], b""),
        v(
            "many events",
            b"data: 1\n\ndata: 2\n\ndata: 3\n\n",
            vec![ev("message", b"1", b""), ev("message", b"2", b""), ev("message", b"3", b"")],
            b"",
        ),
    ]
}
