//! The rustls `ClientConfig` for outbound calls: which server certificates we trust (a private
//! CA from PEM or DER files, the platform's public roots, or both) and the client identity.
//!
//! Always the ring provider, passed explicitly (never a process-wide default); TLS 1.2 and 1.3;
//! ALPN `http/1.1` only (reqwest uses a preconfigured config's ALPN list as is). Hostname
//! verification is part of both verifiers and cannot be turned off here. This module does not
//! read settings or make requests.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

use crate::cert_file::{LoadError, read_certificates};

use super::identity::Identity;

/// Why a trust file or the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The file could not be read as certificates (the message names the file).
    #[error(transparent)]
    ReadCa(#[from] LoadError),
    #[error("{path}: unusable CA certificate: {detail}")]
    BadCa { path: String, detail: String },
    #[error("no trust anchors: public roots are off and no private CA is configured")]
    NoTrustAnchors,
    #[error("cannot load the platform's root certificates: {detail}")]
    PlatformRoots { detail: String },
    #[error("cannot build the TLS client configuration: {detail}")]
    Build { detail: String },
    #[error("the client identity was refused by rustls: {detail}")]
    ClientAuth { detail: String },
}

/// The crypto provider every outbound TLS object uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the CA certificates in `path`: every PEM `CERTIFICATE` block, or one DER certificate,
/// each checked to be usable as a trust anchor.
///
/// # Errors
/// [`TlsConfigError::ReadCa`] when the file cannot be read or holds no certificate, or
/// [`TlsConfigError::BadCa`] when a certificate is not usable as an anchor.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = read_certificates(path)?;
    for cert in &certs {
        webpki::anchor_from_trusted_cert(cert).map_err(|error| TlsConfigError::BadCa {
            path: path.display().to_string(),
            detail: error.to_string(),
        })?;
    }
    Ok(certs)
}

/// The server-certificate verifier: private roots, plus the platform's public roots if asked.
///
/// # Errors
/// [`TlsConfigError::NoTrustAnchors`] when there is nothing to trust, or a bad root.
pub fn verifier(
    private_roots: Vec<CertificateDer<'static>>,
    trust_public_roots: bool,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsConfigError> {
    if trust_public_roots {
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
            private_roots,
            provider.clone(),
        )
        .map_err(|error| TlsConfigError::PlatformRoots {
            detail: error.to_string(),
        })?;
        return Ok(Arc::new(verifier));
    }
    if private_roots.is_empty() {
        return Err(TlsConfigError::NoTrustAnchors);
    }
    let mut roots = rustls::RootCertStore::empty();
    for root in private_roots {
        roots.add(root).map_err(|error| TlsConfigError::Build {
            detail: error.to_string(),
        })?;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map(|verifier| verifier as Arc<dyn ServerCertVerifier>)
        .map_err(|error| TlsConfigError::Build {
            detail: error.to_string(),
        })
}

/// The client config: `verifier` for the server, `identity` (if any) for client auth.
///
/// # Errors
/// [`TlsConfigError::ClientAuth`] when rustls refuses the key or chain.
pub fn client_config(
    verifier: Arc<dyn ServerCertVerifier>,
    identity: Option<&Identity>,
    provider: &Arc<CryptoProvider>,
) -> Result<ClientConfig, TlsConfigError> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsConfigError::Build {
            detail: error.to_string(),
        })?
        .dangerous()
        // `dangerous()` is only rustls's door to a verifier of our choosing; both verifiers above
        // are full WebPKI verifiers, hostname check included.
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain().to_vec(), identity.key())
            .map_err(|error| TlsConfigError::ClientAuth {
                detail: error.to_string(),
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_pki::{TempDir, TestPki, pem};

    #[test]
    fn ca_files_load_as_pem_or_der_and_garbage_is_refused() {
        let pki = TestPki::new("CaFiles");
        let dir = TempDir::new();
        let pem_path = dir.file("ca.pem");
        std::fs::write(&pem_path, pem("CERTIFICATE", &pki.root())).unwrap();
        let der_path = dir.file("ca.der");
        std::fs::write(&der_path, pki.root().as_ref()).unwrap();
        let garbage = dir.file("ca.txt");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let bad_der = dir.file("bad.der");
        std::fs::write(&bad_der, [0x30, 0x03, 0x02, 0x01, 0x00]).unwrap();

        assert_eq!(load_ca_file(&pem_path).unwrap(), vec![pki.root()]);
        assert_eq!(load_ca_file(&der_path).unwrap(), vec![pki.root()]);
        let error = load_ca_file(&garbage).unwrap_err();
        assert!(
            matches!(error, TlsConfigError::ReadCa(LoadError::Der { .. })),
            "{error}"
        );
        let error = load_ca_file(&bad_der).unwrap_err();
        assert!(matches!(error, TlsConfigError::BadCa { .. }), "{error}");
        let error = load_ca_file(&dir.file("missing.pem")).unwrap_err();
        assert!(
            matches!(error, TlsConfigError::ReadCa(LoadError::Io { .. })),
            "{error}"
        );
    }

    #[test]
    fn nothing_to_trust_is_refused() {
        let error = verifier(Vec::new(), false, &provider()).unwrap_err();
        assert!(matches!(error, TlsConfigError::NoTrustAnchors), "{error}");
    }

    #[test]
    fn the_client_config_speaks_http1_only() {
        let pki = TestPki::new("Alpn");
        let verifier = verifier(vec![pki.root()], false, &provider()).unwrap();
        let config = client_config(verifier, None, &provider()).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
