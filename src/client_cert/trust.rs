//! Chain, validity, usage and revocation checks with rustls-webpki, against configured trust
//! anchors only (never the OS store).
//!
//! Revocation rule: once any CRL is configured, every certificate below the trust anchor in
//! the verified path (the leaf and each intermediate) must be covered by a current CRL from its
//! issuer ([`RevocationCheckDepth::Chain`], [`UnknownStatusPolicy::Deny`],
//! [`ExpirationPolicy::Enforce`]). So a leaf under an intermediate needs the intermediate's CRL,
//! and the intermediate needs the root's CRL; a CRL past its nextUpdate counts as unknown.
//! A CRL that cannot be used (bad signature, issuer without cRLSign, anchors included, which
//! webpki does not check, unsupported algorithm or feature, a thisUpdate beyond now plus the
//! clock skew) also makes the status unknown, which refuses even a pinned certificate.
//!
//! CRLs are matched to a certificate by issuer name only, and webpki uses the first loaded CRL
//! whose issuer name matches, even if another key signed it. So during a CA rollover, where
//! the old and new CA share a name, the certificates of the CA whose CRL loads second have an
//! unknown status. Keep one CRL per issuer name; startup and reloads warn otherwise.
//!
//! Anchors and intermediates must be CA certificates ([`check_ca_certificate`], in
//! `ca_certificate.rs`).
//! This module does not decide who is allowed (`policy.rs`) and does not read files (`load.rs`).

use std::fmt;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use webpki::{
    EndEntityCert, Error as WebpkiError, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

pub use super::ca_certificate::{CaCertificateError, check_ca_certificate};
use super::ca_certificate::{CaValidity, may_sign_crls, not_after, validity};
use super::certificate::{hex_upper, rfc3339};
use super::name_constraints::DnsConstraints;
use super::revocation::CrlSet;
use super::{ClientCert, Denied};

/// The most clock skew we accept between us and the callers, in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;

/// A configured trust anchor and the thumbprints of the certificate it came from.
#[derive(Clone)]
pub struct TrustedCa {
    anchor: TrustAnchor<'static>,
    pub sha1_thumbprint: String,
    pub sha256_thumbprint: String,
    /// The anchor certificate's notAfter (unix seconds). webpki does not check an anchor's
    /// validity; this only bounds how long a decision on it is cached.
    not_after: Option<u64>,
    /// The anchor may sign CRLs: it has no keyUsage, or its keyUsage has cRLSign. webpki checks
    /// this for intermediates only (an anchor reaches it without its extensions).
    crl_sign: bool,
    /// The anchor certificate's validity window. webpki ignores it, so `verify` leaves out
    /// anchors outside it (plus the skew).
    validity: Option<CaValidity>,
    /// The anchor certificate's dNSName constraints, held against a CN (`name_constraints.rs`).
    dns_constraints: Option<DnsConstraints>,
}

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

/// The anchors, intermediates and clock skew that chain verification uses.
#[derive(Default)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    cas: Vec<TrustedCa>,
    intermediates: Vec<CertificateDer<'static>>,
    /// `intermediates[i]`'s notAfter (unix seconds).
    intermediate_not_after: Vec<Option<u64>>,
    /// `intermediates[i]`'s dNSName constraints.
    intermediate_dns_constraints: Vec<Option<DnsConstraints>>,
    /// When every anchor is inside its validity window (latest notBefore, earliest notAfter):
    /// inside it, `verify` hands webpki every anchor without filtering.
    all_anchors_valid: (u64, u64),
    clock_skew: u64,
}

impl fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedCa(sha256 {})", self.sha256_thumbprint)
    }
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("anchors", &self.cas)
            .field("intermediates", &self.intermediates.len())
            .field("clock_skew", &self.clock_skew)
            .finish()
    }
}

impl TrustedCa {
    /// The anchor's subject Name value (inside its SEQUENCE): what webpki compares with the
    /// issuer of a certificate it verifies.
    pub fn subject(&self) -> &[u8] {
        self.anchor.subject.as_ref()
    }

