//! The loaded CRL set and the file watcher that tells when to reload it.
//!
//! CRLs come from configured files (`CLIENT_CERT_CRL_PATHS`), loaded at startup and reloaded
//! in the background when a file changes, and from distribution points (`crate::crl_source`);
//! they are never fetched on the request path.
//! Checking a certificate against them is webpki's job, driven from `trust.rs`.
//!
//! One CRL per issuer name: webpki checks a certificate against the first CRL whose issuer name
//! matches, and a CRL it cannot verify makes the status unknown. So the set holds one CRL per
//! issuer name, the newest (highest CRL number, then latest thisUpdate) of all files and
//! distribution points: a stale file or a lagging mirror cannot hide a fresher CRL.
//! [`CrlSet::set_aside`] lists the others, which startup and every reload log as warnings.

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

/// Every CRL in force, parsed and owned: one per issuer name, the newest (see
/// [`CrlSet::set_aside`]).
#[derive(Default)]
pub struct CrlSet {
    entries: Vec<Entry>,
    /// The CRLs left out because a newer one of the same issuer name is held.
    set_aside: Vec<SetAside>,
}

/// One CRL in force and what is known of it.
struct Entry {
    crl: CertRevocationList<'static>,
    /// The issuer, rendered (RFC 4514).
    issuer: String,
    /// thisUpdate and nextUpdate, unix seconds.
    this_update: u64,
    next_update: u64,
    /// The CRL number, big-endian (`None`: the CRL carries none).
    number: Option<Vec<u8>>,
    /// Where it came from (a file path or a URL), for logs.
    source: String,
}

/// A CRL left out of the set because another CRL of the same issuer name is newer (a higher
/// CRL number, or with equal or missing numbers a later thisUpdate) or equally new and held
/// first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub issuer: String,
    /// Where the CRL in force came from, and the one set aside.
    pub kept: String,
    pub dropped: String,
}

/// A CRL webpki can use, with what [`Entry`] keeps of it.
struct ParsedCrl {
    crl: OwnedCertRevocationList,
    issuer: String,
    this_update: u64,
    next_update: u64,
    number: Option<Vec<u8>>,
}

