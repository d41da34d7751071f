//! axum integration (feature `axum`): a hub subscriber, a subscribe error
//! and a per-request stream are responses; `LastEventId` is an extractor.
//!
//! Invariant: the responses are the ones the built-in server sends (stream
//! headers from sse-wire, 204 during shutdown, and when full the answer an
//! `EventSource` comes back from: 200 with a jittered `retry:`).

use std::convert::Infallible;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use futures_core::Stream;
use http::request::Parts;

use super::event::OwnedEvent;
use super::stream::EventStream;
use crate::exchange::Answer;
use crate::exchange::StreamRequest;
use crate::exchange::stream_response;
use crate::hub::{SubscribeError, Subscriber};

/// About when a client refused by a full hub comes back, in seconds.
const RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for Subscriber {
    fn into_response(self) -> Response {
        stream_response(self).map(axum_core::body::Body::new)
    }
}

impl IntoResponse for SubscribeError {
    fn into_response(self) -> Response {
        // A handler that returns this serves an event stream: answer as
        // to an `EventSource`, which gives up on any status but 200.
        Answer::refused_after(self, RETRY_AFTER_SECS, true).into_response().map(axum_core::body::Body::new)
    }
}

impl<S: Stream<Item = OwnedEvent> + Send + 'static> IntoResponse for EventStream<S> {
    fn into_response(self) -> Response {
        stream_response(self).map(axum_core::body::Body::new)
    }
}

/// The id a reconnecting client resumes after: the `Last-Event-ID`
/// header, or the `lastEventId` query parameter that EventSource polyfills
/// send; `None` for a first connection.
///
/// ```
/// use axum::extract::State;
/// use sse_std::{Hub, LastEventId, SubscribeError, Subscriber};
///
/// async fn events(State(hub): State<Hub>, LastEventId(id): LastEventId) -> Result<Subscriber, SubscribeError> {
///     hub.subscribe(id.as_deref())
/// }
/// let app: axum::Router = axum::Router::new()
///     .route("/events", axum::routing::get(events))
///     .with_state(Hub::new(Default::default()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastEventId(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self(StreamRequest::from_parts(&parts.uri, &parts.headers).resume_id()))
    }
}
