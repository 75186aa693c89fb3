//! The rustls server side of `handler dev`: the development server identity, the two client
//! certificate policies (App Service's possession-only check for the front end, a CA-checked
//! one for the local remote API), and the `ServerConfig` built from them.
//!
//! Always the ring provider, passed explicitly; ALPN `http/1.1` only. This module does not
//! accept connections or speak HTTP; `https.rs` does.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::pki::DevPki;
use crate::cert_file::{LoadError, read_certificates, read_private_key};

/// Why a server TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DevTlsError {
    #[error(transparent)]
    Certificates(#[from] LoadError),
    #[error("cannot build the client verifier: {detail}")]
    Verifier { detail: String },
    #[error("cannot build the TLS server configuration: {detail}")]
    Build { detail: String },
}

/// Whether the front end requires a client certificate, as App Service's `clientCertMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientCertMode {
    /// The handshake fails without a client certificate.
    Required,
    /// A certificate is asked for; a client without one gets through with no header.
    Optional,
}

/// App Service's check of a client certificate: possession of the key, nothing else.
///
/// Any certificate is accepted (no chain, dates or usage); the handshake signature is verified,
/// so the client holds the private key of the certificate it presents. Judging the certificate is
/// the handler's job, exactly as in Azure.
#[derive(Debug)]
pub struct PossessionOnly {
    provider: Arc<CryptoProvider>,
    mandatory: bool,
}

impl PossessionOnly {
    pub fn new(provider: Arc<CryptoProvider>, mode: ClientCertMode) -> Self {
        Self {
            provider,
            mandatory: mode == ClientCertMode::Required,
        }
    }
}

impl ClientCertVerifier for PossessionOnly {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The front end's config: the dev server identity, client certificates checked for possession.
///
/// # Errors
/// [`DevTlsError`] when the server identity cannot be read or rustls refuses it.
pub fn front_end_config(
    pki: &DevPki,
    mode: ClientCertMode,
    provider: &Arc<CryptoProvider>,
) -> Result<ServerConfig, DevTlsError> {
    let verifier = Arc::new(PossessionOnly::new(provider.clone(), mode));
    server_config(pki, verifier, provider)
}

/// The remote API's config: client certificates must chain to the dev CA.
///
/// # Errors
/// [`DevTlsError`] when a file cannot be read or rustls refuses the CA or identity.
pub fn remote_api_config(
    pki: &DevPki,
    provider: &Arc<CryptoProvider>,
) -> Result<ServerConfig, DevTlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in read_certificates(&pki.file("ca.pem"))? {
        roots.add(ca).map_err(|error| DevTlsError::Verifier {
            detail: error.to_string(),
        })?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|error| DevTlsError::Verifier {
            detail: error.to_string(),
        })?;
    server_config(pki, verifier, provider)
}

fn server_config(
    pki: &DevPki,
    verifier: Arc<dyn ClientCertVerifier>,
    provider: &Arc<CryptoProvider>,
) -> Result<ServerConfig, DevTlsError> {
    let chain = read_certificates(&pki.file("server.pem"))?;
    let key = read_private_key(&pki.file("server.key"))?;
    let build_error = |error: rustls::Error| DevTlsError::Build {
        detail: error.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(build_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(build_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
