//! TLS for the server (feature `tls`): rustls through tokio-rustls, ALPN
//! `h2` then `http/1.1`, certificates and keys from PEM files.
//!
//! Invariant: the crypto provider is chosen here (aws-lc-rs), never taken
//! from process-wide state, so building a configuration cannot panic;
//! every handshake has the head deadline.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server's TLS settings, from PEM files ([`from_pem_files`](Self::from_pem_files))
/// or bytes ([`from_pem`](Self::from_pem)). rustls is behind it, not in
/// this crate's API, so its major versions are not this crate's.
///
/// ```no_run
/// let tls = sse_std::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// # Ok::<(), sse_std::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig(Arc<rustls::ServerConfig>);

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("alpn", &["h2", "http/1.1"]).finish_non_exhaustive()
    }
}

/// Why a certificate or key could not be used.
///
/// ```
/// let e = sse_std::TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
/// assert!(e.to_string().starts_with("certificate"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate chain file is unreadable, not PEM, or empty.
    Certificate(String),
    /// The private key file is unreadable or holds no PEM private key.
    Key(String),
    /// rustls refused the pair (for example a key that does not match).
    Config(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Certificate(e) => write!(f, "certificate: {e}"),
            Self::Key(e) => write!(f, "private key: {e}"),
            Self::Config(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl TlsConfig {
    /// TLS settings from a PEM certificate chain file and a PEM private key
    /// file (PKCS#8, PKCS#1 or SEC1), offering HTTP/2 and HTTP/1.1 by ALPN.
    ///
    /// # Errors
    /// See [`TlsError`].
    ///
    /// ```no_run
    /// let mut config = sse_std::ServerConfig::default();
    /// config.tls = Some(sse_std::TlsConfig::from_pem_files("cert.pem", "key.pem")?);
    /// # Ok::<(), sse_std::TlsError>(())
    /// ```
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        let cert = std::fs::read(cert.as_ref()).map_err(|e| TlsError::Certificate(e.to_string()))?;
        let key = std::fs::read(key.as_ref()).map_err(|e| TlsError::Key(e.to_string()))?;
        Self::from_pem(&cert, &key)
    }

    /// The same from the files' bytes.
    ///
    /// # Errors
    /// See [`TlsError`].
    ///
    /// ```
    /// assert!(sse_std::TlsConfig::from_pem(b"not pem", b"not pem").is_err());
    /// ```
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(TlsError::Certificate("no certificate in the file".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Key(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self(Arc::new(config)))
    }

    /// The rustls configuration, for the acceptor.
    pub(crate) fn rustls(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.0)
    }
}