    /// A trust anchor from a CA certificate.
    ///
    /// # Errors
    /// [`CaCertificateError`] when the certificate is not a CA ([`check_ca_certificate`]) or
    /// webpki cannot use it as an anchor.
    pub fn from_der(der: &CertificateDer<'_>) -> Result<Self, CaCertificateError> {
        check_ca_certificate(der.as_ref())?;
        let anchor = webpki::anchor_from_trusted_cert(der)
            .map_err(|error| CaCertificateError::NotAnchor {
                detail: super::words::describe(&error),
            })?
            .to_owned();
        Ok(Self {
            anchor,
            sha1_thumbprint: hex_upper(&Sha1::digest(der.as_ref())),
            sha256_thumbprint: hex_upper(&Sha256::digest(der.as_ref())),
            not_after: not_after(der.as_ref()),
            crl_sign: may_sign_crls(der.as_ref()),
            validity: validity(der.as_ref()),
            dns_constraints: DnsConstraints::read(der.as_ref()),
        })
    }
}

impl TrustStore {
    /// `clock_skew` (seconds) is capped at [`MAX_CLOCK_SKEW_SECONDS`].
    pub fn new(
        cas: Vec<TrustedCa>,
        intermediates: Vec<CertificateDer<'static>>,
        clock_skew: u64,
    ) -> Self {
        let all_anchors_valid = cas.iter().fold((0, u64::MAX), |(from, until), ca| {
            ca.validity.as_ref().map_or((u64::MAX, 0), |window| {
                (from.max(window.not_before), until.min(window.not_after))
            })
        });
        Self {
            anchors: cas.iter().map(|ca| ca.anchor.clone()).collect(),
            all_anchors_valid,
            cas,
            intermediate_not_after: intermediates
                .iter()
                .map(|der| not_after(der.as_ref()))
                .collect(),
            intermediate_dns_constraints: intermediates
                .iter()
                .map(|der| DnsConstraints::read(der.as_ref()))
                .collect(),
            intermediates,
            clock_skew: clock_skew.min(MAX_CLOCK_SKEW_SECONDS),
        }
    }

    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    pub fn intermediate_count(&self) -> usize {
        self.intermediates.len()
    }

    pub fn clock_skew(&self) -> u64 {
        self.clock_skew
    }

    /// The leaf's own validity window, widened by the clock skew. Applies with or without a CA.
    ///
    /// # Errors
    /// [`Denied::Expired`] or [`Denied::NotYetValid`].
    pub fn check_validity(&self, cert: &ClientCert, now: u64) -> Result<(), Denied> {
        if now > cert.not_after.saturating_add(self.clock_skew) {
            return Err(Denied::Expired {
                not_after: cert.not_after,
                now,
            });
        }
        if now.saturating_add(self.clock_skew) < cert.not_before {
            return Err(Denied::NotYetValid {
                not_before: cert.not_before,
                now,
            });
        }
        Ok(())
    }

