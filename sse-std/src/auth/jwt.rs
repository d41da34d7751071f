//! JWT verification with the `jsonwebtoken` crate: keys from files, and
//! the claims `{"sse": {"publish": [...]}}` / `{"sse": {"subscribe":
//! [...]}}`.
//!
//! Invariant: the algorithms accepted are exactly those of the key's
//! family (HMAC, RSA, EC or Ed), never `none`; a verifier for publishers
//! reads only the `publish` claim and one for subscribers only the
//! `subscribe` claim, so a subscriber's token never lets anyone publish.
//! `exp` and `nbf` are checked when present, with [`JWT_LEEWAY_SECS`] for
//! clock skew.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::{AuthError, Verify};
use crate::topics::Selectors;

/// Seconds of clock skew allowed on `exp` and `nbf`.
///
/// ```
/// assert_eq!(sse_std::JWT_LEEWAY_SECS, 5);
/// ```
pub const JWT_LEEWAY_SECS: u64 = 5;

/// A key to verify tokens with: a PEM public key (RSA for RS256/384/512
/// and PS256/384/512, EC P-256 or P-384 for ES256/ES384, Ed25519 for
/// EdDSA), or an HMAC secret (HS256/384/512).
///
/// ```
/// let key = sse_std::JwtKey::from_bytes(b"a secret of at least thirty-two bytes")?;
/// assert_eq!(key.algorithms()[0], jsonwebtoken::Algorithm::HS256);
/// # Ok::<(), sse_std::KeyError>(())
/// ```
#[derive(Clone)]
pub struct JwtKey {
    key: DecodingKey,
    family: AlgorithmFamily,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey").field("algorithms", &self.algorithms()).finish_non_exhaustive()
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
    /// A PEM private key: the server verifies, give it the public key.
    PrivateKey,
    /// PEM that is not an RSA, EC or Ed25519 public key.
    Pem,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the key: {e}"),
            Self::EmptySecret => f.write_str("the HMAC secret is empty"),
            Self::PrivateKey => f.write_str("this is a private key; give the public key"),
            Self::Pem => f.write_str("PEM that is not an RSA, EC (P-256, P-384) or Ed25519 public key"),
        }
    }
}

impl std::error::Error for KeyError {}

impl JwtKey {
    /// Reads a key file: PEM if it starts with `-----BEGIN`, else an HMAC
    /// secret that is the file's bytes as they are (not base64; a final
    /// newline is part of it).
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
    /// See [`KeyError`].
    ///
    /// ```
    /// assert!(sse_std::JwtKey::from_bytes(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            if bytes.is_empty() {
                return Err(KeyError::EmptySecret);
            }
            let key = DecodingKey::from_secret(bytes).map_err(|_| KeyError::EmptySecret)?;
            return Ok(Self { key, family: AlgorithmFamily::Hmac });
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
            .find_map(|(parse, family)| parse(bytes).ok().map(|key| Self { key, family }))
            .ok_or(KeyError::Pem)
    }

    /// The algorithms tokens may be signed with under this key.
    ///
    /// ```
    /// let key = sse_std::JwtKey::from_bytes(b"0123456789abcdef0123456789abcdef")?;
    /// assert_eq!(key.algorithms().len(), 3);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn algorithms(&self) -> &[Algorithm] {
        self.family.algorithms()
    }
}

/// Which claim a verifier reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Publish,
    Subscribe,
}

/// A [`Verify`] for JWTs: checks the signature with its [`JwtKey`],
/// `exp` and `nbf` when present, and returns the selectors of the
/// `sse.publish` (publishers) or `sse.subscribe` (subscribers) claim.
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
/// assert!(publishers.verify(&token).unwrap().covers(Some("news/eu")));
/// // The same token grants a subscriber nothing.
/// let subscribers = JwtVerifier::subscribers(JwtKey::from_bytes(secret)?);
/// assert!(subscribers.verify(&token).unwrap().is_empty());
/// # Ok::<(), sse_std::KeyError>(())
/// ```
#[derive(Debug)]
pub struct JwtVerifier {
    key: JwtKey,
    validation: Validation,
    role: Role,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sse: SseClaims,
}

#[derive(Default, Deserialize)]
struct SseClaims {
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    subscribe: Vec<String>,
}

impl JwtVerifier {
    /// Verifies publishers' tokens: grants the `sse.publish` selectors.
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::publishers(sse_std::JwtKey::from_bytes(b"k")?);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn publishers(key: JwtKey) -> Self {
        Self::new(key, Role::Publish)
    }

    /// Verifies subscribers' tokens: grants the `sse.subscribe` selectors.
    ///
    /// ```
    /// let v = sse_std::JwtVerifier::subscribers(sse_std::JwtKey::from_bytes(b"k")?);
    /// # Ok::<(), sse_std::KeyError>(())
    /// ```
    #[must_use]
    pub fn subscribers(key: JwtKey) -> Self {
        Self::new(key, Role::Subscribe)
    }

    fn new(key: JwtKey, role: Role) -> Self {
        let mut validation = Validation::new_for_family(key.family);
        validation.required_spec_claims.clear();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = JWT_LEEWAY_SECS;
        Self { key, validation, role }
    }
}

impl Verify for JwtVerifier {
    fn verify(&self, token: &str) -> Result<Selectors, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key.key, &self.validation).map_err(|e| {
            AuthError::invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "token expired",
                ErrorKind::ImmatureSignature => "token not valid yet (nbf)",
                ErrorKind::InvalidSignature => "wrong signature",
                ErrorKind::InvalidAlgorithm => "algorithm not accepted for this key",
                ErrorKind::InvalidClaimFormat(_) => "malformed claims",
                _ => "malformed token",
            })
        })?;
        let claims = data.claims.sse;
        let selectors = match self.role {
            Role::Publish => claims.publish,
            Role::Subscribe => claims.subscribe,
        };
        Selectors::parse(&selectors)
            .map_err(|e| AuthError::Invalid(format!("claims hold an invalid selector: {e}")))
    }
}
