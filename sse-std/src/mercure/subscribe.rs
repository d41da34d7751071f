//! A Mercure subscription request: its topic selectors, token and resume
//! point, read from the query the way Mercure clients write it.
//!
//! Invariant: a request gets the subscription it names or a refusal: a
//! selector that cannot be matched (a bad URI template, a matcher type
//! the hub does not know) is a 400, never silently dropped.

use crate::MAX_STREAM_TOPICS;
use crate::auth::{StreamAccess, StreamRefusal, Verify, subscriber_grant};
use crate::topics::{Selectors, Subscription};

/// The most URI templates and URL patterns one subscription may give:
/// no index holds them, so each costs every publish a match while the
/// stream is open.
///
/// ```
/// let query: String = (0..=sse_std::MAX_STREAM_PATTERNS).map(|i| format!("topic=t{i}/{{id}}&")).collect();
/// assert!(sse_std::mercure_subscription(Some(&query), None, None, None).is_err());
/// ```
pub const MAX_STREAM_PATTERNS: usize = 16;

/// The subscription a Mercure request asks for: its `topic` parameters
/// (Mercure selectors: `*`, a URI template, or an exact topic; see
/// [`Selectors::parse_mercure`]), the exact topics of `match` and
/// `match_exact` and the URL patterns of `match_urlpattern` (the newest
/// draft's matchers), at least one and at most [`MAX_STREAM_TOPICS`] in all,
/// with the private topics its token grants (`Authorization: Bearer`, the
/// `authorization` query parameter or the `mercureAuthorization` cookie),
/// until the token expires.
///
/// # Errors
/// 400 ([`StreamRefusal::Topic`], [`StreamRefusal::Template`],
/// [`StreamRefusal::NoTopic`], [`StreamRefusal::TooManyTopics`],
/// [`StreamRefusal::Matcher`]) for what cannot be subscribed to; 401
/// ([`StreamRefusal::Auth`]) for a bad token, or any token when
/// `verifier` is `None`.
///
/// ```
/// let q = "topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&topic=urn%3Anews";
/// let access = sse_std::mercure_subscription(Some(q), None, None, None)?;
/// assert!(access.subscription.topics.covers(Some("https://example.com/books/1")));
/// assert!(access.subscription.topics.covers(Some("urn:news")));
/// assert!(access.subscription.grants.is_empty());
/// assert!(sse_std::mercure_subscription(Some("lastEventID=x"), None, None, None).is_err());
/// // The newest draft's URL patterns.
/// let draft = sse_std::mercure_subscription(Some("match_urlpattern=https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid"), None, None, None)?;
/// assert!(draft.subscription.topics.covers(Some("https://example.com/books/1")));
/// # Ok::<(), sse_std::StreamRefusal>(())
/// ```
pub fn mercure_subscription(
    query: Option<&str>,
    authorization: Option<&[u8]>,
    cookie: Option<&[u8]>,
    verifier: Option<&dyn Verify>,
) -> Result<StreamAccess, StreamRefusal> {
    let mut selectors: Vec<String> = Vec::new();
    let mut exact: Vec<String> = Vec::new();
    let mut patterns: Vec<String> = Vec::new();
    for (name, value) in query.map(|q| form_urlencoded::parse(q.as_bytes())).into_iter().flatten() {
        if selectors.len().saturating_add(exact.len()).saturating_add(patterns.len()) == MAX_STREAM_TOPICS
            && matches!(&*name, "topic" | "match" | "match_exact" | "match_urlpattern")
        {
            return Err(StreamRefusal::TooManyTopics);
        }
        let list = match &*name {
            "topic" => &mut selectors,
            "match" | "match_exact" => &mut exact,
            "match_urlpattern" => &mut patterns,
            other if other.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("match")) => {
                return Err(StreamRefusal::Matcher(other.to_owned()));
            }
            _ => continue,
        };
        list.push(value.into_owned());
    }
    if selectors.is_empty() && exact.is_empty() && patterns.is_empty() {
        return Err(StreamRefusal::NoTopic);
    }
    let topics = Selectors::parse_mercure(&selectors)
        .map_err(StreamRefusal::Template)?
        .union(&Selectors::exact(&exact))
        .union(&Selectors::url_patterns(&patterns).map_err(StreamRefusal::Template)?);
    if topics.unindexed() > MAX_STREAM_PATTERNS {
        return Err(StreamRefusal::TooManyPatterns);
    }
    let grant = subscriber_grant(authorization, query, cookie, verifier)?;
    Ok(StreamAccess {
        subscription: Subscription { topics, grants: grant.selectors },
        expires: grant.expires,
        payload: grant.payload,
    })
}

/// The topic selectors of a Mercure subscription, as given, each once.
#[cfg(feature = "json")]
pub(crate) fn selector_texts(query: Option<&str>) -> Vec<String> {
    let mut texts: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| matches!(&**name, "topic" | "match" | "match_exact" | "match_urlpattern"))
        .map(|(_, value)| value.into_owned())
        .collect();
    texts.sort_unstable();
    texts.dedup();
    texts
}

/// Where a Mercure subscriber resumes: the `Last-Event-ID` header, else
/// the `lastEventID` query parameter (or `lastEventId`, `last_event_id`,
/// as other clients spell it). [`EARLIEST`](crate::EARLIEST) asks for
/// every event still held.
///
/// ```
/// assert_eq!(sse_std::mercure_resume_id(None, Some("topic=a&lastEventID=urn%3Ax")).as_deref(), Some("urn:x"));
/// assert_eq!(sse_std::mercure_resume_id(Some("h"), Some("lastEventID=q")).as_deref(), Some("h"));
/// ```
#[must_use]
pub fn mercure_resume_id(header: Option<&str>, query: Option<&str>) -> Option<String> {
    if let Some(header) = header.filter(|h| !h.is_empty()) {
        return Some(header.to_owned());
    }
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, value)| {
            matches!(&**name, "lastEventID" | "lastEventId" | "last_event_id") && !value.is_empty()
        })
        .map(|(_, value)| value.into_owned())
}
