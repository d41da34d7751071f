//! Bearer-token authorization: a [`Verify`] turns a token into the
//! [`Selectors`] it grants (topics to publish to, or private topics to
//! receive), and the token carriers an `EventSource` can use are read in
//! one place.
//!
//! Invariant: a token that is presented is either verified or refused,
//! never ignored: a bad token is an error (401), not a silent downgrade to
//! anonymous. A subscriber's token may come from the `Authorization`
//! header, the `authorization` query parameter or the `sse_auth` (or
//! Mercure's `mercureAuthorization`) cookie (an `EventSource` cannot set
//! headers), in that order; a publisher's only from the header.

#[cfg(feature = "jwt")]
mod jwt;

use std::fmt;
use std::time::SystemTime;

#[cfg(feature = "jwt")]
pub use jwt::{JWT_LEEWAY_SECS, JwtKey, JwtVerifier, KeyError, MIN_HMAC_SECRET};

use crate::topics::Selectors;

/// The cookie a subscriber's token may come in.
///
/// ```
/// let t = sse_std::subscriber_token(None, None, Some(format!("{}=abc", sse_std::AUTH_COOKIE).as_bytes()));
/// assert_eq!(t.unwrap().as_deref(), Some("abc"));
/// ```
pub const AUTH_COOKIE: &str = "sse_auth";

/// The cookie Mercure clients carry a subscriber's token in; read like
/// [`AUTH_COOKIE`].
///
/// ```
/// let t = sse_std::subscriber_token(None, None, Some(b"mercureAuthorization=abc"));
/// assert_eq!(t.unwrap().as_deref(), Some("abc"));
/// ```
pub const MERCURE_COOKIE: &str = "mercureAuthorization";

/// The query parameter a subscriber's token may come in.
///
/// ```
/// let query = format!("topic=a&{}=abc", sse_std::AUTH_QUERY);
/// assert_eq!(sse_std::subscriber_token(None, Some(&query), None).unwrap().as_deref(), Some("abc"));
/// ```
pub const AUTH_QUERY: &str = "authorization";

/// Turns a bearer token into what it grants. Implement it to plug your
/// own authentication into the server, or use [`JwtVerifier`] (feature
/// `jwt`).
///
/// ```
/// use sse_std::{AuthError, Grant, Selectors, Verify};
/// /// One fixed API key that grants every topic.
/// #[derive(Debug)]
/// struct ApiKey(String);
/// impl Verify for ApiKey {
///     fn verify(&self, token: &str) -> Result<Grant, AuthError> {
///         if token == self.0 { Ok(Grant::new(Selectors::all())) } else { Err(AuthError::invalid("unknown key")) }
///     }
/// }
/// assert!(ApiKey("k".into()).verify("k").unwrap().selectors.covers(Some("any")));
/// ```
pub trait Verify: Send + Sync + fmt::Debug {
    /// What `token` grants, and until when.
    ///
    /// # Errors
    /// [`AuthError::Invalid`] for a token that is malformed, expired, not
    /// yet valid, wrongly signed, or otherwise not accepted.
    fn verify(&self, token: &str) -> Result<Grant, AuthError>;
}

/// What a verified token grants: topic selectors, until a time. A stream
/// opened with a token that expires is closed by the server when it does
/// (the client reconnects with whatever token it holds then).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let grant = sse_std::Grant::new(sse_std::Selectors::all()).until(SystemTime::now() + Duration::from_secs(60));
/// assert!(grant.expires.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant {
    /// The topics granted.
    pub selectors: Selectors,
    /// When the grant ends (a JWT's `exp`, plus the leeway); `None`: never.
    pub expires: Option<SystemTime>,
    /// What the token says about its holder for others to see (Mercure's
    /// `mercure.payload` claim, as JSON text), carried into the
    /// subscription events of its streams.
    pub payload: Option<String>,
}

impl Grant {
    /// `selectors`, without an end.
    ///
    /// ```
    /// assert!(sse_std::Grant::new(sse_std::Selectors::none()).expires.is_none());
    /// ```
    #[must_use]
    pub fn new(selectors: Selectors) -> Self {
        Self { selectors, expires: None, payload: None }
    }

    /// The same grant, ending at `at`.
    ///
    /// ```
    /// let grant = sse_std::Grant::new(sse_std::Selectors::none()).until(std::time::SystemTime::UNIX_EPOCH);
    /// assert_eq!(grant.expires, Some(std::time::SystemTime::UNIX_EPOCH));
    /// ```
    #[must_use]
    pub fn until(self, at: SystemTime) -> Self {
        Self { expires: Some(at), ..self }
    }
}

/// Why a request's credentials were refused: always 401 with
/// `WWW-Authenticate: Bearer` (see [`challenge`](Self::challenge)).
///
/// ```
/// let e = sse_std::AuthError::invalid("token expired");
/// assert_eq!(e.to_string(), "invalid token: token expired");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No token where one is required.
    Missing,
    /// A token was presented and refused, for this reason.
    Invalid(String),
}

