//! The routes `sse serve` adds to the server: the dashboard, `POST
//! /publish`, where every item is validated and authorized before any is
//! published, and Mercure's `POST /.well-known/mercure` (its `GET` is the
//! server's).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use sse_std::{
    AuthError, Body, INSUFFICIENT_SCOPE, MERCURE_PATH, MercureUpdate, PublishItem, Selectors, ServerConfig,
    Update, Verify, bearer_token, full, mercure_reserved, parse_publish, read_body, request_host,
    text_response,
};

use super::sink::{Failed, Publishing, Sink};

const DASHBOARD: &str = include_str!("../dashboard.html");

pub(crate) struct App {
    pub(crate) sink: Sink,
    pub(crate) config: ServerConfig,
    /// `None`: anyone who reaches the server publishes, without a token.
    pub(crate) publish_verifier: Option<Arc<dyn Verify>>,
    /// Whether the Mercure endpoint is served.
    pub(crate) mercure: bool,
}

impl App {
    pub(crate) async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        match (req.uri().path(), req.method()) {
            ("/", &Method::GET | &Method::HEAD) => {
                let mut response = Response::new(full(Bytes::from_static(DASHBOARD.as_bytes())));
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
            ("/publish", &Method::POST) => self.publish(req).await,
            (MERCURE_PATH, &Method::POST) if self.mercure => self.publish_mercure(req).await,
            (MERCURE_PATH, _) if self.mercure => not_allowed("GET, POST"),
            ("/", _) => not_allowed("GET"),
            ("/publish", _) => not_allowed("POST"),
            _ => text_response(StatusCode::NOT_FOUND, "not found"),
        }
    }

    /// `POST /publish`: validate and authorize every item, then publish
    /// them all. Only a JSON body from this server's own origin (or the
    /// `--cors` one) is taken, so that no other web page can publish: a
    /// cross-site form or `text/plain` request gets 415, a foreign `Origin`
    /// 403. With `--publish-key`, a missing or bad token gets 401 and a
    /// token that does not grant every item's topic 403: nothing of the
    /// request is published.
    async fn publish(&self, req: Request<Incoming>) -> Response<Body> {
        let (grants, body) = match self.admit(req, "application/json").await {
            Ok(admitted) => admitted,
            Err(refused) => return *refused,
        };
        let items = match parse_publish(&body) {
            Ok(items) => items,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let publishing = match self.start(&items, grants.as_ref()) {
            Ok(publishing) => publishing,
            Err(refused) => return *refused,
        };
        let ids = match publishing.await {
            Ok(ids) => ids,
            Err(failed) => return failure(&failed),
        };
        let mut json = String::from("{\"ids\":");
        json.push_str(&serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned()));
        json.push_str("}\n");
        let mut response = Response::new(full(Bytes::from(json)));
        *response.status_mut() = StatusCode::ACCEPTED;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// Mercure's `POST /.well-known/mercure`: one update from a form
    /// (several topics, `private`, `id`, `type`, `retry`), authorized as
    /// `POST /publish` is (the same keys; the token's grants, `sse` or
    /// `mercure` claims, must cover every topic), from this server's own
    /// origin or a `--cors` one; 200 with its id as text.
    async fn publish_mercure(&self, req: Request<Incoming>) -> Response<Body> {
        let (grants, body) = match self.admit(req, "application/x-www-form-urlencoded").await {
            Ok(admitted) => admitted,
            Err(refused) => return *refused,
        };
        let update = match MercureUpdate::parse(&body, MERCURE_PATH) {
            Ok(update) => update,
            Err(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
                return text_response(status, &e.to_string());
            }
        };
        if grants.as_ref().is_some_and(|grants| !update.granted_by(grants)) {
            let message = "the token does not grant publishing to every topic of the update";
            return challenge(StatusCode::FORBIDDEN, message, INSUFFICIENT_SCOPE);
        }
        let Ok(publishing) = update.with_update(|update| self.sink.publish(std::slice::from_ref(update)))
        else {
            return text_response(StatusCode::BAD_REQUEST, "the update is not a valid event");
        };
        match publishing.await {
            Ok(ids) => {
                let id = ids.into_iter().next().unwrap_or_default();
                let mut response = Response::new(full(Bytes::from(id)));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
                response
            }
            Err(failed) => failure(&failed),
        }
    }

    /// What every publish request goes through before its body is read
    /// as `media`: 415 for another content type (a cross-site form cannot
    /// send JSON), 403 for a foreign `Origin`, 401 for a missing or bad
    /// token; then the body (413 past the limit, 408 if too slow). The
    /// token's grants (`None`: anything) and the body.
    async fn admit(
        &self,
        req: Request<Incoming>,
        media: &'static str,
    ) -> Result<(Option<Selectors>, Bytes), Box<Response<Body>>> {
        if !has_media_type(req.headers().get(header::CONTENT_TYPE), media) {
            let mut response =
                text_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("send Content-Type: {media}"));
            response.headers_mut().insert("accept-post", HeaderValue::from_static(media));
            return Err(Box::new(response));
        }
        if let Some(origin) = req.headers().get(header::ORIGIN)
            && !self.origin_allowed(origin, request_host(&req))
        {
            let message = "publishing from another origin is not allowed";
            return Err(Box::new(text_response(StatusCode::FORBIDDEN, message)));
        }
        let grants = self
            .publisher_grants(req.headers().get(header::AUTHORIZATION))
            .map_err(|e| Box::new(challenge(StatusCode::UNAUTHORIZED, &e.to_string(), &e.challenge())))?;
        let body = read_body(req.into_body(), self.config.max_body_bytes, self.config.body_timeout)
            .await
            .map_err(Box::new)?;
        Ok((grants, body))
    }

