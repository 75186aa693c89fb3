//! Reading certificate, CRL, key and identity files: bytes -> DER items, whatever the encoding.
//!
//! PEM (one or many blocks), a single DER object (App Service puts public certificates at
//! `/var/ssl/certs/<thumbprint>.der`), or PKCS#12 (`/var/ssl/private/<thumbprint>.p12`), told
//! apart by their first bytes, never by the file name. Inbound trust (`client_cert`), outbound
//! identities and roots (`outbound`) and `handler dev` all read their files here, and the CRL
//! source reads fetched bodies with the same code ([`crls_from_bytes`]).
//!
//! Only bytes -> DER items: what the items mean (a CA, a CRL to verify, a key to match) is for
//! the callers to decide. PKCS#12 decoding itself (passwords, bags) is `outbound::identity`'s.
//! This module depends on nothing else in the crate.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// Why a certificate, CRL or key file could not be read.
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

/// How a file's bytes are encoded, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text with `-----BEGIN` armour.
    Pem,
    /// Binary: one DER object (a certificate or CRL), or a PKCS#12 archive (itself DER).
    Binary,
}

/// Why bytes are not exactly one DER object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerError {
    Empty,
    NotSequence,
    Truncated,
    InvalidLength,
    TrailingBytes,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty certificate",
            Self::NotSequence => "certificate is not a DER sequence",
            Self::Truncated => "truncated certificate",
            Self::InvalidLength => "invalid der length",
            Self::TrailingBytes => "trailing bytes after certificate",
        })
    }
}

impl std::error::Error for DerError {}

impl Encoding {
    /// PEM when `-----BEGIN` appears anywhere (PEM files may start with explanatory text).
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.windows(10).any(|window| window == b"-----BEGIN") {
            Self::Pem
        } else {
            Self::Binary
        }
    }
}

/// The whole file.
///
/// # Errors
/// [`LoadError::Io`] naming the file.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Every certificate in `path` (PEM `CERTIFICATE` blocks, or one DER certificate).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    items(&read(path)?, path, "certificate", CertificateDer::from)
}

/// Every CRL in `path` (PEM `X509 CRL` blocks, or one DER CRL).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no CRL.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    crls_from_bytes(&read(path)?, path)
}

/// Every CRL in `bytes` (PEM or one DER CRL), e.g. a body fetched from a distribution point;
/// `origin` names where they came from in errors.
///
/// # Errors
/// [`LoadError`] when the bytes hold no CRL.
pub fn crls_from_bytes(
    bytes: &[u8],
    origin: &Path,
) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    items(bytes, origin, "crl", CertificateRevocationListDer::from)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no key.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, LoadError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        pem::Error::NoItemsFound => LoadError::Empty {
            path: path.to_owned(),
            kind: "private key",
        },
        other => LoadError::Pem {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    })
}

/// Checks that `der` is exactly one DER SEQUENCE: no truncation, no trailing bytes.
///
/// # Errors
/// [`DerError`] saying what is wrong.
pub fn check_single_der(der: &[u8]) -> Result<(), DerError> {
    let (&tag, rest) = der.split_first().ok_or(DerError::Empty)?;
    if tag != 0x30 {
        return Err(DerError::NotSequence);
    }
    let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(DerError::InvalidLength);
        }
        let (length_bytes, rest) = rest.split_at(count);
        let length = length_bytes
            .iter()
            .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        (length, rest)
    };
    match rest.len().cmp(&length) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(DerError::Truncated),
        std::cmp::Ordering::Greater => Err(DerError::TrailingBytes),
    }
}

fn items<T>(
    bytes: &[u8],
    origin: &Path,
    kind: &'static str,
    from_der: impl Fn(Vec<u8>) -> T,
) -> Result<Vec<T>, LoadError>
where
    T: PemObject,
{
    let items = match Encoding::sniff(bytes) {
        Encoding::Pem => T::pem_slice_iter(bytes)
            .collect::<Result<Vec<T>, pem::Error>>()
            .map_err(|error| LoadError::Pem {
                path: origin.to_owned(),
                detail: error.to_string(),
            })?,
        Encoding::Binary => {
            check_single_der(bytes).map_err(|error| LoadError::Der {
                path: origin.to_owned(),
                detail: error.to_string(),
            })?;
            vec![from_der(bytes.to_vec())]
        }
    };
    if items.is_empty() {
        return Err(LoadError::Empty {
            path: origin.to_owned(),
            kind,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_der_checks_say_what_is_wrong() {
        let cases: [(&str, &[u8], Result<(), DerError>); 6] = [
            ("one short sequence", &[0x30, 0x01, 0x00], Ok(())),
            ("nothing", &[], Err(DerError::Empty)),
            (
                "not a sequence",
                &[0x02, 0x01, 0x00],
                Err(DerError::NotSequence),
            ),
            ("cut short", &[0x30, 0x05, 0x00], Err(DerError::Truncated)),
            (
                "trailing byte",
                &[0x30, 0x01, 0x00, 0x00],
                Err(DerError::TrailingBytes),
            ),
            (
                "five length bytes",
                &[0x30, 0x85, 1, 1, 1, 1, 1],
                Err(DerError::InvalidLength),
            ),
        ];
        for (reason, bytes, expected) in cases {
            assert_eq!(check_single_der(bytes), expected, "{reason}");
        }
    }

    #[test]
    fn bytes_without_a_crl_are_refused_with_their_origin() {
        let origin = Path::new("http://crl.example/root.crl");
        for (reason, bytes) in [
            ("html", b"<html>oops</html>".as_slice()),
            (
                "pem of another kind",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
        ] {
            let error = crls_from_bytes(bytes, origin).expect_err(reason);
            assert!(
                error.to_string().contains("crl.example"),
                "{reason}: {error}"
            );
        }
    }
}
