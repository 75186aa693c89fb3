//! `Denied`: every reason a request's client certificate is refused, with a stable code and a
//! fixed public message per reason.
//!
//! Variants carry detail for the log only (their `Display`); callers show [`Denied::code`] and
//! [`Denied::public_message`], which never contain parser text, paths or certificate data.
//! Mapping to HTTP statuses is deliberately not done here (that is `error.rs`'s job).

use super::certificate::rfc3339;

/// Why a client certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No certificate header (or only blank values).
    #[error("client certificate header missing")]
    Missing,
    /// The header could not be decoded into exactly one well-formed certificate.
    #[error("malformed client certificate: {reason}")]
    Malformed { reason: String },
    /// More than one certificate or identity was offered (repeated header, two CNs, ...).
    #[error("ambiguous client certificate: {reason}")]
    Ambiguous { reason: String },
    /// No configured trust anchor vouches for the certificate.
    #[error("untrusted client certificate: {reason}")]
    Untrusted { reason: String },
    /// Past notAfter (plus the allowed clock skew); unix seconds, written as RFC 3339.
    #[error("client certificate expired at {} (now {})", rfc3339(*.not_after), rfc3339(*.now))]
    Expired { not_after: u64, now: u64 },
    /// Before notBefore (minus the allowed clock skew); unix seconds, written as RFC 3339.
    #[error("client certificate not valid before {} (now {})", rfc3339(*.not_before), rfc3339(*.now))]
    NotYetValid { not_before: u64, now: u64 },
    /// Not usable for client authentication (EKU without clientAuth, or a CA certificate).
    #[error("client certificate not usable for client authentication: {reason}")]
    WrongUsage { reason: String },
    /// A configured CRL lists the certificate (or one of its issuers).
    #[error("client certificate revoked")]
    Revoked,
    /// CRLs are configured but none current covers the certificate or one of its issuers.
    #[error("client certificate revocation status unknown: {reason}")]
    RevocationUnknown { reason: String },
    /// The leaf's key is below the strength rule (`key_strength.rs`), pinned or not.
    #[error("client certificate key too weak: {reason}")]
    WeakKey { reason: String },
    /// A CN rule matched, but the CN lies outside the DNS name constraints of a CA on the
    /// verified path, and no other rule matched. To the caller this is `cert_not_allowed`: no
    /// rule admits the certificate; the constraint is for the log.
    #[error("client certificate cn {cn} is {reason} of its path, so no cn rule admits it")]
    CnOutsideNameConstraints { cn: String, reason: String },
    /// Well-formed and (where required) trusted, but no allowlist rule matches.
    #[error(
        "client certificate not allowlisted: no rule matches (cn {}, sha256 {thumbprint})",
        .cn.as_deref().unwrap_or("none")
    )]
    NotAllowed {
        cn: Option<String>,
        thumbprint: String,
    },
}

impl Denied {
    /// The stable machine-readable code, e.g. `cert_missing`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "cert_missing",
            Self::Malformed { .. } => "cert_malformed",
            Self::Ambiguous { .. } => "cert_ambiguous",
            Self::Untrusted { .. } => "cert_untrusted",
            Self::Expired { .. } => "cert_expired",
            Self::NotYetValid { .. } => "cert_not_yet_valid",
            Self::WrongUsage { .. } => "cert_wrong_usage",
            Self::Revoked => "cert_revoked",
            Self::RevocationUnknown { .. } => "cert_revocation_unknown",
            Self::WeakKey { .. } => "cert_weak_key",
            Self::NotAllowed { .. } | Self::CnOutsideNameConstraints { .. } => "cert_not_allowed",
        }
    }

    /// A fixed message that is safe to show the caller.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Missing => "client certificate header missing",
            Self::Malformed { .. } => "client certificate header is malformed",
            Self::Ambiguous { .. } => "client certificate identity is ambiguous",
            Self::Untrusted { .. } => "client certificate is not trusted",
            Self::Expired { .. } => "client certificate has expired",
            Self::NotYetValid { .. } => "client certificate is not yet valid",
            Self::WrongUsage { .. } => "client certificate is not valid for client authentication",
            Self::Revoked => "client certificate has been revoked",
            Self::RevocationUnknown { .. } => "client certificate revocation status is unknown",
            Self::WeakKey { .. } => "client certificate key is too weak",
            Self::NotAllowed { .. } | Self::CnOutsideNameConstraints { .. } => {
                "client certificate is not allowlisted"
            }
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
        }
    }

    pub(crate) fn ambiguous(reason: impl Into<String>) -> Self {
        Self::Ambiguous {
            reason: reason.into(),
        }
    }
}
