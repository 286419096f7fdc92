//! HTTPS for the facade: a certificate chain and a private key in PEM files, served with
//! rustls (ring provider, so nothing outside the crate graph is needed to build it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate chain and its private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the TLS configuration could not be built. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {reason}")]
    Cert { path: PathBuf, reason: String },
    #[error("TLS private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("TLS certificate {cert} and key {key} do not form a usable pair: {reason}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// Reads a PEM error as a sentence (a missing file says so rather than "I/O error").
fn pem_reason(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => io.to_string(),
        rustls_pki_types::pem::Error::NoItemsFound => "no PEM item of that kind found".into(),
        other => format!("not valid PEM ({other:?})"),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::Cert {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(pem_reason(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(pem_reason(e)))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE section found".into()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Key {
        path: path.to_path_buf(),
        reason: pem_reason(e),
    })
}

impl TlsFiles {
    /// Reads both files and builds a server configuration offering HTTP/2 and HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let certs = read_certs(&self.cert)?;
        let key = read_key(&self.key)?;
        let pair = |reason: String| TlsError::Pair {
            cert: self.cert.clone(),
            key: self.key.clone(),
            reason,
        };
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| pair(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .map_err(|e| pair(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(dir: &Path) -> TlsFiles {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, key.cert.pem()).expect("write cert");
        std::fs::write(&files.key, key.key_pair.serialize_pem()).expect("write key");
        files
    }

    #[test]
    fn a_self_signed_pair_loads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = self_signed(dir.path());
        let config = files.server_config().expect("config");
        assert_eq!(config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn a_missing_key_file_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut files = self_signed(dir.path());
        files.key = dir.path().join("absent.pem");
        let err = files.server_config().expect_err("missing key");
        assert!(matches!(err, TlsError::Key { .. }), "{err}");
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_certificate_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut files = self_signed(dir.path());
        // The key file holds no CERTIFICATE section.
        files.cert = files.key.clone();
        let err = files.server_config().expect_err("no certificate");
        assert!(matches!(err, TlsError::Cert { .. }), "{err}");
        assert!(err.to_string().contains("key.pem"), "{err}");
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = self_signed(dir.path());
        let other = rcgen::KeyPair::generate().expect("key");
        let stray = dir.path().join("other-key.pem");
        std::fs::write(&stray, other.serialize_pem()).expect("write");
        let err = TlsFiles {
            cert: files.cert.clone(),
            key: stray,
        }
        .server_config()
        .expect_err("mismatched pair");
        assert!(matches!(err, TlsError::Pair { .. }), "{err}");
    }
}
