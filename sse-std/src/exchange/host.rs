//! Which `Host` a server answers: the defence against DNS rebinding, where
//! a web page's own host name is made to resolve to 127.0.0.1 so that the
//! browser lets it talk to a local server.
//!
//! Invariant: when the check is on (a loopback listener, or allowed names
//! configured), a request that carries a `Host` naming anything but
//! `localhost`, a loopback address or an allowed name is refused before it
//! is routed, on both paths. A request without `Host` is not a browser's
//! and is let through.

use std::net::IpAddr;

/// Why a request's count of `Host` fields is refused (400), if it is:
/// RFC 9112 §3.2.
pub(crate) fn count_problem(hosts: usize, http11: bool) -> Option<&'static str> {
    match hosts {
        0 if http11 => Some("an HTTP/1.1 request needs a Host field"),
        0 | 1 => None,
        _ => Some("more than one Host field"),
    }
}

/// The host a request names: the target's authority (absolute-form, or
/// HTTP/2's `:authority`), which wins over `Host` (RFC 9112 §3.2.2), or
/// else the `Host` field. The server checks this name (421), and an
/// `Origin` check should compare with the same one.
///
/// ```
/// let req = http::Request::get("/events").header("host", "localhost:8080").body(()).unwrap();
/// assert_eq!(sse_std::request_host(&req), Some(&b"localhost:8080"[..]));
/// let req = http::Request::get("http://a.example/events").header("host", "b.example").body(()).unwrap();
/// assert_eq!(sse_std::request_host(&req), Some(&b"a.example"[..]));
/// ```
pub fn request_host<B>(req: &http::Request<B>) -> Option<&[u8]> {
    let authority = req.uri().authority().map(|a| a.as_str().as_bytes());
    authority.or_else(|| req.headers().get(http::header::HOST).map(http::HeaderValue::as_bytes))
}

/// The host names a server accepts.
#[derive(Clone, Debug)]
pub(crate) struct HostCheck {
    /// `None`: any host.
    allowed: Option<Vec<String>>,
}

impl HostCheck {
    /// The check for a server listening on `local`, with `extra` names.
    pub(crate) fn new(local: Option<IpAddr>, extra: &[String]) -> Self {
        let on = local.is_some_and(|ip| ip.is_loopback()) || !extra.is_empty();
        Self { allowed: on.then(|| extra.iter().map(|name| name.to_ascii_lowercase()).collect()) }
    }

    /// Whether a request with this `Host` header value (if any) is served.
    pub(crate) fn accepts(&self, host: Option<&[u8]>) -> bool {
        let (Some(allowed), Some(host)) = (&self.allowed, host) else { return true };
        let Ok(host) = std::str::from_utf8(host) else { return false };
        let name = name_of(host.trim()).to_ascii_lowercase();
        name == "localhost"
            || name.ends_with(".localhost")
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
            || allowed.contains(&name)
    }
}

/// The name part of a `Host` value: without the port, brackets kept for
/// an IPv6 literal.
fn name_of(host: &str) -> &str {
    match host.strip_prefix('[') {
        Some(rest) => rest.find(']').map_or(host, |end| host.get(..end.saturating_add(2)).unwrap_or(host)),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_pass_and_others_are_refused() {
        let check = HostCheck::new(Some("127.0.0.1".parse().unwrap()), &["Dash.Example".into()]);
        for host in [
            "localhost:8080",
            "LOCALHOST",
            "127.0.0.1:8080",
            "127.9.9.9",
            "[::1]:8080",
            "[::1]",
            "app.localhost:1",
            "dash.example:8080",
        ] {
            assert!(check.accepts(Some(host.as_bytes())), "{host}");
        }
        for host in [
            "evil.example:8080",
            "evil.example",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::2]:80",
            "",
            "\u{ff}",
        ] {
            assert!(!check.accepts(Some(host.as_bytes())), "{host}");
        }
        assert!(check.accepts(None), "a request without Host is not a browser's");
        let open = HostCheck::new(Some("0.0.0.0".parse().unwrap()), &[]);
        assert!(open.accepts(Some(b"anything.example")));
        let listed = HostCheck::new(Some("0.0.0.0".parse().unwrap()), &["sse.example".into()]);
        assert!(listed.accepts(Some(b"sse.example")) && !listed.accepts(Some(b"other.example")));
    }
}
