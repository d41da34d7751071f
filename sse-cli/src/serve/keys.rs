//! The token keys of `sse serve`: `--publish-key` and `--subscribe-key`
//! (each repeatable, each a PEM public key, an HMAC secret or a JWK Set),
//! checked at start and read again on SIGHUP.
//!
//! Invariant: a verifier always holds a complete key set that was read
//! and checked as a whole: a reload that fails on any file changes
//! nothing (the error is logged), so a half-written key file never locks
//! everyone out. Open streams are not touched by a reload; each ends
//! when its own token expires.

use std::path::PathBuf;
use std::sync::Arc;

use sse_std::{JwtKey, JwtVerifier};

/// The verifiers built from the key flags, and the files to read again.
pub(crate) struct Keys {
    pub(crate) publish: Option<Arc<JwtVerifier>>,
    pub(crate) subscribe: Option<Arc<JwtVerifier>>,
    publish_files: Vec<PathBuf>,
    subscribe_files: Vec<PathBuf>,
}

/// Which claims a token must carry besides its grants.
pub(crate) struct Claims<'a> {
    pub(crate) audience: &'a [String],
    pub(crate) issuer: &'a [String],
}

impl Keys {
    /// Reads every key file; the message names the flag and file that is
    /// unusable.
    pub(crate) fn load(
        publish_files: &[PathBuf],
        subscribe_files: &[PathBuf],
        claims: &Claims<'_>,
    ) -> Result<Self, String> {
        let build =
            |files: &[PathBuf], flag: &str, publish: bool| -> Result<Option<Arc<JwtVerifier>>, String> {
                let keys = read(files, flag)?;
                let mut keys = keys.into_iter();
                let Some(first) = keys.next() else { return Ok(None) };
                let mut verifier =
                    if publish { JwtVerifier::publishers(first) } else { JwtVerifier::subscribers(first) };
                for key in keys {
                    verifier = verifier.with_key(key);
                }
                for audience in claims.audience {
                    verifier = verifier.audience(audience.clone());
                }
                for issuer in claims.issuer {
                    verifier = verifier.issuer(issuer.clone());
                }
                Ok(Some(Arc::new(verifier)))
            };
        Ok(Self {
            publish: build(publish_files, "--publish-key", true)?,
            subscribe: build(subscribe_files, "--subscribe-key", false)?,
            publish_files: publish_files.to_vec(),
            subscribe_files: subscribe_files.to_vec(),
        })
    }

    /// Reads every key file again and, if all are usable, puts the new
    /// sets in place; the error otherwise (nothing changed).
    pub(crate) fn reload(&self) -> Result<usize, String> {
        let publish = read(&self.publish_files, "--publish-key")?;
        let subscribe = read(&self.subscribe_files, "--subscribe-key")?;
        let count = publish.len().saturating_add(subscribe.len());
        if let Some(verifier) = &self.publish {
            verifier.replace_keys(publish);
        }
        if let Some(verifier) = &self.subscribe {
            verifier.replace_keys(subscribe);
        }
        Ok(count)
    }

    /// Reloads on every SIGHUP, for as long as the process runs.
    pub(crate) fn reload_on_hangup(self: Arc<Self>) {
        #[cfg(unix)]
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                eprintln!("sse: cannot watch SIGHUP; keys are read only at start");
                return;
            };
            while hangups.recv().await.is_some() {
                match self.reload() {
                    Ok(count) => eprintln!("sse: SIGHUP: {count} keys read again"),
                    Err(e) => eprintln!("sse: SIGHUP: keys unchanged: {e}"),
                }
            }
        });
    }
}

/// Every key of `files`, in order (a JWK Set gives all of its keys).
fn read(files: &[PathBuf], flag: &str) -> Result<Vec<JwtKey>, String> {
    let mut keys = Vec::new();
    for path in files {
        let set = JwtKey::set_from_file(path).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
        keys.extend(set);
    }
    Ok(keys)
}
