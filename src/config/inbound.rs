//! Inbound client-certificate settings: the header, trust anchors, CRLs, clock skew and the
//! allowlist, all read and checked (files included) before the port is bound.
//!
//! What the settings mean at request time lives in `client_cert`; this module only parses
//! them into its domain types and reports every problem, naming the setting (and the file).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use url::Url;

use super::Reader;
use crate::cert_file::read_certificates;
use crate::client_cert::HeaderFormat;
pub use crate::client_cert::Settings as InboundConfig;
use crate::client_cert::crl::CrlIssuers;
use crate::client_cert::crl_files::CrlFiles;
use crate::client_cert::policy::Thumbprint;
use crate::client_cert::policy_file::{IdentityRule, parse_policy_file};
pub use crate::client_cert::settings::{
    DEFAULT_CLIENT_CERT_HEADER, DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_CRL_RELOAD_SECONDS,
};
use crate::client_cert::trust::{
    CaCertificateError, MAX_CLOCK_SKEW_SECONDS, TrustedCa, check_ca_certificate,
};

/// The header the front end forwards the certificate in.
pub const CLIENT_CERT_HEADER: &str = "CLIENT_CERT_HEADER";
/// `base64-der` (default), `pem`, `url-pem`, `rfc9440` or `xfcc`.
pub const CLIENT_CERT_HEADER_FORMAT: &str = "CLIENT_CERT_HEADER_FORMAT";
/// Cap on the raw header value, bytes.
pub const CLIENT_CERT_MAX_HEADER_BYTES: &str = "CLIENT_CERT_MAX_HEADER_BYTES";
pub use crate::client_cert::header::{DEFAULT_MAX_HEADER_BYTES, LARGEST_MAX_HEADER_BYTES};
/// Comma-separated PEM or DER files of trusted CA certificates (no default; never the OS store).
pub const CLIENT_CERT_TRUSTED_CA_PATHS: &str = "CLIENT_CERT_TRUSTED_CA_PATHS";
/// Comma-separated PEM or DER files of intermediate CA certificates.
pub const CLIENT_CERT_INTERMEDIATE_CA_PATHS: &str = "CLIENT_CERT_INTERMEDIATE_CA_PATHS";
/// Comma-separated PEM or DER CRL files.
pub const CLIENT_CERT_CRL_PATHS: &str = "CLIENT_CERT_CRL_PATHS";
/// Comma-separated `http`/`https` URLs of CRLs (the CAs' distribution points).
pub const CLIENT_CERT_CRL_URLS: &str = "CLIENT_CERT_CRL_URLS";
/// How often CRL files are checked for changes and CRL URLs fetched, seconds.
pub const CLIENT_CERT_CRL_RELOAD_SECONDS: &str = "CLIENT_CERT_CRL_RELOAD_SECONDS";
/// Tolerated clock skew on certificate validity, seconds (0 to 300).
pub const CLIENT_CERT_CLOCK_SKEW_SECONDS: &str = "CLIENT_CERT_CLOCK_SKEW_SECONDS";
/// SHA-1 or SHA-256 thumbprints, any case, `:` or spaces allowed.
pub const ALLOWED_CLIENT_CERT_THUMBPRINTS: &str = "ALLOWED_CLIENT_CERT_THUMBPRINTS";
pub const ALLOWED_CLIENT_CERT_COMMON_NAMES: &str = "ALLOWED_CLIENT_CERT_COMMON_NAMES";
pub const ALLOWED_CLIENT_CERT_DNS_NAMES: &str = "ALLOWED_CLIENT_CERT_DNS_NAMES";
pub const ALLOWED_CLIENT_CERT_URIS: &str = "ALLOWED_CLIENT_CERT_URIS";
pub const ALLOWED_CLIENT_CERT_EMAILS: &str = "ALLOWED_CLIENT_CERT_EMAILS";
/// Accept names without a verified chain (migration only). Default false.
pub const CLIENT_CERT_ALLOW_UNVERIFIED_NAMES: &str = "CLIENT_CERT_ALLOW_UNVERIFIED_NAMES";
/// Optional JSON file of identity rules.
pub const CLIENT_CERT_POLICY_PATH: &str = "CLIENT_CERT_POLICY_PATH";
/// Whether the cert-info function is served. Default true.
pub const CERT_INFO_ENABLED: &str = "CERT_INFO_ENABLED";
/// How long a refusal waits before it is answered once its code is over the log rate, ms.
pub const CLIENT_CERT_FLOOD_PAUSE_MS: &str = "CLIENT_CERT_FLOOD_PAUSE_MS";
pub use crate::client_cert::settings::{DEFAULT_FLOOD_PAUSE_MS, LONGEST_FLOOD_PAUSE_MS};

