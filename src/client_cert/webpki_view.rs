//! What webpki is shown of the configured CA certificates, where it cannot evaluate what they
//! say as RFC 5280 means it:
//!
//! - **rfc822Name constraints.** webpki refuses every certificate with an email address below
//!   a CA that constrains them, so the CA would vouch for nobody. It is shown the CA without its
//!   email subtrees (an anchor's stored constraints, or an intermediate re-encoded), and
//!   `trust.rs` holds the verified path to them (`email_constraints.rs`).
//! - **Self-issued intermediates** (subject = issuer: a CA's key rollover certificate). RFC 5280
//!   exempts them from the name constraints of the CAs above them; webpki checks every
//!   certificate of the path. It is shown them without their subjectAltName, which is all that
//!   name constraints read in a CA certificate besides the subject.
//!
//! A re-encoded intermediate no longer carries its issuer's signature, so webpki is given its
//! own verification algorithms wrapped ([`Algorithms`]): asked to verify a signature over a
//! shown tbsCertificate, they verify it over the original one, with the key webpki hands them.
//! What is verified is exactly that the issuer signed the original certificate; everything else
//! webpki checks (validity, basic constraints, path length, EKU, the other name constraints,
//! revocation) reads the shown certificate, which says the same. Deployments without such CA
//! certificates (nearly all) get webpki's algorithms unwrapped.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::{
    AlgorithmIdentifier, Der, FipsStatus, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor,
};

use super::der::{Tlv, elements, encode};
use super::subtrees::NameConstraints;

/// 2.5.29.30 and 2.5.29.17, the content of their OBJECT IDENTIFIERs.
const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const SEQUENCE: u8 = 0x30;
const OCTET_STRING: u8 = 0x04;
const EXTENSIONS: u8 = 0xa3;

/// What to leave out of an intermediate for webpki.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Omit {
    pub email_constraints: bool,
    pub subject_alt_name: bool,
}

/// An intermediate as webpki is shown it: its DER, its tbsCertificate and the original
/// tbsCertificate, which its signature covers.
#[derive(Clone)]
pub(crate) struct Shown {
    pub der: Vec<u8>,
    tbs: Vec<u8>,
    original_tbs: Vec<u8>,
}

/// webpki's verification algorithms, each mapping a shown tbsCertificate to its original.
pub(crate) struct Algorithms {
    mapped: Vec<Mapped>,
}

struct Mapped {
    inner: &'static dyn SignatureVerificationAlgorithm,
    /// (shown tbsCertificate, original tbsCertificate).
    shown: Arc<[(Vec<u8>, Vec<u8>)]>,
}

/// `der` re-encoded without what `omit` names; `None` when that changes nothing (or `der` is
/// not certificate-shaped DER: then webpki is shown the original and judges it).
pub(crate) fn show_intermediate(der: &[u8], omit: Omit) -> Option<Shown> {
    let [certificate] = elements(der)?[..] else {
        return None;
    };
    let [tbs, algorithm, signature] = elements(certificate.content)?[..] else {
        return None;
    };
    let mut fields = Vec::with_capacity(tbs.content.len());
    let mut changed = false;
    for field in elements(tbs.content)? {
        if field.identifier == EXTENSIONS {
            let (kept, dropped) = extensions_without(field, omit)?;
            fields.extend(kept);
            changed |= dropped;
        } else {
            fields.extend_from_slice(field.encoding);
        }
    }
    if !changed {
        return None;
    }
    let shown_tbs = encode(SEQUENCE, &fields);
    let der = encode(
        SEQUENCE,
        &[&shown_tbs, algorithm.encoding, signature.encoding].concat(),
    );
    Some(Shown {
        der,
        tbs: shown_tbs,
        original_tbs: tbs.encoding.to_vec(),
    })
}

/// The `[3] { SEQUENCE OF Extension }` field without what `omit` names (empty when nothing
/// is left), and whether anything was left out.
fn extensions_without(field: Tlv<'_>, omit: Omit) -> Option<(Vec<u8>, bool)> {
    let [list] = elements(field.content)?[..] else {
        return None;
    };
    let mut kept = Vec::with_capacity(list.content.len());
    let mut changed = false;
    for extension in elements(list.content)? {
        let parts = elements(extension.content)?;
        let (oid, value) = (parts.first()?, parts.last()?);
        if oid.content == SUBJECT_ALT_NAME && omit.subject_alt_name {
            changed = true;
        } else if oid.content == NAME_CONSTRAINTS && omit.email_constraints {
            let constraints = NameConstraints::read_extension_value(value.content).ok()?;
            changed |= constraints.has_email();
            if let Some(content) = constraints.without_email() {
                let value = encode(OCTET_STRING, &encode(SEQUENCE, &content));
                let before_value: Vec<u8> = parts[..parts.len() - 1]
                    .iter()
                    .flat_map(|part| part.encoding.iter().copied())
                    .collect();
                kept.extend(encode(SEQUENCE, &[before_value, value].concat()));
            }
        } else {
            kept.extend_from_slice(extension.encoding);
        }
    }
    if kept.is_empty() {
        return Some((Vec::new(), changed));
    }
    Some((encode(EXTENSIONS, &encode(SEQUENCE, &kept)), changed))
}

/// `anchor` with the email subtrees of its name constraints left out (no constraints when
/// nothing else is left); unchanged when it has none.
pub(crate) fn show_anchor(anchor: TrustAnchor<'static>) -> TrustAnchor<'static> {
    let shown = match &anchor.name_constraints {
        Some(content) => match NameConstraints::read_content(content.as_ref()) {
            Ok(constraints) if constraints.has_email() => constraints.without_email(),
            _ => return anchor,
        },
        None => return anchor,
    };
    TrustAnchor {
        name_constraints: shown.map(Der::from),
        ..anchor
    }
}

// === impl Algorithms ===

impl Algorithms {
    /// The wrapped algorithms for `shown` intermediates; `None` when there are none.
    pub(crate) fn new(shown: &[Shown]) -> Option<Self> {
        if shown.is_empty() {
            return None;
        }
        let pairs: Arc<[(Vec<u8>, Vec<u8>)]> = shown
            .iter()
            .map(|shown| (shown.tbs.clone(), shown.original_tbs.clone()))
            .collect();
        let mapped = webpki::ALL_VERIFICATION_ALGS
            .iter()
            .map(|inner| Mapped {
                inner: *inner,
                shown: Arc::clone(&pairs),
            })
            .collect();
        Some(Self { mapped })
    }

    /// The algorithms as webpki takes them.
    pub(crate) fn as_refs(&self) -> Vec<&dyn SignatureVerificationAlgorithm> {
        self.mapped
            .iter()
            .map(|mapped| mapped as &dyn SignatureVerificationAlgorithm)
            .collect()
    }
}

impl fmt::Debug for Algorithms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.mapped.first().map_or(0, |mapped| mapped.shown.len());
        write!(
            f,
            "Algorithms({} wrapped, {shown} shown)",
            self.mapped.len()
        )
    }
}

impl fmt::Debug for Mapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mapped({:?})", self.inner)
    }
}

impl SignatureVerificationAlgorithm for Mapped {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let message = self
            .shown
            .iter()
            .find(|(shown, _)| shown.as_slice() == message)
            .map_or(message, |(_, original)| original.as_slice());
        self.inner.verify_signature(public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips_status(&self) -> FipsStatus {
        self.inner.fips_status()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}
