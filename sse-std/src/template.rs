//! URI templates (RFC 6570) as topic selectors, the way Mercure hubs match
//! them: a topic matches a template when some values of its variables
//! expand the template into exactly that topic.
//!
//! Invariant: a [`Template`] is compiled once, when it is parsed, into a
//! regular expression of the `regex` crate (linear time in the topic's
//! length, whatever the template: no pattern can make matching slow), with
//! a bounded size; a template that is not valid RFC 6570 syntax is refused
//! when parsed, never matched loosely.

use std::fmt;

use regex::Regex;

/// The longest template accepted, in bytes.
///
/// ```
/// let long = format!("https://example.com/{}/{{id}}", "a".repeat(sse_std::MAX_TEMPLATE_LEN));
/// assert!(sse_std::Template::parse(&long).is_err());
/// ```
pub const MAX_TEMPLATE_LEN: usize = 1024;

/// Characters a value may hold unencoded, by operator: RFC 6570 §1.5's
/// unreserved set (and, for `+` and `#`, the reserved set too), plus the
/// `,` that joins list items (and the `=` of named pairs).
const UNRESERVED: &str = r"A-Za-z0-9\-._~";
const RESERVED: &str = r":/?#\[\]@!$&'()*+,;=";

/// A URI template used as a topic selector, such as
/// `https://example.com/books/{id}`.
///
/// ```
/// let books = sse_std::Template::parse("https://example.com/books/{id}")?;
/// assert!(books.matches("https://example.com/books/1"));
/// assert!(!books.matches("https://example.com/books/1/reviews"));
/// let any = sse_std::Template::parse("https://example.com/{+path}")?;
/// assert!(any.matches("https://example.com/books/1/reviews"));
/// # Ok::<(), sse_std::TemplateError>(())
/// ```
#[derive(Clone)]
pub struct Template {
    source: Box<str>,
    regex: Regex,
}

