//! Choosing the outbound identity by subject CN among a folder's thumbprint-named `.p12` files
//! (`OUTBOUND_CLIENT_CERT_COMMON_NAME`), as App Service lays out `/var/ssl/private`.
//!
//! That folder holds every certificate loaded for the app, TLS server certificates and other
//! apps' uploads included, often with the same CN. So a file is a candidate only when it opens
//! with the password as an identity whose key matches its certificate and whose certificate has
//! the CN, is not a CA, allows TLS client authentication (clientAuth, or no extended key usage)
//! and, while an identity is in use, has the same issuer (unless
//! `OUTBOUND_CLIENT_CERT_ALLOW_ANY_ISSUER`). Among the candidates valid now, the latest notAfter
//! wins. Every file not chosen gets one log line saying why: a same-CN certificate refused for
//! its usage, CA flag or issuer at warn (a decoy, or a renewal that needs a setting), others at
//! info, files of other CNs at debug.
//!
//! It decides and logs; it does not build clients (`reload.rs`).

use std::path::{Path, PathBuf};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::UnixTime;
use secrecy::SecretString;

use super::identity::Identity;
use super::identity_source::{Loaded, SourceError};

/// What a candidate must match.
pub(super) struct Rule<'a> {
    pub common_name: &'a str,
    /// The identity in use, whose issuer a renewal must share; `None`: any issuer.
    pub issuer_of: Option<&'a Identity>,
}

/// Why a file was not chosen.
enum Skip {
    /// Not an identity that opens with the password, or its key does not match.
    Unusable(String),
    OtherCommonName(Option<String>),
    Ca,
    NoClientAuth(String),
    OtherIssuer {
        issuer: String,
        held: String,
    },
    NotYetValid(String),
    Expired(String),
    /// Valid, but another candidate lasts longer.
    NotLatest,
}

/// The currently valid candidate with the latest notAfter in `dir`, and when the choice could
/// change by the clock alone (see [`Loaded::review_at`]).
pub(super) fn choose(
    rule: &Rule<'_>,
    dir: &Path,
    password: &SecretString,
    now: UnixTime,
    provider: &CryptoProvider,
) -> Loaded {
    let files = match thumbprint_files(dir) {
        Ok(files) => files,
        Err(source) => {
            let dir = dir.display().to_string();
            return Loaded {
                identity: Err(SourceError::Dir { dir, source }),
                review_at: None,
            };
        }
    };
    let considered = files.len();
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let mut best: Option<(PathBuf, Identity)> = None;
    let mut skipped: Vec<(PathBuf, Skip)> = Vec::new();
    let mut pending: Option<i64> = None;
    for path in files {
        let identity = match Identity::load(&path, password, provider) {
            Ok(identity) => identity,
            Err(error) => {
                skipped.push((path, Skip::Unusable(error.to_string())));
                continue;
            }
        };
        if let Err(skip) = qualify(rule, &identity, now) {
            if matches!(skip, Skip::NotYetValid(_)) {
                let not_before = identity.not_before_secs();
                pending = Some(pending.map_or(not_before, |earliest| earliest.min(not_before)));
            }
            skipped.push((path, skip));
            continue;
        }
        let later = best
            .as_ref()
            .is_none_or(|(_, chosen)| identity.not_after_secs() > chosen.not_after_secs());
        if later {
            if let Some((previous, _)) = best.replace((path, identity)) {
                skipped.push((previous, Skip::NotLatest));
            }
        } else {
            skipped.push((path, Skip::NotLatest));
        }
    }
    for (path, skip) in &skipped {
        log_skip(
            rule.common_name,
            path,
            skip,
            best.as_ref().map(|(path, _)| path.as_path()),
        );
    }
    let expiry = best
        .as_ref()
        .map(|(_, chosen)| chosen.not_after_secs().saturating_add(1));
    let review_at = match (pending.filter(|at| *at > now_secs), expiry) {
        (Some(pending), Some(expiry)) => Some(pending.min(expiry)),
        (pending, expiry) => pending.or(expiry),
    };
    let identity = best
        .map(|(_, identity)| identity)
        .ok_or_else(|| SourceError::NoMatch {
            common_name: rule.common_name.to_owned(),
            dir: dir.display().to_string(),
            considered,
            skipped: skipped.len(),
        });
    Loaded {
        identity,
        review_at,
    }
}

