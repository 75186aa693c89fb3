//! One CRL, read so that what a file or a distribution point (or anyone on its plain-HTTP path)
//! sends costs little more than its own bytes, and nothing before its signature is checked.
//!
//! [`Crl::read`] walks the CRL in place (`tlv`): the outer structure and the TBSCertList's
//! header fields first, then the signature over the raw TBS bytes with the key of each
//! configured CA of the issuer's name (`signature`), and only then the extensions
//! (`extensions`) and the entries, which are checked one by one and indexed compactly
//! (`serials`). Nothing borrows the DER afterwards: the caller drops it, and a CRL is held as
//! this one compact form only, shared by `Arc` between the CRL set and its source.
//!
//! What is refused: anything that is not DER in the shortest-length form, a version 1 CRL,
//! a CRL without nextUpdate, a critical extension or entry extension not understood, indirect
//! CRLs (certificateIssuer, indirectCRL), CRLs partitioned by reason (onlySomeReasons) or
//! naming their point relative to the issuer, and an entry whose serial is not a minimal
//! INTEGER. Delta CRLs (deltaCRLIndicator) and partitions (issuingDistributionPoint) are read;
//! what they cover is `revocation.rs`'s to decide.

mod certificate;
mod extensions;
mod serials;
mod signature;
mod tlv;

pub(crate) use certificate::CertificateFields;
pub(crate) use extensions::certificate_distribution_points;
pub use serials::Listing;
pub use signature::CrlIssuers;
pub(crate) use signature::Signature;
pub use tlv::Malformed;

use serials::Serials;
use tlv::Reader;

/// One CRL, checked and indexed.
#[derive(Debug)]
pub struct Crl {
    /// The issuer Name's content (as webpki gives a certificate's issuer).
    issuer: Box<[u8]>,
    /// The issuer, rendered (RFC 4514), for logs.
    issuer_text: String,
    this_update: i64,
    next_update: i64,
    /// cRLNumber, big-endian without leading zero octets (`[0]` for zero).
    number: Option<Box<[u8]>>,
    /// deltaCRLIndicator's BaseCRLNumber, the same way: this is a delta CRL.
    delta_base: Option<Box<[u8]>>,
    scope: Scope,
    /// freshestCRL's URIs (the first few, cut short): the CRL announces delta CRLs there.
    freshest: Option<Vec<String>>,
    signature: Signature,
    serials: Serials,
}

/// What an issuingDistributionPoint limits a CRL to (the default: every certificate of its
/// issuer).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// The distributionPoint field's encoding: a partition, and which one.
    point: Option<Box<[u8]>>,
    /// The partition's URIs, which a certificate's cRLDistributionPoints must name.
    uris: Vec<Box<[u8]>>,
    only_user_certs: bool,
    only_ca_certs: bool,
}

/// Where a certificate sits on its path, for a CRL's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    EndEntity,
    Ca,
}

/// Whether a CRL must be signed by a configured CA to be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRule {
    /// A distribution point's: a configured CA of the issuer's name whose key verifies it
    /// and may sign CRLs, or it is refused before its entries are read.
    Required,
    /// A file's: whether it verifies is recorded (a file of an issuer that is not configured
    /// can still refuse the certificates it lists).
    Recorded,
}