/// Why a template was refused.
///
/// ```
/// assert_eq!(sse_std::Template::parse("a/{id").unwrap_err(), sse_std::TemplateError::Syntax("an expression is not closed"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// Longer than [`MAX_TEMPLATE_LEN`] bytes.
    TooLong,
    /// Not RFC 6570 syntax; says what is wrong.
    Syntax(&'static str),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "URI template longer than {MAX_TEMPLATE_LEN} bytes"),
            Self::Syntax(what) => write!(f, "not a URI template: {what}"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// One expression's operator: what its expansion starts with, what joins
/// its values, whether values are `name=value` pairs, and whether reserved
/// characters pass unencoded.
struct Operator {
    first: &'static str,
    separator: &'static str,
    named: bool,
    reserved: bool,
}

fn operator(op: Option<char>) -> Result<Operator, TemplateError> {
    let (first, separator, named, reserved) = match op {
        None => ("", ",", false, false),
        Some('+') => ("", ",", false, true),
        Some('#') => ("#", ",", false, true),
        Some('.') => (".", ".", false, false),
        Some('/') => ("/", "/", false, false),
        Some(';') => (";", ";", true, false),
        Some('?') => ("?", "&", true, false),
        Some('&') => ("&", "&", true, false),
        Some('=' | ',' | '!' | '@' | '|') => return Err(TemplateError::Syntax("a reserved operator")),
        Some(_) => return Err(TemplateError::Syntax("an unknown operator")),
    };
    Ok(Operator { first, separator, named, reserved })
}

/// A variable name: ALPHA / DIGIT / `_` / pct-encoded, dot-separated.
fn valid_name(name: &str) -> bool {
    if name.is_empty() || name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return false;
    }
    let mut rest = name.as_bytes();
    while let [b, tail @ ..] = rest {
        rest = match (b, tail) {
            (b'%', [h1, h2, tail @ ..]) if h1.is_ascii_hexdigit() && h2.is_ascii_hexdigit() => tail,
            (b, _) if b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.' => tail,
            _ => return false,
        };
    }
    true
}

/// The pattern of one expression's expansion (all of it optional: an
/// undefined variable expands to nothing).
fn expression(body: &str, out: &mut String) -> Result<(), TemplateError> {
    let mut chars = body.chars();
    let op = match body.chars().next() {
        Some(c) if !(c.is_ascii_alphanumeric() || c == '_' || c == '%') => {
            chars.next();
            Some(c)
        }
        _ => None,
    };
    let op = operator(op)?;
    let mut explode = false;
    let mut count = 0usize;
    for spec in chars.as_str().split(',') {
        let (name, modifier) = match spec.find([':', '*']) {
            Some(at) => spec.split_at(at),
            None => (spec, ""),
        };
        if !valid_name(name) {
            return Err(TemplateError::Syntax("a variable name is not valid"));
        }
        match modifier {
            "" => {}
            "*" => explode = true,
            prefix => {
                let digits = prefix.strip_prefix(':').unwrap_or_default();
                let valid = !digits.is_empty()
                    && digits.len() <= 4
                    && !digits.starts_with('0')
                    && digits.bytes().all(|b| b.is_ascii_digit());
                if !valid {
                    return Err(TemplateError::Syntax("a prefix modifier is not 1 to 9999"));
                }
            }
        }
        count = count.saturating_add(1);
    }
    let mut value = String::from("(?:[");
    if !op.reserved {
        value.push(',');
        if op.named || explode {
            value.push('=');
        }
    }
    value.push_str(UNRESERVED);
    if op.reserved {
        value.push_str(RESERVED);
    }
    value.push_str("]|%[0-9A-Fa-f]{2})*");
    out.push_str("(?:");
    out.push_str(&regex::escape(op.first));
    out.push_str(&value);
    if count > 1 || explode {
        out.push_str("(?:");
        out.push_str(&regex::escape(op.separator));
        out.push_str(&value);
        out.push(')');
        if explode {
            out.push('*');
        } else {
            out.push_str(&format!("{{0,{}}}", count.saturating_sub(1)));
        }
    }
    out.push_str(")?");
    Ok(())
}

impl Template {
    /// Parses and compiles `source`.
    ///
    /// # Errors
    /// [`TemplateError`] if it is too long or not RFC 6570 syntax.
    ///
    /// ```
    /// assert!(sse_std::Template::parse("https://example.com/{a,b}{?q*}").is_ok());
    /// assert!(sse_std::Template::parse("https://example.com/{a b}").is_err());
    /// ```
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.len() > MAX_TEMPLATE_LEN {
            return Err(TemplateError::TooLong);
        }
        let mut pattern = String::from("^");
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(at) if rest.as_bytes().get(at) == Some(&b'}') => {
                    return Err(TemplateError::Syntax("a '}' without its '{'"));
                }
                Some(at) => {
                    let (literal, tail) = rest.split_at(at);
                    pattern.push_str(&regex::escape(literal));
                    let Some(end) = tail.find('}') else {
                        return Err(TemplateError::Syntax("an expression is not closed"));
                    };
                    let body = tail.get(1..end).unwrap_or_default();
                    if body.contains('{') {
                        return Err(TemplateError::Syntax("an expression inside an expression"));
                    }
                    expression(body, &mut pattern)?;
                    rest = tail.get(end.saturating_add(1)..).unwrap_or_default();
                }
                None => {
                    pattern.push_str(&regex::escape(rest));
                    rest = "";
                }
            }
        }
        pattern.push('$');
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|_| TemplateError::Syntax("too complex"))?;
        Ok(Self { source: Box::from(source), regex })
    }

    /// Whether a template has an expression at all (without one it names a
    /// single topic).
    ///
    /// ```
    /// assert!(sse_std::Template::parse("a/{b}")?.has_expressions());
    /// assert!(!sse_std::Template::parse("a/b")?.has_expressions());
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    #[must_use]
    pub fn has_expressions(&self) -> bool {
        self.source.contains('{')
    }

    /// Whether some values of its variables expand it into `topic`, or
    /// `topic` is the template itself (as the Mercure hub matches: an
    /// exact comparison first).
    ///
    /// ```
    /// let t = sse_std::Template::parse("/users/{id}/orders{/order}")?;
    /// assert!(t.matches("/users/7/orders") && t.matches("/users/7/orders/3"));
    /// assert!(!t.matches("/users/7/8/orders"));
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, topic: &str) -> bool {
        *self.source == *topic || self.regex.is_match(topic)
    }

    /// The template as written.
    ///
    /// ```
    /// assert_eq!(sse_std::Template::parse("a/{b}")?.as_str(), "a/{b}");
    /// # Ok::<(), sse_std::TemplateError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