impl AuthError {
    /// [`AuthError::Invalid`] with `reason`.
    ///
    /// ```
    /// assert!(matches!(sse_std::AuthError::invalid("x"), sse_std::AuthError::Invalid(_)));
    /// ```
    #[must_use]
    pub fn invalid(reason: &str) -> Self {
        Self::Invalid(reason.to_owned())
    }

    /// The `WWW-Authenticate` value that goes with the 401 (RFC 6750).
    ///
    /// ```
    /// assert_eq!(sse_std::AuthError::Missing.challenge(), r#"Bearer realm="sse""#);
    /// let bad = sse_std::AuthError::invalid("expired");
    /// assert_eq!(bad.challenge(), r#"Bearer realm="sse", error="invalid_token", error_description="expired""#);
    /// ```
    #[must_use]
    pub fn challenge(&self) -> String {
        match self {
            Self::Missing => "Bearer realm=\"sse\"".to_owned(),
            Self::Invalid(reason) => {
                // A quoted-string may not hold `"` or `\`, nor controls.
                let reason: String =
                    reason.chars().filter(|c| !matches!(c, '"' | '\\') && !c.is_control()).collect();
                format!("Bearer realm=\"sse\", error=\"invalid_token\", error_description=\"{reason}\"")
            }
        }
    }
}

/// The `WWW-Authenticate` value that goes with a 403: the token is valid
/// but does not grant what the request needs (RFC 6750).
///
/// ```
/// assert!(sse_std::INSUFFICIENT_SCOPE.contains("insufficient_scope"));
/// ```
pub const INSUFFICIENT_SCOPE: &str = "Bearer realm=\"sse\", error=\"insufficient_scope\"";

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("a bearer token is required"),
            Self::Invalid(reason) => write!(f, "invalid token: {reason}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// The token of an `Authorization` header value: `Bearer <token>`
/// (scheme in any case).
///
/// # Errors
/// [`AuthError::Invalid`] for another scheme or an empty or non-text
/// token.
///
/// ```
/// assert_eq!(sse_std::bearer_token(b"Bearer abc.def.ghi"), Ok("abc.def.ghi"));
/// assert!(sse_std::bearer_token(b"Basic dXNlcjpwYXNz").is_err());
/// ```
pub fn bearer_token(authorization: &[u8]) -> Result<&str, AuthError> {
    let text = std::str::from_utf8(authorization).map_err(|_| AuthError::invalid("token is not text"))?;
    let (scheme, token) = text.trim().split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::invalid("use the Bearer scheme"));
    }
    let token = token.trim();
    if token.is_empty() { Err(AuthError::invalid("empty bearer token")) } else { Ok(token) }
}

/// A subscriber's token from its carriers, in order: the `Authorization`
/// header (`Bearer`), the `authorization` query parameter, the `sse_auth`
/// or `mercureAuthorization` cookie (`cookie`: the `Cookie` field, or HTTP/2's several `cookie`
/// fields joined with `; `, RFC 9113 §8.2.3). `Ok(None)` if there is none.
///
/// # Errors
/// [`AuthError::Invalid`] for an `Authorization` header that is not a
/// bearer token.
///
/// ```
/// let t = sse_std::subscriber_token(None, Some("topic=a&authorization=abc"), None);
/// assert_eq!(t.unwrap().as_deref(), Some("abc"));
/// let t = sse_std::subscriber_token(None, None, Some(b"theme=dark; sse_auth=xyz"));
/// assert_eq!(t.unwrap().as_deref(), Some("xyz"));
/// assert_eq!(sse_std::subscriber_token(None, None, None), Ok(None));
/// ```
pub fn subscriber_token(
    authorization: Option<&[u8]>,
    query: Option<&str>,
    cookie: Option<&[u8]>,
) -> Result<Option<String>, AuthError> {
    if let Some(header) = authorization {
        return bearer_token(header).map(|token| Some(token.to_owned()));
    }
    let from_query = query.and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == AUTH_QUERY)
            .map(|(_, v)| v.into_owned())
    });
    if from_query.is_some() {
        return Ok(from_query);
    }
    let from_cookie = cookie.and_then(|cookie| std::str::from_utf8(cookie).ok()).and_then(|cookie| {
        cookie.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == AUTH_COOKIE || name == MERCURE_COOKIE).then(|| value.trim_matches('"').to_owned())
        })
    });
    Ok(from_cookie)
}

/// The most `topic` selectors one stream request may give; more get 400
/// (each costs the hub an index entry while the stream is open).
///
/// ```
/// let query: String = (0..=sse_std::MAX_STREAM_TOPICS).map(|i| format!("topic=t{i}&")).collect();
/// assert!(sse_std::stream_subscription(Some(&query), None, None, None).is_err());
/// ```
pub const MAX_STREAM_TOPICS: usize = 100;