/// Whether `identity` is a candidate valid now.
fn qualify(rule: &Rule<'_>, identity: &Identity, now: UnixTime) -> Result<(), Skip> {
    if identity.common_name() != Some(rule.common_name) {
        return Err(Skip::OtherCommonName(
            identity.common_name().map(str::to_owned),
        ));
    }
    if identity.is_ca() {
        return Err(Skip::Ca);
    }
    if !identity.allows_client_auth() {
        let usages = identity.extended_key_usage().unwrap_or_default().join(", ");
        return Err(Skip::NoClientAuth(usages));
    }
    if let Some(held) = rule.issuer_of
        && !identity.same_issuer_as(held)
    {
        return Err(Skip::OtherIssuer {
            issuer: identity.issuer().to_owned(),
            held: held.issuer().to_owned(),
        });
    }
    match identity.check_validity(now) {
        Ok(()) => Ok(()),
        Err(error) if identity.not_before_secs() > unix_secs(now) => {
            Err(Skip::NotYetValid(error.to_string()))
        }
        Err(error) => Err(Skip::Expired(error.to_string())),
    }
}

fn log_skip(common_name: &str, path: &Path, skip: &Skip, chosen: Option<&Path>) {
    let file = path.display();
    match skip {
        Skip::Unusable(error) => {
            tracing::info!(%file, %error, "outbound identity candidate skipped: it does not open as an identity whose key matches its certificate");
        }
        Skip::OtherCommonName(cn) => {
            tracing::debug!(%file, cn = cn.as_deref().unwrap_or(""), wanted = common_name,
                "outbound identity candidate skipped: another CN");
        }
        Skip::Ca => {
            tracing::warn!(%file, cn = common_name,
                "outbound identity candidate skipped: a CA certificate (basicConstraints cA=TRUE), not a client identity");
        }
        Skip::NoClientAuth(usages) => {
            tracing::warn!(%file, cn = common_name, extended_key_usage = %usages,
                "outbound identity candidate skipped: its extended key usage does not allow TLS client authentication (clientAuth)");
        }
        Skip::OtherIssuer { issuer, held } => {
            tracing::warn!(%file, cn = common_name, %issuer, current_issuer = %held,
                "outbound identity candidate skipped: issued by another CA than the identity in use (set OUTBOUND_CLIENT_CERT_ALLOW_ANY_ISSUER=true to accept a change of CA)");
        }
        Skip::NotYetValid(error) => {
            tracing::info!(%file, cn = common_name, %error,
                "outbound identity candidate skipped for now: not valid yet (taken once it is, if it is still the best)");
        }
        Skip::Expired(error) => {
            tracing::info!(%file, cn = common_name, %error, "outbound identity candidate skipped: expired");
        }
        Skip::NotLatest => {
            tracing::info!(%file, cn = common_name, chosen = %chosen.map(|path| path.display().to_string()).unwrap_or_default(),
                "outbound identity candidate not chosen: another one is valid for longer");
        }
    }
}

/// `dir`'s files named `<40 or 64 hex>.p12`, as App Service names them.
pub(super) fn thumbprint_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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
    files.sort();
    Ok(files)
}

