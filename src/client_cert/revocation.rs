//! The CRLs in force, and what they say about a certificate.
//!
//! CRLs come from configured files (`crl_files.rs`, reloaded by `reload.rs`) and from
//! distribution points (`crate::crl_source`); they are never fetched on the request path. Each
//! is read once (`crl`) into a compact form shared by `Arc`; a decision looks serials up in it
//! and never parses a CRL again.
//!
//! **One CRL per series.** A series is one issuer name, one scope (its issuingDistributionPoint:
//! which partition, which kinds of certificate), one kind (base or delta) and one signer (the
//! configured key that verifies it; the unverified CRLs of a name are one series). The set holds the
//! newest CRL of each series (highest CRL number, then latest thisUpdate) from all files and
//! distribution points, so a stale file or a lagging mirror cannot hide a fresher CRL;
//! [`CrlSet::set_aside`] lists the others, which startup and every install log as warnings.
//! Partitions are kept apart by their distribution point, so a certificate is judged by the
//! partition it names.
//!
//! **What a certificate's status is** (`CrlSet::check_path` for each certificate below the
//! anchor on a verified path, `CrlSet::check_unchained` for one admitted without a path):
//! - *revoked* when any usable CRL of its issuer's name (thisUpdate not after now plus the
//!   skew; past its nextUpdate or not, verified or not) lists its serial, unless the delta
//!   applied to that base takes the entry back (removeFromCRL);
//! - *not revoked* when a base CRL of its issuer's name covers it: its scope includes the
//!   certificate (a partition only a certificate whose cRLDistributionPoints name it), it is
//!   current, it is signed by the issuer's key (on a path; without one, by any configured CA
//!   of that name, or it is the file of an issuer that is not configured) which may sign CRLs,
//!   and, when it announces delta CRLs (freshestCRL) or one applies to it, that delta is
//!   held and meets the same rules;
//! - *unknown* otherwise, with the reason; no CRL of its issuer's name at all is unknown on a
//!   path, and leaves an unchained (pinned) certificate to its pin.
//!
//! A delta applies to a base of the same series and key when its BaseCRLNumber is at most the
//! base's CRL number and its own number is above it (RFC 5280 §5.2.4).

use std::sync::Arc;

use webpki::VerifiedPath;

use super::Denied;
use super::crl::{
    CertificateFields, Crl, Listing, Role, Signature, certificate_distribution_points,
    compare_numbers,
};

/// Every CRL in force: the newest of each series (see the module documentation).
#[derive(Default)]
pub struct CrlSet {
    entries: Vec<Held>,
    /// The CRLs left out because a newer one of the same series is held.
    set_aside: Vec<SetAside>,
}

/// One CRL in force and where it came from (a file path or a URL, for logs).
#[derive(Clone)]
struct Held {
    crl: Arc<Crl>,
    source: String,
}

/// A CRL left out of the set because another CRL of the same series is newer (a higher CRL
/// number, or with equal or missing numbers a later thisUpdate) or equally new and held first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub issuer: String,
    /// Where the CRL in force came from, and the one set aside.
    pub kept: String,
    pub dropped: String,
}

/// A base CRL that announces delta CRLs while none that applies to it is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingDelta {
    pub issuer: String,
    pub source: String,
    /// Where the base says its deltas are published (freshestCRL).
    pub published_at: Vec<String>,
}

/// A CRL in force that can refuse the certificates it lists but vouch for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unvouched {
    pub issuer: String,
    pub source: String,
    pub reason: &'static str,
}

/// What the CRLs in force say about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    NotRevoked,
    Revoked,
    Unknown(String),
    /// No CRL of its issuer's name is held at all.
    NoCrl,
}

/// The certificate a status is asked for.
struct Subject<'a> {
    issuer: &'a [u8],
    serial: &'a [u8],
    role: Role,
    points: Vec<&'a [u8]>,
}

