//! Chain, validity, usage and revocation checks with rustls-webpki, against configured trust
//! anchors only (never the OS store).
//!
//! Revocation rule: once any CRL is configured, every certificate below the trust anchor in
//! the verified path (the leaf and each intermediate) must be covered by a current CRL from its
//! issuer, signed by the issuer's key. So a leaf under an intermediate needs the
//! intermediate's CRL, and the intermediate needs the root's CRL; a CRL past its nextUpdate
//! counts as unknown, and unknown is refused, even for a pinned certificate. webpki builds and
//! verifies the path; the CRLs are checked on each candidate path it finds, through its
//! `verify_path` hook, by `revocation.rs` (which says what covers what: partitions, delta
//! CRLs, cRLSign, dates), so a path that fails revocation lets webpki try another.
//!
//! Anchors and intermediates must be CA certificates ([`check_ca_certificate`], in
//! `ca_certificate.rs`); one that cannot vouch for anyone (an unknown critical extension, an
//! empty subject, malformed name constraints) is left out of every verification and named in a
//! startup warning ([`TrustStore::warn_unusable`]) and in the refusal of what it issued.
//! webpki is shown the CA certificates as `webpki_view.rs` says (without the email name
//! constraints it cannot evaluate, and self-issued intermediates without their names); a
//! verified path is then held here to the email constraints (`email_constraints.rs`).
//! This module does not decide who is allowed (`policy.rs`) and does not read files
//! (`cert_file.rs`).

use std::fmt;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use webpki::{EndEntityCert, Error as WebpkiError, KeyUsage};

use super::ca_certificate::CaFacts;
pub use super::ca_certificate::{CaCertificateError, check_ca_certificate};
use super::certificate::hex_upper;
use super::revocation::CrlSet;
pub use super::verified_path::VerifiedChain;
use super::verified_path::check_email_constraints;
use super::webpki_view::{self, Algorithms, Omit};
use super::{ClientCert, Denied};

/// The most clock skew we accept between us and the callers, in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;

/// A configured trust anchor and the thumbprints of the certificate it came from.
#[derive(Clone)]
pub struct TrustedCa {
    /// The anchor as webpki is shown it (`webpki_view.rs`: without email constraints).
    anchor: TrustAnchor<'static>,
    pub sha1_thumbprint: String,
    pub sha256_thumbprint: String,
    /// What verification needs to know of the anchor's certificate beyond what webpki reads
    /// (webpki reads an anchor's subject, key and name constraints only): its validity window
    /// (left out of each verification outside it, plus the skew), whether its keyUsage allows
    /// cRLSign, its DNS and email constraints, and whether it can vouch at all.
    pub(super) facts: CaFacts,
}

/// A configured intermediate: the certificate, what webpki is shown of it, its facts.
pub(super) struct Intermediate {
    der: CertificateDer<'static>,
    /// What webpki is shown instead of it (`webpki_view.rs`), if anything is omitted.
    shown: Option<webpki_view::Shown>,
    pub(super) sha1_thumbprint: String,
    pub(super) sha256_thumbprint: String,
    pub(super) facts: CaFacts,
}

/// The anchors, intermediates and clock skew that chain verification uses.
#[derive(Default)]
pub struct TrustStore {
    /// Every configured anchor, usable or not.
    pub(super) cas: Vec<TrustedCa>,
    /// The usable anchors as webpki is shown them, and their places in `cas`.
    anchors: Vec<TrustAnchor<'static>>,
    anchor_cas: Vec<usize>,
    /// Every configured intermediate, usable or not.
    pub(super) intermediates: Vec<Intermediate>,
    /// What webpki is shown of the usable intermediates, and their places in `intermediates`.
    shown_intermediates: Vec<CertificateDer<'static>>,
    shown_places: Vec<usize>,
    /// webpki's verification algorithms, wrapped when an intermediate is shown re-encoded.
    algorithms: Option<Algorithms>,
    /// When every usable anchor is inside its validity window (latest notBefore, earliest
    /// notAfter): inside it, `verify` hands webpki every usable anchor without filtering.
    all_anchors_valid: (u64, u64),
    pub(super) clock_skew: u64,
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
            anchor: webpki_view::show_anchor(anchor),
            sha1_thumbprint: hex_upper(&Sha1::digest(der.as_ref())),
            sha256_thumbprint: hex_upper(&Sha256::digest(der.as_ref())),
            facts: CaFacts::read(der.as_ref()),
        })
    }

    /// Why this anchor cannot vouch for anyone (it is left out of every verification), if so.
    pub fn unusable(&self) -> Option<&str> {
        self.facts.unusable.as_deref()
    }
}

