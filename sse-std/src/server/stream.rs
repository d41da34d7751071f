//! What a stream request asks for, read the same way on every path: the
//! client's `Last-Event-ID` (or the `lastEventId` query parameter that
//! EventSource polyfills send), its `topic` selectors and its token.
//!
//! Invariant: the fast path (httparse), hyper and the tower service
//! produce the same [`StreamRequest`] for the same head, and one function
//! turns it into a subscriber or a refusal (400 for a bad selector, 401
//! with `WWW-Authenticate` for a bad token, 204 during shutdown, 503 with
//! `Retry-After` when full).

use http::{HeaderMap, StatusCode, Uri, header};

use super::respond::Answer;
use crate::auth::{StreamRefusal, Verify, stream_subscription};
use crate::hub::{Hub, Subscriber};
use crate::topics::Subscription;

/// The query parameter EventSource polyfills send the last id in.
const LAST_EVENT_ID_QUERY: &str = "lastEventId";

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

    /// Where the client resumes: the `Last-Event-ID` header, or else a
    /// non-empty `lastEventId` query parameter.
    pub(crate) fn resume_id(&self) -> Option<String> {
        self.last_event_id.clone().or_else(|| {
            let query = self.query.as_deref()?;
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, value)| name == LAST_EVENT_ID_QUERY && !value.is_empty())
                .map(|(_, value)| value.into_owned())
        })
    }

    /// A subscriber of `hub` for this request, or the answer that refuses
    /// it.
    pub(crate) fn subscribe(
        &self,
        hub: &Hub,
        verifier: Option<&dyn Verify>,
        retry_after_secs: u64,
    ) -> Result<Subscriber, Answer> {
        let subscription = self.subscription(verifier)?;
        hub.subscribe_with(subscription, self.resume_id().as_deref())
            .map_err(|e| Answer::refused_after(e, retry_after_secs))
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