/// Whose signature makes a CRL vouch.
#[derive(Clone, Copy)]
enum Voucher<'a> {
    /// The key (SubjectPublicKeyInfo content) of the certificate's issuer on its path.
    Key(&'a [u8]),
    /// Any configured CA of the issuer's name (a certificate without a path).
    AnyConfigured,
}

/// Why no CRL vouches for a certificate, least telling first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    FromTheFuture,
    NoBase,
    NoPartition,
    NotSigned(&'static str),
    Expired,
    Delta(String),
}

impl std::fmt::Debug for CrlSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlSet")
            .field("count", &self.entries.len())
            .field("earliest_next_update", &self.earliest_next_update())
            .field("set_aside", &self.set_aside)
            .finish()
    }
}

impl CrlSet {
    /// The newest CRL of each series of `crls`, each with where it came from; equally new
    /// ones keep the first (files before URLs).
    pub fn from_crls(crls: impl IntoIterator<Item = (String, Arc<Crl>)>) -> Self {
        let mut set = Self::default();
        for (source, crl) in crls {
            set.push(Held { crl, source });
        }
        set
    }

    /// Adds `new`, keeping one CRL per series: the newer of `new` and the one held, which
    /// keeps its place (so files stay first); the other is recorded as set aside.
    fn push(&mut self, new: Held) {
        let held = self
            .entries
            .iter_mut()
            .find(|held| held.crl.same_series(&new.crl));
        let Some(held) = held else {
            self.entries.push(new);
            return;
        };
        let (kept, dropped) = if is_newer(&new.crl, &held.crl) {
            let dropped = std::mem::replace(held, new);
            (held.source.clone(), dropped.source)
        } else {
            (held.source.clone(), new.source)
        };
        self.set_aside.push(SetAside {
            issuer: held.crl.issuer_text().to_owned(),
            kept,
            dropped,
        });
    }

    /// The CRLs left out because a newer CRL of the same series is held.
    pub fn set_aside(&self) -> &[SetAside] {
        &self.set_aside
    }

    /// `self`'s CRLs, then `other`'s (files first, then fetched ones), the newest of each
    /// series wherever it came from. The CRLs are shared, not copied.
    pub fn joined(&self, other: &Self) -> Self {
        let mut set = Self {
            set_aside: self.set_aside.clone(),
            ..Self::default()
        };
        set.set_aside.extend(other.set_aside.iter().cloned());
        for held in self.entries.iter().chain(&other.entries) {
            set.push(held.clone());
        }
        set
    }

