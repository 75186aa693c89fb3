//! Reading certificate and CRL files at startup: PEM (one or many blocks) or a single DER
//! object (App Service puts public certificates at `/var/ssl/certs/<thumbprint>.der`).
//!
//! Only bytes -> DER items; what the items mean is decided by `trust.rs` and `revocation.rs`.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};

use super::header::check_single_der;

/// Why a certificate or CRL file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid pem: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("{path}: no {kind} found")]
    Empty { path: PathBuf, kind: &'static str },
    #[error("{path}: not a single der object: {detail}")]
    Der { path: PathBuf, detail: String },
}

/// Every certificate in `path` (PEM `CERTIFICATE` blocks, or one DER certificate).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    read_items(path, "certificate", CertificateDer::from)
}

/// Every CRL in `path` (PEM `X509 CRL` blocks, or one DER CRL).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no CRL.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    read_items(path, "crl", CertificateRevocationListDer::from)
}

fn read_items<T>(
    path: &Path,
    kind: &'static str,
    from_der: impl Fn(Vec<u8>) -> T,
) -> Result<Vec<T>, LoadError>
where
    T: PemObject,
{
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let items = if bytes.windows(10).any(|window| window == b"-----BEGIN") {
        T::pem_slice_iter(&bytes)
            .collect::<Result<Vec<T>, pem::Error>>()
            .map_err(|error| LoadError::Pem {
                path: path.to_owned(),
                detail: error.to_string(),
            })?
    } else {
        check_single_der(&bytes).map_err(|error| LoadError::Der {
            path: path.to_owned(),
            detail: error.to_string(),
        })?;
        vec![from_der(bytes)]
    };
    if items.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_owned(),
            kind,
        });
    }
    Ok(items)
}
