//! Where the outbound identity comes from, and loading it from there, at startup and again on
//! every reload: a file (`OUTBOUND_CLIENT_CERT_PATH`, or `<dir>/<THUMBPRINT>.p12` for
//! `OUTBOUND_CLIENT_CERT_THUMBPRINT`), the best certificate of a subject CN among the
//! thumbprint-named files of a folder (`OUTBOUND_CLIENT_CERT_COMMON_NAME`: currently valid,
//! latest notAfter, so a renewal with a new thumbprint is picked up), or the setting's own value
//! (`OUTBOUND_CLIENT_CERT_BASE64`: base64 PKCS#12 or PEM text, as a Key Vault reference gives it).
//!
//! A [`Stamp`] tells whether the source changed since it was last loaded (file modification
//! times and lengths). This module does not build clients or swap them (`reload.rs` does), and
//! never puts a password or an inline value in an error or a log.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::UnixTime;
use secrecy::{ExposeSecret, SecretString};

use super::identity::{Identity, IdentityError};

/// Where the identity comes from; `setting` is what errors and warnings name.
#[derive(Clone)]
pub enum IdentitySource {
    /// One file (PKCS#12 or PEM), by path or by thumbprint.
    File {
        setting: &'static str,
        path: PathBuf,
        password: SecretString,
    },
    /// The valid certificate with this subject CN and the latest notAfter among `dir`'s
    /// thumbprint-named `.p12` files.
    CommonName {
        setting: &'static str,
        common_name: String,
        dir: PathBuf,
        password: SecretString,
    },
    /// The setting's value: base64 of PKCS#12 (or of PEM), or PEM text.
    Inline {
        setting: &'static str,
        value: SecretString,
        password: SecretString,
    },
}

/// Why no identity could be loaded from the source. Never quotes a password or inline value.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{origin}: {source}")]
    Identity {
        origin: String,
        source: IdentityError,
    },
    #[error("cannot list {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error(
        "no currently valid certificate with CN {common_name:?} among the {considered} thumbprint-named .p12 file(s) of {dir}"
    )]
    NoMatch {
        common_name: String,
        dir: String,
        considered: usize,
    },
    #[error("the value is neither PEM text nor base64")]
    NotBase64,
}

/// One load of the source, with when its choice could next come out differently.
#[derive(Debug)]
pub struct Loaded {
    pub identity: Result<Identity, SourceError>,
    /// For a CN choice: the earliest moment (unix seconds, after `now`) at which the choice
    /// could change with no file changed: just past the chosen certificate's notAfter, or the
    /// notBefore of a matching certificate skipped as not yet valid. `None` for a single file
    /// or an inline value (loading them again yields the same identity).
    pub review_at: Option<i64>,
}

/// What the source looked like when read: each file's name, modification time and length.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stamp(Vec<(PathBuf, Option<(SystemTime, u64)>)>);

impl fmt::Debug for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentitySource({})", self.describe())
    }
}

