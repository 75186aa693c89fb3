//! Where the outbound identity comes from, and loading it from there, at startup and again on
//! every reload: a file (`OUTBOUND_CLIENT_CERT_PATH`, or `<dir>/<THUMBPRINT>.p12` for
//! `OUTBOUND_CLIENT_CERT_THUMBPRINT`), the best certificate of a subject CN among the
//! thumbprint-named files of a folder (`OUTBOUND_CLIENT_CERT_COMMON_NAME`, chosen in
//! `common_name`), or the setting's own value (`OUTBOUND_CLIENT_CERT_BASE64`: base64 PKCS#12 or
//! PEM text, as a Key Vault reference gives it, at most [`MAX_INLINE_BYTES`]).
//!
//! A [`Stamp`] tells whether the source changed since it was last loaded. A load is CPU- and I/O-bound: [`IdentitySource::load_within`] runs it on a
//! thread of its own and waits a bounded time. This module does not build clients or swap
//! them (`reload.rs` does), and never puts a password or an inline value in an error or a log.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::UnixTime;
use secrecy::{ExposeSecret, SecretString};

use super::common_name;
use super::identity::{Identity, IdentityError};
pub use super::stamp::Stamp;
use crate::cert_file::FileKind;

/// The longest inline value accepted (`OUTBOUND_CLIENT_CERT_BASE64`), in bytes: base64 of an
/// identity at the file cap (`FileKind::Identity`, 1 MiB), with room for line breaks.
pub const MAX_INLINE_BYTES: usize = 2 * 1024 * 1024;

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
    /// thumbprint-named `.p12` files that qualify as a client identity (`common_name`).
    CommonName {
        setting: &'static str,
        common_name: String,
        dir: PathBuf,
        password: SecretString,
        /// Whether a renewal may come from another issuer than the identity in use.
        any_issuer: bool,
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
        "no certificate qualifies as CN {common_name:?} among the {considered} thumbprint-named .p12 file(s) of {dir} ({skipped} skipped, each logged with the reason)"
    )]
    NoMatch {
        common_name: String,
        dir: String,
        considered: usize,
        skipped: usize,
    },
    #[error("the value is neither PEM text nor base64")]
    NotBase64,
    #[error("the value of {setting} is {bytes} bytes, more than the {cap} accepted")]
    InlineTooLarge {
        setting: &'static str,
        bytes: usize,
        cap: usize,
    },
    #[error(
        "the value of {setting} is an unresolved Key Vault reference (@Microsoft.KeyVault(...)), not a certificate"
    )]
    UnresolvedKeyVaultReference { setting: &'static str },
}

/// One load of the source, with when its outcome could next change with no file changed.
#[derive(Debug)]
pub struct Loaded {
    pub identity: Result<Identity, SourceError>,
    /// The earliest moment (unix seconds, after `now`) at which loading again could come out
    /// differently with no file changed: for a CN choice, just past the chosen certificate's
    /// notAfter or the notBefore of a matching certificate skipped as not yet valid; for a file
    /// not valid yet, its notBefore. `None` when only a change of the files can change it.
    pub review_at: Option<i64>,
}

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
            Self::File { path, .. } => Stamp::of(std::slice::from_ref(path)),
            Self::CommonName { dir, .. } => {
                Stamp::of(&common_name::thumbprint_files(dir).unwrap_or_default())
            }
            Self::Inline { .. } => Stamp::default(),
        }
    }

    /// Loads the identity and checks it as at startup (key, chain, validity at `now`).
    ///
    /// # Errors
    /// [`SourceError`] naming the file or folder (never the password or an inline value).
    pub fn load(&self, now: UnixTime, provider: &CryptoProvider) -> Result<Identity, SourceError> {
        self.load_with_review(now, provider, None).identity
    }

    /// [`IdentitySource::load`], with when to load again regardless of the files (see
    /// [`Loaded`]). `held` is the identity in use: a CN choice takes a renewal only from its
    /// issuer (unless `any_issuer`).
    pub fn load_with_review(
        &self,
        now: UnixTime,
        provider: &CryptoProvider,
        held: Option<&Identity>,
    ) -> Loaded {
        match self {
            Self::CommonName {
                common_name,
                dir,
                password,
                any_issuer,
                ..
            } => {
                let rule = common_name::Rule {
                    common_name,
                    issuer_of: if *any_issuer { None } else { held },
                };
                common_name::choose(&rule, dir, password, now, provider)
            }
            Self::File { path, password, .. } => {
                let origin = || path.display().to_string();
                checked(Identity::load(path, password, provider), now, origin)
            }
            Self::Inline {
                setting, password, ..
            } => match self.inline_bytes() {
                Ok(bytes) => checked(
                    Identity::from_bytes(&bytes, password, provider),
                    now,
                    || format!("the value of {setting}"),
                ),
                Err(error) => Loaded {
                    identity: Err(error),
                    review_at: None,
                },
            },
        }
    }

    /// The stamp, then [`IdentitySource::load_with_review`], on a thread of its own, waiting at
    /// most `deadline` (a stuck file share or folder listing cannot stall the caller).
    /// `in_flight` is held while the load runs, and the load is not started when it is already
    /// held. `None`: it did not finish in time (it goes on, holding `in_flight`, and its outcome
    /// is dropped), or another load holds `in_flight`.
    pub fn load_within(
        &self,
        deadline: Duration,
        now: UnixTime,
        provider: &Arc<CryptoProvider>,
        in_flight: &Arc<AtomicBool>,
    ) -> Option<(Stamp, Loaded)> {
        let guard = InFlight::acquire(Arc::clone(in_flight))?;
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let (source, provider) = (self.clone(), Arc::clone(provider));
        let spawned = std::thread::Builder::new()
            .name("identity-load".to_owned())
            .spawn(move || {
                let _guard = guard;
                let stamp = source.stamp();
                let loaded = source.load_with_review(now, &provider, None);
                sender.send((stamp, loaded)).ok();
            });
        if spawned.is_err() {
            return None;
        }
        receiver.recv_timeout(deadline).ok()
    }

    /// The inline value as identity bytes, within the caps.
    fn inline_bytes(&self) -> Result<Vec<u8>, SourceError> {
        let Self::Inline { setting, value, .. } = self else {
            return Ok(Vec::new());
        };
        let text = value.expose_secret();
        if text.len() > MAX_INLINE_BYTES {
            return Err(SourceError::InlineTooLarge {
                setting,
                bytes: text.len(),
                cap: MAX_INLINE_BYTES,
            });
        }
        let text = text.trim();
        if text.starts_with("@Microsoft.KeyVault(") {
            return Err(SourceError::UnresolvedKeyVaultReference { setting });
        }
        let bytes = if text.starts_with("-----BEGIN") {
            text.as_bytes().to_vec()
        } else {
            let compact: String = text.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| SourceError::NotBase64)?
        };
        let cap = FileKind::Identity.max_bytes();
        if bytes.len() as u64 > cap {
            return Err(SourceError::InlineTooLarge {
                setting,
                bytes: bytes.len(),
                cap: usize::try_from(cap).unwrap_or(usize::MAX),
            });
        }
        Ok(bytes)
    }
}