/// Why a CRL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlProblem {
    #[error("malformed: {0}")]
    Der(Malformed),
    #[error("{0}")]
    Malformed(&'static str),
    #[error(
        "it is a version 1 CRL, which is not supported: make a version 2 CRL (with openssl, give \
         the CA a crlnumber file, e.g. `echo 1000 > crlnumber` and `crlnumber = $dir/crlnumber` \
         in its section, then run `openssl ca -gencrl` again)"
    )]
    Version1,
    #[error("the signature algorithm inside the crl differs from the one it is signed with")]
    AlgorithmMismatch,
    #[error("no nextUpdate")]
    NoNextUpdate,
    #[error("sha-1 signatures are not accepted")]
    WeakSignature,
    #[error("no configured ca is named {issuer:?}, the crl's issuer")]
    UnknownIssuer { issuer: String },
    #[error("the signature does not verify with the key of any configured ca named {issuer:?}")]
    BadSignature { issuer: String },
    #[error("the ca {issuer:?} may not sign crls (its key usage lacks cRLSign)")]
    NotCrlSigner { issuer: String },
    #[error("it carries a critical extension that is not understood ({0})")]
    UnknownCriticalExtension(String),
    #[error("it carries the extension {0} twice")]
    DuplicateExtension(String),
    #[error("the crl number is not a non-negative integer of at most 20 octets")]
    BadCrlNumber,
    #[error(
        "the crl has no crl number (RFC 5280 §5.2.3 requires one: it orders an issuer's crls; \
         with openssl, give the CA a crlnumber file)"
    )]
    NoCrlNumber,
    #[error("the crl number is marked critical (RFC 5280 §5.2.3: non-critical)")]
    CriticalCrlNumber,
    #[error("an indirect crl (entries for other issuers), which is not supported")]
    Indirect,
    #[error("a crl partitioned by revocation reason (onlySomeReasons), which is not supported")]
    ReasonPartitioned,
    #[error("an issuingDistributionPoint named relative to the issuer, which is not supported")]
    RelativePointName,
    #[error("a crl of attribute certificates only")]
    AttributeCertificates,
    #[error(
        "entry {index}: the serial {serial} is not minimal DER (a needless leading octet), so it \
         could never match a certificate's; a CRL must be DER"
    )]
    NonMinimalSerial { index: usize, serial: String },
    #[error("entry {index}: {what}")]
    Entry { index: usize, what: &'static str },
}

impl From<Malformed> for CrlProblem {
    fn from(malformed: Malformed) -> Self {
        Self::Der(malformed)
    }
}

/// How many of a CRL's freshestCRL URIs are kept (for messages), and how much of each.
const MAX_ANNOUNCED_URIS: usize = 4;
const MAX_ANNOUNCED_URI_BYTES: usize = 256;

/// sha1WithRSAEncryption (both OIDs) and ecdsa-with-SHA1, as AlgorithmIdentifier OIDs.
const SHA1_ALGORITHMS: [&[u8]; 3] = [
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
    &[0x2b, 0x0e, 0x03, 0x02, 0x1d],
    &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],
];

/// The TBSCertList's fields before anything is checked.
struct Header<'a> {
    algorithm: &'a [u8],
    issuer: tlv::Element<'a>,
    this_update: i64,
    next_update: i64,
    revoked: &'a [u8],
    extensions: Option<&'a [u8]>,
}

impl Crl {
    /// Reads `der` (one CRL) against `issuers`: the signature first, then the rest.
    ///
    /// # Errors
    /// [`CrlProblem`] saying why it cannot be used; with [`SignatureRule::Required`], a CRL
    /// no configured CA signed is refused before its extensions and entries are read.
    pub fn read(der: &[u8], issuers: &CrlIssuers, rule: SignatureRule) -> Result<Self, CrlProblem> {
        let mut parts = Reader::new(tlv::single(der, tlv::SEQUENCE, "not a sequence")?);
        let tbs = parts.expect_element(tlv::SEQUENCE, "no tbsCertList")?;
        let algorithm = parts.expect(tlv::SEQUENCE, "no signature algorithm")?;
        let signature_bits =
            certificate::bit_string(parts.expect(tlv::BIT_STRING, "no signature")?)?;
        parts.finish("trailing bytes after the signature")?;
        let header = Header::read(tbs.value)?;
        if header.algorithm != algorithm {
            return Err(CrlProblem::AlgorithmMismatch);
        }
        let issuer_text = render(header.issuer.encoding);
        let is_sha1 = Reader::new(algorithm)
            .expect(tlv::OID, "no algorithm")
            .is_ok_and(|oid| SHA1_ALGORITHMS.contains(&oid));
        if rule == SignatureRule::Required && is_sha1 {
            return Err(CrlProblem::WeakSignature);
        }
        let signature = issuers.check(header.issuer.value, tbs.encoding, algorithm, signature_bits);
        if rule == SignatureRule::Required {
            let issuer = issuer_text.clone();
            match &signature {
                Signature::NoConfiguredIssuer => return Err(CrlProblem::UnknownIssuer { issuer }),
                Signature::DoesNotVerify => return Err(CrlProblem::BadSignature { issuer }),
                verified if !verified.by_a_crl_signer() => {
                    return Err(CrlProblem::NotCrlSigner { issuer });
                }
                Signature::Verified(_) => {}
            }
        }
        // Only a CRL a configured CA signed, or a file, gets this far.
        let found = match header.extensions {
            Some(explicit) => extensions::crl_extensions(explicit)?,
            None => extensions::CrlExtensions::default(),
        };
        // The number orders an issuer's CRLs (which is newest, whether a point went back), so a
        // CRL without one could pass a stale copy for the current one (RFC 5280 §5.2.3).
        let number = found.number.ok_or(CrlProblem::NoCrlNumber)?;
        let serials = Serials::read(header.revoked)?;
        Ok(Self {
            issuer: header.issuer.value.into(),
            issuer_text,
            this_update: header.this_update,
            next_update: header.next_update,
            number: Some(magnitude(number)),
            delta_base: found.delta_base.map(magnitude),
            scope: found.scope.map(Scope::from).unwrap_or_default(),
            freshest: found.freshest.map(|uris| {
                uris.iter()
                    .take(MAX_ANNOUNCED_URIS)
                    .map(|uri| {
                        let uri = &uri[..uri.len().min(MAX_ANNOUNCED_URI_BYTES)];
                        String::from_utf8_lossy(uri).into_owned()
                    })
                    .collect()
            }),
            signature,
            serials,
        })
    }