impl IdentitySource {
    /// The setting that names this source.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::File { setting, .. }
            | Self::CommonName { setting, .. }
            | Self::Inline { setting, .. } => setting,
        }
    }

    /// The password the identity is opened with.
    pub fn password(&self) -> &SecretString {
        match self {
            Self::File { password, .. }
            | Self::CommonName { password, .. }
            | Self::Inline { password, .. } => password,
        }
    }

    /// For logs: the path, the CN and folder, or the setting (never its value).
    pub fn describe(&self) -> String {
        match self {
            Self::File { path, .. } => path.display().to_string(),
            Self::CommonName {
                common_name, dir, ..
            } => format!("CN={common_name} in {}", dir.display()),
            Self::Inline { setting, .. } => format!("the value of {setting}"),
        }
    }

    /// Whether the source can change while the process runs (an inline value cannot).
    pub fn can_change(&self) -> bool {
        !matches!(self, Self::Inline { .. })
    }

    /// The source as it is now: read it before [`IdentitySource::load`], so that a change
    /// made after the load is seen by the next comparison.
    pub fn stamp(&self) -> Stamp {
        match self {
            Self::File { path, .. } => Stamp(vec![(path.clone(), file_stamp(path))]),
            Self::CommonName { dir, .. } => {
                let mut files: Vec<_> = thumbprint_files(dir)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|path| {
                        let stamp = file_stamp(&path);
                        (path, stamp)
                    })
                    .collect();
                files.sort();
                Stamp(files)
            }
            Self::Inline { .. } => Stamp::default(),
        }
    }

    /// Loads the identity and checks it as at startup (key, chain, validity at `now`).
    ///
    /// # Errors
    /// [`SourceError`] naming the file or folder (never the password or an inline value).
    pub fn load(&self, now: UnixTime, provider: &CryptoProvider) -> Result<Identity, SourceError> {
        self.load_with_review(now, provider).identity
    }

    /// [`IdentitySource::load`], with when a CN choice should be made again (see [`Loaded`]).
    pub fn load_with_review(&self, now: UnixTime, provider: &CryptoProvider) -> Loaded {
        match self {
            Self::CommonName {
                common_name,
                dir,
                password,
                ..
            } => best_by_common_name(common_name, dir, password, now, provider),
            _ => Loaded {
                identity: self.load_one(now, provider),
                review_at: None,
            },
        }
    }

    fn load_one(&self, now: UnixTime, provider: &CryptoProvider) -> Result<Identity, SourceError> {
        match self {
            Self::File { path, password, .. } => Identity::load(path, password, provider)
                .and_then(|identity| identity.check_validity(now).map(|()| identity))
                .map_err(|source| SourceError::Identity {
                    origin: path.display().to_string(),
                    source,
                }),
            Self::CommonName { .. } => self.load_with_review(now, provider).identity,
            Self::Inline {
                setting,
                value,
                password,
            } => {
                let text = value.expose_secret().trim();
                let bytes = if text.starts_with("-----BEGIN") {
                    text.as_bytes().to_vec()
                } else {
                    let compact: String = text.split_whitespace().collect();
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .map_err(|_| SourceError::NotBase64)?
                };
                Identity::from_bytes(&bytes, password, provider)
                    .and_then(|identity| identity.check_validity(now).map(|()| identity))
                    .map_err(|source| SourceError::Identity {
                        origin: format!("the value of {setting}"),
                        source,
                    })
            }
        }
    }
}

/// The currently valid identity with `common_name` and the latest notAfter in `dir`, and when
/// the choice could change by the clock alone (see [`Loaded::review_at`]).
fn best_by_common_name(
    common_name: &str,
    dir: &Path,
    password: &SecretString,
    now: UnixTime,
    provider: &CryptoProvider,
) -> Loaded {
    let files = match thumbprint_files(dir) {
        Ok(files) => files,
        Err(source) => {
            let dir = dir.display().to_string();
            let identity = Err(SourceError::Dir { dir, source });
            return Loaded {
                identity,
                review_at: None,
            };
        }
    };
    let considered = files.len();
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let mut best: Option<Identity> = None;
    let mut pending: Option<i64> = None;
    for path in files {
        let identity = match Identity::load(&path, password, provider) {
            Ok(identity) => identity,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "skipped: not a usable identity");
                continue;
            }
        };
        if identity.common_name() != Some(common_name) {
            continue;
        }
        if identity.not_before_secs() > now_secs {
            let not_before = identity.not_before_secs();
            pending = Some(pending.map_or(not_before, |earliest| earliest.min(not_before)));
        }
        if identity.check_validity(now).is_err() {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|chosen| identity.not_after_secs() > chosen.not_after_secs())
        {
            best = Some(identity);
        }
    }
    let expiry = best
        .as_ref()
        .map(|chosen| chosen.not_after_secs().saturating_add(1));
    let review_at = match (pending, expiry) {
        (Some(pending), Some(expiry)) => Some(pending.min(expiry)),
        (pending, expiry) => pending.or(expiry),
    };
    let identity = best.ok_or_else(|| SourceError::NoMatch {
        common_name: common_name.to_owned(),
        dir: dir.display().to_string(),
        considered,
    });
    Loaded {
        identity,
        review_at,
    }
}

