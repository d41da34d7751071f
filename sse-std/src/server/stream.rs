//! What a stream request asks for, read the same way on both paths: the
//! client's `Last-Event-ID`, its `topic` selectors and its token.
//!
//! Invariant: the fast path (httparse) and hyper produce the same
//! [`StreamRequest`] for the same head, and one function turns it into a
//! subscription or a refusal (400 for a bad selector, 401 with
//! `WWW-Authenticate` for a bad token).

use http::{HeaderMap, StatusCode, Uri, header};

use super::respond::Answer;
use crate::auth::{StreamRefusal, Verify, stream_subscription};
use crate::topics::Subscription;

/// The parts of a stream request that decide what it receives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StreamRequest {
    /// The `Last-Event-ID` header, if present and not empty.
    pub(crate) last_event_id: Option<String>,
    /// The target's query, if any.
    pub(crate) query: Option<String>,
    pub(crate) authorization: Option<Vec<u8>>,
    pub(crate) cookie: Option<Vec<u8>>,
}

impl StreamRequest {
    /// Takes a header of the first head (the first of repeated ones).
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        let slot = if name.eq_ignore_ascii_case("last-event-id") {
            // The WHATWG client sends `Last-Event-ID` only when not empty.
            if value.is_empty() || self.last_event_id.is_some() {
                return;
            }
            self.last_event_id = Some(String::from_utf8_lossy(value).into_owned());
            return;
        } else if name.eq_ignore_ascii_case("authorization") {
            &mut self.authorization
        } else if name.eq_ignore_ascii_case("cookie") {
            &mut self.cookie
        } else {
            return;
        };
        slot.get_or_insert_with(|| value.to_vec());
    }

    /// The same from a request hyper parsed.
    pub(crate) fn from_parts(uri: &Uri, headers: &HeaderMap) -> Self {
        let mut request = Self { query: uri.query().map(str::to_owned), ..Self::default() };
        for name in [header::HeaderName::from_static("last-event-id"), header::AUTHORIZATION, header::COOKIE]
        {
            if let Some(value) = headers.get(&name) {
                request.header(name.as_str(), value.as_bytes());
            }
        }
        request
    }

    /// The subscription asked for, or the answer that refuses it.
    pub(crate) fn subscription(&self, verifier: Option<&dyn Verify>) -> Result<Subscription, Answer> {
        stream_subscription(
            self.query.as_deref(),
            self.authorization.as_deref(),
            self.cookie.as_deref(),
            verifier,
        )
        .map_err(|refusal| match refusal {
            StreamRefusal::Auth(e) => Answer::unauthorized(&e),
            other => Answer::text(StatusCode::BAD_REQUEST, &other.to_string()),
        })
    }
}