impl Intermediate {
    fn new(der: CertificateDer<'static>) -> Self {
        let facts = CaFacts::read(der.as_ref());
        let omit = Omit {
            email_constraints: facts.email_constraints.is_some(),
            subject_alt_name: facts.self_issued && facts.has_subject_alt_name,
        };
        Self {
            shown: webpki_view::show_intermediate(der.as_ref(), omit),
            sha1_thumbprint: hex_upper(&Sha1::digest(der.as_ref())),
            sha256_thumbprint: hex_upper(&Sha256::digest(der.as_ref())),
            der,
            facts,
        }
    }
}

impl TrustStore {
    /// `clock_skew` (seconds) is capped at [`MAX_CLOCK_SKEW_SECONDS`]. CA certificates that
    /// cannot vouch ([`TrustStore::unusable`]) are kept out of every verification.
    pub fn new(
        cas: Vec<TrustedCa>,
        intermediates: Vec<CertificateDer<'static>>,
        clock_skew: u64,
    ) -> Self {
        let anchor_cas: Vec<usize> = (0..cas.len())
            .filter(|index| cas[*index].facts.unusable.is_none())
            .collect();
        let all_anchors_valid = anchor_cas
            .iter()
            .fold((0, u64::MAX), |(from, until), index| {
                cas[*index]
                    .facts
                    .validity
                    .as_ref()
                    .map_or((u64::MAX, 0), |window| {
                        (from.max(window.not_before), until.min(window.not_after))
                    })
            });
        let intermediates: Vec<Intermediate> =
            intermediates.into_iter().map(Intermediate::new).collect();
        let shown_places: Vec<usize> = (0..intermediates.len())
            .filter(|index| intermediates[*index].facts.unusable.is_none())
            .collect();
        let reencoded: Vec<webpki_view::Shown> = shown_places
            .iter()
            .filter_map(|index| intermediates[*index].shown.clone())
            .collect();
        Self {
            anchors: anchor_cas
                .iter()
                .map(|index| cas[*index].anchor.clone())
                .collect(),
            anchor_cas,
            all_anchors_valid,
            cas,
            shown_intermediates: shown_places
                .iter()
                .map(|index| {
                    let intermediate = &intermediates[*index];
                    intermediate.shown.as_ref().map_or_else(
                        || intermediate.der.clone(),
                        |shown| CertificateDer::from(shown.der.clone()),
                    )
                })
                .collect(),
            shown_places,
            algorithms: Algorithms::new(&reencoded),
            intermediates,
            clock_skew: clock_skew.min(MAX_CLOCK_SKEW_SECONDS),
        }
    }

