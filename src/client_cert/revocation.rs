//! The loaded CRL set and the file watcher that tells when to reload it.
//!
//! CRLs come from configured files (`CLIENT_CERT_CRL_PATHS`), loaded at startup and reloaded
//! in the background when a file changes, and from distribution points (`crate::crl_source`);
//! they are never fetched on the request path.
//! Checking a certificate against them is webpki's job, driven from `trust.rs`.
//!
//! One CRL per issuer name: webpki checks a certificate against the first loaded CRL (files in
//! setting order, CRLs in file order) whose issuer name matches, and a CRL it cannot verify
//! makes the status unknown. [`CrlSet::shared_issuers`] finds names carried twice, which
//! startup and every reload log as a warning.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use webpki::{CertRevocationList, OwnedCertRevocationList};

use super::name::Name;
use crate::cert_file::{LoadError, read_crls};

/// Why a CRL file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{path}: unusable crl: {detail}")]
    Invalid { path: PathBuf, detail: String },
}

/// Every CRL from the configured files, parsed and owned.
#[derive(Default)]
pub struct CrlSet {
    crls: Vec<CertRevocationList<'static>>,
    /// Each CRL's issuer, rendered (RFC 4514), in load order.
    issuers: Vec<String>,
    /// Each CRL's thisUpdate (unix seconds), in load order.
    this_updates: Vec<u64>,
    /// Each CRL's nextUpdate (unix seconds), in load order.
    next_updates: Vec<u64>,
}

/// A CRL webpki can use, its issuer (RFC 4514), its thisUpdate and nextUpdate (unix seconds).
struct ParsedCrl {
    crl: OwnedCertRevocationList,
    issuer: String,
    this_update: u64,
    next_update: u64,
}

impl fmt::Debug for CrlSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlSet")
            .field("count", &self.crls.len())
            .field("earliest_next_update", &self.earliest_next_update())
            .finish()
    }
}