impl fmt::Debug for CrlSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlSet")
            .field("count", &self.entries.len())
            .field("earliest_next_update", &self.earliest_next_update())
            .field("set_aside", &self.set_aside)
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
                Ok(loaded) => {
                    let source = path.display().to_string();
                    loaded
                        .into_iter()
                        .for_each(|crl| set.push(entry(crl, source.clone())));
                }
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// CRLs from DER bytes (tests, and callers that already hold the bytes), each named by
    /// its position.
    ///
    /// # Errors
    /// The first CRL that webpki or x509-parser cannot use, as text.
    pub fn from_ders(ders: &[&[u8]]) -> Result<Self, String> {
        let named: Vec<(String, &[u8])> = ders
            .iter()
            .enumerate()
            .map(|(index, der)| (format!("crl {}", index + 1), *der))
            .collect();
        Self::from_named_ders(&named)
    }

    /// CRLs from DER bytes, each with where it came from (a URL).
    ///
    /// # Errors
    /// The first CRL that webpki or x509-parser cannot use, as text.
    pub fn from_named_ders(ders: &[(String, &[u8])]) -> Result<Self, String> {
        let mut set = Self::default();
        for (source, der) in ders {
            set.push(entry(parse_crl(der)?, source.clone()));
        }
        Ok(set)
    }

    /// Adds `new`, keeping one CRL per issuer name: the newer of `new` and the one held, which
    /// keeps its place (so files stay first); the other is recorded as set aside.
    fn push(&mut self, new: Entry) {
        let held = self
            .entries
            .iter_mut()
            .find(|held| held.crl.issuer() == new.crl.issuer());
        let Some(held) = held else {
            self.entries.push(new);
            return;
        };
        let (kept, dropped) = if is_newer(&new, held) {
            let dropped = std::mem::replace(held, new);
            (held.source.clone(), dropped.source)
        } else {
            (held.source.clone(), new.source)
        };
        self.set_aside.push(SetAside {
            issuer: held.issuer.clone(),
            kept,
            dropped,
        });
    }

    /// The CRLs left out because a newer CRL of the same issuer name is held (webpki checks a
    /// certificate against the first CRL whose issuer name matches, so only one may be held).
    pub fn set_aside(&self) -> &[SetAside] {
        &self.set_aside
    }

    /// `self`'s CRLs, then `other`'s (files first, then fetched ones), one per issuer name:
    /// the newest, wherever it came from.
    pub fn joined(&self, other: &Self) -> Self {
        let mut set = Self {
            set_aside: self.set_aside.clone(),
            ..Self::default()
        };
        set.set_aside.extend(other.set_aside.iter().cloned());
        for entry in self.entries.iter().chain(&other.entries) {
            let owned = match &entry.crl {
                CertRevocationList::Owned(owned) => owned.clone(),
                CertRevocationList::Borrowed(borrowed) => match borrowed.to_owned() {
                    Ok(owned) => owned,
                    Err(_) => continue,
                },
            };
            set.push(Entry {
                crl: CertRevocationList::Owned(owned),
                issuer: entry.issuer.clone(),
                this_update: entry.this_update,
                next_update: entry.next_update,
                number: entry.number.clone(),
                source: entry.source.clone(),
            });
        }
        set
    }

    /// Where each CRL in force came from, in order (tests).
    #[cfg(test)]
    pub(crate) fn sources(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|entry| entry.source.clone())
            .collect()
    }

    /// Each CRL in force's CRL number, in order (tests).
    #[cfg(test)]
    pub(crate) fn numbers(&self) -> Vec<Option<Vec<u8>>> {
        self.entries
            .iter()
            .map(|entry| entry.number.clone())
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
        self.entries.iter().map(|entry| entry.next_update).min()
    }

    /// The earliest nextUpdate after `now`: when a decision made now may stop being true. A
    /// CRL already past its nextUpdate changes nothing later (what it covers is unknown until a
    /// new one is installed, which clears the cache), so it must not stop caching for everyone.
    pub fn earliest_next_update_after(&self, now: u64) -> Option<u64> {
        self.entries
            .iter()
            .map(|entry| entry.next_update)
            .filter(|at| *at > now)
            .min()
    }

    /// The CRLs usable at `now`: those whose thisUpdate is not after `now + skew` (seconds).
    /// A CRL issued in the future is left out, so what it would cover has an unknown status
    /// (webpki checks nextUpdate, not thisUpdate).
    pub(crate) fn usable_at(&self, now: u64, skew: u64) -> Vec<&CertRevocationList<'static>> {
        let latest = now.saturating_add(skew);
        self.entries
            .iter()
            .filter(|entry| entry.this_update <= latest)
            .map(|entry| &entry.crl)
            .collect()
    }

    /// The earliest thisUpdate after `now + skew` (seconds): when a CRL left out by
    /// [`CrlSet::usable_at`] becomes usable, so a decision made without it must expire.
    pub fn next_usable_at(&self, now: u64, skew: u64) -> Option<u64> {
        let latest = now.saturating_add(skew);
        self.entries
            .iter()
            .map(|entry| entry.this_update)
            .filter(|this_update| *this_update > latest)
            .min()
            .map(|this_update| this_update.saturating_sub(skew))
    }
}

fn entry(parsed: ParsedCrl, source: String) -> Entry {
    Entry {
        crl: CertRevocationList::Owned(parsed.crl),
        issuer: parsed.issuer,
        this_update: parsed.this_update,
        next_update: parsed.next_update,
        number: parsed.number,
        source,
    }
}