impl InboundConfig {
    /// Reads every inbound setting; files are read and parsed now. Problems go to `reader`.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let header_name = reader
            .string(CLIENT_CERT_HEADER)
            .unwrap_or_else(|| DEFAULT_CLIENT_CERT_HEADER.to_owned());
        if !header_name.bytes().all(is_header_name_byte) {
            reader.invalid(
                CLIENT_CERT_HEADER,
                format!("{header_name:?} is not a valid header name"),
            );
        }
        let max_header_bytes = reader.number(
            CLIENT_CERT_MAX_HEADER_BYTES,
            DEFAULT_MAX_HEADER_BYTES as u64,
            1_024..=LARGEST_MAX_HEADER_BYTES as u64,
        );
        let (trusted_cas, anchor_ders) = read_cas(reader);
        let intermediates = read_intermediates(reader);
        let crl_urls = read_crl_urls(reader);
        if !crl_urls.is_empty() && trusted_cas.is_empty() {
            reader.invalid(CLIENT_CERT_CRL_URLS, format!("crls need {CLIENT_CERT_TRUSTED_CA_PATHS}: revocation is checked on a verified chain"));
        }
        let crl_issuers: Vec<CertificateDer<'static>> = anchor_ders
            .into_iter()
            .chain(intermediates.iter().cloned())
            .collect();
        let crl_paths = paths(reader, CLIENT_CERT_CRL_PATHS);
        let crl_files =
            CrlFiles::load(&crl_paths, &CrlIssuers::new(&crl_issuers)).unwrap_or_else(|errors| {
                for error in errors {
                    reader.invalid(CLIENT_CERT_CRL_PATHS, error.to_string());
                }
                CrlFiles::new(&crl_paths)
            });
        let crls = crl_files.set();
        if !crl_paths.is_empty()
            && trusted_cas.is_empty()
            && reader.string(CLIENT_CERT_TRUSTED_CA_PATHS).is_none()
        {
            reader.invalid(CLIENT_CERT_CRL_PATHS, format!("crls need {CLIENT_CERT_TRUSTED_CA_PATHS}: revocation is checked on a verified chain"));
        }
        let mut config = Self {
            header_name,
            header_format: reader.parse(CLIENT_CERT_HEADER_FORMAT, HeaderFormat::Base64Der),
            max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(usize::MAX),
            trusted_cas,
            intermediates,
            crl_paths,
            crl_files: Some(crl_files),
            crls: Arc::new(crls),
            crl_reload: Duration::from_secs(reader.number(
                CLIENT_CERT_CRL_RELOAD_SECONDS,
                DEFAULT_CRL_RELOAD_SECONDS,
                1..=86_400,
            )),
            crl_urls,
            crl_issuers,
            clock_skew_seconds: reader.number(
                CLIENT_CERT_CLOCK_SKEW_SECONDS,
                DEFAULT_CLOCK_SKEW_SECONDS,
                0..=MAX_CLOCK_SKEW_SECONDS,
            ),
            thumbprints: read_thumbprints(reader),
            common_names: reader.list(ALLOWED_CLIENT_CERT_COMMON_NAMES),
            dns_names: reader.list(ALLOWED_CLIENT_CERT_DNS_NAMES),
            uris: reader.list(ALLOWED_CLIENT_CERT_URIS),
            emails: reader.list(ALLOWED_CLIENT_CERT_EMAILS),
            allow_unverified_names: reader.bool(CLIENT_CERT_ALLOW_UNVERIFIED_NAMES, false),
            policy_path: reader.string(CLIENT_CERT_POLICY_PATH).map(PathBuf::from),
            policy_rules: Vec::new(),
            cert_info_enabled: reader.bool(CERT_INFO_ENABLED, true),
            flood_pause: reader.millis(
                CLIENT_CERT_FLOOD_PAUSE_MS,
                DEFAULT_FLOOD_PAUSE_MS,
                0..=LONGEST_FLOOD_PAUSE_MS,
            ),
        };
        config.policy_rules = read_policy(reader, config.policy_path.as_ref());
        config.check_names_need_ca(reader);
        config.check_policy_rules_need_ca(reader);
        config
    }

    /// A policy rule without `thumbprint` matches only on a verified chain, so without a
    /// trusted CA it could never match: refuse it rather than start with a dead rule.
    fn check_policy_rules_need_ca(&self, reader: &mut Reader<'_>) {
        if !self.trusted_cas.is_empty() || reader.string(CLIENT_CERT_TRUSTED_CA_PATHS).is_some() {
            return;
        }
        let path = self
            .policy_path
            .as_ref()
            .map_or_else(String::new, |path| format!("{}: ", path.display()));
        for rule in self
            .policy_rules
            .iter()
            .filter(|rule| !rule.pins_certificate())
        {
            reader.invalid(CLIENT_CERT_POLICY_PATH, format!(
                "{path}rule {:?} can never match: a rule without `thumbprint` needs a verified chain, so a trusted CA in {CLIENT_CERT_TRUSTED_CA_PATHS}",
                rule.name
            ));
        }
    }

    fn check_names_need_ca(&self, reader: &mut Reader<'_>) {
        // A CA setting that failed to load is its own problem, reported once under its name.
        if !self.trusted_cas.is_empty()
            || self.allow_unverified_names
            || reader.string(CLIENT_CERT_TRUSTED_CA_PATHS).is_some()
        {
            return;
        }
        let name_settings = [
            (
                ALLOWED_CLIENT_CERT_COMMON_NAMES,
                self.common_names.is_empty(),
            ),
            (ALLOWED_CLIENT_CERT_DNS_NAMES, self.dns_names.is_empty()),
            (ALLOWED_CLIENT_CERT_URIS, self.uris.is_empty()),
            (ALLOWED_CLIENT_CERT_EMAILS, self.emails.is_empty()),
        ];
        for (setting, empty) in name_settings {
            if !empty {
                reader.invalid(setting, format!(
                    "names only count when a trusted CA vouches for the certificate: set {CLIENT_CERT_TRUSTED_CA_PATHS} (or {CLIENT_CERT_ALLOW_UNVERIFIED_NAMES}=true, migration only)"
                ));
            }
        }
    }
}

