//! JWT verification with the `jsonwebtoken` crate: keys from files (PEM,
//! an HMAC secret, or a JWK Set), and the claims `{"sse": {"publish":
//! [...]}}` / `{"sse": {"subscribe": [...]}}`, or Mercure's `{"mercure":
//! {"publish": [...]}}` / `{"mercure": {"subscribe": [...]}}` (Mercure's
//! selector syntax: `*`, exact topics, URI templates), or the newest
//! Mercure draft's `authorization_details`; a token with several grants
//! the union.
//!
//! Invariant: the algorithms accepted are exactly those of a key's family
//! (HMAC, RSA, EC or Ed), never `none`, and an HMAC secret verifies only
//! the algorithms whose hash is no longer than the secret (RFC 7518
//! §3.2); a verifier for publishers reads only the `publish` claim and one
//! for subscribers only the `subscribe` claim, so a subscriber's token
//! never lets anyone publish. `exp` and `nbf` are checked when present,
//! with [`JWT_LEEWAY_SECS`] for clock skew, and `exp` (plus the leeway) is
//! returned so that a stream ends when its token does. `aud` and `iss` are
//! required and checked when the verifier names them. The key set can be
//! replaced while the verifier is in use (rotation without a restart).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, UNIX_EPOCH};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::{AuthError, Grant, Verify};
use crate::topics::Selectors;

/// Seconds of clock skew allowed on `exp` and `nbf`.
///
/// ```
/// assert_eq!(sse_std::JWT_LEEWAY_SECS, 5);
/// ```
pub const JWT_LEEWAY_SECS: u64 = 5;

/// The shortest HMAC secret accepted: the output of SHA-256, the smallest
/// hash of the HS algorithms (RFC 7518 §3.2).
///
/// ```
/// assert!(sse_std::JwtKey::from_bytes(&[7; sse_std::MIN_HMAC_SECRET]).is_ok());
/// assert!(sse_std::JwtKey::from_bytes(&[7; sse_std::MIN_HMAC_SECRET - 1]).is_err());
/// ```
pub const MIN_HMAC_SECRET: usize = 32;

/// A key to verify tokens with: a PEM public key (RSA for RS256/384/512
/// and PS256/384/512, EC P-256 or P-384 for ES256/ES384, Ed25519 for
/// EdDSA), or an HMAC secret of at least 32 bytes (HS256; HS384 from 48
/// bytes, HS512 from 64).
///
/// ```
/// let key = sse_std::JwtKey::from_bytes(b"a secret of at least thirty-two bytes")?;
/// assert_eq!(key.algorithms(), ["HS256"]);
/// # Ok::<(), sse_std::KeyError>(())
/// ```
#[derive(Clone)]
pub struct JwtKey {
    key: DecodingKey,
    algorithms: &'static [Algorithm],
    /// The `kid` of a key from a JWK Set: tokens that name a `kid` are
    /// verified only by the keys with that id.
    id: Option<String>,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("algorithms", &self.algorithms)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be used.
///
/// ```
/// let e = sse_std::JwtKey::from_bytes(b"").unwrap_err();
/// assert_eq!(e.to_string(), "the HMAC secret is empty");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read.
    Io(std::io::Error),
    /// An empty file: not a secret.
    EmptySecret,
    /// An HMAC secret shorter than [`MIN_HMAC_SECRET`] bytes (this many).
    ShortSecret(usize),
    /// A PEM private key: the server verifies, give it the public key.
    PrivateKey,
    /// PEM that is not an RSA, EC or Ed25519 public key.
    Pem,
    /// A JWK Set that cannot be read, or that holds no usable key.
    Jwks(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the key: {e}"),
            Self::EmptySecret => f.write_str("the HMAC secret is empty"),
            Self::ShortSecret(len) => write!(
                f,
                "the HMAC secret is {len} bytes; at least {MIN_HMAC_SECRET} are needed (RFC 7518 §3.2: as long \
                 as the hash output)"
            ),
            Self::PrivateKey => f.write_str("this is a private key; give the public key"),
            Self::Pem => f.write_str("PEM that is not an RSA, EC (P-256, P-384) or Ed25519 public key"),
            Self::Jwks(reason) => write!(f, "JWK Set: {reason}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The HS algorithms a secret of `len` bytes is long enough for.
fn hmac_algorithms(len: usize) -> &'static [Algorithm] {
    const ALL: &[Algorithm] = &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    match len {
        64.. => ALL,
        48..64 => ALL.get(..2).unwrap_or_default(),
        _ => ALL.get(..1).unwrap_or_default(),
    }
}

/// The JOSE name of an algorithm (RFC 7518 §3.1).
fn jose_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        // Algorithms this crate never lists for a key.
        _ => "?",
    }
}

