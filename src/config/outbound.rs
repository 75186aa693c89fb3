//! Outbound mutual-TLS settings: the upstream URL, the client identity, trusted roots, timeouts
//! and the response size cap. Files are read, and the identity loaded, here at startup, so that
//! every problem is reported with its setting's name before the port is bound.
//!
//! Outbound is one function's dependency, so no outbound problem stops the process: an identity
//! that does not load (not there yet, unreadable, a wrong password, expired), `REMOTE_API_URL`
//! without an identity, or an invalid outbound setting leave the client unavailable with the
//! reason ([`Unavailable`]), every problem is kept in [`OutboundConfig::problems`] (logged as
//! errors at startup, listed by `handler check`), and inbound serves as usual. Only
//! `OUTBOUND_MTLS_ENABLED`, which decides whether a route exists, is read as a startup error.
//!
//! With neither an identity nor `REMOTE_API_URL`, outbound is off. An identity without
//! `REMOTE_API_URL` serves one's own functions (full URLs); the demo `outbound-mtls` then
//! answers 503 `outbound_not_configured`.
//!
//! Trust: `OUTBOUND_TRUSTED_CA_PATHS` adds private CAs. `OUTBOUND_TRUST_PUBLIC_ROOTS` defaults to
//! true when no private CA is given and to false when one is (fail closed: naming a private CA
//! means "this upstream is ours", so a public CA should not also vouch for it).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use secrecy::SecretString;
use url::Url;

use super::{Env, Reader, SettingError, advice};
use crate::client_cert::policy::Thumbprint;
use crate::outbound::identity_source::{IdentitySource, Stamp};
use crate::outbound::{Identity, IdentityReload, OutboundSettings, Reason, Unavailable, tls};

/// The upstream the demo `outbound-mtls` calls, and the host of paths in calls of one's own;
/// must be `https`.
pub const REMOTE_API_URL: &str = "REMOTE_API_URL";
/// A PKCS#12 (or PEM chain + key) file with the client identity (the reference's name).
pub const CLIENT_CERT_PATH: &str = "OUTBOUND_CLIENT_CERT_PATH";
/// Its password; empty by default (App Service's own files have none).
pub const CLIENT_CERT_PASSWORD: &str = "OUTBOUND_CLIENT_CERT_PASSWORD";
/// Instead of a path: the thumbprint of a certificate App Service loaded
/// (`WEBSITE_LOAD_CERTIFICATES`), found as `<dir>/<THUMBPRINT>.p12`.
pub const CLIENT_CERT_THUMBPRINT: &str = "OUTBOUND_CLIENT_CERT_THUMBPRINT";
/// Instead of a path or a thumbprint: the subject CN of the identity to choose among the
/// thumbprint-named files of `OUTBOUND_CLIENT_CERT_DIR` (a client certificate valid now, from
/// the same issuer as the one in use, latest notAfter).
pub const CLIENT_CERT_COMMON_NAME: &str = "OUTBOUND_CLIENT_CERT_COMMON_NAME";
/// With `OUTBOUND_CLIENT_CERT_COMMON_NAME`: accept a renewal from another issuer (weakens).
pub const CLIENT_CERT_ALLOW_ANY_ISSUER: &str = "OUTBOUND_CLIENT_CERT_ALLOW_ANY_ISSUER";
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
/// `false` removes the demo `outbound-mtls` route (404); the client stays for one's own code.
pub const MTLS_ENABLED: &str = "OUTBOUND_MTLS_ENABLED";
/// How long startup waits for the identity to load before starting without it (the load goes
/// on; the reloader takes over).
pub const STARTUP_LOAD_DEADLINE: Duration = Duration::from_secs(30);

const IDENTITY_SETTINGS: [&str; 4] = [
    CLIENT_CERT_PATH,
    CLIENT_CERT_THUMBPRINT,
    CLIENT_CERT_COMMON_NAME,
    CLIENT_CERT_BASE64,
];

