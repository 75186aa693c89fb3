//! Outbound mutual-TLS settings: the upstream URL, the client identity, trusted roots, timeouts
//! and the response size cap. Files are read and the rustls configuration is built here, at
//! startup, so that every problem is reported with its setting's name before the port is bound.
//!
//! Outbound calls are optional. With neither an identity nor `REMOTE_API_URL`, the outbound part
//! is off (`settings: None`) and the app starts. With only one of them, it is a configuration
//! error naming the missing one: a half-configured outbound client is always a mistake.
//!
//! Trust: `OUTBOUND_TRUSTED_CA_PATHS` adds private CAs. `OUTBOUND_TRUST_PUBLIC_ROOTS` defaults to
//! true when no private CA is given and to false when one is (fail closed: naming a private CA
//! means "this upstream is ours", so a public CA should not also vouch for it).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use secrecy::SecretString;
use url::Url;

use super::Reader;
use crate::client_cert::policy::Thumbprint;
use crate::outbound::identity_source::IdentitySource;
use crate::outbound::{Identity, IdentityReload, OutboundSettings, tls};

/// The upstream to call; must be `https`.
pub const REMOTE_API_URL: &str = "REMOTE_API_URL";
/// A PKCS#12 (or PEM chain + key) file with the client identity (the reference's name).
pub const CLIENT_CERT_PATH: &str = "OUTBOUND_CLIENT_CERT_PATH";
/// Its password; empty by default (App Service's own files have none).
pub const CLIENT_CERT_PASSWORD: &str = "OUTBOUND_CLIENT_CERT_PASSWORD";
/// Instead of a path: the thumbprint of a certificate App Service loaded
/// (`WEBSITE_LOAD_CERTIFICATES`), found as `<dir>/<THUMBPRINT>.p12`.
pub const CLIENT_CERT_THUMBPRINT: &str = "OUTBOUND_CLIENT_CERT_THUMBPRINT";
/// Instead of a path or a thumbprint: the subject CN of the identity to choose among the
/// thumbprint-named files of `OUTBOUND_CLIENT_CERT_DIR` (valid now, latest notAfter).
pub const CLIENT_CERT_COMMON_NAME: &str = "OUTBOUND_CLIENT_CERT_COMMON_NAME";
/// Instead of a file: the identity itself, base64 PKCS#12 or PEM (a Key Vault reference).
pub const CLIENT_CERT_BASE64: &str = "OUTBOUND_CLIENT_CERT_BASE64";
/// How often the identity's file or folder is checked for a renewal, seconds.
pub const CLIENT_CERT_RELOAD_SECONDS: &str = "OUTBOUND_CLIENT_CERT_RELOAD_SECONDS";
pub const DEFAULT_CLIENT_CERT_RELOAD_SECONDS: u64 = 60;
/// Where thumbprint-named files live.
pub const CLIENT_CERT_DIR: &str = "OUTBOUND_CLIENT_CERT_DIR";
pub const DEFAULT_CLIENT_CERT_DIR: &str = "/var/ssl/private";
/// Comma-separated PEM or DER files of private CAs that sign the upstream's certificate.
pub const TRUSTED_CA_PATHS: &str = "OUTBOUND_TRUSTED_CA_PATHS";
/// Whether the platform's public roots are trusted too (default: only if no private CA).
pub const TRUST_PUBLIC_ROOTS: &str = "OUTBOUND_TRUST_PUBLIC_ROOTS";
/// TCP connect plus TLS handshake.
pub const CONNECT_TIMEOUT_MS: &str = "OUTBOUND_CONNECT_TIMEOUT_MS";
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// The whole call, body included.
pub const TIMEOUT_MS: &str = "OUTBOUND_TIMEOUT_MS";
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// The largest upstream response body accepted.
pub const MAX_RESPONSE_BYTES: &str = "OUTBOUND_MAX_RESPONSE_BYTES";
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// The largest cap allowed: the answer must still fit a payload-mode envelope
/// (`host::invocation`'s output limit, with room for JSON escaping).
pub const MAX_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// A warning is logged at startup when the identity expires within this window.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Outbound settings; `settings` is `None` when outbound calls are not configured.
#[derive(Debug, Default)]
pub struct OutboundConfig {
    pub settings: Option<OutboundSettings>,
}