/// The algorithms of a public-key family.
fn algorithms_of(family: AlgorithmFamily) -> &'static [Algorithm] {
    use Algorithm::{ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512};
    match family {
        AlgorithmFamily::Rsa => &[RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmFamily::Ec => &[ES256, ES384],
        AlgorithmFamily::Ed => &[EdDSA],
        // Secrets go through `hmac_algorithms`, which knows their length.
        AlgorithmFamily::Hmac => &[],
    }
}

impl JwtKey {
    /// Reads a key file: PEM if it starts with `-----BEGIN`, a JWK if it
    /// is a JSON object, else an HMAC secret that is the file's bytes as
    /// they are (not base64; a final newline is part of it). For a file
    /// that may hold a JWK Set of several keys, use
    /// [`set_from_file`](Self::set_from_file).
    ///
    /// # Errors
    /// See [`KeyError`].
    ///
    /// ```no_run
    /// let key = sse_std::JwtKey::from_file("publish.pem")?;
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        Self::from_bytes(&std::fs::read(path).map_err(KeyError::Io)?)
    }

    /// A key from the bytes of a key file (see [`from_file`](Self::from_file)).
    ///
    /// # Errors
    /// See [`KeyError`]: a secret shorter than [`MIN_HMAC_SECRET`] bytes is
    /// refused.
    ///
    /// ```
    /// assert!(sse_std::JwtKey::from_bytes(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n").is_err());
    /// assert!(sse_std::JwtKey::from_bytes(b"ten bytes!").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut keys = Self::set_from_bytes(bytes)?;
        match keys.len() {
            1 => keys.pop().ok_or(KeyError::EmptySecret),
            n => Err(KeyError::Jwks(format!("{n} keys; read them with set_from_file"))),
        }
    }

    /// A PEM public key or an HMAC secret.
    fn single(bytes: &[u8]) -> Result<Self, KeyError> {
        if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            return Self::secret(bytes, None);
        }
        if memchr::memmem::find(bytes, b"PRIVATE KEY-----").is_some() {
            return Err(KeyError::PrivateKey);
        }
        type Parse = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;
        let attempts: [(Parse, AlgorithmFamily); 3] = [
            (DecodingKey::from_rsa_pem, AlgorithmFamily::Rsa),
            (DecodingKey::from_ec_pem, AlgorithmFamily::Ec),
            (DecodingKey::from_ed_pem, AlgorithmFamily::Ed),
        ];
        attempts
            .into_iter()
            .find_map(|(parse, family)| {
                parse(bytes).ok().map(|key| Self { key, algorithms: algorithms_of(family), id: None })
            })
            .ok_or(KeyError::Pem)
    }

    fn secret(bytes: &[u8], id: Option<String>) -> Result<Self, KeyError> {
        if bytes.is_empty() {
            return Err(KeyError::EmptySecret);
        }
        if bytes.len() < MIN_HMAC_SECRET {
            return Err(KeyError::ShortSecret(bytes.len()));
        }
        let key = DecodingKey::from_secret(bytes).map_err(|_| KeyError::EmptySecret)?;
        Ok(Self { key, algorithms: hmac_algorithms(bytes.len()), id })
    }

    /// The keys of a key file that may also be a JWK Set (RFC 7517 §5,
    /// JSON with a `keys` list, as identity providers publish at their
    /// `jwks_uri`): each of its RSA, EC, OKP (Ed25519) and `oct` keys,
    /// with its `kid`. A single JWK gives that key; any other JSON object
    /// is an error (never a secret: a public key set taken for an HMAC
    /// secret would let anyone sign); any other file gives its one key, as
    /// [`from_file`](Self::from_file).
    ///
    /// # Errors
    /// See [`KeyError`]; a set with no usable key is an error.
    ///
    /// ```no_run
    /// let keys = sse_std::JwtKey::set_from_file("jwks.json")?;
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    pub fn set_from_file(path: impl AsRef<Path>) -> Result<Vec<Self>, KeyError> {
        Self::set_from_bytes(&std::fs::read(path).map_err(KeyError::Io)?)
    }

    /// The keys of the bytes of a key file (see
    /// [`set_from_file`](Self::set_from_file)).
    ///
    /// # Errors
    /// See [`KeyError`].
    ///
    /// ```
    /// let jwks = br#"{"keys": [{"kty": "oct", "kid": "2026-12", "k": "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3JldA"}]}"#;
    /// let keys = sse_std::JwtKey::set_from_bytes(jwks)?;
    /// assert_eq!(keys[0].id(), Some("2026-12"));
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    pub fn set_from_bytes(bytes: &[u8]) -> Result<Vec<Self>, KeyError> {
        // A JSON object is a JWK Set or a JWK, never a secret: a public key
        // set taken for an HMAC secret would let anyone who reads it sign.
        let json =
            serde_json::from_slice::<serde_json::Value>(bytes).ok().filter(serde_json::Value::is_object);
        let Some(json) = json else { return Self::single(bytes).map(|key| vec![key]) };
        let jwks = if json.get("keys").is_some() {
            serde_json::from_value::<JwkSet>(json).map_err(|e| KeyError::Jwks(e.to_string()))?.keys
        } else if json.get("kty").is_some() {
            vec![serde_json::from_value(json).map_err(|e| KeyError::Jwks(e.to_string()))?]
        } else {
            return Err(KeyError::Jwks("JSON that is neither a JWK Set nor a JWK".to_owned()));
        };
        let mut keys = Vec::new();
        for jwk in &jwks {
            let id = jwk.common.key_id.clone();
            let key = match &jwk.algorithm {
                AlgorithmParameters::OctetKey(_) => {
                    let decoded = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Jwks(e.to_string()))?;
                    let secret = decoded.try_get_as_bytes().map_err(|e| KeyError::Jwks(e.to_string()))?;
                    Self::secret(secret, id)?
                }
                AlgorithmParameters::RSA(_)
                | AlgorithmParameters::EllipticCurve(_)
                | AlgorithmParameters::OctetKeyPair(_) => {
                    let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Jwks(e.to_string()))?;
                    Self { algorithms: algorithms_of(key.family()), key, id }
                }
                // Key types this hub cannot verify with are skipped, as a
                // JWK Set consumer must (RFC 7517 §5).
                _ => continue,
            };
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyError::Jwks("no RSA, EC, OKP or oct key in the set".to_owned()));
        }
        Ok(keys)
    }

    /// The algorithms tokens may be signed with under this key, by their
    /// JOSE names (`alg`): `HS256`, `RS256`, `ES384`, `EdDSA`, ...
    ///
    /// ```
    /// let key = sse_std::JwtKey::from_bytes(b"0123456789abcdef0123456789abcdef")?;
    /// assert_eq!(key.algorithms(), ["HS256"]);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn algorithms(&self) -> Vec<&'static str> {
        self.algorithms.iter().map(|alg| jose_name(*alg)).collect()
    }

    /// The key's `kid`, for a key from a JWK Set that has one.
    ///
    /// ```
    /// let key = sse_std::JwtKey::from_bytes(b"0123456789abcdef0123456789abcdef")?;
    /// assert_eq!(key.id(), None);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// Which claim a verifier reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Publish,
    Subscribe,
}

