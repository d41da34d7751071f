//! The router of requests served through hyper: the `Host` rules, CORS
//! preflights, the body-length bound, then the events path, the metrics
//! path or the application's handler.

use std::sync::Arc;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tokio::sync::Notify;

#[cfg(feature = "tls")]
use super::h2;
#[cfg(feature = "metrics")]
use super::metrics;
use super::open::Opened;
use super::{Shared, head};
use crate::exchange::{Body, StreamRequest, full, host_count_problem, request_host, text_response};

impl Shared {
    pub(super) async fn respond(&self, req: Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = self.route(req, too_slow).await;
        self.counters.status(response.status().as_u16());
        self.config.cors.apply(origin.as_ref().map(HeaderValue::as_bytes), response.headers_mut());
        response
    }

    async fn route(&self, req: Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let hosts = req.headers().get_all(header::HOST).iter().count();
        if let Some(reason) = host_count_problem(hosts, req.version() == http::Version::HTTP_11) {
            return text_response(StatusCode::BAD_REQUEST, reason);
        }
        if !self.hosts.accepts(request_host(&req)) {
            return text_response(StatusCode::MISDIRECTED_REQUEST, head::MISDIRECTED);
        }
        if let Some(preflight) = self.config.cors.preflight(req.method(), req.headers()) {
            return preflight.map(|()| full(bytes::Bytes::new()));
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let max = u64::try_from(self.config.max_body_bytes).unwrap_or(u64::MAX);
        if declared.is_some_and(|len| len > max) {
            return text_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        if req.uri().path() == self.config.events_path {
            return self.events(&req, too_slow);
        }
        if req.method() == Method::GET && self.config.mercure_path.as_deref() == Some(req.uri().path()) {
            return self.mercure(&req, too_slow);
        }
        #[cfg(feature = "json")]
        if let Some(presence) = &self.presence
            && req.method() == Method::GET
            && let Some(hub_path) = self.config.mercure_path.as_deref()
            && req.uri().path().strip_prefix(hub_path).is_some_and(|rest| rest.starts_with("/subscriptions"))
        {
            return self.subscriptions(presence, &req);
        }
        #[cfg(feature = "metrics")]
        if self.config.metrics_path.as_deref() == Some(req.uri().path()) {
            return metrics::respond(&req, &self.hub, &self.counters);
        }
        match &self.handler {
            Some(handler) => handler(req).await,
            None => text_response(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn events(&self, req: &Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        if req.method() != Method::GET {
            let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
            return response;
        }
        self.stream(self.open(&StreamRequest::from_parts(req.uri(), req.headers())), too_slow)
    }

    /// A Mercure subscription: the stream, with the newest event the hub
    /// held as `Last-Event-ID` (`earliest` if none).
    fn mercure(&self, req: &Request<Incoming>, too_slow: Arc<Notify>) -> Response<Body> {
        let request = StreamRequest { mercure: true, ..StreamRequest::from_parts(req.uri(), req.headers()) };
        self.stream(self.open(&request), too_slow)
    }

    /// Mercure's subscriptions API: for a subscriber whose token grants
    /// the requested path (as a topic), the JSON-LD document of the
    /// subscriptions it names; 401 without a token, 403 if not granted,
    /// 404 for a subscription that is not active.
    #[cfg(feature = "json")]
    fn subscriptions(&self, presence: &crate::mercure::Presence, req: &Request<Incoming>) -> Response<Body> {
        let request = StreamRequest::from_parts(req.uri(), req.headers());
        let token = crate::subscriber_token(
            request.authorization.as_deref(),
            request.query.as_deref(),
            request.cookie.as_deref(),
        );
        let grant = match (token, self.config.subscribe_verifier.as_deref()) {
            (Ok(Some(token)), Some(verifier)) => verifier.verify(&token),
            (Ok(Some(_)), None) => Err(crate::AuthError::invalid("this hub accepts no subscriber tokens")),
            (Ok(None), _) => Err(crate::AuthError::Missing),
            (Err(e), _) => Err(e),
        };
        let grant = match grant {
            Ok(grant) => grant,
            Err(e) => return crate::exchange::Answer::unauthorized(&e).into_response(),
        };
        let path = req.uri().path();
        if !grant.selectors.covers(Some(path)) {
            let mut response =
                text_response(StatusCode::FORBIDDEN, "the token does not grant this subscription's topic");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(crate::INSUFFICIENT_SCOPE));
            return response;
        }
        let last = self.hub.last_event_id().unwrap_or_else(|| crate::EARLIEST.to_owned());
        match presence.api(path, &last) {
            Some(document) => {
                let mut response = Response::new(crate::full(bytes::Bytes::from(document.to_string())));
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/ld+json"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
            None => text_response(StatusCode::NOT_FOUND, "no such subscription"),
        }
    }

    /// The response that streams `opened`, or that refuses it.
    fn stream(
        &self,
        opened: Result<Opened, crate::exchange::Answer>,
        too_slow: Arc<Notify>,
    ) -> Response<Body> {
        let Opened { subscriber, last_event_id } = match opened {
            Ok(opened) => opened,
            Err(answer) => return answer.into_response(),
        };
        let mut response = stream_body(subscriber, too_slow);
        if let Some(value) = last_event_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            response.headers_mut().insert("last-event-id", value);
        }
        response
    }
}

/// The streaming response of `subscriber`, ended by `too_slow` (the
/// connection's signal) or, on HTTP/2, by its own stream's control.
fn stream_body(mut subscriber: crate::Subscriber, too_slow: Arc<Notify>) -> Response<Body> {
    // An HTTP/2 stream is ended on its own, never its connection.
    #[cfg(feature = "tls")]
    if let Some(control) = h2::StreamControl::current() {
        subscriber.set_disconnect_signal(control.stop_signal());
        return crate::exchange::stream_response(h2::Watched { inner: subscriber, control });
    }
    subscriber.set_disconnect_signal(too_slow);
    crate::exchange::stream_response(subscriber)
}
