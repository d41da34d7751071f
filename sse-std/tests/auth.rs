//! JWT verification against real keys of every supported family, and the
//! tokens that must be refused: wrong key, expired, not yet valid,
//! `alg: none`, algorithm confusion, a private key given as the key.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sse_std::{AuthError, JwtKey, JwtVerifier, KeyError, Verify};

const SECRET: &[u8] = b"a test secret of at least thirty-two bytes";

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
        let grants = publishers.verify(&token).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert!(grants.covers(Some("news/eu")) && !grants.covers(Some("me")), "{alg:?}");
        let subscribers = JwtVerifier::subscribers(JwtKey::from_bytes(&public).unwrap());
        let grants = subscribers.verify(&token).unwrap();
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
    assert_eq!(
        JwtKey::from_bytes(&read("ec.pub")).unwrap().algorithms(),
        [Algorithm::ES256, Algorithm::ES384]
    );
    assert_eq!(JwtKey::from_bytes(&read("ed.pub")).unwrap().algorithms(), [Algorithm::EdDSA]);
}