    /// The issuer Name's content.
    pub(crate) fn issuer(&self) -> &[u8] {
        &self.issuer
    }

    /// The issuer, RFC 4514.
    pub fn issuer_text(&self) -> &str {
        &self.issuer_text
    }

    /// thisUpdate, unix seconds.
    pub fn this_update(&self) -> i64 {
        self.this_update
    }

    /// nextUpdate, unix seconds.
    pub fn next_update(&self) -> i64 {
        self.next_update
    }

    /// The CRL number, big-endian without leading zero octets.
    pub fn number(&self) -> Option<&[u8]> {
        self.number.as_deref()
    }

    /// For a delta CRL, the number of the base CRL it starts from.
    pub fn delta_base(&self) -> Option<&[u8]> {
        self.delta_base.as_deref()
    }

    pub fn is_delta(&self) -> bool {
        self.delta_base.is_some()
    }

    /// Where the CRL says its delta CRLs are published, when it announces any (freshestCRL).
    pub fn announced_deltas(&self) -> Option<&[String]> {
        self.freshest.as_deref()
    }

    pub(crate) fn scope(&self) -> &Scope {
        &self.scope
    }

    pub(crate) fn signature(&self) -> &Signature {
        &self.signature
    }

    /// What the CRL says of `serial` (an INTEGER's content).
    pub fn listing(&self, serial: &[u8]) -> Listing {
        self.serials.listing(serial)
    }

    /// How many entries it has.
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.serials.len() == 0
    }

    /// The heap its entries hold, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.serials.heap_bytes()
    }

    /// Whether `other` is of the same series: the same issuer name, scope and signer, and
    /// both base CRLs or both deltas (only the newest of a series is held). Two CAs that share
    /// a name but not a key (a rollover) publish two series: the one's CRL must not set the
    /// other's aside, or what the other lists would go unrefused and its certificates
    /// uncovered.
    pub(crate) fn same_series(&self, other: &Self) -> bool {
        same_series(self.series_parts(), other.series_parts())
    }

    /// Its series, without its entries (what a distribution point remembers of what it
    /// served).
    pub fn series(&self) -> Series {
        Series {
            issuer: self.issuer.clone(),
            scope: self.scope.clone(),
            delta: self.is_delta(),
            signature: self.signature.clone(),
        }
    }

    fn series_parts(&self) -> SeriesParts<'_> {
        (&self.issuer, &self.scope, self.is_delta(), &self.signature)
    }
}

/// A CRL's series: issuer name, scope (issuingDistributionPoint), kind (base or delta) and
/// signer (the configured keys that verify it). The CRL set holds the newest CRL of each.
#[derive(Debug, Clone)]
pub struct Series {
    issuer: Box<[u8]>,
    scope: Scope,
    delta: bool,
    signature: Signature,
}

impl Series {
    /// Whether `crl` is of this series.
    pub fn holds(&self, crl: &Crl) -> bool {
        same_series(
            (&self.issuer, &self.scope, self.delta, &self.signature),
            crl.series_parts(),
        )
    }
}

/// Issuer name, scope, whether a delta, signature.
type SeriesParts<'a> = (&'a [u8], &'a Scope, bool, &'a Signature);