/// A [`Verify`] for JWTs: checks the signature with one of its
/// [`JwtKey`]s, `exp` and `nbf` when present (and `aud`, `iss` when
/// configured), and grants the selectors of the `sse.publish` and
/// `mercure.publish` (publishers) or `sse.subscribe` and
/// `mercure.subscribe` (subscribers) claims until `exp` plus the leeway.
///
/// ```
/// use sse_std::{JwtKey, JwtVerifier, Verify};
/// let secret = b"0123456789abcdef0123456789abcdef";
/// let claims = serde_json::json!({"sse": {"publish": ["news/*"]}});
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &claims,
///     &jsonwebtoken::EncodingKey::from_secret(secret).unwrap(),
/// ).unwrap();
/// let publishers = JwtVerifier::publishers(JwtKey::from_bytes(secret)?);
/// assert!(publishers.verify(&token).unwrap().selectors.covers(Some("news/eu")));
/// // The newest Mercure draft's authorization details, with a URL pattern.
/// let details = serde_json::json!({"authorization_details": [{"type": "https://mercure.rocks/authorization-detail",
///     "actions": ["publish"], "topics": [{"match": "https://example.com/books/:id", "match_type": "urlpattern"}]}]});
/// let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &details,
///     &jsonwebtoken::EncodingKey::from_secret(secret).unwrap()).unwrap();
/// assert!(publishers.verify(&token).unwrap().selectors.covers(Some("https://example.com/books/1")));
/// // Mercure's claim, with a URI template.
/// let mercure = serde_json::json!({"mercure": {"publish": ["https://example.com/books/{id}"]}});
/// let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &mercure,
///     &jsonwebtoken::EncodingKey::from_secret(secret).unwrap()).unwrap();
/// assert!(publishers.verify(&token).unwrap().selectors.covers(Some("https://example.com/books/1")));
/// // The same token grants a subscriber nothing.
/// let subscribers = JwtVerifier::subscribers(JwtKey::from_bytes(secret)?);
/// assert!(subscribers.verify(&token).unwrap().selectors.is_empty());
/// # Ok::<(), sse_std::KeyError>(())
/// ```
#[derive(Debug)]
pub struct JwtVerifier {
    keys: RwLock<Arc<[JwtKey]>>,
    audience: Vec<String>,
    issuer: Vec<String>,
    role: Role,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sse: SseClaims,
    /// Mercure's claim: the same lists, in Mercure's selector syntax.
    #[serde(default)]
    mercure: SseClaims,
    /// The newest Mercure draft's: RFC 9396 authorization details.
    #[serde(default)]
    authorization_details: Vec<Detail>,
    /// Checked by `jsonwebtoken` (refused unless a number), read here
    /// as it is to say when the grant ends.
    #[serde(default)]
    exp: Option<serde_json::Value>,
}