    /// Authorizes every item, then starts publishing them all; the
    /// answer that refuses the request otherwise (nothing published).
    fn start(
        &self,
        items: &[PublishItem],
        grants: Option<&Selectors>,
    ) -> Result<Publishing, Box<Response<Body>>> {
        let mut prepared = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            // Only the hub publishes in Mercure's namespace (subscription
            // events): no publisher may forge them.
            let reserved =
                item.topic.as_deref().is_some_and(|t| self.mercure && mercure_reserved(t, MERCURE_PATH));
            let ready = if reserved {
                Err(Refused::Invalid("the topic is in the Mercure hub's reserved namespace".to_owned()))
            } else {
                prepare(item, grants)
            };
            match ready {
                Ok(ready) => prepared.push(ready),
                Err(Refused::Invalid(e)) => {
                    return Err(Box::new(text_response(
                        StatusCode::BAD_REQUEST,
                        &format!("item {index}: {e}"),
                    )));
                }
                Err(Refused::NotGranted) => {
                    let message = format!(
                        "item {index}: the token does not grant publishing to topic {}",
                        item.topic.as_deref().unwrap_or("(none; needs \"*\")")
                    );
                    return Err(Box::new(challenge(StatusCode::FORBIDDEN, &message, INSUFFICIENT_SCOPE)));
                }
            }
        }
        Ok(self.sink.publish(&prepared))
    }

    /// What the request's token lets it publish: `None` for anything
    /// (no `--publish-key`, and no token presented).
    fn publisher_grants(&self, authorization: Option<&HeaderValue>) -> Result<Option<Selectors>, AuthError> {
        match (&self.publish_verifier, authorization) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(AuthError::invalid("this hub accepts no publisher tokens")),
            (Some(_), None) => Err(AuthError::Missing),
            (Some(verifier), Some(value)) => {
                verifier.verify(bearer_token(value.as_bytes())?).map(|grant| Some(grant.selectors))
            }
        }
    }
}

/// Why an item cannot be published.
pub(crate) enum Refused {
    Invalid(String),
    NotGranted,
}

/// An item's update, if `grants` (`None`: anything) covers its topic.
pub(crate) fn prepare<'a>(item: &'a PublishItem, grants: Option<&Selectors>) -> Result<Update<'a>, Refused> {
    let audience = item.audience().map_err(|e| Refused::Invalid(e.to_string()))?;
    let event = item.to_event().map_err(|e| Refused::Invalid(e.to_string()))?;
    if grants.is_some_and(|grants| !grants.covers(audience.topic_name())) {
        return Err(Refused::NotGranted);
    }
    Ok(Update::new(audience, event))
}

/// The answer to a publish the engine failed (503 with `Retry-After`
/// when it is unavailable).
fn failure(failed: &Failed) -> Response<Body> {
    let mut response = text_response(failed.status, &failed.message);
    if failed.status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// `status` with a `WWW-Authenticate` challenge.
fn challenge(status: StatusCode, message: &str, challenge: &str) -> Response<Body> {
    let mut response = text_response(status, message);
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

impl App {
    /// The server's own origin (`http://` or `https://` and the request's
    /// host, the one the server checked: [`request_host`]), or a `--cors`
    /// origin (`*`: any).
    fn origin_allowed(&self, origin: &HeaderValue, host: Option<&[u8]>) -> bool {
        let origin = origin.as_bytes();
        let own = host.is_some_and(|host| {
            let rest = origin.strip_prefix(b"http://").or_else(|| origin.strip_prefix(b"https://"));
            rest.is_some_and(|rest| rest.eq_ignore_ascii_case(host))
        });
        own || self.config.cors.allows(origin)
    }
}

/// Whether a `Content-Type` is `media` (parameters aside).
fn has_media_type(content_type: Option<&HeaderValue>, media: &str) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|found| found.trim().eq_ignore_ascii_case(media))
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, &format!("use {allow}"));
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