fn same_series(left: SeriesParts<'_>, right: SeriesParts<'_>) -> bool {
    left.0 == right.0 && left.1 == right.1 && left.2 == right.2 && left.3.same_signer(right.3)
}

impl<'a> Header<'a> {
    fn read(tbs: &'a [u8]) -> Result<Self, CrlProblem> {
        let mut fields = Reader::new(tbs);
        match fields.optional(tlv::INTEGER)? {
            Some([0x01]) => {}
            Some(_) => return Err(CrlProblem::Malformed("a crl version other than 2")),
            None => return Err(CrlProblem::Version1),
        }
        let algorithm =
            fields.expect(tlv::SEQUENCE, "no signature algorithm in the tbsCertList")?;
        let issuer = fields.expect_element(tlv::SEQUENCE, "no issuer")?;
        let this_update = tlv::time(fields.read()?)?;
        let next_update = match fields.peek_tag() {
            Some(tlv::UTC_TIME | tlv::GENERALIZED_TIME) => tlv::time(fields.read()?)?,
            _ => return Err(CrlProblem::NoNextUpdate),
        };
        let revoked = fields.optional(tlv::SEQUENCE)?.unwrap_or(&[]);
        let extensions = fields.optional(tlv::constructed(0))?;
        fields.finish("trailing fields in the tbsCertList")?;
        Ok(Self {
            algorithm,
            issuer,
            this_update,
            next_update,
            revoked,
            extensions,
        })
    }
}

impl From<extensions::IssuingDistributionPoint<'_>> for Scope {
    fn from(point: extensions::IssuingDistributionPoint<'_>) -> Self {
        Self {
            point: point.point.map(Into::into),
            uris: point.uris.into_iter().map(Into::into).collect(),
            only_user_certs: point.only_user_certs,
            only_ca_certs: point.only_ca_certs,
        }
    }
}

impl Scope {
    /// Whether a CRL of this scope covers a certificate in `role` whose cRLDistributionPoints
    /// name `points` (URIs). A partition covers only a certificate that names one of its
    /// URIs: one without cRLDistributionPoints is in no partition (RFC 5280 §6.3.3).
    pub(crate) fn covers(&self, role: Role, points: &[&[u8]]) -> bool {
        if (self.only_user_certs && role != Role::EndEntity)
            || (self.only_ca_certs && role != Role::Ca)
        {
            return false;
        }
        self.point.is_none() || self.uris.iter().any(|uri| points.contains(&&**uri))
    }
}

/// An INTEGER's content as a magnitude: no leading zero octets (`[0]` for zero).
fn magnitude(content: &[u8]) -> Box<[u8]> {
    let trimmed: Vec<u8> = content
        .iter()
        .copied()
        .skip_while(|octet| *octet == 0)
        .collect();
    if trimmed.is_empty() {
        Box::new([0])
    } else {
        trimmed.into_boxed_slice()
    }
}

/// Compares two magnitudes (from [`magnitude`]) as numbers.
pub(crate) fn compare_numbers(left: &[u8], right: &[u8]) -> std::cmp::Ordering {
    left.len().cmp(&right.len()).then_with(|| left.cmp(right))
}

/// The largest issuer Name (whole encoding) rendered as text: a CA's name is a few hundred
/// bytes. A larger one, which only a CRL no configured CA signed can carry, is described by
/// its size: it is rendered before the signature is looked at, and its text goes into the
/// refusal that is logged, so rendering it whole would cost many times its bytes.
const MAX_RENDERED_NAME_BYTES: usize = 1024;
/// The longest issuer text kept (in characters).
const MAX_NAME_TEXT_CHARS: usize = 512;

/// A Name (its whole encoding) rendered as RFC 4514, or `#<hex>` when x509-parser cannot read
/// it, at most [`MAX_NAME_TEXT_CHARS`] characters; a Name over [`MAX_RENDERED_NAME_BYTES`] is
/// not parsed at all.
fn render(name: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    if name.len() > MAX_RENDERED_NAME_BYTES {
        return format!("(a name of {} bytes, not rendered)", name.len());
    }
    let text = match x509_parser::x509::X509Name::from_der(name) {
        Ok((_, parsed)) => super::name::Name::read(&parsed).rfc4514,
        Err(_) => format!("#{}", serials::hex(name)),
    };
    match text.char_indices().nth(MAX_NAME_TEXT_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests;