impl OutboundConfig {
    /// Reads every outbound setting, loads the identity and CA files and builds the rustls
    /// configuration now; each problem is recorded on `reader` under its setting's name.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let url = read_url(reader);
        let source = read_identity_source(reader);
        let provider = tls::provider();
        // Stamped before loading, so a renewal made after the load is picked up by the reloader.
        let stamp = source
            .as_ref()
            .map(IdentitySource::stamp)
            .unwrap_or_default();
        let identity = source
            .as_ref()
            .and_then(|source| load_identity(reader, source, &provider));
        let reload_period = Duration::from_secs(reader.number(
            CLIENT_CERT_RELOAD_SECONDS,
            DEFAULT_CLIENT_CERT_RELOAD_SECONDS,
            1..=86_400,
        ));
        let private_ca_configured = !reader.list(TRUSTED_CA_PATHS).is_empty();
        let private_roots = read_private_roots(reader);
        let trust_public_roots = reader.bool(TRUST_PUBLIC_ROOTS, !private_ca_configured);
        let connect_timeout =
            reader.millis(CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, 1..=60_000);
        let timeout = reader.millis(TIMEOUT_MS, DEFAULT_TIMEOUT_MS, 1..=600_000);
        let max_response_bytes = reader.number(
            MAX_RESPONSE_BYTES,
            DEFAULT_MAX_RESPONSE_BYTES,
            1..=MAX_MAX_RESPONSE_BYTES,
        );

        let identity_named = [
            CLIENT_CERT_PATH,
            CLIENT_CERT_THUMBPRINT,
            CLIENT_CERT_COMMON_NAME,
            CLIENT_CERT_BASE64,
        ]
        .iter()
        .any(|setting| reader.string(setting).is_some());
        match (reader.string(REMOTE_API_URL).is_some(), identity_named) {
            (false, false) => return Self { settings: None },
            (true, false) => reader.invalid(
                CLIENT_CERT_PATH,
                format!(
                    "{REMOTE_API_URL} is set but no client identity is: \
                     set {CLIENT_CERT_PATH}, {CLIENT_CERT_THUMBPRINT}, {CLIENT_CERT_COMMON_NAME} or {CLIENT_CERT_BASE64}"
                ),
            ),
            (false, true) => reader.invalid(
                REMOTE_API_URL,
                "a client identity is configured but no upstream URL is",
            ),
            (true, true) => {}
        }
        let verifier = match tls::verifier(private_roots.clone(), trust_public_roots, &provider) {
            Ok(verifier) => Some(verifier),
            Err(error) => {
                let setting = if private_ca_configured {
                    TRUSTED_CA_PATHS
                } else {
                    TRUST_PUBLIC_ROOTS
                };
                reader.invalid(setting, error.to_string());
                None
            }
        };
        let (Some(url), Some(identity), Some(verifier), Some(source)) =
            (url, identity, verifier, source)
        else {
            return Self { settings: None };
        };
        let tls = match tls::client_config(Arc::clone(&verifier), Some(&identity), &provider) {
            Ok(config) => config,
            Err(error) => {
                reader.invalid(source.setting(), error.to_string());
                return Self { settings: None };
            }
        };
        let identity_reload = identity.chain().first().map(|leaf| IdentityReload {
            source,
            stamp,
            leaf: leaf.clone(),
            verifier,
            provider: Arc::clone(&provider),
            period: reload_period,
        });
        let settings = OutboundSettings {
            url,
            tls,
            connect_timeout,
            timeout,
            max_response_bytes,
            identity_subject: identity.subject().to_owned(),
            identity_not_after: identity.not_after(),
            identity_expires_soon: identity.expires_within(UnixTime::now(), EXPIRY_WARNING),
            trust_public_roots,
            private_ca_count: private_roots.len(),
            identity_reload,
        };
        Self {
            settings: Some(settings),
        }
    }
}

