//! The hub's event stream as a `tower::Service`: the same answers as the
//! built-in server's events route, for any tower stack (axum's
//! `Router::route_service`, hyper-util, tonic's router, ...).
//!
//! Invariant: a request is read exactly as the server reads it (one
//! `StreamRequest`), so topics, tokens, `Last-Event-ID`, the refusals,
//! the `Host` count (400) and CORS (one [`Cors`]) are the same wherever the
//! hub is served. The one check left to the surrounding router is the
//! server's DNS-rebinding defence (421 for a foreign `Host` on a loopback
//! listener), since a service does not know where it listens.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use crate::auth::Verify;
use crate::exchange::StreamRequest;
use crate::exchange::stream_response;
use crate::exchange::{Body, Cors, host_count_problem, text_response};
use crate::hub::Hub;

/// Serves a [`Hub`]'s stream to every `GET`: `?topic=` selectors, a
/// subscriber token (with [`with_verifier`](Self::with_verifier)),
/// `Last-Event-ID` (or the `lastEventId` query parameter), 204 during
/// shutdown, when full 200 with a jittered `retry:` for an `EventSource`
/// (it comes back by itself) and 503 with `Retry-After` for other
/// clients, 400 for an HTTP/1.1 request without `Host` or any with two,
/// CORS as [`with_cors`](Self::with_cors) says, 405 for other methods.
/// Like every service it leaves to its router the check of which `Host`
/// names it answers for (the built-in [`Server`](crate::Server) refuses
/// foreign names on a loopback listener with 421; [`request_host`](crate::request_host)
/// gives the name to check). Made by [`Hub::service`]. Cheap to clone.
///
/// ```
/// use tower_service::Service as _;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = sse_std::Hub::new(Default::default());
/// let mut service = hub.service();
/// let request = http::Request::get("/events?topic=news").header("host", "localhost").body(()).unwrap();
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
    cors: Cors,
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
        HubService {
            hub: self.clone(),
            verifier: None,
            retry_after: Duration::from_secs(5),
            cors: Cors::default(),
        }
    }
}

impl HubService {
    /// Verifies subscribers' tokens with `verifier` (a bad one gets 401);
    /// without one, a request that presents a token gets 401.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sse_std::{AuthError, Grant, Selectors, Verify};
    /// /// One shared key that grants every topic (`JwtVerifier`, feature
    /// /// `jwt`, verifies JWTs).
    /// #[derive(Debug)]
    /// struct Key;
    /// impl Verify for Key {
    ///     fn verify(&self, token: &str) -> Result<Grant, AuthError> {
    ///         if token == "letmein" { Ok(Grant::new(Selectors::all())) } else { Err(AuthError::invalid("unknown key")) }
    ///     }
    /// }
    /// let service = sse_std::Hub::new(Default::default()).service().with_verifier(Arc::new(Key));
    /// let request = http::Request::get("/events?authorization=nope").header("host", "localhost").body(()).unwrap();
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

    /// Allows these origins (with credentials) as the server's
    /// [`ServerConfig::cors`](crate::ServerConfig::cors) does: their
    /// preflights are answered, their streams readable.
    ///
    /// ```
    /// let service = sse_std::Hub::new(Default::default()).service().with_cors(sse_std::Cors::allow(["https://app.example"]));
    /// let request = http::Request::get("/events").header("host", "localhost").header("origin", "https://app.example").body(()).unwrap();
    /// let response = service.respond(&request);
    /// assert_eq!(response.headers()["access-control-allow-credentials"], "true");
    /// ```
    #[must_use]
    pub fn with_cors(self, cors: Cors) -> Self {
        Self { cors, ..self }
    }

    /// The response to `request`.
    ///
    /// ```
    /// let hub = sse_std::Hub::new(Default::default());
    /// let response = hub.service().respond(&http::Request::post("/events").header("host", "localhost").body(()).unwrap());
    /// assert_eq!(response.status(), 405);
    /// ```
    #[must_use]
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Body> {
        let origin = request.headers().get(header::ORIGIN).map(HeaderValue::as_bytes);
        let mut response = self.answer(request);
        self.cors.apply(origin, response.headers_mut());
        response
    }

    fn answer<B>(&self, request: &Request<B>) -> Response<Body> {
        let hosts = request.headers().get_all(header::HOST).iter().count();
        if let Some(reason) = host_count_problem(hosts, request.version() == http::Version::HTTP_11) {
            return text_response(StatusCode::BAD_REQUEST, reason);
        }
        if let Some(preflight) = self.cors.preflight(request.method(), request.headers()) {
            return preflight.map(|()| crate::exchange::full(bytes::Bytes::new()));
        }
        if request.method() != Method::GET {
            let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
            return response;
        }
        let stream = StreamRequest::from_parts(request.uri(), request.headers());
        match stream.subscribe(&self.hub, self.verifier.as_deref(), self.retry_after.as_secs()) {
            Ok(subscriber) => stream_response(subscriber),
            Err(answer) => answer.into_response(),
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
