//! Cross-origin access (CORS): which web origins may read the stream and
//! call the server's other routes, with the user's credentials.
//!
//! Invariant: one [`Cors`] decides every CORS header of every answer, on
//! both transports and in [`HubService`](crate::HubService): a listed
//! origin is echoed with `Access-Control-Allow-Credentials: true`; `*`
//! allows any origin without credentials (the Fetch standard forbids the
//! two together); every answer of a server with CORS configured carries
//! `Vary: Origin`, so that no cache hands one origin's answer to another.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

/// Methods a preflight allows.
const METHODS: &str = "GET, POST, OPTIONS";
/// Request headers a preflight allows: a token, a JSON body, the resume
/// point of an `EventSource` polyfill.
const HEADERS: &str = "Authorization, Content-Type, Last-Event-ID, Cache-Control";
/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// The origins allowed to use a server from other sites (default: none).
///
/// ```
/// let cors = sse_std::Cors::allow(["https://app.example", "https://admin.example"]);
/// assert!(cors.allows(b"https://app.example"));
/// assert!(!cors.allows(b"https://evil.example"));
/// assert!(sse_std::Cors::allow(["*"]).allows(b"https://anyone.example"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    /// Exact origins (`scheme://host[:port]`), compared byte for byte
    /// after lowercasing, as browsers serialize them.
    origins: Vec<String>,
    /// `*` was listed: any origin, without credentials.
    any: bool,
}

impl Cors {
    /// Allows `origins` (each `scheme://host[:port]`, or `*` for any
    /// origin without credentials).
    ///
    /// ```
    /// let cors = sse_std::Cors::allow(["https://app.example"]);
    /// assert!(!cors.is_off());
    /// ```
    #[must_use]
    pub fn allow<S: AsRef<str>>(origins: impl IntoIterator<Item = S>) -> Self {
        let mut cors = Self::default();
        for origin in origins {
            let origin = origin.as_ref().trim().trim_end_matches('/');
            if origin == "*" {
                cors.any = true;
            } else if !origin.is_empty() {
                cors.origins.push(origin.to_ascii_lowercase());
            }
        }
        cors
    }

    /// Whether no origin is allowed (no CORS headers at all).
    ///
    /// ```
    /// assert!(sse_std::Cors::default().is_off());
    /// ```
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.origins.is_empty() && !self.any
    }

    /// Whether `origin` (an `Origin` header value) may use the server.
    ///
    /// ```
    /// assert!(sse_std::Cors::allow(["https://app.example"]).allows(b"https://APP.example"));
    /// ```
    #[must_use]
    pub fn allows(&self, origin: &[u8]) -> bool {
        self.any || self.listed(origin)
    }

    fn listed(&self, origin: &[u8]) -> bool {
        self.origins.iter().any(|listed| listed.as_bytes().eq_ignore_ascii_case(origin))
    }

    /// The CORS headers of an answer to a request from `origin`.
    pub(crate) fn headers(&self, origin: Option<&[u8]>) -> Vec<(&'static str, String)> {
        if self.is_off() {
            return Vec::new();
        }
        let mut headers = vec![("vary", "Origin".to_owned())];
        let origin = origin.and_then(|o| std::str::from_utf8(o).ok()).filter(|o| is_token_safe(o));
        match origin {
            Some(origin) if self.listed(origin.as_bytes()) => {
                headers.push(("access-control-allow-origin", origin.to_owned()));
                headers.push(("access-control-allow-credentials", "true".to_owned()));
            }
            _ if self.any => headers.push(("access-control-allow-origin", "*".to_owned())),
            _ => {}
        }
        headers
    }

    /// Adds the CORS headers for `origin` to `headers`.
    pub(crate) fn apply(&self, origin: Option<&[u8]>, headers: &mut HeaderMap) {
        for (name, value) in self.headers(origin) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }

    /// The answer to a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`) from an allowed origin: 204 with
    /// the methods, headers and max-age; `None` for any other request.
    pub(crate) fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<http::Response<()>> {
        let origin = headers.get(header::ORIGIN)?;
        if method != Method::OPTIONS
            || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            || !self.allows(origin.as_bytes())
        {
            return None;
        }
        let mut response = http::Response::new(());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        self.apply(Some(origin.as_bytes()), out);
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(METHODS));
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(HEADERS));
        out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        Some(response)
    }
}

/// Whether an origin may be echoed in a header as it is (visible ASCII).
fn is_token_safe(origin: &str) -> bool {
    !origin.is_empty() && origin.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_origins_get_credentials_and_every_answer_varies() {
        let cors = Cors::allow(["https://a.example", "https://b.example:8443/", "*"]);
        let h = cors.headers(Some(b"https://b.example:8443"));
        assert!(h.contains(&("access-control-allow-origin", "https://b.example:8443".into())), "{h:?}");
        assert!(h.contains(&("access-control-allow-credentials", "true".into())));
        assert!(h.contains(&("vary", "Origin".into())));
        let other = cors.headers(Some(b"https://c.example"));
        assert!(other.contains(&("access-control-allow-origin", "*".into())), "{other:?}");
        assert!(!other.iter().any(|(n, _)| *n == "access-control-allow-credentials"));
        let strict = Cors::allow(["https://a.example"]);
        assert_eq!(strict.headers(Some(b"https://evil.example")), [("vary", "Origin".into())]);
        assert_eq!(strict.headers(None), [("vary", "Origin".into())]);
        assert_eq!(strict.headers(Some(b"https://a.example\r\nx: y")), [("vary", "Origin".into())]);
        assert!(Cors::default().headers(Some(b"https://a.example")).is_empty());
    }

    #[test]
    fn preflights_are_answered_for_allowed_origins_only() {
        let cors = Cors::allow(["https://a.example"]);
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://a.example"));
        headers.insert(header::ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("POST"));
        let answer = cors.preflight(&Method::OPTIONS, &headers).unwrap();
        assert_eq!(answer.status(), 204);
        let h = answer.headers();
        assert_eq!(h["access-control-allow-origin"], "https://a.example");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h["access-control-allow-headers"].to_str().unwrap().contains("Authorization"));
        assert_eq!(h["vary"], "Origin");
        assert!(cors.preflight(&Method::GET, &headers).is_none());
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(cors.preflight(&Method::OPTIONS, &headers).is_none());
    }
}