/// A flag held for as long as a load runs; released when dropped, even by a panic.
pub(super) struct InFlight(Arc<AtomicBool>);

impl InFlight {
    /// Takes the flag; `None` when another load holds it.
    pub(super) fn acquire(flag: Arc<AtomicBool>) -> Option<Self> {
        flag.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            .then(|| Self(flag))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A single identity checked for validity at `now`; not valid yet is worth another look at
/// its notBefore.
fn checked(
    loaded: Result<Identity, IdentityError>,
    now: UnixTime,
    origin: impl Fn() -> String,
) -> Loaded {
    let review_at = loaded
        .as_ref()
        .ok()
        .map(Identity::not_before_secs)
        .filter(|not_before| *not_before > i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
    let identity = loaded
        .and_then(|identity| identity.check_validity(now).map(|()| identity))
        .map_err(|source| SourceError::Identity {
            origin: origin(),
            source,
        });
    Loaded {
        identity,
        review_at,
    }
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
            any_issuer: false,
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

    fn inline(value: String) -> IdentitySource {
        IdentitySource::Inline {
            setting: "OUTBOUND_CLIENT_CERT_BASE64",
            value: SecretString::from(value),
            password: SecretString::from(String::new()),
        }
    }

    #[test]
    fn an_inline_value_over_its_caps_is_refused_naming_the_cap() {
        let cases = [
            (
                "3 MiB of text",
                "A".repeat(3 * 1024 * 1024),
                "more than the 2097152 accepted",
            ),
            (
                "base64 of 1.5 MiB",
                base64::engine::general_purpose::STANDARD.encode(vec![0u8; 1536 * 1024]),
                "more than the 1048576 accepted",
            ),
        ];
        for (reason, value, fragment) in cases {
            let error = inline(value)
                .load(UnixTime::now(), &provider())
                .expect_err(reason);
            assert!(
                matches!(error, SourceError::InlineTooLarge { .. })
                    && error.to_string().contains(fragment),
                "{reason}: {error}"
            );
        }
    }

    #[test]
    fn an_unresolved_key_vault_reference_is_named_as_such() {
        let reference =
            "@Microsoft.KeyVault(SecretUri=https://vault.vault.azure.net/secrets/partner/)";
        let error = inline(reference.to_owned())
            .load(UnixTime::now(), &provider())
            .expect_err("not a certificate");
        assert!(
            matches!(error, SourceError::UnresolvedKeyVaultReference { .. }),
            "{error}"
        );
        assert!(!error.to_string().contains("vault.azure.net"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn making_a_file_readable_changes_the_stamp() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let path = dir.file("identity.p12");
        std::fs::write(&path, b"bytes").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let source = IdentitySource::File {
            setting: "OUTBOUND_CLIENT_CERT_PATH",
            path: path.clone(),
            password: SecretString::from(String::new()),
        };
        let unreadable = source.stamp();

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");

        assert_ne!(source.stamp(), unreadable, "a chmod is a change");
    }
}
