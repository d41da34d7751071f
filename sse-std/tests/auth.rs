//! JWT verification against real keys of every supported family, and the
//! tokens that must be refused: wrong key, expired, not yet valid,
//! `alg: none`, algorithm confusion, a private key given as the key, a
//! short HMAC secret, a wrong audience or issuer; key rotation and JWK Sets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use sse_std::{AuthError, JwtKey, JwtVerifier, KeyError, Verify};

const SECRET: &[u8] = b"a test secret of at least sixty-four bytes, long enough for HS512!";

fn keys() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}", keys())).unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

/// Every family: a key file of the public half verifies what the private
/// half signed, and grants the claim's selectors.
#[test]
fn every_key_family_verifies_and_grants_its_claim() {
    let claims = json!({"sse": {"publish": ["news/*"], "subscribe": ["me"]}});
    let cases: Vec<(Algorithm, EncodingKey, Vec<u8>)> = vec![
        (Algorithm::HS256, EncodingKey::from_secret(SECRET).unwrap(), SECRET.to_vec()),
        (Algorithm::HS512, EncodingKey::from_secret(SECRET).unwrap(), SECRET.to_vec()),
        (Algorithm::RS256, EncodingKey::from_rsa_pem(&read("rsa.key")).unwrap(), read("rsa.pub")),
        (Algorithm::PS256, EncodingKey::from_rsa_pem(&read("rsa.key")).unwrap(), read("rsa.pub")),
        (Algorithm::ES256, EncodingKey::from_ec_pem(&read("ec.key")).unwrap(), read("ec.pub")),
        (Algorithm::EdDSA, EncodingKey::from_ed_pem(&read("ed.key")).unwrap(), read("ed.pub")),
    ];
    for (alg, signing, public) in cases {
        let token = sign(alg, &signing, &claims);
        let publishers = JwtVerifier::publishers(JwtKey::from_bytes(&public).unwrap());
        let grants = publishers.verify(&token).unwrap_or_else(|e| panic!("{alg:?}: {e}")).selectors;
        assert!(grants.covers(Some("news/eu")) && !grants.covers(Some("me")), "{alg:?}");
        let subscribers = JwtVerifier::subscribers(JwtKey::from_bytes(&public).unwrap());
        let grants = subscribers.verify(&token).unwrap().selectors;
        assert!(grants.covers(Some("me")) && !grants.covers(Some("news/eu")), "{alg:?}");
    }
}

fn refused(verifier: &JwtVerifier, token: &str) -> String {
    match verifier.verify(token) {
        Err(AuthError::Invalid(reason)) => reason,
        other => panic!("{token} should be refused, got {other:?}"),
    }
}

#[test]
fn bad_tokens_are_refused_with_a_reason() {
    let verifier = JwtVerifier::publishers(JwtKey::from_bytes(SECRET).unwrap());
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let other = EncodingKey::from_secret(b"another secret, just as long as the first").unwrap();
    let grant = json!({"sse": {"publish": ["*"]}});
    assert!(verifier.verify(&sign(Algorithm::HS256, &key, &grant)).is_ok());
    assert_eq!(refused(&verifier, &sign(Algorithm::HS256, &other, &grant)), "wrong signature");
    let expired = json!({"sse": {"publish": ["*"]}, "exp": now() - 60});
    assert_eq!(refused(&verifier, &sign(Algorithm::HS256, &key, &expired)), "token expired");
    let early = json!({"sse": {"publish": ["*"]}, "nbf": now() + 600});
    assert_eq!(refused(&verifier, &sign(Algorithm::HS256, &key, &early)), "token not valid yet (nbf)");
    let fresh = json!({"sse": {"publish": ["*"]}, "exp": now() + 600, "nbf": now() - 10});
    assert!(verifier.verify(&sign(Algorithm::HS256, &key, &fresh)).is_ok());
    // `alg: none`, hand-made: header {"alg":"none","typ":"JWT"}, no signature.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzc2UiOnsicHVibGlzaCI6WyIqIl19fQ.";
    assert_eq!(refused(&verifier, none), "malformed token");
    for garbage in ["", "abc", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"] {
        refused(&verifier, garbage);
    }
    let bad_selector = json!({"sse": {"publish": ["a*"]}});
    assert!(refused(&verifier, &sign(Algorithm::HS256, &key, &bad_selector)).contains("invalid selector"));
    let bad_exp = json!({"sse": {"publish": ["*"]}, "exp": "tomorrow"});
    assert_eq!(refused(&verifier, &sign(Algorithm::HS256, &key, &bad_exp)), "malformed claims");
}