/// Outbound settings as read at startup.
#[derive(Debug, Default)]
pub struct OutboundConfig {
    /// The client's settings, when outbound is configured and a client is possible (its
    /// identity may still be unavailable, see [`OutboundSettings::identity`]).
    pub settings: Option<OutboundSettings>,
    /// Why outbound is configured but no client is possible (invalid settings, or
    /// `REMOTE_API_URL` without an identity).
    pub unavailable: Option<Unavailable>,
    /// Every outbound problem, each naming its setting (the identity's included).
    pub problems: Vec<SettingError>,
    /// `OUTBOUND_MTLS_ENABLED`: whether the demo `outbound-mtls` route is served.
    pub demo_enabled: bool,
}

/// The client's parameters other than the identity, as read.
struct ClientParts {
    url: Option<Url>,
    period: Duration,
    private_ca_count: usize,
    trust_public_roots: bool,
    connect_timeout: Duration,
    timeout: Duration,
    max_response_bytes: u64,
    provider: Arc<CryptoProvider>,
    verifier: Option<Arc<dyn ServerCertVerifier>>,
}

/// The startup load: the identity or why not, the stamp taken before it, when to look again.
type StartupLoad = (Result<Identity, Unavailable>, Option<Stamp>, Option<i64>);

impl OutboundConfig {
    /// Reads every outbound setting, loads the identity and CA files and builds the trust
    /// configuration now. Outbound problems are kept here; only `OUTBOUND_MTLS_ENABLED` is
    /// recorded on `fatal`.
    pub fn read(env: &dyn Env, fatal: &mut Reader<'_>) -> Self {
        let demo_enabled = fatal.bool(MTLS_ENABLED, true);
        let mut reader = Reader::new(env);
        let url_named = reader.string(REMOTE_API_URL).is_some();
        let identity_named = IDENTITY_SETTINGS
            .iter()
            .any(|setting| reader.string(setting).is_some());
        let source = read_identity_source(&mut reader);
        let parts = ClientParts::read(&mut reader);
        let mut problems = reader.into_errors();
        let off = Self {
            demo_enabled,
            ..Self::default()
        };
        if !url_named && !identity_named {
            return Self { problems, ..off };
        }
        let in_flight = Arc::new(AtomicBool::new(false));
        let loaded = source
            .as_ref()
            .map(|source| load_identity(source, &parts.provider, &in_flight));
        let settings_invalid = !problems.is_empty() || parts.verifier.is_none();
        if let Some((Err(why), ..)) = &loaded {
            problems.push(SettingError {
                setting: why.setting(),
                message: why.message().to_owned(),
            });
        }
        if settings_invalid {
            let first = problems.first().cloned().unwrap_or_else(|| SettingError {
                setting: TRUSTED_CA_PATHS,
                message: "no trust anchors".to_owned(),
            });
            let why = Unavailable::new(Reason::SettingInvalid, first.setting, first.message, false);
            return Self {
                unavailable: Some(why),
                problems,
                ..off
            };
        }
        let (Some(source), Some(loaded)) = (source, loaded) else {
            return Self::without_identity(problems, off);
        };
        Self {
            settings: parts.into_settings(source, loaded, in_flight),
            problems,
            ..off
        }
    }

    /// Whether any outbound setting asks for outbound calls.
    pub fn is_configured(&self) -> bool {
        self.settings.is_some() || self.unavailable.is_some()
    }

    /// `REMOTE_API_URL` with no identity setting: nothing to present, nothing to retry.
    fn without_identity(mut problems: Vec<SettingError>, off: Self) -> Self {
        let message = format!(
            "{REMOTE_API_URL} is set but no client identity is: set {CLIENT_CERT_PATH}, \
             {CLIENT_CERT_THUMBPRINT}, {CLIENT_CERT_COMMON_NAME} or {CLIENT_CERT_BASE64}"
        );
        problems.push(SettingError {
            setting: CLIENT_CERT_PATH,
            message: message.clone(),
        });
        let why = Unavailable::new(
            Reason::IdentityNotConfigured,
            CLIENT_CERT_PATH,
            message,
            false,
        );
        Self {
            unavailable: Some(why),
            problems,
            ..off
        }
    }
}

