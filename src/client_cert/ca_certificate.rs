//! What makes a configured certificate usable as a trust anchor or intermediate: it must be a
//! CA certificate, basicConstraints cA=TRUE and, when a KeyUsage extension is present,
//! keyCertSign. webpki takes any certificate as an anchor, so a leaf configured as a "CA" would
//! otherwise vouch for every certificate signed with its key. That is a startup error.
//!
//! A CA certificate can also be one that cannot vouch for anyone (`CaFacts::unusable`): a
//! critical extension that is not understood, an extension present twice, an
//! extendedKeyUsage without clientAuth (webpki ignores an anchor's extensions, so an anchor is
//! held here to what webpki requires of every other certificate), an empty subject, or
//! malformed name constraints (`subtrees.rs`). Such a certificate is left out of every
//! verification and named in a startup warning, as one outside its validity window is: a
//! refusal to start would turn a bad certificate in a bundle into an outage at the next
//! restart, while leaving it out already denies it any say.
//!
//! Read once, at startup (`CaFacts::read`); chain verification itself is `trust.rs`'s job.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::email_constraints::EmailConstraints;
use super::name_constraints::DnsConstraints;
use super::subtrees::NameConstraints;

/// The nameConstraints extension, 2.5.29.30.
const NAME_CONSTRAINTS: &str = "2.5.29.30";

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

/// What verification needs to know of one configured CA certificate, read once at startup.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaFacts {
    pub validity: Option<CaValidity>,
    /// notAfter, unix seconds (`None` before 1970 or unparsable).
    pub not_after: Option<u64>,
    /// Its dNSName constraints, held against a CN (`name_constraints.rs`).
    pub dns_constraints: Option<DnsConstraints>,
    /// Its rfc822Name constraints, held against the path's email addresses (webpki cannot).
    pub email_constraints: Option<EmailConstraints>,
    /// Subject and issuer are the same name (self-issued: a key rollover certificate).
    pub self_issued: bool,
    pub has_subject_alt_name: bool,
    /// Its email addresses as rfc822Name constraints above it read them.
    pub emails: Vec<String>,
    /// Why it cannot vouch for anyone, if it cannot: it is then left out of verification.
    pub unusable: Option<String>,
}

impl CaFacts {
    /// Reads the facts of a CA certificate (one parse).
    pub(crate) fn read(der: &[u8]) -> Self {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            return Self {
                unusable: Some("it does not parse".to_owned()),
                ..Self::default()
            };
        };
        let validity = cert.validity();
        let (email_constraints, constraints_problem) = match read_name_constraints(&cert) {
            Ok(emails) => (emails, None),
            Err(problem) => (None, Some(problem)),
        };
        let san = cert.subject_alternative_name().ok().flatten();
        // An empty subjectAltName (which RFC 5280 forbids) does not shield the subject's.
        let emails = match san
            .as_ref()
            .filter(|san| !san.value.general_names.is_empty())
        {
            Some(san) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::RFC822Name(email) => Some((*email).to_owned()),
                    _ => None,
                })
                .collect(),
            None => super::name::email_addresses(cert.subject()),
        };
        Self {
            validity: Some(CaValidity {
                subject: super::name::Name::read(cert.subject()).rfc4514,
                not_before: u64::try_from(validity.not_before.timestamp()).unwrap_or(0),
                not_after: u64::try_from(validity.not_after.timestamp()).unwrap_or(0),
            }),
            not_after: u64::try_from(validity.not_after.timestamp()).ok(),
            dns_constraints: DnsConstraints::from_certificate(&cert),
            email_constraints,
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            has_subject_alt_name: san.is_some(),
            emails,
            unusable: constraints_problem.or_else(|| cannot_vouch(&cert)),
        }
    }
}

/// Why a configured CA certificate cannot vouch for anyone, if it cannot (what startup and
/// `handler check` warn about; verification leaves it out).
pub fn cannot_vouch_for_anyone(der: &[u8]) -> Option<String> {
    CaFacts::read(der).unusable
}

/// The email constraints of a CA certificate, or why its constraints leave it unable to vouch.
fn read_name_constraints(cert: &X509Certificate<'_>) -> Result<Option<EmailConstraints>, String> {
    let Some(extension) = cert
        .extensions()
        .iter()
        .find(|extension| extension.oid.to_id_string() == NAME_CONSTRAINTS)
    else {
        return Ok(None);
    };
    let constraints = NameConstraints::read_extension_value(extension.value)
        .map_err(|problem| problem.to_owned())?;
    if let Some(problem) = constraints.problem() {
        return Err(problem);
    }
    let (permitted, excluded) = constraints.email_bases();
    EmailConstraints::from_bases(&permitted, &excluded)
}

/// Why a (parsed, CA) certificate cannot vouch for anyone, apart from its name constraints.
fn cannot_vouch(cert: &X509Certificate<'_>) -> Option<String> {
    if let Some(extension) = cert
        .extensions()
        .iter()
        .find(|extension| extension.critical && !super::certificate::is_processed(&extension.oid))
    {
        return Some(format!(
            "it has a critical extension that is not understood ({}), which RFC 5280 says to refuse",
            extension.oid.to_id_string()
        ));
    }
    // webpki refuses a certificate with an extension twice, and `webpki_view.rs` must not make
    // one acceptable by re-encoding it without one of them.
    let extensions = cert.extensions();
    if let Some(twice) = extensions
        .iter()
        .enumerate()
        .find(|(at, extension)| {
            extensions[..*at]
                .iter()
                .any(|seen| seen.oid == extension.oid)
        })
        .map(|(_, extension)| extension)
    {
        return Some(format!(
            "it has the extension {} twice, which RFC 5280 forbids",
            twice.oid.to_id_string()
        ));
    }
    if cert.subject().iter().next().is_none() {
        return Some("its subject is empty, which RFC 5280 forbids for a CA".to_owned());
    }
    // webpki requires clientAuth in every intermediate's EKU, when it has one, but reads no
    // anchor's: an anchor restricted to other purposes is held to the same rule here.
    if let Ok(Some(eku)) = cert.extended_key_usage()
        && !eku.value.client_auth
    {
        return Some(
            "its extendedKeyUsage lacks clientAuth, so it cannot vouch for client certificates"
                .to_owned(),
        );
    }
    None
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
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, cert)| crl_sign(&cert))
}

fn crl_sign(cert: &X509Certificate<'_>) -> bool {
    match cert.key_usage() {
        Ok(None) => true,
        Ok(Some(usage)) => usage.value.crl_sign(),
        Err(_) => false,
    }
}