/// What a stream request may receive: its subscription, and when the token
/// that granted it expires (the stream ends then).
///
/// ```
/// let access = sse_std::stream_subscription(Some("topic=a"), None, None, None).unwrap();
/// assert!(access.subscription.topics.covers(Some("a")) && access.expires.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamAccess {
    /// The events the stream receives.
    pub subscription: crate::Subscription,
    /// When the subscriber's token expires; `None`: no token, or one
    /// without `exp`.
    pub expires: Option<SystemTime>,
    /// The token's payload for subscription events ([`Grant::payload`]).
    pub payload: Option<String>,
}

/// The subscription a stream request asks for: the union of its `topic`
/// query parameters (percent-decoded; every public event without any; at
/// most [`MAX_STREAM_TOPICS`]), with the private topics its token grants,
/// until the token expires.
///
/// # Errors
/// 400 for an invalid selector or too many, 401 for a bad token or for a
/// token when `verifier` is `None` (there is nothing to verify it with).
///
/// ```
/// let s = sse_std::stream_subscription(Some("topic=sensors%2F*&topic=alerts"), None, None, None).unwrap();
/// assert!(s.subscription.topics.covers(Some("sensors/t1")) && s.subscription.topics.covers(Some("alerts")));
/// assert!(sse_std::stream_subscription(Some("topic=a*"), None, None, None).is_err());
/// ```
pub fn stream_subscription(
    query: Option<&str>,
    authorization: Option<&[u8]>,
    cookie: Option<&[u8]>,
    verifier: Option<&dyn Verify>,
) -> Result<StreamAccess, StreamRefusal> {
    let mut chosen: Vec<String> = Vec::new();
    for (name, value) in query.map(|q| form_urlencoded::parse(q.as_bytes())).into_iter().flatten() {
        if name == "topic" {
            if chosen.len() == MAX_STREAM_TOPICS {
                return Err(StreamRefusal::TooManyTopics);
            }
            chosen.push(value.into_owned());
        }
    }
    let topics = if chosen.is_empty() {
        Selectors::all()
    } else {
        Selectors::parse(&chosen).map_err(StreamRefusal::Topic)?
    };
    let grant = subscriber_grant(authorization, query, cookie, verifier)?;
    Ok(StreamAccess {
        subscription: crate::Subscription { topics, grants: grant.selectors },
        expires: grant.expires,
        payload: grant.payload,
    })
}

/// What a subscriber's token (from its carriers, see
/// [`subscriber_token`]) grants: nothing without one.
pub(crate) fn subscriber_grant(
    authorization: Option<&[u8]>,
    query: Option<&str>,
    cookie: Option<&[u8]>,
    verifier: Option<&dyn Verify>,
) -> Result<Grant, StreamRefusal> {
    match subscriber_token(authorization, query, cookie).map_err(StreamRefusal::Auth)? {
        None => Ok(Grant::new(Selectors::none())),
        Some(token) => match verifier {
            Some(verifier) => verifier.verify(&token).map_err(StreamRefusal::Auth),
            None => Err(StreamRefusal::Auth(AuthError::invalid("this hub accepts no subscriber tokens"))),
        },
    }
}

/// Why a stream request was refused before subscribing.
///
/// ```
/// let e = sse_std::stream_subscription(Some("topic="), None, None, None).unwrap_err();
/// assert_eq!(e.to_string(), "topic: topic is empty");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamRefusal {
    /// A `topic` parameter is not a valid selector (400).
    Topic(sse_wire::TopicError),
    /// More than [`MAX_STREAM_TOPICS`] `topic` parameters (400).
    TooManyTopics,
    /// A Mercure selector is not a valid URI template or URL pattern, or
    /// is too long (400).
    Template(crate::TemplateError),
    /// A Mercure subscription names no topic (400).
    NoTopic,
    /// More than [`MAX_STREAM_PATTERNS`](crate::MAX_STREAM_PATTERNS) URI
    /// templates and URL patterns in one subscription (400).
    TooManyPatterns,
    /// A Mercure matcher parameter (`match_…`) of a type this hub does
    /// not support (400).
    Matcher(String),
    /// The token was refused (401).
    Auth(AuthError),
}

impl fmt::Display for StreamRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Topic(e) => write!(f, "topic: {e}"),
            Self::TooManyTopics => write!(f, "more than {MAX_STREAM_TOPICS} topic parameters"),
            Self::Template(e) => write!(f, "topic: {e}"),
            Self::NoTopic => f.write_str("missing \"topic\" parameter"),
            Self::TooManyPatterns => {
                write!(f, "more than {} URI templates and URL patterns", crate::MAX_STREAM_PATTERNS)
            }
            Self::Matcher(name) => {
                write!(f, "{name}: matcher type not supported (use topic, match or match_urlpattern)")
            }
            Self::Auth(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StreamRefusal {}
