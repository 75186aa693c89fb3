//! What makes a configured certificate usable as a trust anchor or intermediate: it must be a
//! CA certificate, basicConstraints cA=TRUE and, when a KeyUsage extension is present,
//! keyCertSign. webpki takes any certificate as an anchor, so a leaf configured as a "CA" would
//! otherwise vouch for every certificate signed with its key.
//!
//! Checked once, at startup; chain verification itself is `trust.rs`'s job.

/// Why a configured certificate cannot serve as a trust anchor or intermediate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaCertificateError {
    #[error("unparsable certificate: {detail}")]
    Unparsable { detail: String },
    /// A leaf (or a certificate not allowed to sign certificates) where a CA is required.
    #[error("not a CA certificate: {reason}")]
    NotCa { reason: &'static str },
    #[error("not usable as a trust anchor: {detail}")]
    NotAnchor { detail: String },
}

/// Checks that `der` is a CA certificate: basicConstraints cA=TRUE, and keyCertSign when it
/// has a KeyUsage extension. Required of every anchor and intermediate.
///
/// # Errors
/// [`CaCertificateError::NotCa`] naming what is missing, or `Unparsable`.
pub fn check_ca_certificate(der: &[u8]) -> Result<(), CaCertificateError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|error| {
        CaCertificateError::Unparsable {
            detail: error.to_string(),
        }
    })?;
    let unparsable = |error: x509_parser::error::X509Error| CaCertificateError::Unparsable {
        detail: error.to_string(),
    };
    let is_ca = cert
        .basic_constraints()
        .map_err(unparsable)?
        .is_some_and(|constraints| constraints.value.ca);
    if !is_ca {
        return Err(CaCertificateError::NotCa {
            reason: "basicConstraints cA is not TRUE",
        });
    }
    let key_usage = cert.key_usage().map_err(unparsable)?;
    if key_usage.is_some_and(|usage| !usage.value.key_cert_sign()) {
        return Err(CaCertificateError::NotCa {
            reason: "keyUsage lacks keyCertSign",
        });
    }
    Ok(())
}

/// A certificate's notAfter, unix seconds (`None` if it does not parse).
pub(crate) fn not_after(der: &[u8]) -> Option<u64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    u64::try_from(cert.validity().not_after.timestamp()).ok()
}

/// A CA certificate's validity window, unix seconds (notBefore before 1970 is 0), and its
/// subject (RFC 4514): what a warning about it names. `None` if it does not parse.
pub(crate) fn validity(der: &[u8]) -> Option<CaValidity> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(CaValidity {
        subject: super::name::Name::read(cert.subject()).rfc4514,
        not_before: u64::try_from(cert.validity().not_before.timestamp()).unwrap_or(0),
        not_after: u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0),
    })
}

/// A CA certificate's validity window and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaValidity {
    pub subject: String,
    /// Unix seconds.
    pub not_before: u64,
    pub not_after: u64,
}

impl CaValidity {
    /// Whether `now` (unix seconds) is inside the window widened by `skew` seconds.
    pub fn contains(&self, now: u64, skew: u64) -> bool {
        now.saturating_add(skew) >= self.not_before && now <= self.not_after.saturating_add(skew)
    }
}

/// Whether a CA certificate may sign CRLs: no keyUsage extension, or one with cRLSign. A
/// certificate that does not parse may not.
pub(crate) fn may_sign_crls(der: &[u8]) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    match cert.key_usage() {
        Ok(None) => true,
        Ok(Some(usage)) => usage.value.crl_sign(),
        Err(_) => false,
    }
}