impl CrlSet {
    /// Loads every CRL of every file in `paths`.
    ///
    /// # Errors
    /// One [`CrlError`] per unusable file (all of them, not just the first).
    pub fn load(paths: &[PathBuf]) -> Result<Self, Vec<CrlError>> {
        let mut set = Self::default();
        let mut errors = Vec::new();
        for path in paths {
            match load_file(path) {
                Ok(loaded) => loaded.into_iter().for_each(|crl| set.push(crl)),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// CRLs from DER bytes (tests, and callers that already hold the bytes).
    ///
    /// # Errors
    /// The first CRL that webpki or x509-parser cannot use, as text.
    pub fn from_ders(ders: &[&[u8]]) -> Result<Self, String> {
        let mut set = Self::default();
        for der in ders {
            set.push(parse_crl(der)?);
        }
        Ok(set)
    }

    fn push(&mut self, parsed: ParsedCrl) {
        self.crls.push(CertRevocationList::Owned(parsed.crl));
        self.issuers.push(parsed.issuer);
        self.this_updates.push(parsed.this_update);
        self.next_updates.push(parsed.next_update);
    }

    /// Issuer names (RFC 4514) that more than one loaded CRL carries. webpki checks a
    /// certificate against the first CRL (in load order) whose issuer name matches its issuer,
    /// so the later ones are never used for it.
    pub fn shared_issuers(&self) -> Vec<String> {
        let mut shared: Vec<String> = Vec::new();
        for (index, crl) in self.crls.iter().enumerate() {
            let earlier = &self.crls[..index];
            let issuer = &self.issuers[index];
            if earlier.iter().any(|other| other.issuer() == crl.issuer())
                && !shared.contains(issuer)
            {
                shared.push(issuer.clone());
            }
        }
        shared
    }

    /// `self`'s CRLs, then `other`'s (files first, then fetched ones: webpki uses the first
    /// CRL of an issuer name).
    pub fn joined(&self, other: &Self) -> Self {
        let mut set = Self::default();
        for part in [self, other] {
            let entries = part
                .crls
                .iter()
                .zip(&part.issuers)
                .zip(part.this_updates.iter().zip(&part.next_updates));
            for ((crl, issuer), (this_update, next_update)) in entries {
                let owned = match crl {
                    CertRevocationList::Owned(owned) => owned.clone(),
                    CertRevocationList::Borrowed(borrowed) => match borrowed.to_owned() {
                        Ok(owned) => owned,
                        Err(_) => continue,
                    },
                };
                set.crls.push(CertRevocationList::Owned(owned));
                set.issuers.push(issuer.clone());
                set.this_updates.push(*this_update);
                set.next_updates.push(*next_update);
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// The earliest nextUpdate (unix seconds) of any loaded CRL.
    pub fn earliest_next_update(&self) -> Option<u64> {
        self.next_updates.iter().copied().min()
    }

    /// The earliest nextUpdate after `now`: when a decision made now may stop being true. A
    /// CRL already past its nextUpdate changes nothing later (what it covers is unknown until a
    /// new one is installed, which clears the cache), so it must not stop caching for everyone.
    pub fn earliest_next_update_after(&self, now: u64) -> Option<u64> {
        self.next_updates
            .iter()
            .copied()
            .filter(|at| *at > now)
            .min()
    }

    /// The CRLs usable at `now`: those whose thisUpdate is not after `now + skew` (seconds).
    /// A CRL issued in the future is left out, so what it would cover has an unknown status
    /// (webpki checks nextUpdate, not thisUpdate).
    pub(crate) fn usable_at(&self, now: u64, skew: u64) -> Vec<&CertRevocationList<'static>> {
        let latest = now.saturating_add(skew);
        self.crls
            .iter()
            .zip(&self.this_updates)
            .filter(|(_, this_update)| **this_update <= latest)
            .map(|(crl, _)| crl)
            .collect()
    }

    /// The earliest thisUpdate after `now + skew` (seconds): when a CRL left out by
    /// [`CrlSet::usable_at`] becomes usable, so a decision made without it must expire.
    pub fn next_usable_at(&self, now: u64, skew: u64) -> Option<u64> {
        let latest = now.saturating_add(skew);
        self.this_updates
            .iter()
            .filter(|this_update| **this_update > latest)
            .min()
            .map(|this_update| this_update.saturating_sub(skew))
    }
}

fn load_file(path: &Path) -> Result<Vec<ParsedCrl>, CrlError> {
    read_crls(path)?
        .iter()
        .map(|der| {
            parse_crl(der.as_ref()).map_err(|detail| CrlError::Invalid {
                path: path.to_owned(),
                detail,
            })
        })
        .collect()
}

fn parse_crl(der: &[u8]) -> Result<ParsedCrl, String> {
    let crl = OwnedCertRevocationList::from_der(der)
        .map_err(|error| super::words::describe_unusable_crl(der, &error))?;
    let (_, parsed) = x509_parser::parse_x509_crl(der).map_err(|error| error.to_string())?;
    let next_update = parsed
        .next_update()
        .ok_or_else(|| "no nextUpdate".to_owned())?
        .timestamp();
    Ok(ParsedCrl {
        crl,
        issuer: Name::read(parsed.issuer()).rfc4514,
        this_update: u64::try_from(parsed.last_update().timestamp()).unwrap_or(0),
        next_update: u64::try_from(next_update).unwrap_or(0),
    })
}

/// Remembers each CRL file's modification time and length as of the last successful load, to
/// notice replacements. A failed load records nothing, so the next check retries it.
#[derive(Debug)]
pub struct CrlWatcher {
    files: Vec<(PathBuf, Stamp)>,
}

/// A file's modification time and length; `None` when it cannot be read.
type Stamp = Option<(SystemTime, u64)>;

/// Every watched file's stamp, in order, as read by [`CrlWatcher::changed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamps(Vec<Stamp>);

impl CrlWatcher {
    /// Watches `paths`, taking their stamps now.
    pub fn new(paths: &[PathBuf]) -> Self {
        Self::with_stamps(paths, Self::stamps(paths))
    }

    /// Watches `paths` as they were when `stamps` were read: read them *before* loading the
    /// CRLs, so that a file replaced after that load is noticed by the first check.
    pub fn with_stamps(paths: &[PathBuf], stamps: Stamps) -> Self {
        Self {
            files: paths.iter().cloned().zip(stamps.0).collect(),
        }
    }

    /// The current stamps of `paths`.
    pub fn stamps(paths: &[PathBuf]) -> Stamps {
        Stamps(paths.iter().map(|path| stamp(path)).collect())
    }

    /// The files' current stamps when any differs from the last successful load (or `new`).
    /// Read them before loading, and pass them to [`CrlWatcher::loaded`] once the load worked.
    pub fn changed(&self) -> Option<Stamps> {
        let current: Vec<Stamp> = self.files.iter().map(|(path, _)| stamp(path)).collect();
        let unchanged = self
            .files
            .iter()
            .zip(&current)
            .all(|((_, last), now)| last == now);
        (!unchanged).then_some(Stamps(current))
    }

    /// Records `stamps` (from [`CrlWatcher::changed`]) as successfully loaded.
    pub fn loaded(&mut self, stamps: Stamps) {
        for ((_, last), current) in self.files.iter_mut().zip(stamps.0) {
            *last = current;
        }
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(path, _)| path.clone()).collect()
    }
}

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::test_pki::{Ca, DAY};

    #[test]
    fn a_joined_set_keeps_files_first_and_the_earliest_next_update() {
        let file_root = Ca::root("File Root");
        let fetched_root = Ca::root("Fetched Root");
        let files = CrlSet::from_ders(&[&file_root.crl(&[], -DAY, 7 * DAY)]).expect("parses");
        let fetched = CrlSet::from_ders(&[&fetched_root.crl(&[], -DAY, DAY)]).expect("parses");

        let joined = files.joined(&fetched);

        assert_eq!(joined.len(), 2, "both parts are in force");
        assert_eq!(
            joined.this_updates.len(),
            2,
            "every per-crl list stays in step"
        );
        assert_eq!(
            joined.issuers,
            vec!["CN=File Root", "CN=Fetched Root"],
            "files first"
        );
        assert_eq!(
            joined.earliest_next_update(),
            fetched.earliest_next_update()
        );
        assert_eq!(
            files.joined(&CrlSet::default()).len(),
            1,
            "nothing fetched yet"
        );
    }

    #[test]
    fn crls_that_share_an_issuer_name_are_reported_once() {
        let old_root = Ca::root("Test Root CA");
        let new_root = Ca::root("Test Root CA");
        let other = Ca::root("Other Root CA");
        let crl = |ca: &Ca| ca.crl(&[], -DAY, 7 * DAY);
        type Case = (&'static str, Vec<Vec<u8>>, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            (
                "one crl per issuer",
                vec![crl(&old_root), crl(&other)],
                vec![],
            ),
            (
                "a rollover's old and new root share a name",
                vec![crl(&old_root), crl(&other), crl(&new_root)],
                vec!["CN=Test Root CA"],
            ),
            (
                "three crls of one name are one warning",
                vec![crl(&old_root), crl(&new_root), crl(&old_root)],
                vec!["CN=Test Root CA"],
            ),
        ];
        for (reason, ders, expected) in cases {
            let ders: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
            let set = CrlSet::from_ders(&ders).expect("test crls parse");
            assert_eq!(set.shared_issuers(), expected, "{reason}");
        }
    }
}