fn is_header_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn paths(reader: &Reader<'_>, setting: &str) -> Vec<PathBuf> {
    reader
        .list(setting)
        .into_iter()
        .map(PathBuf::from)
        .collect()
}

/// Every certificate of every file of `setting`, with the file it came from.
fn read_cert_files(
    reader: &mut Reader<'_>,
    setting: &'static str,
) -> Vec<(PathBuf, CertificateDer<'static>)> {
    let mut certs = Vec::new();
    for path in paths(reader, setting) {
        match read_certificates(&path) {
            Ok(found) => certs.extend(found.into_iter().map(|der| (path.clone(), der))),
            Err(error) => reader.invalid(setting, error.to_string()),
        }
    }
    certs
}

/// The anchors, and the certificates they came from.
fn read_cas(reader: &mut Reader<'_>) -> (Vec<TrustedCa>, Vec<CertificateDer<'static>>) {
    let mut cas = Vec::new();
    let mut ders = Vec::new();
    for (path, der) in read_cert_files(reader, CLIENT_CERT_TRUSTED_CA_PATHS) {
        match TrustedCa::from_der(&der) {
            Ok(ca) => {
                cas.push(ca);
                ders.push(der);
            }
            Err(error) => reader.invalid(CLIENT_CERT_TRUSTED_CA_PATHS, ca_problem(&path, &error)),
        }
    }
    (cas, ders)
}

