//! URL patterns (the WHATWG URL Pattern standard) as topic selectors:
//! the Mercure protocol's `urlpattern` matcher type, such as
//! `https://example.com/books/:id`.
//!
//! Invariant: a [`UrlPatternSelector`] is compiled once, when parsed, by
//! the `urlpattern` crate on the `regex` crate (linear time in the
//! topic's length, whatever the pattern); relative patterns and topics are
//! resolved against one base, so that a relative pattern matches relative
//! topics (such as the hub's own subscription topics); a topic that is not
//! a URL reference matches no pattern.

use std::fmt;
use std::sync::Arc;

use urlpattern::{UrlPattern, UrlPatternInit, UrlPatternMatchInput};

/// The base relative patterns and topics are resolved against: the
/// library does not know the hub's own URL, so relative patterns match
/// relative topics whatever it is.
const BASE: &str = "https://hub.invalid/.well-known/mercure";

/// A URL pattern used as a topic selector.
///
/// ```
/// let books = sse_std::UrlPatternSelector::parse("https://example.com/books/:id")?;
/// assert!(books.matches("https://example.com/books/1"));
/// assert!(!books.matches("https://example.com/books/1/reviews"));
/// assert!(!books.matches("not a url"));
/// let relative = sse_std::UrlPatternSelector::parse("/.well-known/mercure/subscriptions/:type/:match/:subscriber")?;
/// assert!(relative.matches("/.well-known/mercure/subscriptions/exact/a/urn%3Auuid%3A1"));
/// # Ok::<(), sse_std::TemplateError>(())
/// ```
#[derive(Clone)]
pub struct UrlPatternSelector {
    source: Box<str>,
    pattern: Arc<UrlPattern>,
}

impl UrlPatternSelector {
    /// Parses and compiles `source`.
    ///
    /// # Errors
    /// [`TemplateError::TooLong`](crate::TemplateError::TooLong) past
    /// [`MAX_TEMPLATE_LEN`](crate::MAX_TEMPLATE_LEN) bytes,
    /// [`TemplateError::Syntax`](crate::TemplateError::Syntax) if it is
    /// not a URL pattern.
    ///
    /// ```
    /// assert!(sse_std::UrlPatternSelector::parse("https://example.com/(").is_err());
    /// ```
    pub fn parse(source: &str) -> Result<Self, crate::TemplateError> {
        if source.len() > crate::MAX_TEMPLATE_LEN {
            return Err(crate::TemplateError::TooLong);
        }
        // The `urlpattern` crate counts IPv6 brackets down without a
        // floor (a `]` before its `[` overflows: a panic in a debug
        // build); no valid pattern has one, so it is refused here.
        let mut depth = 0usize;
        for c in source.chars() {
            match c {
                '[' => depth = depth.saturating_add(1),
                ']' => {
                    depth =
                        depth.checked_sub(1).ok_or(crate::TemplateError::Syntax("a ']' without its '['"))?;
                }
                _ => {}
            }
        }
        let invalid = |_| crate::TemplateError::Syntax("not a URL pattern");
        let base = url::Url::parse(BASE).map_err(|_| crate::TemplateError::Syntax("base"))?;
        let init =
            UrlPatternInit::parse_constructor_string::<regex::Regex>(source, Some(base)).map_err(invalid)?;
        let pattern = UrlPattern::parse(init, Default::default()).map_err(invalid)?;
        Ok(Self { source: Box::from(source), pattern: Arc::new(pattern) })
    }

    /// Whether `topic`, resolved against the base, matches.
    ///
    /// ```
    /// let p = sse_std::UrlPatternSelector::parse("https://example.com/books/:id")?;
    /// assert!(p.matches("https://example.com/books/7") && !p.matches("https://example.com/authors/7"));
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, topic: &str) -> bool {
        let Ok(url) = url::Url::parse(BASE).and_then(|base| base.join(topic)) else { return false };
        self.pattern.test(UrlPatternMatchInput::Url(url)).unwrap_or(false)
    }

    /// The pattern as written.
    ///
    /// ```
    /// assert_eq!(sse_std::UrlPatternSelector::parse("/a/:b")?.as_str(), "/a/:b");
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for UrlPatternSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UrlPatternSelector").field(&self.source).finish()
    }
}

by_source!(UrlPatternSelector);

#[cfg(test)]
mod tests {
    use super::*;

    /// The Mercure conformance suite's URL-pattern cases, and a few more.
    #[test]
    fn patterns_match_as_the_standard_says() {
        let cases: &[(&str, &str, bool)] = &[
            ("https://example.net/foo/:random", "https://example.net/foo/4f2a", true),
            ("https://example.net/bar/:var", "https://example.net/foo/will-not-match", false),
            ("https://example.com/books/:id", "https://example.com/books/1?x=y", true),
            ("https://example.com/books/*", "https://example.com/books/1/reviews", true),
            ("https://example.com/books/:id", "https://EXAMPLE.com/books/1", true),
            ("https://example.com/Books/:id", "https://example.com/books/1", false),
            ("/rel/:x", "/rel/1", true),
            ("/rel/:x", "https://hub.invalid/rel/1", true),
            ("https://example.com/:x", "urn:uuid:1", false),
        ];
        for (pattern, topic, want) in cases {
            assert_eq!(
                UrlPatternSelector::parse(pattern).unwrap().matches(topic),
                *want,
                "{pattern} {topic}"
            );
        }
    }

    /// Found by fuzzing: the crate underneath panics (in a debug build)
    /// on a `]` before its `[`; such a pattern is refused instead.
    #[test]
    fn a_closing_bracket_first_is_refused_not_a_panic() {
        assert!(UrlPatternSelector::parse("https://exampl\\]]][com/x").is_err());
        let group = UrlPatternSelector::parse("https://example.com/:id([a-z]+)").unwrap();
        assert!(group.matches("https://example.com/abc") && !group.matches("https://example.com/123"));
    }
}