    /// Verifies `cert` up to a configured anchor, for clientAuth, at `now`, against `crls`.
    ///
    /// The verification time is `now` moved into the leaf's validity window when it lies within
    /// the clock skew outside it (so intermediates and CRLs see at most that much skew too).
    ///
    /// # Errors
    /// [`Denied::Untrusted`] when no anchor vouches for it (or none is configured), and the
    /// expiry, usage and revocation variants as webpki reports them.
    pub fn verify(
        &self,
        cert: &ClientCert,
        now: u64,
        crls: &CrlSet,
    ) -> Result<VerifiedChain, Denied> {
        if self.anchors.is_empty() {
            return Err(Denied::Untrusted {
                reason: "no trust anchor configured".to_owned(),
            });
        }
        self.check_validity(cert, now)?;
        let der = CertificateDer::from(cert.der.as_slice());
        let end_entity = EndEntityCert::try_from(&der).map_err(|e| map_error(e, now))?;
        let time = if now < cert.not_before {
            cert.not_before
        } else {
            now.min(cert.not_after)
        };
        let crl_refs = crls.usable_at(now, self.clock_skew);
        if crl_refs.is_empty() && !crls.is_empty() {
            // Every CRL is from the future: none can cover anything yet.
            return Err(Denied::RevocationUnknown {
                reason: "every configured crl has a thisUpdate in the future".to_owned(),
            });
        }
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Deny)
                    .with_expiration_policy(ExpirationPolicy::Enforce)
                    .build()
            });
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(time));
        let anchors = self.anchors_valid_at(now);
        if anchors.is_empty() {
            return Err(Denied::Untrusted {
                reason: "every trust anchor is outside its validity window".to_owned(),
            });
        }
        let verify = |revocation| {
            end_entity.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                &self.intermediates,
                time,
                KeyUsage::client_auth(),
                revocation,
                None,
            )
        };
        let path = match verify(revocation) {
            Ok(path) => path,
            Err(error) => {
                let denied = map_error(error, now);
                // webpki reports the most specific error over every candidate path, so a
                // same-named anchor's signature failure can hide the real path's CRL failure
                // (a root rollover). A chain that verifies without CRLs means revocation failed.
                if matches!(denied, Denied::Untrusted { .. })
                    && revocation.is_some()
                    && verify(None).is_ok()
                {
                    return Err(Denied::RevocationUnknown {
                        reason: format!(
                            "the chain verifies, its revocation check does not: {denied}"
                        ),
                    });
                }
                return Err(denied);
            }
        };
        let anchor = path.anchor();
        let ca = self
            .anchors
            .iter()
            .position(|candidate| candidate == anchor)
            .and_then(|index| self.cas.get(index))
            .ok_or_else(|| Denied::Untrusted {
                reason: "verified anchor is not configured".to_owned(),
            })?;
        // With CRLs on, the certificate just below the anchor was covered by a CRL the anchor
        // signed; an anchor whose keyUsage lacks cRLSign cannot vouch for that CRL.
        if revocation.is_some() && !ca.crl_sign {
            return Err(Denied::RevocationUnknown {
                reason: "the trust anchor's keyUsage lacks cRLSign, so its crl is unusable"
                    .to_owned(),
            });
        }
        let indexes: Vec<usize> = path
            .intermediate_certificates()
            .filter_map(|intermediate| self.intermediate_index(intermediate.der().as_ref()))
            .collect();
        let not_after = indexes
            .iter()
            .filter_map(|index| self.intermediate_not_after.get(*index).copied().flatten())
            .chain(ca.not_after)
            .min();
        let dns_constraints = indexes
            .iter()
            .filter_map(|index| {
                self.intermediate_dns_constraints
                    .get(*index)
                    .cloned()
                    .flatten()
            })
            .chain(ca.dns_constraints.clone())
            .collect();
        if let Some(issuer) = path.intermediate_certificates().next() {
            let issuer_der = issuer.der();
            return Ok(VerifiedChain {
                issuer_sha1: hex_upper(&Sha1::digest(issuer_der.as_ref())),
                issuer_sha256: hex_upper(&Sha256::digest(issuer_der.as_ref())),
                not_after,
                dns_constraints,
            });
        }
        Ok(VerifiedChain {
            issuer_sha1: ca.sha1_thumbprint.clone(),
            issuer_sha256: ca.sha256_thumbprint.clone(),
            not_after,
            dns_constraints,
        })
    }

    /// The anchors whose certificates are valid at `now` (plus the skew); borrowed when all
    /// of them are, which is the usual case.
    fn anchors_valid_at(&self, now: u64) -> std::borrow::Cow<'_, [TrustAnchor<'static>]> {
        let (from, until) = self.all_anchors_valid;
        let skew = self.clock_skew;
        if now.saturating_add(skew) >= from && now <= until.saturating_add(skew) {
            return std::borrow::Cow::Borrowed(&self.anchors);
        }
        self.cas
            .iter()
            .filter(|ca| {
                ca.validity
                    .as_ref()
                    .is_some_and(|window| window.contains(now, skew))
            })
            .map(|ca| ca.anchor.clone())
            .collect()
    }

    /// Every anchor and intermediate outside its validity window at `now` (plus the skew):
    /// (`anchor` or `intermediate`, its window). Startup warns about each.
    pub fn outside_validity(&self, now: u64) -> Vec<(&'static str, CaValidity)> {
        let anchors = self.cas.iter().map(|ca| ("anchor", ca.validity.clone()));
        let intermediates = self
            .intermediates
            .iter()
            .map(|der| ("intermediate", validity(der.as_ref())));
        anchors
            .chain(intermediates)
            .filter_map(|(kind, window)| Some((kind, window?)))
            .filter(|(_, window)| !window.contains(now, self.clock_skew))
            .collect()
    }

    /// Logs a warning for each anchor and intermediate outside its validity window at `now`:
    /// startup goes on (a stale certificate in a bundle must not stop the app), and no path
    /// through it is accepted while it stays outside.
    pub fn warn_outside_validity(&self, now: u64) {
        for (kind, window) in self.outside_validity(now) {
            let setting = if kind == "anchor" {
                "CLIENT_CERT_TRUSTED_CA_PATHS"
            } else {
                "CLIENT_CERT_INTERMEDIATE_CA_PATHS"
            };
            tracing::warn!(
                setting,
                kind,
                subject = %window.subject,
                not_before = %rfc3339(window.not_before),
                not_after = %rfc3339(window.not_after),
                "a configured CA certificate is expired or not yet valid: no certificate is accepted through it; replace it"
            );
        }
    }

    fn intermediate_index(&self, der: &[u8]) -> Option<usize> {
        self.intermediates
            .iter()
            .position(|candidate| candidate.as_ref() == der)
    }
}