/// The classic confusion: a token HMAC-signed with the RSA public key's
/// bytes must not verify against that public key.
#[test]
fn an_hmac_token_signed_with_the_public_key_is_refused() {
    let public = read("rsa.pub");
    let verifier = JwtVerifier::publishers(JwtKey::from_bytes(&public).unwrap());
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public).unwrap(),
        &json!({"sse": {"publish": ["*"]}}),
    );
    assert_eq!(refused(&verifier, &forged), "algorithm not accepted for this key");
    // And an RS256 token does not verify under an HMAC key either.
    let rs = sign(Algorithm::RS256, &EncodingKey::from_rsa_pem(&read("rsa.key")).unwrap(), &json!({}));
    let hmac = JwtVerifier::publishers(JwtKey::from_bytes(SECRET).unwrap());
    assert_eq!(refused(&hmac, &rs), "algorithm not accepted for this key");
}

#[test]
fn key_files_are_checked() {
    assert!(matches!(JwtKey::from_bytes(&read("rsa.key")), Err(KeyError::PrivateKey)));
    assert!(matches!(JwtKey::from_bytes(&read("ed.key")), Err(KeyError::PrivateKey)));
    assert!(matches!(JwtKey::from_bytes(b""), Err(KeyError::EmptySecret)));
    assert!(matches!(
        JwtKey::from_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        Err(KeyError::Pem)
    ));
    assert!(matches!(JwtKey::from_file("/nonexistent/key"), Err(KeyError::Io(_))));
    assert_eq!(JwtKey::from_bytes(&read("ec.pub")).unwrap().algorithms(), ["ES256", "ES384"]);
    assert_eq!(JwtKey::from_bytes(&read("ed.pub")).unwrap().algorithms(), ["EdDSA"]);
}

/// RFC 7518 §3.2: an HMAC key at least as long as the hash output. A
/// shorter secret is refused outright, and a secret long enough only for
/// HS256 does not verify HS384 or HS512 tokens.
#[test]
fn short_hmac_secrets_are_refused() {
    assert!(matches!(JwtKey::from_bytes(b"0123456789"), Err(KeyError::ShortSecret(10))));
    assert!(JwtKey::from_bytes(b"0123456789").unwrap_err().to_string().contains("at least 32"));
    assert!(matches!(JwtKey::from_bytes(&[b'k'; 31]), Err(KeyError::ShortSecret(31))));
    let short = [b'k'; 32];
    let verifier = JwtVerifier::publishers(JwtKey::from_bytes(&short).unwrap());
    let key = EncodingKey::from_secret(&short).unwrap();
    let claims = json!({"sse": {"publish": ["*"]}});
    assert!(verifier.verify(&sign(Algorithm::HS256, &key, &claims)).is_ok());
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        assert_eq!(refused(&verifier, &sign(alg, &key, &claims)), "algorithm not accepted for this key");
    }
    assert_eq!(JwtKey::from_bytes(&[b'k'; 48]).unwrap().algorithms(), ["HS256", "HS384"]);
}

/// `exp` plus the leeway comes back with the grant, so that a stream can
/// end when its token does; a token without `exp` never ends.
#[test]
fn the_grant_says_when_the_token_expires() {
    let verifier = JwtVerifier::subscribers(JwtKey::from_bytes(SECRET).unwrap());
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let exp = now() + 600;
    let grant = verifier.verify(&sign(Algorithm::HS256, &key, &json!({"exp": exp}))).unwrap();
    let want = UNIX_EPOCH + Duration::from_secs(exp as u64 + sse_std::JWT_LEEWAY_SECS);
    assert_eq!(grant.expires, Some(want));
    assert_eq!(verifier.verify(&sign(Algorithm::HS256, &key, &json!({}))).unwrap().expires, None);
    let far = json!({"exp": u64::MAX});
    assert!(verifier.verify(&sign(Algorithm::HS256, &key, &far)).is_ok_and(|g| g.expires.is_none()));
}

#[test]
fn audience_and_issuer_are_required_when_named() {
    let verifier = JwtVerifier::publishers(JwtKey::from_bytes(SECRET).unwrap())
        .audience("https://hub.example")
        .issuer("https://auth.example");
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let token = |claims: Value| sign(Algorithm::HS256, &key, &claims);
    let good =
        json!({"aud": "https://hub.example", "iss": "https://auth.example", "sse": {"publish": ["*"]}});
    assert!(verifier.verify(&token(good)).is_ok());
    let listed = json!({"aud": ["other", "https://hub.example"], "iss": "https://auth.example"});
    assert!(verifier.verify(&token(listed)).is_ok());
    let cases = [
        (
            json!({"aud": "https://other.example", "iss": "https://auth.example"}),
            "token not meant for this hub (aud)",
        ),
        (json!({"iss": "https://auth.example"}), "token names no audience (aud)"),
        (
            json!({"aud": "https://hub.example", "iss": "https://evil.example"}),
            "token from an issuer this hub does not trust (iss)",
        ),
        (json!({"aud": "https://hub.example"}), "token names no issuer (iss)"),
    ];
    for (claims, reason) in cases {
        assert_eq!(refused(&verifier, &token(claims.clone())), reason, "{claims}");
    }
    // Without them named, `aud` and `iss` are not looked at.
    let plain = JwtVerifier::publishers(JwtKey::from_bytes(SECRET).unwrap());
    assert!(plain.verify(&token(json!({"aud": "anything", "iss": "anyone"}))).is_ok());
}