/// `http` or `https` URLs with a host; the value is named in the error only without its query.
fn read_crl_urls(reader: &mut Reader<'_>) -> Vec<Url> {
    let mut urls = Vec::new();
    for entry in reader.list(CLIENT_CERT_CRL_URLS) {
        match Url::parse(&entry) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                urls.push(url);
            }
            Ok(url) => reader.invalid(
                CLIENT_CERT_CRL_URLS,
                format!(
                    "{:?}: expected an http or https URL with a host",
                    url.scheme()
                ),
            ),
            Err(error) => reader.invalid(CLIENT_CERT_CRL_URLS, format!("invalid URL: {error}")),
        }
    }
    urls
}

/// Intermediates must be CA certificates too (webpki would refuse them on every request).
fn read_intermediates(reader: &mut Reader<'_>) -> Vec<CertificateDer<'static>> {
    let setting = CLIENT_CERT_INTERMEDIATE_CA_PATHS;
    let mut intermediates = Vec::new();
    for (path, der) in read_cert_files(reader, setting) {
        match check_ca_certificate(der.as_ref()) {
            Ok(()) => intermediates.push(der),
            Err(error) => reader.invalid(setting, ca_problem(&path, &error)),
        }
    }
    intermediates
}

fn ca_problem(path: &Path, error: &CaCertificateError) -> String {
    match error {
        CaCertificateError::NotCa { .. } => format!(
            "{}: {error}; to trust a leaf certificate, pin it with {ALLOWED_CLIENT_CERT_THUMBPRINTS} instead",
            path.display()
        ),
        _ => format!("{}: {error}", path.display()),
    }
}

fn read_thumbprints(reader: &mut Reader<'_>) -> Vec<Thumbprint> {
    let mut thumbprints = Vec::new();
    for entry in reader.list(ALLOWED_CLIENT_CERT_THUMBPRINTS) {
        match entry.parse() {
            Ok(thumbprint) => thumbprints.push(thumbprint),
            Err(error) => reader.invalid(
                ALLOWED_CLIENT_CERT_THUMBPRINTS,
                format!("{entry:?}: {error}"),
            ),
        }
    }
    thumbprints
}

fn read_policy(reader: &mut Reader<'_>, path: Option<&PathBuf>) -> Vec<IdentityRule> {
    let Some(path) = path else { return Vec::new() };
    let text = match crate::cert_file::read_text(path, crate::cert_file::FileKind::Text) {
        Ok(text) => text,
        Err(error) => {
            reader.invalid(CLIENT_CERT_POLICY_PATH, error.to_string());
            return Vec::new();
        }
    };
    parse_policy_file(&text).unwrap_or_else(|errors| {
        for error in errors {
            reader.invalid(
                CLIENT_CERT_POLICY_PATH,
                format!("{}: {error}", path.display()),
            );
        }
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use base64::Engine as _;

    use super::*;
    use rcgen::KeyUsagePurpose;

    use crate::client_cert::test_pki::{Ca, Leaf};

    /// A fresh directory for one test's files (removed first if left over).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mtls-inbound-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        dir
    }

    fn pem(der: &[u8]) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
    }

    fn read(pairs: &[(&str, &str)]) -> (InboundConfig, Vec<&'static str>) {
        let env: HashMap<&str, &str> = pairs.iter().copied().collect();
        let mut reader = Reader::new(&env);
        let config = InboundConfig::read(&mut reader);
        let settings = reader.into_errors().iter().map(|e| e.setting).collect();
        (config, settings)
    }

    fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path.display().to_string()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let (config, errors) = read(&[]);
        assert!(errors.is_empty(), "no setting is required: {errors:?}");
        assert_eq!(
            config.header_name, "X-ARR-ClientCert",
            "app service header by default"
        );
        assert_eq!(
            config.header_format,
            HeaderFormat::Base64Der,
            "base64 der by default"
        );
        assert_eq!(config.max_header_bytes, 16_384, "16 KiB cap by default");
        assert!(config.cert_info_enabled, "cert-info is served by default");
        assert!(!config.allow_unverified_names, "names need a ca by default");
    }

    #[test]
    fn a_crl_replaced_between_loading_and_serving_is_reloaded() {
        let dir = scratch("crl-race");
        let root = Ca::root("Root");
        let ca = write(&dir, "root.pem", pem(&root.der));
        let crl = write(&dir, "root.crl", root.crl(&[], -86_400, 86_400));
        let (config, errors) = read(&[
            (CLIENT_CERT_TRUSTED_CA_PATHS, &ca),
            (CLIENT_CERT_CRL_PATHS, &crl),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        std::fs::write(&crl, root.crl(&[7, 8, 9], -86_400, 86_400)).expect("replace the crl");
        let authenticator = crate::client_cert::Authenticator::new(&config);
        assert!(
            authenticator.reload_crls_if_changed(),
            "the replacement made after the startup load is noticed"
        );
    }

    #[test]
    fn ca_files_load_as_pem_or_der_and_names_are_then_accepted() {
        let dir = scratch("cas");
        let root = Ca::root("Root");
        let intermediate = root.intermediate("Issuing", 2);
        let pem_path = write(&dir, "root.pem", pem(&root.der));
        let der_path = write(&dir, "issuing.der", &intermediate.der);
        let crl_path = write(&dir, "root.crl", root.crl(&[], -86_400, 86_400));
        let cas = format!("{pem_path},{der_path}");
        let (config, errors) = read(&[
            (CLIENT_CERT_TRUSTED_CA_PATHS, &cas),
            (CLIENT_CERT_CRL_PATHS, &crl_path),
            (ALLOWED_CLIENT_CERT_COMMON_NAMES, " a , b ,"),
            (ALLOWED_CLIENT_CERT_THUMBPRINTS, &"ab:".repeat(20)[..59]),
            (CERT_INFO_ENABLED, "false"),
        ]);
        assert!(errors.is_empty(), "valid files and names load: {errors:?}");
        assert_eq!(config.trusted_cas.len(), 2, "one pem and one der anchor");
        assert_eq!(config.crls.len(), 1, "one crl loaded at startup");
        assert_eq!(
            config.common_names,
            vec!["a", "b"],
            "names trimmed, empties dropped"
        );
        assert_eq!(
            config.thumbprints.len(),
            1,
            "colon-separated sha-1 accepted"
        );
        assert!(!config.cert_info_enabled, "cert-info can be switched off");
    }

    #[test]
    fn every_problem_is_reported_with_its_setting() {
        let dir = scratch("bad");
        let policy = write(&dir, "policy.json", r#"{"rules":[{"name":"empty"}]}"#);
        let garbage = write(&dir, "garbage.pem", "not a certificate");
        let (_, errors) = read(&[
            (CLIENT_CERT_HEADER_FORMAT, "der"),
            (CLIENT_CERT_CLOCK_SKEW_SECONDS, "900"),
            (ALLOWED_CLIENT_CERT_THUMBPRINTS, "xyz"),
            (CLIENT_CERT_TRUSTED_CA_PATHS, "/nonexistent/ca.pem"),
            (CLIENT_CERT_INTERMEDIATE_CA_PATHS, &garbage),
            (CLIENT_CERT_POLICY_PATH, &policy),
            (ALLOWED_CLIENT_CERT_DNS_NAMES, "svc.example"),
        ]);
        for setting in [
            CLIENT_CERT_HEADER_FORMAT,
            CLIENT_CERT_CLOCK_SKEW_SECONDS,
            ALLOWED_CLIENT_CERT_THUMBPRINTS,
            CLIENT_CERT_TRUSTED_CA_PATHS,
            CLIENT_CERT_INTERMEDIATE_CA_PATHS,
            CLIENT_CERT_POLICY_PATH,
        ] {
            assert!(
                errors.contains(&setting),
                "{setting} is reported: {errors:?}"
            );
        }
        assert!(
            !errors.contains(&ALLOWED_CLIENT_CERT_DNS_NAMES),
            "a CA file that does not load is one problem, not a second 'set {CLIENT_CERT_TRUSTED_CA_PATHS}': {errors:?}"
        );
    }

    #[test]
    fn names_without_any_ca_setting_are_still_refused() {
        let (_, errors) = read(&[(ALLOWED_CLIENT_CERT_DNS_NAMES, "svc.example")]);
        assert_eq!(errors, vec![ALLOWED_CLIENT_CERT_DNS_NAMES]);
    }

    #[test]
    fn certificates_that_are_not_cas_are_refused_as_anchors_and_intermediates() {
        let dir = scratch("not-ca");
        let leaf = write(&dir, "leaf.pem", pem(&Leaf::cn("partner").self_signed()));
        let no_cert_sign = Ca::root_with_key_usages(
            "Signing Only",
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign],
        );
        let no_cert_sign = write(&dir, "no-cert-sign.der", &no_cert_sign.der);
        let cases = [
            (
                "a self-signed leaf as an anchor",
                CLIENT_CERT_TRUSTED_CA_PATHS,
                &leaf,
            ),
            (
                "a CA without keyCertSign as an anchor",
                CLIENT_CERT_TRUSTED_CA_PATHS,
                &no_cert_sign,
            ),
            (
                "a leaf as an intermediate",
                CLIENT_CERT_INTERMEDIATE_CA_PATHS,
                &leaf,
            ),
            (
                "a CA without keyCertSign as an intermediate",
                CLIENT_CERT_INTERMEDIATE_CA_PATHS,
                &no_cert_sign,
            ),
        ];
        for (reason, setting, path) in cases {
            let env: HashMap<&str, &str> = [(setting, path.as_str())].into_iter().collect();
            let mut reader = Reader::new(&env);
            let config = InboundConfig::read(&mut reader);
            let errors = reader.into_errors();
            assert_eq!(
                errors.iter().map(|e| e.setting).collect::<Vec<_>>(),
                vec![setting],
                "{reason} is a config error of its setting: {errors:?}"
            );
            let message = &errors[0].message;
            for part in [
                path.as_str(),
                "not a CA certificate",
                ALLOWED_CLIENT_CERT_THUMBPRINTS,
            ] {
                assert!(
                    message.contains(part),
                    "{reason}: the message names {part:?}: {message}"
                );
            }
            assert!(
                config.trusted_cas.is_empty() && config.intermediates.is_empty(),
                "{reason} is not loaded"
            );
        }
    }

    #[test]
    fn cas_that_cannot_vouch_load_with_a_warning_and_admit_nobody() {
        let dir = scratch("cannot-vouch");
        let unknown_critical = Ca::root_edited("Odd Root", |params| {
            let mut extension = rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 55_555, 9],
                vec![5, 0],
            );
            extension.set_criticality(true);
            params.custom_extensions = vec![extension];
        });
        let good = Ca::root("Good Root");
        let leading_period = good.intermediate_edited("Dotted CA", 2, |params| {
            params.name_constraints = Some(rcgen::NameConstraints {
                permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName(".example.com".into())],
                excluded_subtrees: Vec::new(),
            });
        });
        let anchors = format!(
            "{},{}",
            write(&dir, "odd.pem", pem(&unknown_critical.der)),
            write(&dir, "good.pem", pem(&good.der))
        );
        let intermediate = write(&dir, "dotted.pem", pem(&leading_period.der));
        let (config, errors) = read(&[
            (CLIENT_CERT_TRUSTED_CA_PATHS, &anchors),
            (CLIENT_CERT_INTERMEDIATE_CA_PATHS, &intermediate),
        ]);
        assert!(errors.is_empty(), "startup goes on: {errors:?}");
        assert_eq!(config.trusted_cas.len(), 2, "both anchors stay configured");
        let unusable: Vec<_> = crate::client_cert::trust::TrustStore::new(
            config.trusted_cas.clone(),
            config.intermediates.clone(),
            0,
        )
        .unusable()
        .into_iter()
        .map(|(kind, subject, _)| format!("{kind} {subject}"))
        .collect();
        assert_eq!(
            unusable,
            ["anchor CN=Odd Root", "intermediate CN=Dotted CA"],
            "each is named for the startup warning"
        );
    }

    #[test]
    fn policy_rules_that_need_a_chain_are_a_config_error_without_a_ca() {
        let dir = scratch("policy-needs-ca");
        let root = Ca::root("Root");
        let ca_path = write(&dir, "root.pem", pem(&root.der));
        let thumbprint = "AB".repeat(32);
        let spki = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let cases = [
            (
                "a dns rule without a ca",
                r#"{"name":"a","dns_name":"a.example"}"#.to_owned(),
                false,
                true,
            ),
            (
                "an spki pin without a ca",
                format!(r#"{{"name":"a","spki_sha256":"{spki}"}}"#),
                false,
                true,
            ),
            (
                "a thumbprint rule without a ca",
                format!(r#"{{"name":"a","thumbprint":"{thumbprint}"}}"#),
                false,
                false,
            ),
            (
                "a dns rule with a ca",
                r#"{"name":"a","dns_name":"a.example"}"#.to_owned(),
                true,
                false,
            ),
        ];
        for (reason, rule, with_ca, refused) in cases {
            let policy = write(&dir, "policy.json", format!(r#"{{"rules":[{rule}]}}"#));
            let mut pairs = vec![(CLIENT_CERT_POLICY_PATH, policy.as_str())];
            if with_ca {
                pairs.push((CLIENT_CERT_TRUSTED_CA_PATHS, ca_path.as_str()));
            }
            let env: HashMap<&str, &str> = pairs.into_iter().collect();
            let mut reader = Reader::new(&env);
            InboundConfig::read(&mut reader);
            let errors = reader.into_errors();
            if refused {
                assert_eq!(
                    errors.iter().map(|e| e.setting).collect::<Vec<_>>(),
                    vec![CLIENT_CERT_POLICY_PATH],
                    "{reason} can never match, so it is refused: {errors:?}"
                );
                for part in ["\"a\"", "verified chain", CLIENT_CERT_TRUSTED_CA_PATHS] {
                    assert!(
                        errors[0].message.contains(part),
                        "{reason}: the message says {part}: {}",
                        errors[0].message
                    );
                }
            } else {
                assert!(errors.is_empty(), "{reason} can match: {errors:?}");
            }
        }
    }

    #[test]
    fn crl_urls_must_be_http_or_https_with_a_host_and_need_a_ca() {
        let dir = scratch("crl-urls");
        let root = Ca::root("Root");
        let ca = write(&dir, "root.pem", pem(&root.der));
        let cases = [
            (
                "http and https",
                "http://crl.example/a.crl, https://crl.example/b.crl",
                true,
                None,
            ),
            (
                "ftp",
                "ftp://crl.example/a.crl",
                true,
                Some("expected an http or https URL"),
            ),
            (
                "a file url",
                "file:///etc/a.crl",
                true,
                Some("expected an http or https URL"),
            ),
            ("not a url", "crl.example/a.crl", true, Some("invalid URL")),
            (
                "no ca",
                "http://crl.example/a.crl",
                false,
                Some(CLIENT_CERT_TRUSTED_CA_PATHS),
            ),
        ];
        for (reason, urls, with_ca, refused) in cases {
            let mut pairs = vec![(CLIENT_CERT_CRL_URLS, urls)];
            if with_ca {
                pairs.push((CLIENT_CERT_TRUSTED_CA_PATHS, ca.as_str()));
            }
            let env: HashMap<&str, &str> = pairs.into_iter().collect();
            let mut reader = Reader::new(&env);
            let config = InboundConfig::read(&mut reader);
            let errors = reader.into_errors();
            match refused {
                None => {
                    assert!(errors.is_empty(), "{reason}: {errors:?}");
                    assert_eq!(config.crl_urls.len(), 2, "{reason}");
                    assert_eq!(
                        config.crl_issuers.len(),
                        1,
                        "{reason}: the anchor may sign crls"
                    );
                }
                Some(fragment) => {
                    assert_eq!(errors.len(), 1, "{reason}: {errors:?}");
                    assert_eq!(errors[0].setting, CLIENT_CERT_CRL_URLS, "{reason}");
                    assert!(errors[0].message.contains(fragment), "{reason}: {errors:?}");
                }
            }
        }
    }

    #[test]
    fn names_without_a_ca_are_a_config_error_unless_unverified_names_are_allowed() {
        let (_, errors) = read(&[(ALLOWED_CLIENT_CERT_COMMON_NAMES, "client.example")]);
        assert_eq!(
            errors,
            vec![ALLOWED_CLIENT_CERT_COMMON_NAMES],
            "a cn without a ca is refused"
        );
        let (config, errors) = read(&[
            (ALLOWED_CLIENT_CERT_COMMON_NAMES, "client.example"),
            (CLIENT_CERT_ALLOW_UNVERIFIED_NAMES, "true"),
        ]);
        assert!(
            errors.is_empty(),
            "the migration switch allows it: {errors:?}"
        );
        assert!(config.allow_unverified_names, "switch recorded");
    }
}
