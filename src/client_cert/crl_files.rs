//! CRL files (`CLIENT_CERT_CRL_PATHS`): loaded at startup, then read again on every reload tick
//! (`reload.rs`), each file on its own.
//!
//! Each file keeps its last good CRLs. A reload reads every file through `cert_file::read`
//! (regular files only, opened without blocking, at most 8 MiB, given up after 10 s with at
//! most one stuck read per path) and compares the SHA-256 of what it read with what was last
//! loaded: the same bytes are not parsed again, whatever the file's length and modification
//! time say, and different bytes are. A file that cannot be read or does not parse keeps its
//! last good CRLs, and its failure is logged once, until it changes (another error, other
//! bytes), never on every tick; the same broken bytes are not parsed again either. So one bad
//! file (a FIFO, a stuck share, an oversized or half-written file) never stops the others
//! from being reloaded, and is picked up as soon as it is fixed.
//!
//! Each CRL is read by `crl::Crl::read` with its signature recorded, not required: a file is
//! put there by whoever runs the app, so even a CRL of an issuer that is not configured may
//! refuse the certificates it lists (it can never vouch for one on a path).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::crl::{Crl, CrlIssuers, SignatureRule};
use super::revocation::CrlSet;
use crate::cert_file::{FileKind, LoadError, crls_from_bytes, read};

/// Why a CRL file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{path}: unusable crl: {detail}")]
    Invalid { path: PathBuf, detail: String },
}

/// Every configured CRL file, with its last good CRLs.
#[derive(Debug, Clone)]
pub struct CrlFiles {
    files: Vec<CrlFile>,
}

#[derive(Debug, Clone)]
struct CrlFile {
    path: PathBuf,
    loaded: Option<Loaded>,
    /// The failure last logged, until the file loads again.
    failure: Option<Failure>,
}

#[derive(Debug, Clone)]
struct Loaded {
    digest: [u8; 32],
    crls: Vec<Arc<Crl>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    /// The SHA-256 of the bytes that did not parse (`None`: the file could not be read).
    digest: Option<[u8; 32]>,
    message: String,
}

impl CrlFiles {
    /// `paths`, none loaded yet: the first [`CrlFiles::reload`] loads every one.
    pub fn new(paths: &[PathBuf]) -> Self {
        Self {
            files: paths
                .iter()
                .map(|path| CrlFile {
                    path: path.clone(),
                    loaded: None,
                    failure: None,
                })
                .collect(),
        }
    }

    /// Loads every file in `paths` (startup), each CRL read against `issuers`.
    ///
    /// # Errors
    /// One [`CrlError`] per unusable file (all of them, not just the first).
    pub fn load(paths: &[PathBuf], issuers: &CrlIssuers) -> Result<Self, Vec<CrlError>> {
        let mut files = Self::new(paths);
        let errors: Vec<CrlError> = files
            .files
            .iter_mut()
            .filter_map(|file| match read_file(&file.path, issuers) {
                Ok(loaded) => {
                    file.loaded = Some(loaded);
                    None
                }
                Err(error) => Some(error),
            })
            .collect();
        if errors.is_empty() {
            Ok(files)
        } else {
            Err(errors)
        }
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|file| file.path.clone()).collect()
    }

    /// The CRL set of every file's last good CRLs, in setting order.
    pub fn set(&self) -> CrlSet {
        CrlSet::from_crls(self.files.iter().flat_map(|file| {
            let source = file.path.display().to_string();
            file.loaded
                .iter()
                .flat_map(|loaded| loaded.crls.iter().cloned())
                .map(move |crl| (source.clone(), crl))
        }))
    }

    /// Reads every file again; returns whether any file's CRLs changed. A file that fails
    /// keeps its last good CRLs, and its failure is logged once per change.
    pub fn reload(&mut self, issuers: &CrlIssuers) -> bool {
        let mut changed = false;
        for file in &mut self.files {
            changed |= file.reload(issuers);
        }
        changed
    }
}

impl CrlFile {
    fn reload(&mut self, issuers: &CrlIssuers) -> bool {
        let bytes = match read(&self.path, FileKind::Crls) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.failed(None, &CrlError::Load(error));
                return false;
            }
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if self
            .loaded
            .as_ref()
            .is_some_and(|loaded| loaded.digest == digest)
        {
            if self.failure.take().is_some() {
                tracing::info!(path = %self.path.display(), "crl file is readable again and unchanged");
            }
            return false;
        }
        if self
            .failure
            .as_ref()
            .is_some_and(|failure| failure.digest == Some(digest))
        {
            return false;
        }
        match parse(&self.path, &bytes, issuers) {
            Ok(crls) => {
                self.loaded = Some(Loaded { digest, crls });
                self.failure = None;
                true
            }
            Err(error) => {
                self.failed(Some(digest), &error);
                false
            }
        }
    }

    /// Logs `error` unless it is the failure already logged for this file.
    fn failed(&mut self, digest: Option<[u8; 32]>, error: &CrlError) {
        let failure = Failure {
            digest,
            message: error.to_string(),
        };
        if self.failure.as_ref() != Some(&failure) {
            tracing::error!(
                path = %self.path.display(),
                error = %failure.message,
                "crl reload failed; this file's last good crls stay in force, and it is read again every CLIENT_CERT_CRL_RELOAD_SECONDS (logged once until it changes)"
            );
            self.failure = Some(failure);
        }
    }
}

fn read_file(path: &Path, issuers: &CrlIssuers) -> Result<Loaded, CrlError> {
    let bytes = read(path, FileKind::Crls)?;
    Ok(Loaded {
        digest: Sha256::digest(&bytes).into(),
        crls: parse(path, &bytes, issuers)?,
    })
}

fn parse(path: &Path, bytes: &[u8], issuers: &CrlIssuers) -> Result<Vec<Arc<Crl>>, CrlError> {
    crls_from_bytes(bytes, path)?
        .iter()
        .map(|der| {
            Crl::read(der.as_ref(), issuers, SignatureRule::Recorded)
                .map(Arc::new)
                .map_err(|problem| CrlError::Invalid {
                    path: path.to_owned(),
                    detail: problem.to_string(),
                })
        })
        .collect()
}