/// Rotation: tokens of any listed key verify; replacing the set retires a
/// key at once.
#[test]
fn several_keys_verify_and_the_set_can_be_replaced() {
    let old = [b'o'; 40];
    let verifier = JwtVerifier::subscribers(JwtKey::from_bytes(&old).unwrap())
        .with_key(JwtKey::from_bytes(&read("ec.pub")).unwrap())
        .with_key(JwtKey::from_bytes(SECRET).unwrap());
    let claims = json!({"sse": {"subscribe": ["a"]}});
    let by_old = sign(Algorithm::HS256, &EncodingKey::from_secret(&old).unwrap(), &claims);
    let by_new = sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET).unwrap(), &claims);
    let by_ec = sign(Algorithm::ES256, &EncodingKey::from_ec_pem(&read("ec.key")).unwrap(), &claims);
    for token in [&by_old, &by_new, &by_ec] {
        assert!(verifier.verify(token).unwrap().selectors.covers(Some("a")));
    }
    verifier.replace_keys(vec![JwtKey::from_bytes(SECRET).unwrap()]);
    assert_eq!(refused(&verifier, &by_old), "wrong signature");
    assert!(verifier.verify(&by_new).is_ok());
    assert_eq!(refused(&verifier, &by_ec), "algorithm not accepted for this key");
}

/// A JWK Set (as an identity provider publishes it): every usable key,
/// with its `kid`; a token naming a `kid` is checked by that key only.
#[test]
fn a_jwk_set_is_a_key_source() {
    use jsonwebtoken::jwk::Jwk;
    let a = [b'a'; 32];
    let b = [b'b'; 32];
    let mut jwk_a = Jwk::from_encoding_key(&EncodingKey::from_secret(&a).unwrap(), Algorithm::HS256).unwrap();
    jwk_a.common.key_id = Some("a".into());
    let mut jwk_b = Jwk::from_encoding_key(&EncodingKey::from_secret(&b).unwrap(), Algorithm::HS256).unwrap();
    jwk_b.common.key_id = Some("b".into());
    let ec = Jwk::from_encoding_key(&EncodingKey::from_ec_pem(&read("ec.key")).unwrap(), Algorithm::ES256)
        .unwrap();
    let mut set = json!({"keys": [jwk_a, jwk_b, ec]});
    set["keys"].as_array_mut().unwrap().push(json!({"kty": "unknown-type", "x": "y"}));
    let keys = JwtKey::set_from_bytes(set.to_string().as_bytes()).unwrap();
    assert_eq!(keys.iter().map(JwtKey::id).collect::<Vec<_>>(), [Some("a"), Some("b"), None]);
    let mut verifier = JwtVerifier::subscribers(keys[0].clone());
    for key in &keys[1..] {
        verifier = verifier.with_key(key.clone());
    }
    let claims = json!({"sse": {"subscribe": ["x"]}});
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("b".into());
    let signed_b = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&b).unwrap()).unwrap();
    assert!(verifier.verify(&signed_b).is_ok());
    // Signed by `a` but naming `b`: only `b` is tried.
    let lying = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&a).unwrap()).unwrap();
    assert_eq!(refused(&verifier, &lying), "wrong signature");
    let by_ec = sign(Algorithm::ES256, &EncodingKey::from_ec_pem(&read("ec.key")).unwrap(), &claims);
    assert!(verifier.verify(&by_ec).is_ok());
    // Sets with nothing usable, or with a short secret, are refused.
    assert!(matches!(JwtKey::set_from_bytes(br#"{"keys": []}"#), Err(KeyError::Jwks(_))));
    assert!(matches!(
        JwtKey::set_from_bytes(br#"{"keys": [{"kty": "oct", "k": "c2hvcnQ"}]}"#),
        Err(KeyError::ShortSecret(5))
    ));
    // A JSON object is never taken for a secret (the set is public: its
    // text as an HMAC secret would let anyone sign).
    let public_set = json!({"keys": [ec_only()]}).to_string();
    assert!(JwtKey::from_bytes(public_set.as_bytes()).is_ok_and(|k| k.algorithms() == ["ES256", "ES384"]));
    assert!(matches!(
        JwtKey::set_from_bytes(br#"{"some": "json", "padding": "past thirty-two bytes"}"#),
        Err(KeyError::Jwks(_))
    ));
    // A secret that merely starts with `{` is a secret.
    let mut binary = vec![b'{'];
    binary.extend([0xff_u8; 40]);
    assert_eq!(JwtKey::set_from_bytes(&binary).unwrap()[0].algorithms(), ["HS256"]);
}

fn ec_only() -> jsonwebtoken::jwk::Jwk {
    jsonwebtoken::jwk::Jwk::from_encoding_key(
        &EncodingKey::from_ec_pem(&read("ec.key")).unwrap(),
        Algorithm::ES256,
    )
    .unwrap()
}
