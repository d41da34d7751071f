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
use crate::auth::{StreamAccess, StreamRefusal, Verify, stream_subscription};
use crate::hub::{Hub, Subscriber};

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
    /// The `Origin` header (CORS).
    pub(crate) origin: Option<Vec<u8>>,
    /// Whether `Accept` names `text/event-stream`, as an `EventSource`'s
    /// always does: such a client refused for capacity is told to come
    /// back (see `Answer::refused_after`).
    pub(crate) event_stream: bool,
    /// Asked on the Mercure path: read with Mercure's parameters
    /// ([`subscribe_mercure`](Self::subscribe_mercure)).
    pub(crate) mercure: bool,
    /// An HTTP/1.0 request (the fast path): its response body can only
    /// end with the connection (no chunked coding).
    pub(crate) http10: bool,
}

impl StreamRequest {
    /// Takes a header of the first head: the first of repeated ones, but
    /// every `Cookie` field, joined with `; ` (RFC 9113 §8.2.3: an HTTP/2
    /// client may send each cookie in its own field).
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        let slot = if name.eq_ignore_ascii_case("last-event-id") {
            // The WHATWG client sends `Last-Event-ID` only when not empty.
            if value.is_empty() || self.last_event_id.is_some() {
                return;
            }
            self.last_event_id = Some(String::from_utf8_lossy(value).into_owned());
            return;
        } else if name.eq_ignore_ascii_case("accept") {
            self.event_stream |=
                memchr::memmem::find(&value.to_ascii_lowercase(), b"text/event-stream").is_some();
            return;
        } else if name.eq_ignore_ascii_case("authorization") {
            &mut self.authorization
        } else if name.eq_ignore_ascii_case("origin") {
            &mut self.origin
        } else if name.eq_ignore_ascii_case("cookie") {
            match self.cookie.as_mut() {
                Some(cookie) => {
                    cookie.extend_from_slice(b"; ");
                    cookie.extend_from_slice(value);
                }
                None => self.cookie = Some(value.to_vec()),
            }
            return;
        } else {
            return;
        };
        slot.get_or_insert_with(|| value.to_vec());
    }

    /// The same from a request hyper parsed.
    pub(crate) fn from_parts(uri: &Uri, headers: &HeaderMap) -> Self {
        let mut request = Self { query: uri.query().map(str::to_owned), ..Self::default() };
        for name in [header::HeaderName::from_static("last-event-id"), header::AUTHORIZATION, header::ORIGIN]
        {
            if let Some(value) = headers.get(&name) {
                request.header(name.as_str(), value.as_bytes());
            }
        }
        for accept in headers.get_all(header::ACCEPT) {
            request.header("accept", accept.as_bytes());
        }
        for cookie in headers.get_all(header::COOKIE) {
            request.header("cookie", cookie.as_bytes());
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
        let access = self.access(verifier)?;
        self.admit(hub, access, self.resume_id().as_deref(), retry_after_secs)
            .map(|(subscriber, _)| subscriber)
    }

    /// A subscriber of `hub` for this request read as a Mercure
    /// subscription ([`mercure_subscription`](crate::mercure_subscription),
    /// [`mercure_resume_id`](crate::mercure_resume_id)), with its token's
    /// payload, or the answer that refuses it.
    pub(crate) fn subscribe_mercure(
        &self,
        hub: &Hub,
        verifier: Option<&dyn Verify>,
        retry_after_secs: u64,
    ) -> Result<(Subscriber, Option<String>), Answer> {
        let query = self.query.as_deref();
        let access = crate::mercure_subscription(
            query,
            self.authorization.as_deref(),
            self.cookie.as_deref(),
            verifier,
        )
        .map_err(refusal)?;
        let resume = crate::mercure_resume_id(self.last_event_id.as_deref(), query);
        self.admit(hub, access, resume.as_deref(), retry_after_secs)
    }

    /// A subscriber of `hub` with `access`, resuming after `resume`, that
    /// ends when its token expires; with the token's payload.
    fn admit(
        &self,
        hub: &Hub,
        access: StreamAccess,
        resume: Option<&str>,
        retry_after_secs: u64,
    ) -> Result<(Subscriber, Option<String>), Answer> {
        let mut subscriber = hub
            .subscribe_with(access.subscription, resume)
            .map_err(|e| Answer::refused_after(e, retry_after_secs, self.event_stream))?;
        if let Some(at) = access.expires {
            subscriber.end_at(at);
        }
        Ok((subscriber, access.payload))
    }

    /// What the request may receive, or the answer that refuses it.
    pub(crate) fn access(&self, verifier: Option<&dyn Verify>) -> Result<StreamAccess, Answer> {
        stream_subscription(
            self.query.as_deref(),
            self.authorization.as_deref(),
            self.cookie.as_deref(),
            verifier,
        )
        .map_err(refusal)
    }
}

/// The answer to a refused stream request: 401 with a challenge for a
/// token, 400 for the rest.
fn refusal(refusal: StreamRefusal) -> Answer {
    match refusal {
        StreamRefusal::Auth(e) => Answer::unauthorized(&e),
        other => Answer::text(StatusCode::BAD_REQUEST, &other.to_string()),
    }
}