by_source!(Template);

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6570 §1.2's examples, with the expansions of §3.2 read back:
    /// each expansion matches its template.
    #[test]
    fn every_expansion_of_the_rfc_matches_its_template() {
        let cases: &[(&str, &[&str])] = &[
            ("{var}", &["value"]),
            ("{hello}", &["Hello%20World%21"]),
            ("{+path}/here", &["/foo/bar/here"]),
            ("here?ref={+path}", &["here?ref=/foo/bar"]),
            ("X{#var}", &["X#value"]),
            ("X{#hello}", &["X#Hello%20World!"]),
            ("map?{x,y}", &["map?1024,768"]),
            ("{x,hello,y}", &["1024,Hello%20World%21,768"]),
            ("{+x,hello,y}", &["1024,Hello%20World!,768"]),
            ("{+path,x}/here", &["/foo/bar,1024/here"]),
            ("{#x,hello,y}", &["#1024,Hello%20World!,768"]),
            ("X{.var}", &["X.value"]),
            ("X{.x,y}", &["X.1024.768"]),
            ("{/var}", &["/value"]),
            ("{/var,x}/here", &["/value/1024/here"]),
            ("{;x,y}", &[";x=1024;y=768"]),
            ("{;x,y,empty}", &[";x=1024;y=768;empty"]),
            ("{?x,y}", &["?x=1024&y=768"]),
            ("{?x,y,empty}", &["?x=1024&y=768&empty="]),
            ("?fixed=yes{&x}", &["?fixed=yes&x=1024"]),
            ("{&x,y,empty}", &["&x=1024&y=768&empty="]),
            ("{var:3}", &["val"]),
            ("{list}", &["red,green,blue"]),
            ("{list*}", &["red,green,blue"]),
            ("{keys*}", &["semi=%3B,dot=.,comma=%2C"]),
            ("{/list*,path:4}", &["/red/green/blue/%2Ffoo"]),
            ("{?keys*}", &["?semi=%3B&dot=.&comma=%2C"]),
            (
                "https://example.com/books/{id}",
                &["https://example.com/books/1", "https://example.com/books/"],
            ),
            ("https://example.com/dictionary/{term:1}/{term}", &["https://example.com/dictionary/c/cat"]),
            // The template itself, compared exactly first.
            ("https://example.com/books/{id}", &["https://example.com/books/{id}"]),
        ];
        for (template, topics) in cases {
            let t = Template::parse(template).unwrap();
            for topic in *topics {
                assert!(t.matches(topic), "{template} should match {topic}");
            }
        }
    }

    #[test]
    fn what_no_expansion_can_give_does_not_match() {
        let cases: &[(&str, &str)] = &[
            ("https://example.com/books/{id}", "https://example.com/books/1/reviews"),
            ("https://example.com/books/{id}", "https://example.com/books"),
            ("https://example.com/books/{id}", "https://example.org/books/1"),
            ("https://example.com/dictionary/{term:1}/{term}", "https://example.com/dictionary/c/a/cat"),
            ("{x}", "a/b"),
            ("{var}", "a b"),
            ("{var}", "a%2"),
            ("a.{b}", "aXb"),
            ("{/var}", "value"),
        ];
        for (template, topic) in cases {
            assert!(!Template::parse(template).unwrap().matches(topic), "{template} must not match {topic}");
        }
    }

    #[test]
    fn bad_syntax_is_refused() {
        for bad in
            ["{", "a}", "{a{b}}", "{}", "{a b}", "{=a}", "{a:0}", "{a:10000}", "{.}", "{a..b}", "{a:x}"]
        {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// A simple expansion of any value (percent-encoded outside the
        /// unreserved set, as RFC 6570 expands it) matches, and the same
        /// value with a `/` added does not.
        #[test]
        fn any_percent_encoded_value_matches_a_simple_expression(value in "\\PC{0,40}") {
            let encoded: String = value
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            let t = Template::parse("https://example.com/items/{id}/view").unwrap();
            let inside = format!("https://example.com/items/{encoded}/view");
            let deeper = format!("https://example.com/items/{encoded}/x/view");
            proptest::prop_assert!(t.matches(&inside), "{}", inside);
            proptest::prop_assert!(!t.matches(&deeper), "{}", deeper);
        }

        /// Parsing never panics, and a template matches what it says
        /// literally when it has no expression.
        #[test]
        fn parsing_any_text_is_total(source in "\\PC{0,60}") {
            if let Ok(t) = Template::parse(&source) && !t.has_expressions() {
                proptest::prop_assert!(t.matches(&source));
            }
        }
    }
}