fn read_url(reader: &mut Reader<'_>) -> Option<Url> {
    let value = reader.string(REMOTE_API_URL)?;
    match Url::parse(&value) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Some(url),
        Ok(url) => {
            let scheme = url.scheme().to_owned();
            reader.invalid(
                REMOTE_API_URL,
                format!("expected an https URL with a host, got scheme {scheme:?}"),
            );
            None
        }
        Err(error) => {
            // The value is not echoed: a URL may carry a key in its query.
            reader.invalid(REMOTE_API_URL, format!("invalid URL: {error}"));
            None
        }
    }
}

/// The one identity source the settings name; two or more are an error naming each pair.
fn read_identity_source(reader: &mut Reader<'_>) -> Option<IdentitySource> {
    let password = SecretString::from(reader.raw(CLIENT_CERT_PASSWORD).unwrap_or_default());
    let named: Vec<&'static str> = [
        CLIENT_CERT_PATH,
        CLIENT_CERT_THUMBPRINT,
        CLIENT_CERT_COMMON_NAME,
        CLIENT_CERT_BASE64,
    ]
    .into_iter()
    .filter(|setting| reader.string(setting).is_some())
    .collect();
    for (index, first) in named.iter().enumerate() {
        for second in &named[index + 1..] {
            reader.invalid(
                second,
                format!("set only one of {first} and {second}: each names the outbound identity"),
            );
        }
    }
    let [setting] = named.as_slice() else {
        return None;
    };
    let value = reader.string(setting).unwrap_or_default();
    let dir = || {
        PathBuf::from(
            reader
                .string(CLIENT_CERT_DIR)
                .unwrap_or_else(|| DEFAULT_CLIENT_CERT_DIR.to_owned()),
        )
    };
    match *setting {
        CLIENT_CERT_PATH => Some(IdentitySource::File {
            setting,
            path: PathBuf::from(value),
            password,
        }),
        CLIENT_CERT_THUMBPRINT => {
            // The same normalisation as the inbound pins: `:` and spaces stripped, upper case.
            let Ok(thumbprint) = value.parse::<Thumbprint>() else {
                reader.invalid(
                    CLIENT_CERT_THUMBPRINT,
                    format!("{value:?} is not a thumbprint: expected 40 or 64 hex characters"),
                );
                return None;
            };
            Some(IdentitySource::File {
                setting,
                path: dir().join(format!("{thumbprint}.p12")),
                password,
            })
        }
        CLIENT_CERT_COMMON_NAME => Some(IdentitySource::CommonName {
            setting,
            common_name: value,
            dir: dir(),
            password,
        }),
        _ => Some(IdentitySource::Inline {
            setting,
            // Raw: the value is never trimmed into a log; `load` trims what it decodes.
            value: SecretString::from(reader.raw(setting).unwrap_or_default()),
            password,
        }),
    }
}

fn load_identity(
    reader: &mut Reader<'_>,
    source: &IdentitySource,
    provider: &Arc<CryptoProvider>,
) -> Option<Identity> {
    match source.load(UnixTime::now(), provider) {
        Ok(identity) => Some(identity),
        Err(error) => {
            let (setting, message) = super::advice::identity_problem(source, &error);
            reader.invalid(setting, message);
            None
        }
    }
}

