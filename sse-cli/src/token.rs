//! `sse token`: mints a JWT for `sse serve --publish-key` or
//! `--subscribe-key` (its own `sse` claim, or with `--mercure` Mercure's),
//! signed with the jsonwebtoken crate.
//!
//! The key file is read as the server reads its key: an HMAC secret (the
//! file's bytes as they are, HS256) or, for PEM, the private half of the
//! server's public key (RSA: RS256, EC P-256: ES256, Ed25519: EdDSA).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sse_std::Selectors;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The signing key: an HMAC secret file, or a PEM private key.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Grant publishing to this selector (repeatable): a topic, `prefix/*`
    /// or `*`.
    #[arg(long, value_name = "SELECTOR")]
    publish: Vec<String>,
    /// Grant the private events of this selector to a subscriber
    /// (repeatable).
    #[arg(long, value_name = "SELECTOR")]
    subscribe: Vec<String>,
    /// Seconds until the token expires (`exp`); 0: no expiry.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// Write the grants as Mercure's `mercure` claim, in Mercure's
    /// selector syntax (`*`, exact topics, URI templates such as
    /// `https://example.com/books/{id}`), for Mercure clients and
    /// libraries.
    #[arg(long)]
    mercure: bool,
    /// With --mercure: the `mercure.payload` claim (JSON), shown in the
    /// holder's subscription events.
    #[arg(long, value_name = "JSON", requires = "mercure")]
    payload: Option<String>,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    match mint(args) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sse: {message}");
            ExitCode::FAILURE
        }
    }
}

fn mint(args: &Args) -> Result<String, String> {
    if args.publish.is_empty() && args.subscribe.is_empty() {
        return Err("give --publish or --subscribe selectors to grant".to_owned());
    }
    for selector in args.publish.iter().chain(&args.subscribe) {
        let valid = if args.mercure {
            Selectors::parse_mercure([selector]).map(drop).map_err(|e| e.to_string())
        } else {
            Selectors::parse([selector]).map(drop).map_err(|e| e.to_string())
        };
        valid.map_err(|e| format!("selector {selector:?}: {e}"))?;
    }
    let bytes = std::fs::read(&args.key).map_err(|e| format!("--key {}: {e}", args.key.display()))?;
    let (algorithm, key) = signing_key(&bytes).map_err(|e| format!("--key {}: {e}", args.key.display()))?;
    let mut grants = serde_json::Map::new();
    for (claim, selectors) in [("publish", &args.publish), ("subscribe", &args.subscribe)] {
        if !selectors.is_empty() {
            grants.insert(claim.to_owned(), json!(selectors));
        }
    }
    if let Some(payload) = &args.payload {
        let payload: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| format!("--payload is not JSON: {e}"))?;
        grants.insert("payload".to_owned(), payload);
    }
    let mut claims = serde_json::Map::new();
    claims.insert(if args.mercure { "mercure" } else { "sse" }.to_owned(), grants.into());
    if args.ttl > 0 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        claims.insert("exp".to_owned(), json!(now.saturating_add(args.ttl)));
    }
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).map_err(|e| format!("signing failed: {e}"))
}

/// The algorithm and key for a key file's bytes.
fn signing_key(bytes: &[u8]) -> Result<(Algorithm, EncodingKey), String> {
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        // The server refuses such a secret (RFC 7518 §3.2): say so here.
        if bytes.len() < sse_std::MIN_HMAC_SECRET {
            return Err(format!(
                "the HMAC secret is {} bytes; at least {} are needed (RFC 7518 §3.2)",
                bytes.len(),
                sse_std::MIN_HMAC_SECRET
            ));
        }
        let key = EncodingKey::from_secret(bytes).map_err(|_| "the HMAC secret is empty".to_owned())?;
        return Ok((Algorithm::HS256, key));
    }
    type Parse = fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>;
    let attempts: [(Algorithm, Parse); 3] = [
        (Algorithm::RS256, EncodingKey::from_rsa_pem),
        (Algorithm::ES256, EncodingKey::from_ec_pem),
        (Algorithm::EdDSA, EncodingKey::from_ed_pem),
    ];
    attempts
        .into_iter()
        .find_map(|(algorithm, parse)| parse(bytes).ok().map(|key| (algorithm, key)))
        .ok_or_else(|| "PEM that is not an RSA, EC P-256 or Ed25519 private key (PKCS#8)".to_owned())
}
