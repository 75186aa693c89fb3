//! Who may sign a CRL (the configured anchors and intermediates), and checking that one did:
//! the signature over the raw TBSCertList bytes, with the key of each configured CA that bears
//! the CRL's issuer name, by webpki's algorithms (ring), before a single entry is read.

use rustls_pki_types::CertificateDer;

use super::certificate::{CertificateFields, public_key};
use crate::client_cert::ca_certificate::may_sign_crls;

/// The configured CA certificates a CRL may come from, read once.
#[derive(Debug, Default, Clone)]
pub struct CrlIssuers {
    issuers: Vec<CrlIssuer>,
}

#[derive(Debug, Clone)]
struct CrlIssuer {
    subject: Box<[u8]>,
    spki: Box<[u8]>,
    may_sign: bool,
}

/// A configured CA whose key verified a CRL's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signer {
    /// Its SubjectPublicKeyInfo's content.
    pub spki: Box<[u8]>,
    /// It has no keyUsage, or one with cRLSign (webpki's rule, anchors included).
    pub may_sign: bool,
}

/// Whether the configured CAs of a CRL's issuer name vouch for its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signature {
    /// Verified with the key of each of these.
    Verified(Vec<Signer>),
    /// No configured CA bears the CRL's issuer name (a CRL file of an issuer that is not
    /// configured): it can still refuse a certificate it lists, never vouch for one.
    NoConfiguredIssuer,
    /// Configured CAs bear the name, and none of their keys verifies it.
    DoesNotVerify,
}

impl CrlIssuers {
    /// Every certificate of `ders` that reads as one (anchors, then intermediates).
    pub fn new(ders: &[CertificateDer<'_>]) -> Self {
        let issuers = ders
            .iter()
            .filter_map(|der| {
                let fields = CertificateFields::read(der.as_ref()).ok()?;
                Some(CrlIssuer {
                    subject: fields.subject.into(),
                    spki: fields.spki.into(),
                    may_sign: may_sign_crls(der.as_ref()),
                })
            })
            .collect();
        Self { issuers }
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Checks the signature of a CRL from `issuer` (Name content) over `tbs` (the whole
    /// TBSCertList encoding) with `algorithm` (AlgorithmIdentifier content) and `signature`.
    pub(super) fn check(
        &self,
        issuer: &[u8],
        tbs: &[u8],
        algorithm: &[u8],
        signature: &[u8],
    ) -> Signature {
        let mut named = self
            .issuers
            .iter()
            .filter(|candidate| *candidate.subject == *issuer)
            .peekable();
        if named.peek().is_none() {
            return Signature::NoConfiguredIssuer;
        }
        let signers: Vec<Signer> = named
            .filter(|candidate| verify(&candidate.spki, algorithm, tbs, signature))
            .map(|candidate| Signer {
                spki: candidate.spki.clone(),
                may_sign: candidate.may_sign,
            })
            .collect();
        if signers.is_empty() {
            Signature::DoesNotVerify
        } else {
            Signature::Verified(signers)
        }
    }
}

/// Whether `signature` over `message` verifies with the key of `spki` (content), by the
/// webpki algorithm whose identifiers match the signature's and the key's (webpki's own rule).
fn verify(spki: &[u8], algorithm: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok((key_algorithm, key)) = public_key(spki) else {
        return false;
    };
    webpki::ALL_VERIFICATION_ALGS
        .iter()
        .filter(|supported| supported.signature_alg_id().as_ref() == algorithm)
        .filter(|supported| supported.public_key_alg_id().as_ref() == key_algorithm)
        .any(|supported| supported.verify_signature(key, message, signature).is_ok())
}

impl Signature {
    /// Whether the CA certificate with key `spki` (content) signed it and may sign CRLs.
    pub(crate) fn is_by(&self, spki: &[u8]) -> Option<bool> {
        let Self::Verified(signers) = self else {
            return None;
        };
        let mut by_key = signers
            .iter()
            .filter(|signer| *signer.spki == *spki)
            .peekable();
        by_key.peek()?;
        Some(by_key.all(|signer| signer.may_sign))
    }

    /// Whether some configured CA signed it and may sign CRLs.
    pub(crate) fn by_a_crl_signer(&self) -> bool {
        matches!(self, Self::Verified(signers) if signers.iter().any(|signer| signer.may_sign))
    }

    /// Whether `self` and `other` come from the same signer: both verified with a key in
    /// common, or both unverified (no configured key of the name to tell them apart by).
    pub(crate) fn same_signer(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Verified(_), Self::Verified(_)) => self
                .keys()
                .any(|key| other.keys().any(|theirs| theirs == key)),
            (Self::Verified(_), _) | (_, Self::Verified(_)) => false,
            _ => true,
        }
    }

    /// The keys that verified it (none when unverified).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &[u8]> {
        let signers: &[Signer] = match self {
            Self::Verified(signers) => signers,
            _ => &[],
        };
        signers.iter().map(|signer| &*signer.spki)
    }
}