/// Whether `new` is newer than `held` (same issuer name): a higher CRL number when both carry
/// one and they differ, otherwise a later thisUpdate. Equal ones keep the one held.
fn is_newer(new: &Entry, held: &Entry) -> bool {
    let trim =
        |bytes: &[u8]| -> Vec<u8> { bytes.iter().copied().skip_while(|b| *b == 0).collect() };
    if let (Some(new_number), Some(held_number)) = (&new.number, &held.number) {
        let (new_number, held_number) = (trim(new_number), trim(held_number));
        if new_number != held_number {
            return (new_number.len(), new_number) > (held_number.len(), held_number);
        }
    }
    new.this_update > held.this_update
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
    super::crl_number::check(&parsed)?;
    let next_update = parsed
        .next_update()
        .ok_or_else(|| "no nextUpdate".to_owned())?
        .timestamp();
    Ok(ParsedCrl {
        crl,
        issuer: Name::read(parsed.issuer()).rfc4514,
        this_update: u64::try_from(parsed.last_update().timestamp()).unwrap_or(0),
        next_update: u64::try_from(next_update).unwrap_or(0),
        number: parsed.crl_number().map(|number| number.to_bytes_be()),
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

    fn issuers(set: &CrlSet) -> Vec<&str> {
        set.entries
            .iter()
            .map(|entry| entry.issuer.as_str())
            .collect()
    }

    #[test]
    fn a_joined_set_keeps_files_first_and_the_earliest_next_update() {
        let file_root = Ca::root("File Root");
        let fetched_root = Ca::root("Fetched Root");
        let files = CrlSet::from_ders(&[&file_root.crl(&[], -DAY, 7 * DAY)]).expect("parses");
        let fetched = CrlSet::from_ders(&[&fetched_root.crl(&[], -DAY, DAY)]).expect("parses");

        let joined = files.joined(&fetched);

        assert_eq!(joined.len(), 2, "both parts are in force");
        assert_eq!(
            issuers(&joined),
            vec!["CN=File Root", "CN=Fetched Root"],
            "files first"
        );
        assert_eq!(
            joined.earliest_next_update(),
            fetched.earliest_next_update()
        );
        assert!(joined.set_aside().is_empty(), "different issuers");
        assert_eq!(
            files.joined(&CrlSet::default()).len(),
            1,
            "nothing fetched yet"
        );
    }

    #[test]
    fn one_crl_per_issuer_name_is_kept_the_newest_wherever_it_came_from() {
        let root = Ca::root("Test Root CA");
        let other = Ca::root("Other Root CA");
        let named = |pairs: &[(&str, &Vec<u8>)]| {
            let pairs: Vec<(String, &[u8])> = pairs
                .iter()
                .map(|(name, der)| ((*name).to_owned(), der.as_slice()))
                .collect();
            CrlSet::from_named_ders(&pairs).expect("test crls parse")
        };
        let stale = root.crl_numbered(5, &[], -3 * DAY, 7 * DAY);
        let fresh = root.crl_numbered(6, &[42], -DAY, 7 * DAY);
        let later_same_number = root.crl_numbered(5, &[42], -DAY, 7 * DAY);
        let others = other.crl(&[], -DAY, 7 * DAY);

        // A stale file and a fresher fetched CRL: the fetched one is in force.
        let files = named(&[("stale.crl", &stale), ("other.crl", &others)]);
        let fetched = named(&[("http://ca/fresh.crl", &fresh)]);
        let joined = files.joined(&fetched);
        assert_eq!(joined.sources(), vec!["http://ca/fresh.crl", "other.crl"]);
        assert_eq!(
            joined.set_aside(),
            [SetAside {
                issuer: "CN=Test Root CA".to_owned(),
                kept: "http://ca/fresh.crl".to_owned(),
                dropped: "stale.crl".to_owned(),
            }]
        );
        // A lagging mirror listed first among the URLs does not hide the fresher one.
        let mirrors = named(&[("http://mirror/", &stale), ("http://ca/", &fresh)]);
        assert_eq!(mirrors.sources(), vec!["http://ca/"]);
        assert_eq!(mirrors.set_aside()[0].dropped, "http://mirror/");
        // A fresher file beats an older fetched CRL.
        let joined = named(&[("fresh.crl", &fresh)]).joined(&named(&[("http://ca/", &stale)]));
        assert_eq!(joined.sources(), vec!["fresh.crl"]);
        // Equal CRL numbers: the later thisUpdate.
        let tie = named(&[("a", &stale), ("b", &later_same_number)]);
        assert_eq!(tie.sources(), vec!["b"]);
        // Equally new: the first held stays (files before URLs).
        let same = named(&[("file", &fresh)]).joined(&named(&[("http://ca/", &fresh)]));
        assert_eq!(same.sources(), vec!["file"]);
        assert_eq!(same.set_aside()[0].dropped, "http://ca/");
        assert_eq!(same.len(), 1);
    }

    #[test]
    fn crls_that_share_an_issuer_name_are_set_aside_but_one() {
        let old_root = Ca::root("Test Root CA");
        let new_root = Ca::root("Test Root CA");
        let other = Ca::root("Other Root CA");
        let crl = |ca: &Ca| ca.crl(&[], -DAY, 7 * DAY);
        type Case = (&'static str, Vec<Vec<u8>>, usize, usize);
        let cases: Vec<Case> = vec![
            (
                "one crl per issuer",
                vec![crl(&old_root), crl(&other)],
                2,
                0,
            ),
            (
                "a rollover's old and new root share a name",
                vec![crl(&old_root), crl(&other), crl(&new_root)],
                2,
                1,
            ),
            (
                "three crls of one name keep one",
                vec![crl(&old_root), crl(&new_root), crl(&old_root)],
                1,
                2,
            ),
        ];
        for (reason, ders, held, aside) in cases {
            let ders: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
            let set = CrlSet::from_ders(&ders).expect("test crls parse");
            assert_eq!(set.len(), held, "{reason}");
            assert_eq!(set.set_aside().len(), aside, "{reason}");
        }
    }
}