    /// How many anchors are configured, whether or not they can vouch.
    pub fn anchor_count(&self) -> usize {
        self.cas.len()
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
        if self.cas.is_empty() {
            return Err(Denied::Untrusted {
                reason: "no trust anchor configured".to_owned(),
            });
        }
        if self.anchors.is_empty() {
            return Err(self.name_unusable_issuer(
                cert,
                Denied::Untrusted {
                    reason: "no configured trust anchor can vouch for anyone".to_owned(),
                },
            ));
        }
        self.check_validity(cert, now)?;
        let der = CertificateDer::from(cert.der.as_slice());
        let end_entity = EndEntityCert::try_from(&der).map_err(|e| map_error(e, now))?;
        let time = if now < cert.not_before {
            cert.not_before
        } else {
            now.min(cert.not_after)
        };
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(time));
        let (anchors, places) = self.anchors_valid_at(now);
        if anchors.is_empty() {
            return Err(Denied::Untrusted {
                reason: "every trust anchor is outside its validity window".to_owned(),
            });
        }
        let wrapped = self.algorithms.as_ref().map(Algorithms::as_refs);
        let algorithms = wrapped.as_deref().unwrap_or(webpki::ALL_VERIFICATION_ALGS);
        // The configured anchor and intermediates of a candidate path: the anchor by its place
        // in the slice webpki was given (two anchors can look the same to webpki: a renewal
        // with the same key and name), never by equality.
        let resolve =
            |path: &webpki::VerifiedPath<'_>| -> Option<(&TrustedCa, Vec<&Intermediate>)> {
                let used: *const TrustAnchor<'_> = path.anchor();
                let position = anchors
                    .iter()
                    .position(|candidate| std::ptr::eq(candidate, used))?;
                let anchor = self.cas.get(*places.get(position)?)?;
                let intermediates = path
                    .intermediate_certificates()
                    .map(|intermediate| self.intermediate_shown_as(intermediate.der().as_ref()))
                    .collect::<Option<_>>()?;
                Some((anchor, intermediates))
            };
        // Each candidate path webpki verifies is held to the email constraints and, with CRLs,
        // checked for revocation (`revocation.rs`), so a path refused here lets webpki try the
        // others; the reason is kept for the refusal.
        let refusal = std::cell::RefCell::new(None::<Denied>);
        let keep = |denied: Denied| {
            let mut kept = refusal.borrow_mut();
            if !matches!(*kept, Some(Denied::Revoked)) {
                *kept = Some(denied);
            }
        };
        let check_path = |path: &webpki::VerifiedPath<'_>| -> Result<(), WebpkiError> {
            let Some((anchor, intermediates)) = resolve(path) else {
                return Err(WebpkiError::UnknownIssuer);
            };
            check_email_constraints(cert, &intermediates, anchor).map_err(|denied| {
                keep(denied);
                WebpkiError::NameConstraintViolation
            })?;
            if crls.is_empty() {
                return Ok(());
            }
            crls.check_path(path, now, self.clock_skew)
                .map_err(|denied| {
                    let error = match denied {
                        Denied::Revoked => WebpkiError::CertRevoked,
                        _ => WebpkiError::UnknownRevocationStatus,
                    };
                    keep(denied);
                    error
                })
        };
        let path = end_entity
            .verify_for_usage(
                algorithms,
                &anchors,
                &self.shown_intermediates,
                time,
                KeyUsage::client_auth(),
                None,
                Some(&check_path),
            )
            .map_err(|error| {
                // webpki reports the most specific error over every candidate path, so a
                // same-named CA's signature failure can hide the real path's refusal here (a
                // rollover): a path that verified and was refused by this check says why.
                let kept = refusal.borrow_mut().take();
                match (map_error(error, now), kept) {
                    (
                        Denied::Untrusted { .. }
                        | Denied::Revoked
                        | Denied::RevocationUnknown { .. },
                        Some(denied),
                    ) => denied,
                    (denied, _) => self.name_unusable_issuer(cert, denied),
                }
            })?;
        let (anchor, path) = resolve(&path).ok_or_else(|| Denied::Untrusted {
            reason: "verified anchor or intermediate is not configured".to_owned(),
        })?;
        Ok(VerifiedChain::of(&path, anchor))
    }

    /// The anchors whose certificates are valid at `now` (plus the skew), and their places in
    /// `cas`; borrowed when all of them are, which is the usual case.
    fn anchors_valid_at(
        &self,
        now: u64,
    ) -> (
        std::borrow::Cow<'_, [TrustAnchor<'static>]>,
        std::borrow::Cow<'_, [usize]>,
    ) {
        use std::borrow::Cow;
        let (from, until) = self.all_anchors_valid;
        let skew = self.clock_skew;
        if now.saturating_add(skew) >= from && now <= until.saturating_add(skew) {
            return (
                Cow::Borrowed(&self.anchors),
                Cow::Borrowed(&self.anchor_cas),
            );
        }
        let places: Vec<usize> = self
            .anchor_cas
            .iter()
            .copied()
            .filter(|index| {
                self.cas[*index]
                    .facts
                    .validity
                    .as_ref()
                    .is_some_and(|window| window.contains(now, skew))
            })
            .collect();
        let anchors = places
            .iter()
            .map(|index| self.cas[*index].anchor.clone())
            .collect();
        (Cow::Owned(anchors), Cow::Owned(places))
    }

    /// The configured intermediate webpki was shown as `der`.
    fn intermediate_shown_as(&self, der: &[u8]) -> Option<&Intermediate> {
        let position = self
            .shown_intermediates
            .iter()
            .position(|candidate| candidate.as_ref() == der)?;
        self.intermediates.get(*self.shown_places.get(position)?)
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
#[path = "trust_tests.rs"]
mod tests;