fn read_private_roots(reader: &mut Reader<'_>) -> Vec<CertificateDer<'static>> {
    let mut roots = Vec::new();
    for path in reader.list(TRUSTED_CA_PATHS) {
        match tls::load_ca_file(path.as_ref()) {
            Ok(certs) => roots.extend(certs),
            Err(error) => reader.invalid(TRUSTED_CA_PATHS, error.to_string()),
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::SettingError;
    use crate::outbound::test_pki::{KeyKind, P12Kind, PASSWORD, TempDir, TestPki, key};

    fn read(pairs: &[(&'static str, String)]) -> (OutboundConfig, Vec<SettingError>) {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let mut reader = Reader::new(&env);
        let config = OutboundConfig::read(&mut reader);
        (config, reader.into_errors())
    }

    /// A PKI, a p12 file and a CA file in a temp dir.
    struct Fixture {
        dir: TempDir,
        pki: TestPki,
        p12: PathBuf,
        ca: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = TempDir::new();
        let pki = TestPki::new("Config");
        let p12 = pki
            .client(KeyKind::Ec, None)
            .write_p12(&dir, P12Kind::Modern, PASSWORD);
        let ca = dir.file("upstream-ca.pem");
        std::fs::write(
            &ca,
            crate::outbound::test_pki::pem("CERTIFICATE", &pki.root()),
        )
        .unwrap();
        Fixture { dir, pki, p12, ca }
    }

    fn full(f: &Fixture) -> Vec<(&'static str, String)> {
        vec![
            (REMOTE_API_URL, "https://upstream.example/health".to_owned()),
            (CLIENT_CERT_PATH, f.p12.display().to_string()),
            (CLIENT_CERT_PASSWORD, PASSWORD.to_owned()),
            (TRUSTED_CA_PATHS, f.ca.display().to_string()),
        ]
    }

    fn with(
        mut pairs: Vec<(&'static str, String)>,
        name: &'static str,
        value: &str,
    ) -> Vec<(&'static str, String)> {
        pairs.retain(|(k, _)| *k != name);
        pairs.push((name, value.to_owned()));
        pairs
    }

    fn assert_one_error(errors: &[SettingError], setting: &str, fragment: &str) {
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].setting, setting, "{errors:?}");
        assert!(
            errors[0].message.contains(fragment),
            "{:?} lacks {fragment:?}",
            errors[0].message
        );
        assert!(
            !errors[0].message.contains(PASSWORD),
            "password leaked: {errors:?}"
        );
    }

    #[test]
    fn nothing_configured_means_outbound_is_off() {
        let (config, errors) = read(&[]);
        assert!(config.settings.is_none());
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn a_full_configuration_loads_with_defaults_and_a_private_ca_only() {
        let f = fixture();
        let (config, errors) = read(&full(&f));
        assert!(errors.is_empty(), "{errors:?}");
        let settings = config.settings.expect("outbound on");
        assert_eq!(settings.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(
            settings.connect_timeout,
            Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS)
        );
        assert_eq!(settings.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        assert!(
            !settings.trust_public_roots,
            "a private CA turns public roots off by default"
        );
        assert_eq!(settings.identity_subject, "CN=outbound-client");
        assert!(!format!("{settings:?}").contains(PASSWORD));
    }

    #[test]
    fn a_thumbprint_resolves_to_the_app_service_file_with_an_empty_password() {
        let f = fixture();
        let thumbprint = "ab:cd".repeat(10).replace(':', "");
        let client = f.pki.client(KeyKind::Rsa, None);
        client.write_p12(&f.dir, P12Kind::TripleDes, "");
        std::fs::rename(
            f.dir.file("TripleDes.p12"),
            f.dir.file(&format!("{}.p12", thumbprint.to_uppercase())),
        )
        .unwrap();
        let pairs = vec![
            (REMOTE_API_URL, "https://upstream.example/".to_owned()),
            (CLIENT_CERT_THUMBPRINT, format!(" {thumbprint} ")),
            (CLIENT_CERT_DIR, f.dir.path().display().to_string()),
            (TRUSTED_CA_PATHS, f.ca.display().to_string()),
        ];
        let (config, errors) = read(&pairs);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(config.settings.is_some());
    }

    #[test]
    fn each_identity_failure_names_its_setting_and_never_the_password() {
        let f = fixture();
        let client = f.pki.client(KeyKind::Ec, None);
        let no_key = f.dir.file("no-key.p12");
        std::fs::write(&no_key, client.p12_without_key(PASSWORD)).unwrap();
        let mismatch = f.dir.file("mismatch.p12");
        std::fs::write(
            &mismatch,
            client.p12_with_key(&key(KeyKind::Ec).serialize_der(), PASSWORD),
        )
        .unwrap();
        let old = f.pki.client(
            KeyKind::Ec,
            Some((
                rcgen::date_time_ymd(2020, 1, 1),
                rcgen::date_time_ymd(2021, 1, 1),
            )),
        );
        let expired = f.dir.file("expired.p12");
        std::fs::write(&expired, old.p12_with_key(&old.key_pkcs8, PASSWORD)).unwrap();
        let cases = [
            (
                "missing file",
                with(full(&f), CLIENT_CERT_PATH, "/nonexistent/client.p12"),
                "cannot read",
            ),
            (
                "no private key",
                with(full(&f), CLIENT_CERT_PATH, &no_key.display().to_string()),
                "no private key",
            ),
            (
                "key mismatch",
                with(full(&f), CLIENT_CERT_PATH, &mismatch.display().to_string()),
                "does not match",
            ),
            (
                "expired",
                with(full(&f), CLIENT_CERT_PATH, &expired.display().to_string()),
                "expired",
            ),
        ];
        for (description, pairs, fragment) in cases {
            let (config, errors) = read(&pairs);
            assert!(config.settings.is_none(), "{description}");
            assert_one_error(&errors, CLIENT_CERT_PATH, fragment);
        }
    }

    #[test]
    fn password_and_thumbprint_file_problems_say_which_setting_and_what_to_do() {
        let f = fixture();
        let empty_dir = f.dir.file("no-certificates-here");
        let cases = [
            (
                "a wrong password is blamed on the password",
                with(full(&f), CLIENT_CERT_PASSWORD, "wrong"),
                CLIENT_CERT_PASSWORD,
                "the password given does not open",
            ),
            (
                "no password says none was given",
                with(full(&f), CLIENT_CERT_PASSWORD, ""),
                CLIENT_CERT_PASSWORD,
                "none was given",
            ),
            (
                "a missing thumbprint file says how App Service makes it appear",
                vec![
                    (REMOTE_API_URL, "https://upstream.example/".to_owned()),
                    (CLIENT_CERT_THUMBPRINT, "AB".repeat(20)),
                    (CLIENT_CERT_DIR, empty_dir.display().to_string()),
                ],
                CLIENT_CERT_THUMBPRINT,
                "WEBSITE_LOAD_CERTIFICATES",
            ),
        ];
        for (description, pairs, setting, fragment) in cases {
            let (config, errors) = read(&pairs);
            assert!(config.settings.is_none(), "{description}");
            assert_one_error(&errors, setting, fragment);
        }
    }

    #[test]
    fn half_a_configuration_names_the_missing_half() {
        let f = fixture();
        let url_only = vec![(REMOTE_API_URL, "https://upstream.example/".to_owned())];
        let (_, errors) = read(&url_only);
        assert_one_error(&errors, CLIENT_CERT_PATH, REMOTE_API_URL);

        let identity_only: Vec<_> = full(&f)
            .into_iter()
            .filter(|(k, _)| *k != REMOTE_API_URL)
            .collect();
        let (_, errors) = read(&identity_only);
        assert_one_error(&errors, REMOTE_API_URL, "no upstream URL");
    }

    #[test]
    fn bad_values_are_all_reported_together() {
        let f = fixture();
        let pairs = with(
            with(
                with(full(&f), REMOTE_API_URL, "http://upstream.example/"),
                TIMEOUT_MS,
                "0",
            ),
            TRUSTED_CA_PATHS,
            "/nonexistent/ca.pem",
        );
        let (config, errors) = read(&pairs);
        assert!(config.settings.is_none());
        let settings: Vec<_> = errors.iter().map(|e| e.setting).collect();
        assert!(settings.contains(&REMOTE_API_URL), "{errors:?}");
        assert!(settings.contains(&TIMEOUT_MS), "{errors:?}");
        assert!(settings.contains(&TRUSTED_CA_PATHS), "{errors:?}");
    }

    #[test]
    fn public_roots_off_without_a_private_ca_is_refused() {
        let f = fixture();
        let pairs: Vec<_> = with(full(&f), TRUST_PUBLIC_ROOTS, "false")
            .into_iter()
            .filter(|(k, _)| *k != TRUSTED_CA_PATHS)
            .collect();
        let (_, errors) = read(&pairs);
        assert_one_error(&errors, TRUST_PUBLIC_ROOTS, "no trust anchors");
    }
}
