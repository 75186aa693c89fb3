//! The loaded CRL set and the file watcher that tells when to reload it.
//!
//! CRLs come only from configured files (`CLIENT_CERT_CRL_PATHS`), loaded at startup and
//! reloaded in the background when a file changes; they are never fetched on the request path.
//! Checking a certificate against them is webpki's job, driven from `trust.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use webpki::{CertRevocationList, OwnedCertRevocationList};

use super::load::{LoadError, read_crls};

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
    earliest_next_update: Option<u64>,
}

impl fmt::Debug for CrlSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlSet")
            .field("count", &self.crls.len())
            .field("earliest_next_update", &self.earliest_next_update)
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

    fn push(&mut self, (crl, next_update): (OwnedCertRevocationList, u64)) {
        self.crls.push(CertRevocationList::Owned(crl));
        self.earliest_next_update = Some(
            self.earliest_next_update
                .map_or(next_update, |earliest| earliest.min(next_update)),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// The earliest nextUpdate (unix seconds) of any loaded CRL.
    pub fn earliest_next_update(&self) -> Option<u64> {
        self.earliest_next_update
    }

    pub(crate) fn refs(&self) -> Vec<&CertRevocationList<'static>> {
        self.crls.iter().collect()
    }
}

fn load_file(path: &Path) -> Result<Vec<(OwnedCertRevocationList, u64)>, CrlError> {
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

/// A CRL webpki can use, and its nextUpdate (unix seconds).
fn parse_crl(der: &[u8]) -> Result<(OwnedCertRevocationList, u64), String> {
    let crl = OwnedCertRevocationList::from_der(der).map_err(|error| format!("{error:?}"))?;
    let (_, parsed) = x509_parser::parse_x509_crl(der).map_err(|error| error.to_string())?;
    let next_update = parsed
        .next_update()
        .ok_or_else(|| "no nextUpdate".to_owned())?
        .timestamp();
    Ok((crl, u64::try_from(next_update).unwrap_or(0)))
}

/// Remembers each CRL file's modification time and length, to notice replacements.
#[derive(Debug)]
pub struct CrlWatcher {
    files: Vec<(PathBuf, Option<(SystemTime, u64)>)>,
}

impl CrlWatcher {
    pub fn new(paths: &[PathBuf]) -> Self {
        Self {
            files: paths
                .iter()
                .map(|path| (path.clone(), stamp(path)))
                .collect(),
        }
    }

    /// Whether any file changed since the last call (or since `new`).
    pub fn changed(&mut self) -> bool {
        let mut changed = false;
        for (path, last) in &mut self.files {
            let current = stamp(path);
            if current != *last {
                *last = current;
                changed = true;
            }
        }
        changed
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(path, _)| path.clone()).collect()
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}