fn map_error(error: WebpkiError, now: u64) -> Denied {
    match error {
        WebpkiError::CertExpired { not_after, .. } => Denied::Expired {
            not_after: not_after.as_secs(),
            now,
        },
        WebpkiError::CertNotValidYet { not_before, .. } => Denied::NotYetValid {
            not_before: not_before.as_secs(),
            now,
        },
        WebpkiError::RequiredEkuNotFoundContext(_) | WebpkiError::EmptyEkuExtension => {
            Denied::WrongUsage {
                reason: "extended key usage lacks clientAuth".to_owned(),
            }
        }
        WebpkiError::CaUsedAsEndEntity => Denied::WrongUsage {
            reason: "ca certificate presented as a client".to_owned(),
        },
        WebpkiError::CertRevoked => Denied::Revoked,
        error if is_crl_error(&error) => Denied::RevocationUnknown {
            reason: super::words::describe(&error),
        },
        other => Denied::Untrusted {
            reason: super::words::describe(&other),
        },
    }
}

/// Errors about a CRL webpki found for the path but could not use: the status is unknown, and
/// that refuses even a pinned certificate (unlike `Untrusted`, which pins ignore).
#[allow(deprecated)] // the context-free variants are still matched, whichever webpki returns
fn is_crl_error(error: &WebpkiError) -> bool {
    matches!(
        error,
        WebpkiError::UnknownRevocationStatus
            | WebpkiError::CrlExpired { .. }
            | WebpkiError::InvalidCrlSignatureForPublicKey
            | WebpkiError::IssuerNotCrlSigner
            | WebpkiError::InvalidCrlNumber
            | WebpkiError::UnsupportedCrlVersion
            | WebpkiError::UnsupportedDeltaCrl
            | WebpkiError::UnsupportedIndirectCrl
            | WebpkiError::UnsupportedCrlIssuingDistributionPoint
            | WebpkiError::UnsupportedRevocationReason
            | WebpkiError::UnsupportedRevocationReasonsPartitioning
            | WebpkiError::UnsupportedCrlSignatureAlgorithm
            | WebpkiError::UnsupportedCrlSignatureAlgorithmContext(_)
            | WebpkiError::UnsupportedCrlSignatureAlgorithmForPublicKey
            | WebpkiError::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::test_pki::{BASE, Ca, DAY, Leaf};

    #[test]
    fn a_verified_path_reports_the_earliest_not_after_of_its_ca_certificates() {
        let root = Ca::root_until("Expiring Root", 50 * DAY);
        let short_lived = root.intermediate_until("Short-lived Issuing CA", 2, 100);
        let long_lived = root.intermediate("Long-lived Issuing CA", 3);
        let anchor =
            TrustedCa::from_der(&CertificateDer::from(root.der.clone())).expect("root is a CA");
        let store = TrustStore::new(
            vec![anchor],
            vec![
                CertificateDer::from(short_lived.der.clone()),
                CertificateDer::from(long_lived.der.clone()),
            ],
            0,
        );
        let cases = [
            ("issued by the root", root.issue(&Leaf::cn("a")), 50 * DAY),
            (
                "issued by an intermediate that expires first",
                short_lived.issue(&Leaf::cn("b")),
                100,
            ),
            (
                "issued by an intermediate that outlives the root",
                long_lived.issue(&Leaf::cn("c")),
                50 * DAY,
            ),
        ];
        for (reason, der, expected) in cases {
            let cert = ClientCert::parse(der).expect("test cert parses");
            let chain = store.verify(&cert, BASE, &CrlSet::default());
            assert_eq!(
                chain.map(|chain| chain.not_after),
                Ok(Some(BASE.saturating_add_signed(expected))),
                "{reason}"
            );
        }
    }
}