#[derive(Default, Deserialize)]
struct SseClaims {
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    subscribe: Vec<String>,
    /// Mercure's: shown in the subscription events of the holder.
    #[serde(default)]
    payload: Option<serde_json::Value>,
}

/// One RFC 9396 authorization detail, as the newest Mercure draft writes
/// them: `{"type": "https://mercure.rocks/authorization-detail",
/// "actions": ["publish" | "subscribe"], "topics": [{"match": …,
/// "match_type"?: "exact" | "urlpattern"}]}`. Details of other types are
/// not ours and are left alone.
#[derive(Deserialize)]
struct Detail {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    topics: Vec<Matcher>,
}

#[derive(Deserialize)]
struct Matcher {
    #[serde(rename = "match")]
    pattern: String,
    #[serde(default)]
    match_type: Option<String>,
}

/// The type identifier of Mercure's authorization details.
const MERCURE_DETAIL: &str = "https://mercure.rocks/authorization-detail";

/// What the Mercure authorization details grant for `action`.
fn detail_grants(details: &[Detail], action: &str) -> Result<Selectors, AuthError> {
    let mut granted = Selectors::none();
    for detail in details.iter().filter(|d| d.kind == MERCURE_DETAIL && d.actions.iter().any(|a| a == action))
    {
        for matcher in &detail.topics {
            let one = std::slice::from_ref(&matcher.pattern);
            let selectors = match matcher.match_type.as_deref() {
                // `*` is every topic, whatever the type.
                _ if matcher.pattern == "*" => Selectors::all(),
                None | Some("exact") => Selectors::exact(one),
                Some("urlpattern") => Selectors::url_patterns(one)
                    .map_err(|e| AuthError::Invalid(format!("authorization_details: {e}")))?,
                // A matcher the hub cannot interpret fails loudly.
                Some(other) => {
                    return Err(AuthError::Invalid(format!(
                        "authorization_details: unknown match_type {other:?}"
                    )));
                }
            };
            granted = granted.union(&selectors);
        }
    }
    Ok(granted)
}

impl JwtVerifier {
    /// Verifies publishers' tokens: grants the `sse.publish` selectors.
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::publishers(sse_std::JwtKey::from_bytes(&[1; 32])?);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn publishers(key: JwtKey) -> Self {
        Self::new(vec![key], Role::Publish)
    }

    /// Verifies subscribers' tokens: grants the `sse.subscribe` selectors.
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::subscribers(sse_std::JwtKey::from_bytes(&[1; 32])?);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn subscribers(key: JwtKey) -> Self {
        Self::new(vec![key], Role::Subscribe)
    }

    fn new(keys: Vec<JwtKey>, role: Role) -> Self {
        Self { keys: RwLock::new(keys.into()), audience: Vec::new(), issuer: Vec::new(), role }
    }