fn unix_secs(now: UnixTime) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_pki::{KeyKind, Shape, TempDir, TestPki, key, provider};
    use time::{Duration, OffsetDateTime};

    /// Writes each shape as a thumbprint-named `.p12` (empty password) valid for `days`.
    fn folder(pki: &TestPki, files: &[(Shape, i64)]) -> TempDir {
        let dir = TempDir::new();
        let now = OffsetDateTime::now_utc();
        for (index, (shape, days)) in files.iter().enumerate() {
            let client = pki.shaped(
                *shape,
                KeyKind::Ec,
                Some((now - Duration::days(1), now + Duration::days(*days))),
            );
            let name = format!("{index:040}.p12");
            std::fs::write(dir.file(&name), client.p12_with_key(&client.key_pkcs8, ""))
                .expect("write");
        }
        dir
    }

    fn chosen(dir: &TempDir, held: Option<&Identity>) -> Result<Identity, SourceError> {
        let rule = Rule {
            common_name: "outbound-client",
            issuer_of: held,
        };
        choose(
            &rule,
            dir.path(),
            &SecretString::from(String::new()),
            UnixTime::now(),
            &provider(),
        )
        .identity
    }

    #[test]
    fn decoys_with_the_cn_and_a_later_not_after_are_never_chosen() {
        let pki = TestPki::new("Decoys");
        let held_dir = folder(&pki, &[(Shape::Client, 30)]);
        let held = chosen(&held_dir, None).expect("the identity in use");
        let cases = [
            (Shape::ServerAuthOnly, "a serverAuth-only certificate"),
            (Shape::Ca, "a CA certificate"),
            (Shape::FromRoot, "a certificate from another issuer"),
            (Shape::SelfSigned, "a self-signed certificate"),
        ];
        for (decoy, reason) in cases {
            // The real renewal (60 days) beside a decoy that lasts longer (400 days).
            let dir = folder(&pki, &[(Shape::Client, 60), (decoy, 400)]);

            let identity = chosen(&dir, Some(&held)).expect("the renewal qualifies");

            let days_left =
                (identity.not_after_secs() - OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
            assert!(
                (58..=60).contains(&days_left),
                "{reason} was chosen over the renewal ({days_left} days)"
            );
        }
    }

    #[test]
    fn a_folder_of_decoys_only_chooses_nothing_and_says_how_many_were_skipped() {
        let pki = TestPki::new("Only decoys");
        let held_dir = folder(&pki, &[(Shape::Client, 30)]);
        let held = chosen(&held_dir, None).expect("the identity in use");
        let dir = folder(
            &pki,
            &[
                (Shape::ServerAuthOnly, 400),
                (Shape::Ca, 400),
                (Shape::FromRoot, 400),
                (Shape::SelfSigned, 400),
            ],
        );

        let error = chosen(&dir, Some(&held)).expect_err("none qualifies");

        assert!(
            error
                .to_string()
                .contains("among the 4 thumbprint-named .p12 file(s)")
                && error.to_string().contains("(4 skipped"),
            "{error}"
        );
    }

    #[test]
    fn no_extended_key_usage_qualifies_and_any_issuer_is_taken_when_none_is_held() {
        let pki = TestPki::new("No EKU");
        let dir = folder(&pki, &[(Shape::NoExtendedKeyUsage, 90)]);
        assert!(chosen(&dir, None).is_ok(), "no EKU means any usage");
        let other = folder(&pki, &[(Shape::FromRoot, 90)]);
        assert!(
            chosen(&other, None).is_ok(),
            "with no identity in use (or OUTBOUND_CLIENT_CERT_ALLOW_ANY_ISSUER), any issuer"
        );
    }

    #[test]
    fn a_file_whose_key_does_not_match_is_skipped() {
        let pki = TestPki::new("Mismatched key");
        let dir = TempDir::new();
        let client = pki.client(KeyKind::Ec, None);
        let other_key = key(KeyKind::Ec).serialize_der();
        std::fs::write(
            dir.file(&format!("{:040}.p12", 1)),
            client.p12_with_key(&other_key, ""),
        )
        .expect("write");

        assert!(matches!(
            chosen(&dir, None),
            Err(SourceError::NoMatch { skipped: 1, .. })
        ));
    }
}