    /// Where each CRL in force came from, in order (tests).
    #[cfg(test)]
    pub(crate) fn sources(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|held| held.source.clone())
            .collect()
    }

    /// Each CRL in force's CRL number, in order (tests).
    #[cfg(test)]
    pub(crate) fn numbers(&self) -> Vec<Option<Vec<u8>>> {
        self.entries
            .iter()
            .map(|held| held.crl.number().map(<[u8]>::to_vec))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest nextUpdate (unix seconds) of any CRL in force.
    pub fn earliest_next_update(&self) -> Option<u64> {
        self.entries
            .iter()
            .map(|held| unix(held.crl.next_update()))
            .min()
    }

    /// The earliest nextUpdate after `now`: when a decision made now may stop being true. A
    /// CRL already past its nextUpdate changes nothing later (what it covers is unknown until a
    /// new one is installed, which clears the cache), so it must not stop caching for everyone.
    pub fn earliest_next_update_after(&self, now: u64) -> Option<u64> {
        self.entries
            .iter()
            .map(|held| unix(held.crl.next_update()))
            .filter(|at| *at > now)
            .min()
    }

    /// The earliest thisUpdate after `now + skew` (seconds): when a CRL not usable yet becomes
    /// usable, so a decision made without it must expire.
    pub fn next_usable_at(&self, now: u64, skew: u64) -> Option<u64> {
        let latest = now.saturating_add(skew);
        self.entries
            .iter()
            .map(|held| unix(held.crl.this_update()))
            .filter(|this_update| *this_update > latest)
            .min()
            .map(|this_update| this_update.saturating_sub(skew))
    }

    /// The base CRLs that announce delta CRLs while no delta that applies to them is held:
    /// what they cover is unknown, so startup and every install warn.
    pub fn missing_deltas(&self) -> Vec<MissingDelta> {
        self.entries
            .iter()
            .filter(|held| !held.crl.is_delta())
            .filter_map(|held| {
                let published_at = held.crl.announced_deltas()?.to_vec();
                let crls: Vec<&Crl> = self.entries.iter().map(|held| &*held.crl).collect();
                delta_for(&held.crl, &crls).is_none().then(|| MissingDelta {
                    issuer: held.crl.issuer_text().to_owned(),
                    source: held.source.clone(),
                    published_at,
                })
            })
            .collect()
    }

    /// The CRLs in force that can refuse but never vouch, because their issuer's name is
    /// configured and no configured key of that name verifies them or may sign CRLs (the
    /// file of an issuer that is not configured is not listed: that is its purpose).
    pub fn unvouched(&self) -> Vec<Unvouched> {
        self.entries
            .iter()
            .filter_map(|held| {
                let reason = match held.crl.signature() {
                    Signature::DoesNotVerify => {
                        "its signature does not verify with the key of any configured CA of its issuer's name"
                    }
                    verified @ Signature::Verified(_) if !verified.by_a_crl_signer() => {
                        "the configured CA that signed it lacks the cRLSign key usage"
                    }
                    _ => return None,
                };
                Some(Unvouched {
                    issuer: held.crl.issuer_text().to_owned(),
                    source: held.source.clone(),
                    reason,
                })
            })
            .collect()
    }

    /// Checks every certificate below the anchor on `path` (a candidate webpki verified up to
    /// the anchor): each must be covered and not revoked ([`Status`]).
    ///
    /// # Errors
    /// [`Denied::Revoked`] or [`Denied::RevocationUnknown`] for the first certificate that is
    /// not, with the reason (naming the CA certificate when it is not the leaf).
    pub(crate) fn check_path(
        &self,
        path: &VerifiedPath<'_>,
        now: u64,
        skew: u64,
    ) -> Result<(), Denied> {
        let intermediates: Vec<&webpki::Cert<'_>> = path.intermediate_certificates().collect();
        let anchor_key = path.anchor().subject_public_key_info.as_ref();
        let leaf: &webpki::Cert<'_> = path.end_entity();
        for (index, cert) in std::iter::once(leaf)
            .chain(intermediates.iter().copied())
            .enumerate()
        {
            let issuer_der;
            let issuer_key = match intermediates.get(index) {
                Some(issuer) => {
                    issuer_der = issuer.der();
                    CertificateFields::read(issuer_der.as_ref())
                        .map_err(|_| unknown("its issuer's certificate does not read"))?
                        .spki
                }
                None => anchor_key,
            };
            let der = cert.der();
            let extensions = CertificateFields::read(der.as_ref())
                .map_err(|_| unknown("the certificate does not read"))?
                .extensions;
            let subject = Subject {
                issuer: cert.issuer(),
                serial: minimal_integer(cert.serial()),
                role: if index == 0 {
                    Role::EndEntity
                } else {
                    Role::Ca
                },
                points: certificate_distribution_points(extensions),
            };
            let status = self.status(&subject, Voucher::Key(issuer_key), now, skew);
            let whose = |reason: String| match index {
                0 => reason,
                _ => format!(
                    "for the issuing CA certificate {}: {reason}",
                    subject_text(cert)
                ),
            };
            match status {
                Status::NotRevoked => {}
                Status::Revoked => return Err(Denied::Revoked),
                Status::Unknown(reason) => return Err(unknown(&whose(reason))),
                Status::NoCrl => return Err(unknown(&whose(no_crl()))),
            }
        }
        Ok(())
    }

    /// The status of a certificate (`der`) that no configured CA vouches for (a pin): its
    /// issuer's CRLs still have their say, whoever signed them.
    pub(crate) fn check_unchained(&self, der: &[u8], now: u64, skew: u64) -> Status {
        let Ok(fields) = CertificateFields::read(der) else {
            return Status::NoCrl;
        };
        let subject = Subject {
            issuer: fields.issuer,
            serial: minimal_integer(fields.serial),
            role: Role::EndEntity,
            points: certificate_distribution_points(fields.extensions),
        };
        self.status(&subject, Voucher::AnyConfigured, now, skew)
    }

    fn status(&self, subject: &Subject<'_>, voucher: Voucher<'_>, now: u64, skew: u64) -> Status {
        let of_issuer: Vec<&Crl> = self
            .entries
            .iter()
            .map(|held| &*held.crl)
            .filter(|crl| crl.issuer() == subject.issuer)
            .collect();
        if of_issuer.is_empty() {
            return Status::NoCrl;
        }
        let latest = i64::try_from(now.saturating_add(skew)).unwrap_or(i64::MAX);
        let usable: Vec<&Crl> = of_issuer
            .into_iter()
            .filter(|crl| crl.this_update() <= latest)
            .collect();
        if is_listed(subject.serial, &usable) {
            return Status::Revoked;
        }
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let mut gap = if usable.is_empty() {
            Gap::FromTheFuture
        } else {
            Gap::NoBase
        };
        for base in usable.iter().filter(|crl| !crl.is_delta()) {
            match covers(base, subject, voucher, now, &usable) {
                Ok(()) => return Status::NotRevoked,
                Err(this) => gap = gap.max(this),
            }
        }
        Status::Unknown(gap.to_string())
    }
}

