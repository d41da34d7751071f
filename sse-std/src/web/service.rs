//! The hub's event stream as a `tower::Service`: the same answers as the
//! built-in server's events route, for any tower stack (axum's
//! `Router::route_service`, hyper-util, tonic's router, ...).
//!
//! Invariant: a request is read exactly as the server reads it (one
//! `StreamRequest`), so topics, tokens, `Last-Event-ID` and the refusals
//! are the same wherever the hub is served.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use super::stream::stream_response;
use crate::auth::Verify;
use crate::hub::Hub;
use crate::server::stream::StreamRequest;
use crate::server::{Body, text_response};

/// Serves a [`Hub`]'s stream to every `GET`: `?topic=` selectors, a
/// subscriber token (with [`with_verifier`](Self::with_verifier)),
/// `Last-Event-ID` (or the `lastEventId` query parameter), 204 during
/// shutdown, 503 with `Retry-After` when full, 405 for other methods.
/// Made by [`Hub::service`]. Cheap to clone.
///
/// ```
/// use tower_service::Service as _;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = sse_std::Hub::new(Default::default());
/// let mut service = hub.service();
/// let request = http::Request::get("/events?topic=news").body(()).unwrap();
/// let response = service.call(request).await.unwrap();
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
/// assert_eq!(hub.client_count(), 1);
/// # });
/// ```
#[derive(Clone)]
pub struct HubService {
    hub: Hub,
    verifier: Option<Arc<dyn Verify>>,
    retry_after: Duration,
}

impl std::fmt::Debug for HubService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubService").field("retry_after", &self.retry_after).finish_non_exhaustive()
    }
}

impl Hub {
    /// This hub's stream as a `tower::Service` (see [`HubService`]).
    ///
    /// ```
    /// let service = sse_std::Hub::new(Default::default()).service();
    /// ```
    #[must_use]
    pub fn service(&self) -> HubService {
        HubService { hub: self.clone(), verifier: None, retry_after: Duration::from_secs(5) }
    }
}

impl HubService {
    /// Verifies subscribers' tokens with `verifier` (a bad one gets 401);
    /// without one, a request that presents a token gets 401.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sse_std::{AuthError, Selectors, Verify};
    /// /// One shared key that grants every topic (`JwtVerifier`, feature
    /// /// `jwt`, verifies JWTs).
    /// #[derive(Debug)]
    /// struct Key;
    /// impl Verify for Key {
    ///     fn verify(&self, token: &str) -> Result<Selectors, AuthError> {
    ///         if token == "letmein" { Ok(Selectors::all()) } else { Err(AuthError::invalid("unknown key")) }
    ///     }
    /// }
    /// let service = sse_std::Hub::new(Default::default()).service().with_verifier(Arc::new(Key));
    /// let request = http::Request::get("/events?authorization=nope").body(()).unwrap();
    /// assert_eq!(service.respond(&request).status(), 401);
    /// ```
    #[must_use]
    pub fn with_verifier(self, verifier: Arc<dyn Verify>) -> Self {
        Self { verifier: Some(verifier), ..self }
    }

    /// The `Retry-After` of a 503 when every stream slot is taken (default
    /// 5 s).
    ///
    /// ```
    /// let service = sse_std::Hub::new(Default::default()).service().with_retry_after(std::time::Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn with_retry_after(self, retry_after: Duration) -> Self {
        Self { retry_after, ..self }
    }

    /// The response to `request`.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let response = hub.service().respond(&http::Request::post("/events").body(()).unwrap());
    /// assert_eq!(response.status(), 405);
    /// ```
    #[must_use]
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Body> {
        if request.method() != Method::GET {
            let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
            return response;
        }
        let stream = StreamRequest::from_parts(request.uri(), request.headers());
        match stream.subscribe(&self.hub, self.verifier.as_deref(), self.retry_after.as_secs()) {
            Ok(subscriber) => stream_response(subscriber),
            Err(answer) => answer.into_response(None),
        }
    }
}

impl<B> tower_service::Service<Request<B>> for HubService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}