impl ClientParts {
    /// Everything but the identity; each problem recorded on `reader`.
    fn read(reader: &mut Reader<'_>) -> Self {
        let url = read_url(reader);
        let period = Duration::from_secs(reader.number(
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
        let provider = tls::provider();
        let private_ca_count = private_roots.len();
        let verifier = match tls::verifier(private_roots, trust_public_roots, &provider) {
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
        Self {
            url,
            period,
            private_ca_count,
            trust_public_roots,
            connect_timeout,
            timeout,
            max_response_bytes,
            provider,
            verifier,
        }
    }

    /// The client's settings with the startup load's outcome and how to reload.
    fn into_settings(
        self,
        source: IdentitySource,
        (identity, stamp, review_at): StartupLoad,
        in_flight: Arc<AtomicBool>,
    ) -> Option<OutboundSettings> {
        Some(OutboundSettings {
            url: self.url,
            verifier: self.verifier?,
            provider: self.provider,
            identity,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            trust_public_roots: self.trust_public_roots,
            private_ca_count: self.private_ca_count,
            identity_reload: Some(IdentityReload {
                source,
                stamp,
                review_at,
                period: self.period,
                advise: advice::identity_problem,
                in_flight,
            }),
        })
    }
}

/// The identity loaded at startup on a thread of its own within [`STARTUP_LOAD_DEADLINE`],
/// or why not; with the stamp taken before the load and when to look again.
fn load_identity(
    source: &IdentitySource,
    provider: &Arc<CryptoProvider>,
    in_flight: &Arc<AtomicBool>,
) -> StartupLoad {
    match source.load_within(STARTUP_LOAD_DEADLINE, UnixTime::now(), provider, in_flight) {
        Some((stamp, loaded)) => (
            loaded
                .identity
                .map_err(|error| advice::identity_problem(source, &error)),
            Some(stamp),
            loaded.review_at,
        ),
        None => {
            let message = format!(
                "loading {} did not finish within {} s (a stuck file share?); the handler started \
                 without it and checks again every {CLIENT_CERT_RELOAD_SECONDS}",
                source.describe(),
                STARTUP_LOAD_DEADLINE.as_secs()
            );
            let why = Unavailable::new(
                Reason::LoadTimedOut,
                source.setting(),
                message,
                source.can_change(),
            );
            (Err(why), None, None)
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
    let named: Vec<&'static str> = IDENTITY_SETTINGS
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
    let any_issuer = reader.bool(CLIENT_CERT_ALLOW_ANY_ISSUER, false);
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
            any_issuer,
        }),
        _ => Some(IdentitySource::Inline {
            setting,
            // Raw: the value is never trimmed into a log; `load` trims what it decodes.
            value: SecretString::from(reader.raw(setting).unwrap_or_default()),
            password,
        }),
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

    /// The outbound config and the startup errors (only `OUTBOUND_MTLS_ENABLED` can make one).
    fn read(pairs: &[(&'static str, String)]) -> (OutboundConfig, Vec<SettingError>) {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let mut fatal = Reader::new(&env);
        let config = OutboundConfig::read(&env, &mut fatal);
        (config, fatal.into_errors())
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

    fn assert_one_problem(config: &OutboundConfig, setting: &str, fragment: &str) {
        let problems = &config.problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].setting, setting, "{problems:?}");
        assert!(
            problems[0].message.contains(fragment),
            "{:?} lacks {fragment:?}",
            problems[0].message
        );
        assert!(
            !problems[0].message.contains(PASSWORD),
            "password leaked: {problems:?}"
        );
    }

    /// The startup identity's failure, when outbound has settings but no identity.
    fn identity_failure(config: &OutboundConfig) -> &Unavailable {
        let settings = config.settings.as_ref().expect("a client is possible");
        settings.identity.as_ref().expect_err("no identity")
    }

    #[test]
    fn nothing_configured_means_outbound_is_off() {
        let (config, errors) = read(&[]);
        assert!(!config.is_configured());
        assert!(config.demo_enabled, "the demo route is on by default");
        assert!(errors.is_empty() && config.problems.is_empty());
    }

    #[test]
    fn a_full_configuration_loads_with_defaults_and_a_private_ca_only() {
        let f = fixture();
        let (config, errors) = read(&full(&f));
        assert!(
            errors.is_empty() && config.problems.is_empty(),
            "{config:?}"
        );
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
        assert_eq!(
            settings
                .identity_info()
                .map(|identity| identity.subject)
                .ok(),
            Some("CN=outbound-client".to_owned())
        );
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
        let (config, _) = read(&pairs);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert!(config.settings.expect("on").identity.is_ok());
    }

    #[test]
    fn an_identity_that_does_not_load_leaves_outbound_unavailable_naming_its_setting() {
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
                Reason::IdentityMissing,
            ),
            (
                "no private key",
                with(full(&f), CLIENT_CERT_PATH, &no_key.display().to_string()),
                "no private key",
                Reason::IdentityInvalid,
            ),
            (
                "key mismatch",
                with(full(&f), CLIENT_CERT_PATH, &mismatch.display().to_string()),
                "does not match",
                Reason::IdentityInvalid,
            ),
            (
                "expired",
                with(full(&f), CLIENT_CERT_PATH, &expired.display().to_string()),
                "expired",
                Reason::IdentityExpired,
            ),
        ];
        for (description, pairs, fragment, reason) in cases {
            let (config, errors) = read(&pairs);
            assert!(errors.is_empty(), "{description}: not a startup error");
            assert_one_problem(&config, CLIENT_CERT_PATH, fragment);
            let why = identity_failure(&config);
            assert_eq!(why.reason(), reason, "{description}");
            assert!(why.retrying(), "{description}: the file is checked again");
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
            let (config, _) = read(&pairs);
            assert!(
                identity_failure(&config).setting() == setting,
                "{description}"
            );
            assert_one_problem(&config, setting, fragment);
        }
    }

    #[test]
    fn a_url_without_an_identity_is_unavailable_and_an_identity_without_a_url_is_fine() {
        let f = fixture();
        let url_only = vec![(REMOTE_API_URL, "https://upstream.example/".to_owned())];
        let (config, errors) = read(&url_only);
        assert!(errors.is_empty());
        assert_one_problem(&config, CLIENT_CERT_PATH, REMOTE_API_URL);
        assert_eq!(
            config.unavailable.as_ref().map(Unavailable::reason),
            Some(Reason::IdentityNotConfigured)
        );

        let identity_only: Vec<_> = full(&f)
            .into_iter()
            .filter(|(k, _)| *k != REMOTE_API_URL)
            .collect();
        let (config, _) = read(&identity_only);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        let settings = config.settings.expect("a client for one's own calls");
        assert!(settings.url.is_none() && settings.identity.is_ok());
    }

    #[test]
    fn bad_values_are_all_reported_together_and_make_outbound_unavailable() {
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
        assert!(
            errors.is_empty(),
            "none of them stops the start: {errors:?}"
        );
        assert!(config.settings.is_none());
        assert_eq!(
            config.unavailable.as_ref().map(Unavailable::reason),
            Some(Reason::SettingInvalid)
        );
        let settings: Vec<_> = config.problems.iter().map(|e| e.setting).collect();
        assert!(settings.contains(&REMOTE_API_URL), "{settings:?}");
        assert!(settings.contains(&TIMEOUT_MS), "{settings:?}");
        assert!(settings.contains(&TRUSTED_CA_PATHS), "{settings:?}");
    }

    #[test]
    fn public_roots_off_without_a_private_ca_is_a_problem() {
        let f = fixture();
        let pairs: Vec<_> = with(full(&f), TRUST_PUBLIC_ROOTS, "false")
            .into_iter()
            .filter(|(k, _)| *k != TRUSTED_CA_PATHS)
            .collect();
        let (config, _) = read(&pairs);
        assert_one_problem(&config, TRUST_PUBLIC_ROOTS, "no trust anchors");
    }

    #[test]
    fn the_demo_route_switch_is_a_startup_setting() {
        let f = fixture();
        let (config, errors) = read(&with(full(&f), MTLS_ENABLED, "false"));
        assert!(errors.is_empty());
        assert!(!config.demo_enabled);
        assert!(
            config.settings.expect("loaded").identity.is_ok(),
            "the identity stays loaded for one's own calls"
        );
        let (_, errors) = read(&with(full(&f), MTLS_ENABLED, "maybe"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].setting, MTLS_ENABLED);
    }
}
