//! What a verified path tells the policy ([`VerifiedChain`]), and what is checked on it after
//! webpki: the email name constraints webpki was not shown (`webpki_view.rs`), held here to
//! every email address below each CA on the path (`email_constraints.rs`).

use super::name_constraints::DnsConstraints;
use super::trust::{Intermediate, TrustedCa};
use super::{ClientCert, Denied};

/// What a successful chain verification tells the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// Thumbprints of the certificate that issued the leaf (intermediate or anchor).
    pub issuer_sha1: String,
    pub issuer_sha256: String,
    /// The earliest notAfter (unix seconds) of the CA certificates on the path: every
    /// intermediate, and the anchor's certificate.
    pub not_after: Option<u64>,
    /// The dNSName constraints of every CA certificate on the path that has any.
    pub dns_constraints: Vec<DnsConstraints>,
}

impl VerifiedChain {
    /// What the policy learns of the verified `path` (the leaf's issuer first) up to `anchor`.
    pub(super) fn of(path: &[&Intermediate], anchor: &TrustedCa) -> Self {
        let not_after = path
            .iter()
            .filter_map(|intermediate| intermediate.facts.not_after)
            .chain(anchor.facts.not_after)
            .min();
        let dns_constraints = path
            .iter()
            .filter_map(|intermediate| intermediate.facts.dns_constraints.clone())
            .chain(anchor.facts.dns_constraints.clone())
            .collect();
        let (issuer_sha1, issuer_sha256) = match path.first() {
            Some(issuer) => (&issuer.sha1_thumbprint, &issuer.sha256_thumbprint),
            None => (&anchor.sha1_thumbprint, &anchor.sha256_thumbprint),
        };
        Self {
            issuer_sha1: issuer_sha1.clone(),
            issuer_sha256: issuer_sha256.clone(),
            not_after,
            dns_constraints,
        }
    }
}

/// Holds the verified path to the email constraints webpki was not shown: every CA's, anchor
/// included, over the email addresses of every certificate below it but self-issued
/// intermediates (`email_constraints.rs`).
pub(super) fn check_email_constraints(
    cert: &ClientCert,
    path: &[&Intermediate],
    anchor: &TrustedCa,
) -> Result<(), Denied> {
    let leaf = cert.emails.iter().chain(&cert.subject_emails);
    let cas = path
        .iter()
        .map(|intermediate| &intermediate.facts)
        .chain(std::iter::once(&anchor.facts));
    for (position, ca) in cas.enumerate() {
        let Some(constraints) = &ca.email_constraints else {
            continue;
        };
        let below = path[..position.min(path.len())]
            .iter()
            .filter(|intermediate| !intermediate.facts.self_issued)
            .flat_map(|intermediate| &intermediate.facts.emails);
        if let Some(reason) = leaf
            .clone()
            .chain(below)
            .find_map(|address| constraints.refuses(address))
        {
            return Err(Denied::Untrusted {
                reason: format!("a CA's email name constraints exclude it: {reason}"),
            });
        }
    }
    Ok(())
}
