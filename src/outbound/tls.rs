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
use rustls::pki_types::pem::PemObject;

use super::identity::Identity;

/// Why a trust file or the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read {path}: {source}")]
    ReadCa {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no certificate (expected PEM or DER)")]
    NoCertificate { path: String },
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

/// Reads the CA certificates in `path`: every PEM `CERTIFICATE` block, or one DER certificate.
///
/// # Errors
/// [`TlsConfigError::ReadCa`], or [`TlsConfigError::NoCertificate`] when nothing usable is in it.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let bytes = std::fs::read(path).map_err(|source| TlsConfigError::ReadCa {
        path: path.display().to_string(),
        source,
    })?;
    let certs = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsConfigError::BadCa {
                path: path.display().to_string(),
                detail: error.to_string(),
            })?
    } else if bytes.first() == Some(&0x30) {
        vec![CertificateDer::from(bytes)]
    } else {
        Vec::new()
    };
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: path.display().to_string(),
        });
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
        roots.add(root).map_err(|error| TlsConfigError::BadCa {
            path: "OUTBOUND_TRUSTED_CA_PATHS".to_owned(),
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