/// Whether a usable CRL lists `serial`: a base whose entry its applied delta does not take
/// back, or a delta. In a base every entry revokes, removeFromCRL included (RFC 5280 §5.3.1
/// allows that reason in delta CRLs only; a base that carries it fails closed).
fn is_listed(serial: &[u8], usable: &[&Crl]) -> bool {
    usable.iter().any(|crl| match crl.listing(serial) {
        Listing::NotListed => false,
        Listing::Revoked if crl.is_delta() => true,
        Listing::Removed if crl.is_delta() => false,
        Listing::Revoked | Listing::Removed => {
            delta_for(crl, usable).is_none_or(|delta| delta.listing(serial) != Listing::Removed)
        }
    })
}

/// Whether `base` (usable, not listing the certificate) vouches for `subject`, with the delta
/// it needs; the gap when it does not.
fn covers(
    base: &Crl,
    subject: &Subject<'_>,
    voucher: Voucher<'_>,
    now: i64,
    usable: &[&Crl],
) -> Result<(), Gap> {
    if !base.scope().covers(subject.role, &subject.points) {
        return Err(Gap::NoPartition);
    }
    if base.next_update() <= now {
        return Err(Gap::Expired);
    }
    vouches(base.signature(), voucher)?;
    match delta_for(base, usable) {
        Some(delta) if delta.next_update() <= now => Err(Gap::Delta(
            "the delta crl that applies to its issuer's crl is past its nextUpdate".to_owned(),
        )),
        Some(delta) => vouches(delta.signature(), voucher)
            .map_err(|_| Gap::Delta("the delta crl is not signed as its base crl is".to_owned())),
        None => match base.announced_deltas() {
            Some(published_at) => Err(Gap::Delta(format!(
                "its issuer's crl announces delta crls (freshestCRL {}) and no delta crl that \
                 applies to it is held: add the delta crl's url to CLIENT_CERT_CRL_URLS (or its \
                 file to CLIENT_CERT_CRL_PATHS)",
                list(published_at)
            ))),
            None => Ok(()),
        },
    }
}