    /// Accepts tokens signed with `key` too (several keys: rotation).
    ///
    /// ```
    /// use sse_std::{JwtKey, JwtVerifier};
    /// let v = JwtVerifier::subscribers(JwtKey::from_bytes(&[1; 32])?).with_key(JwtKey::from_bytes(&[2; 32])?);
    /// assert_eq!(v.keys().len(), 2);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn with_key(self, key: JwtKey) -> Self {
        let mut keys = self.keys().to_vec();
        keys.push(key);
        self.replace_keys(keys);
        self
    }

    /// Requires an `aud` claim naming `audience` (call again to accept
    /// several).
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::subscribers(sse_std::JwtKey::from_bytes(&[1; 32])?).audience("https://hub.example");
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Requires an `iss` claim equal to `issuer` (call again to accept
    /// several).
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::publishers(sse_std::JwtKey::from_bytes(&[1; 32])?).issuer("https://auth.example");
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer.push(issuer.into());
        self
    }

    /// Replaces the keys, effective for the next token verified (streams
    /// already open keep running until their tokens expire). An empty set
    /// refuses every token.
    ///
    /// ```
    /// use sse_std::{JwtKey, JwtVerifier};
    /// let v = JwtVerifier::subscribers(JwtKey::from_bytes(&[1; 32])?);
    /// v.replace_keys(vec![JwtKey::from_bytes(&[2; 32])?]);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    pub fn replace_keys(&self, keys: Vec<JwtKey>) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys.into();
    }

    /// The keys in use.
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::publishers(sse_std::JwtKey::from_bytes(&[1; 32])?);
    /// assert_eq!(v.keys().len(), 1);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn keys(&self) -> Arc<[JwtKey]> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = JWT_LEEWAY_SECS;
        validation.validate_aud = !self.audience.is_empty();
        if !self.audience.is_empty() {
            validation.set_audience(&self.audience);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        if !self.issuer.is_empty() {
            validation.set_issuer(&self.issuer);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        validation
    }
}

/// The reason given for a refused token.
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)",
        ErrorKind::InvalidSignature => "wrong signature",
        ErrorKind::InvalidAlgorithm => "algorithm not accepted for this key",
        ErrorKind::InvalidAudience => "token not meant for this hub (aud)",
        ErrorKind::InvalidIssuer => "token from an issuer this hub does not trust (iss)",
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => "token names no audience (aud)",
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => "token names no issuer (iss)",
        ErrorKind::InvalidClaimFormat(_) => "malformed claims",
        _ => "malformed token",
    }
}

impl Verify for JwtVerifier {
    fn verify(&self, token: &str) -> Result<Grant, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::invalid(reason(e.kind())))?;
        let keys = self.keys();
        let mut candidates = keys
            .iter()
            .filter(|key| key.algorithms.contains(&header.alg))
            .filter(|key| header.kid.is_none() || key.id.is_none() || key.id == header.kid)
            .peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::invalid("algorithm not accepted for this key"));
        }
        let validation = self.validation(header.alg);
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => return self.grant(data.claims),
                // Another key may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {}
                // The signature held; the claims did not.
                Err(e) => return Err(AuthError::invalid(reason(e.kind()))),
            }
        }
        Err(AuthError::invalid("wrong signature"))
    }
}

impl JwtVerifier {
    fn grant(&self, claims: Claims) -> Result<Grant, AuthError> {
        let (own, mercure, action) = match self.role {
            Role::Publish => (claims.sse.publish, claims.mercure.publish, "publish"),
            Role::Subscribe => (claims.sse.subscribe, claims.mercure.subscribe, "subscribe"),
        };
        let details = detail_grants(&claims.authorization_details, action)?;
        let own = Selectors::parse(&own)
            .map_err(|e| AuthError::Invalid(format!("claims hold an invalid selector: {e}")))?;
        let mercure = Selectors::parse_mercure(&mercure)
            .map_err(|e| AuthError::Invalid(format!("the mercure claim holds an invalid selector: {e}")))?;
        let selectors = own.union(&mercure).union(&details);
        // An `exp` past the end of `SystemTime`: never.
        let expires =
            claims.exp.as_ref().and_then(serde_json::Value::as_u64).and_then(|exp| {
                UNIX_EPOCH.checked_add(Duration::from_secs(exp.saturating_add(JWT_LEEWAY_SECS)))
            });
        let payload = claims.mercure.payload.as_ref().map(serde_json::Value::to_string);
        Ok(Grant { selectors, expires, payload })
    }
}