/// `dir`'s files named `<40 or 64 hex>.p12`, as App Service names them.
fn thumbprint_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_thumbprint = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".p12"))
            .is_some_and(|stem| {
                matches!(stem.len(), 40 | 64) && stem.bytes().all(|byte| byte.is_ascii_hexdigit())
            });
        if is_thumbprint && path.is_file() {
            files.push(path);
        }
    }
    Ok(files)
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_pki::{KeyKind, TempDir, TestPki, provider};
    use time::{Duration, OffsetDateTime};

    const SHA1_NAME: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

    fn common_name_source(dir: &TempDir) -> IdentitySource {
        IdentitySource::CommonName {
            setting: "OUTBOUND_CLIENT_CERT_COMMON_NAME",
            common_name: "outbound-client".to_owned(),
            dir: dir.path().to_owned(),
            password: SecretString::from(String::new()),
        }
    }

    #[test]
    fn only_thumbprint_named_files_count_and_a_new_one_changes_the_stamp() {
        let pki = TestPki::new("Stamp");
        let dir = TempDir::new();
        let client = pki.client(KeyKind::Ec, None);
        let p12 = client.p12_with_key(&client.key_pkcs8, "");
        std::fs::write(dir.file("identity.p12"), &p12).expect("write");
        let source = common_name_source(&dir);
        let empty = source.stamp();

        let error = source
            .load(UnixTime::now(), &provider())
            .expect_err("no thumbprint-named file");
        std::fs::write(dir.file(&format!("{SHA1_NAME}.p12")), &p12).expect("write");

        assert!(
            error.to_string().contains("among the 0 thumbprint-named"),
            "{error}"
        );
        assert_ne!(
            source.stamp(),
            empty,
            "a renewal dropped in changes the stamp"
        );
        assert!(source.load(UnixTime::now(), &provider()).is_ok());
    }

    #[test]
    fn an_inline_value_that_is_not_an_identity_is_refused_without_being_quoted() {
        let value = "this-is-the-secret-value";
        let source = IdentitySource::Inline {
            setting: "OUTBOUND_CLIENT_CERT_BASE64",
            value: SecretString::from(value.to_owned()),
            password: SecretString::from(String::new()),
        };
        let error = source
            .load(UnixTime::now(), &provider())
            .expect_err("not base64");
        for shown in [error.to_string(), format!("{source:?}"), source.describe()] {
            assert!(!shown.contains(value), "{shown}");
        }
        assert_eq!(
            source.stamp(),
            Stamp::default(),
            "an inline value never changes"
        );
    }

    #[test]
    fn the_valid_certificate_with_the_latest_not_after_is_chosen() {
        let pki = TestPki::new("Choose");
        let dir = TempDir::new();
        let now = OffsetDateTime::now_utc();
        let window =
            |from: i64, until: i64| Some((now + Duration::days(from), now + Duration::days(until)));
        let cases = [
            ("current", window(-10, 20)),
            ("renewal", window(-1, 90)),
            ("expired", window(-400, -1)),
            ("not yet valid", window(2, 500)),
        ];
        let mut leaves = std::collections::HashMap::new();
        for (index, (name, validity)) in cases.iter().enumerate() {
            let client = pki.client(KeyKind::Ec, *validity);
            let file = dir.file(&format!("{}{index}.p12", &SHA1_NAME[..39]));
            std::fs::write(file, client.p12_with_key(&client.key_pkcs8, "")).expect("write");
            leaves.insert(*name, client.leaf);
        }

        let chosen = common_name_source(&dir)
            .load(UnixTime::now(), &provider())
            .expect("one is valid");

        assert_eq!(
            chosen.chain()[0],
            leaves["renewal"],
            "latest notAfter among the valid ones"
        );
    }
}