/// Whether a CRL's signature makes it vouch for `voucher`'s certificate.
fn vouches(signature: &Signature, voucher: Voucher<'_>) -> Result<(), Gap> {
    let lacks_crl_sign =
        Gap::NotSigned("the CA that signed its issuer's crl lacks the cRLSign key usage");
    match (voucher, signature) {
        (Voucher::Key(key), signature) => match signature.is_by(key) {
            Some(true) => Ok(()),
            Some(false) => Err(lacks_crl_sign),
            None => Err(Gap::NotSigned(
                "no crl of its issuer's name is signed by its issuer's key",
            )),
        },
        (Voucher::AnyConfigured, Signature::NoConfiguredIssuer) => Ok(()),
        (Voucher::AnyConfigured, Signature::DoesNotVerify) => Err(Gap::NotSigned(
            "its issuer's crl does not verify with the key of any configured CA of that name",
        )),
        (Voucher::AnyConfigured, verified) if verified.by_a_crl_signer() => Ok(()),
        (Voucher::AnyConfigured, _) => Err(lacks_crl_sign),
    }
}

/// The newest usable delta that applies to `base`: same series but delta, signed by the same
/// key (or both by no configured CA), BaseCRLNumber at most the base's number, its own above it.
fn delta_for<'a>(base: &Crl, crls: &[&'a Crl]) -> Option<&'a Crl> {
    let number = base.number()?;
    crls.iter()
        .copied()
        .filter(|delta| {
            delta.is_delta() && delta.issuer() == base.issuer() && delta.scope() == base.scope()
        })
        .filter(|delta| base.signature().same_signer(delta.signature()))
        .filter(|delta| {
            let (Some(base_number), Some(own)) = (delta.delta_base(), delta.number()) else {
                return false;
            };
            compare_numbers(base_number, number).is_le() && compare_numbers(own, number).is_gt()
        })
        .max_by(|left, right| {
            compare_numbers(left.number().unwrap_or(&[]), right.number().unwrap_or(&[]))
        })
}

/// Whether `new` is newer than `held` (same series): a higher CRL number when both carry
/// one and they differ, otherwise a later thisUpdate. Equal ones keep the one held.
fn is_newer(new: &Crl, held: &Crl) -> bool {
    if let (Some(new_number), Some(held_number)) = (new.number(), held.number()) {
        let order = compare_numbers(new_number, held_number);
        if order.is_ne() {
            return order.is_gt();
        }
    }
    new.this_update() > held.this_update()
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FromTheFuture => f.write_str(
                "every crl of its issuer's name has a thisUpdate in the future (beyond the clock skew)",
            ),
            Self::NoBase => f.write_str("only delta crls of its issuer's name are held, no base crl"),
            Self::NoPartition => f.write_str(
                "no crl partition of its issuer covers it (a partitioned crl covers only a certificate whose cRLDistributionPoints name its issuingDistributionPoint)",
            ),
            Self::NotSigned(reason) => f.write_str(reason),
            Self::Expired => f.write_str("the crl covering it is past its nextUpdate"),
            Self::Delta(reason) => f.write_str(reason),
        }
    }
}

fn no_crl() -> String {
    "no configured crl covers its issuer".to_owned()
}

fn unknown(reason: &str) -> Denied {
    Denied::RevocationUnknown {
        reason: reason.to_owned(),
    }
}

fn subject_text(cert: &webpki::Cert<'_>) -> String {
    use x509_parser::prelude::FromDer;
    x509_parser::certificate::X509Certificate::from_der(cert.der().as_ref())
        .map(|(_, parsed)| super::name::Name::read(parsed.subject()).rfc4514)
        .unwrap_or_else(|_| "(unreadable)".to_owned())
}

fn list(uris: &[String]) -> String {
    if uris.is_empty() {
        "with no URL".to_owned()
    } else {
        uris.join(", ")
    }
}

/// An INTEGER's content without its redundant leading octets (a `00` before an octet under
/// `80`, an `FF` before one from `80`): the form a CRL entry must have. webpki takes a CA
/// certificate's serial as it is written, so `00 05` must still find the entry `05`.
fn minimal_integer(mut content: &[u8]) -> &[u8] {
    while let [first, second, ..] = content
        && ((*first == 0x00 && *second < 0x80) || (*first == 0xff && *second >= 0x80))
    {
        content = &content[1..];
    }
    content
}

fn unix(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0)
}

#[cfg(test)]
#[path = "revocation_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "crl_review_tests.rs"]
mod review_tests;
