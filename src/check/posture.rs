//! The posture `handler check` prints: what the loaded configuration trusts and allows, with
//! values (subjects, thumbprints, dates), and the warnings an operator should act on.
//!
//! The configuration itself is loaded by [`Config::load`], the code `serve` runs; this module
//! only re-reads the configured certificate and CRL files to *show* them (subject, dates), and
//! never decides anything from what it reads.

use std::fmt::Write as _;
use std::path::Path;

use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert_file::{read_certificates, read_crls};
use crate::client_cert::ca_certificate::cannot_vouch_for_anyone;
use crate::client_cert::certificate::rfc3339;
use crate::client_cert::name::Name;
use crate::config::{Config, ConfiguredFiles, inbound};
use crate::outbound::OutboundSettings;
use crate::outbound::client::loggable;
use crate::telemetry::escape;

/// Warn when a CA certificate expires within this many seconds (30 days).
pub const CA_EXPIRY_WARNING_SECONDS: u64 = 30 * 86_400;
/// Warn when a CRL's nextUpdate is within this many seconds (a day).
pub const CRL_NEXT_UPDATE_WARNING_SECONDS: u64 = 86_400;

/// The printed posture and the warnings found while writing it.
#[derive(Debug, Default)]
pub struct Posture {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Describes `config` (loaded by [`Config::load`]) as of `now` (unix seconds).
pub fn describe(config: &Config, now: u64) -> Posture {
    let inbound = &config.inbound;
    let mut posture = Posture::default();
    posture.line(format!(
        "header: {} ({}), at most {} bytes",
        inbound.header_name, inbound.header_format, inbound.max_header_bytes
    ));
    let files = files(&config.files, now);
    posture.text.push_str(&files.text);
    posture.warnings.extend(files.warnings);
    for pin in &inbound.thumbprints {
        posture.line(format!("pin: {} {pin}", pin.algorithm()));
    }
    for (kind, values) in [
        ("common name", &inbound.common_names),
        ("dns name", &inbound.dns_names),
        ("uri", &inbound.uris),
        ("email", &inbound.emails),
    ] {
        for value in values {
            posture.line(format!("name rule: {kind} = {}", escape(value)));
        }
    }
    for rule in &inbound.policy_rules {
        posture.line(format!("policy rule: {}", escape(&rule.name)));
    }
    posture.outbound(config);
    posture.weakenings(config);
    for look_alike in &config.look_alikes {
        posture.warnings.push(look_alike.to_string());
    }
    if inbound.thumbprints.is_empty()
        && inbound.common_names.is_empty()
        && inbound.dns_names.is_empty()
        && inbound.uris.is_empty()
        && inbound.emails.is_empty()
        && inbound.policy_rules.is_empty()
    {
        posture
            .warnings
            .push("the allowlist is empty: every protected request is refused".to_owned());
    }
    posture
}

/// The configured CA and CRL files, with their warnings (expired or expiring CAs, CRLs past or
/// near their nextUpdate): what `serve` logs at startup and checks again daily.
pub fn files(files: &ConfiguredFiles, now: u64) -> Posture {
    let mut posture = Posture::default();
    for path in &files.trusted_cas {
        posture.certificates("anchor", path, now);
    }
    for path in &files.intermediates {
        posture.certificates("intermediate", path, now);
    }
    for path in &files.crls {
        posture.crls(path, now);
    }
    posture
}

/// The configured CRLs issued by `issuer` (RFC 4514), each as `file (thisUpdate .., nextUpdate ..)`.
pub fn crls_of(files: &ConfiguredFiles, issuer: &str) -> Vec<String> {
    let mut found = Vec::new();
    for path in &files.crls {
        for der in read_crls(path).unwrap_or_default() {
            let Ok((_, crl)) = CertificateRevocationList::from_der(der.as_ref()) else {
                continue;
            };
            if Name::read(crl.issuer()).rfc4514 != issuer {
                continue;
            }
            let this_update = u64::try_from(crl.last_update().timestamp()).unwrap_or(0);
            let next_update = crl
                .next_update()
                .map_or(0, |at| u64::try_from(at.timestamp()).unwrap_or(0));
            found.push(format!(
                "{} (thisUpdate {}, nextUpdate {})",
                path.display(),
                rfc3339(this_update),
                rfc3339(next_update)
            ));
        }
    }
    found
}

// === impl Posture ===

impl Posture {
    pub fn line(&mut self, line: String) {
        self.text.push_str(&line);
        self.text.push('\n');
    }

    fn certificates(&mut self, kind: &str, path: &Path, now: u64) {
        let Ok(certs) = read_certificates(path) else {
            return; // Config::load already reported it
        };
        if crate::cert_file::read_text(path, crate::cert_file::FileKind::Certificates)
            .is_ok_and(|text| text.contains("PRIVATE KEY-----"))
        {
            self.warnings.push(format!(
                "{} holds a private key: a CA file needs only certificates; keep keys out of the app",
                path.display()
            ));
        }
        for der in certs {
            let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
                continue;
            };
            use sha1::Digest as _;
            let sha1 = crate::client_cert::certificate::hex_upper(&sha1::Sha1::digest(&der));
            let sha256 = crate::client_cert::certificate::hex_upper(&sha2::Sha256::digest(&der));
            let subject = Name::read(cert.subject()).rfc4514;
            let not_after = u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0);
            self.line(format!(
                "{kind}: {} sha1 {sha1} sha256 {sha256} notAfter {} ({})",
                escape(&subject),
                date(not_after),
                path.display()
            ));
            if let Some(reason) = cannot_vouch_for_anyone(der.as_ref()) {
                self.warnings.push(format!(
                    "{kind} {} in {} cannot vouch for anyone, so no certificate is accepted through it: {reason}",
                    escape(&subject),
                    path.display()
                ));
            }
            if not_after <= now {
                self.warnings.push(format!(
                    "{kind} {} in {} expired on {}",
                    escape(&subject),
                    path.display(),
                    date(not_after)
                ));
            } else if not_after - now <= CA_EXPIRY_WARNING_SECONDS {
                self.warnings.push(format!(
                    "{kind} {} in {} expires on {} (within 30 days)",
                    escape(&subject),
                    path.display(),
                    date(not_after)
                ));
            }
        }
    }

    fn crls(&mut self, path: &Path, now: u64) {
        let Ok(crls) = read_crls(path) else {
            return; // Config::load already reported it
        };
        for der in crls {
            let Ok((_, crl)) = CertificateRevocationList::from_der(der.as_ref()) else {
                continue;
            };
            let issuer = Name::read(crl.issuer()).rfc4514;
            let this_update = u64::try_from(crl.last_update().timestamp()).unwrap_or(0);
            let next_update = crl
                .next_update()
                .map_or(0, |at| u64::try_from(at.timestamp()).unwrap_or(0));
            self.line(format!(
                "crl: {} issuer {} thisUpdate {} nextUpdate {}",
                path.display(),
                escape(&issuer),
                rfc3339(this_update),
                rfc3339(next_update)
            ));
            if next_update <= now {
                self.warnings.push(format!(
                    "the crl {} is past its nextUpdate ({}): every certificate of {} is refused \
                     as cert_revocation_unknown until it is replaced",
                    path.display(),
                    rfc3339(next_update),
                    escape(&issuer)
                ));
            } else if next_update - now <= CRL_NEXT_UPDATE_WARNING_SECONDS {
                self.warnings.push(format!(
                    "the crl {} reaches its nextUpdate within a day ({}): publish a new one",
                    path.display(),
                    rfc3339(next_update)
                ));
            }
        }
    }

    fn outbound(&mut self, config: &Config) {
        let outbound = &config.outbound;
        for problem in &outbound.problems {
            self.warnings.push(format!(
                "outbound mutual TLS is unavailable (serve starts; calls that need it answer 503): {problem}"
            ));
        }
        let Some(settings) = &outbound.settings else {
            let state = if outbound.is_configured() {
                "unavailable"
            } else {
                "off"
            };
            self.line(format!("outbound: {state} (outbound-mtls answers 503)"));
            return;
        };
        self.line(outbound_line(
            settings,
            config.files.identity_source.as_deref(),
        ));
        if settings.identity_expires_soon()
            && let Ok(identity) = settings.identity_info()
        {
            self.warnings.push(format!(
                "the outbound identity {} expires on {} (within 30 days)",
                identity.subject, identity.not_after
            ));
        }
    }

    fn weakenings(&mut self, config: &Config) {
        let inbound = &config.inbound;
        let mut text = String::new();
        if inbound.allow_unverified_names {
            let _ = write!(
                text,
                "{}=true (names admitted without a verified chain); ",
                inbound::CLIENT_CERT_ALLOW_UNVERIFIED_NAMES
            );
        }
        if inbound.clock_skew_seconds > 0 {
            let _ = write!(
                text,
                "{}={} (validity windows widened); ",
                inbound::CLIENT_CERT_CLOCK_SKEW_SECONDS,
                inbound.clock_skew_seconds
            );
        }
        let front_end = config.posture.settings.mode;
        if front_end == crate::posture::Mode::Warn {
            let _ = write!(
                text,
                "{}=warn (an unsafe front end is logged, not refused); ",
                crate::config::posture::POSTURE
            );
        }
        if text.is_empty() {
            self.line("weakening settings: none".to_owned());
        } else {
            self.line(format!(
                "weakening settings: {}",
                text.trim_end_matches("; ")
            ));
        }
    }
}

/// The outbound line: the URL as the startup log shows it (no query, no userinfo: either may
/// carry a function key or a password), the identity and where it comes from.
fn outbound_line(settings: &OutboundSettings, identity_source: Option<&str>) -> String {
    let url = settings
        .url
        .as_ref()
        .map_or_else(|| "-".to_owned(), loggable);
    let identity = match settings.identity_info() {
        Ok(identity) => format!(
            "identity {} notAfter {}",
            identity.subject, identity.not_after
        ),
        Err(why) => format!("identity unavailable ({})", why.reason()),
    };
    format!(
        "outbound: {url} {identity} ({})",
        identity_source.unwrap_or("-")
    )
}

/// `YYYY-MM-DD` of unix seconds.
fn date(seconds: u64) -> String {
    rfc3339(seconds).chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_pki::TestPki;

    #[test]
    fn a_ca_certificate_that_cannot_vouch_is_a_warning() {
        let dir = std::env::temp_dir().join(format!("mtls-posture-vouch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let nameless = crate::client_cert::test_pki::Ca::root_edited("unused", |params| {
            params.distinguished_name = rcgen::DistinguishedName::new();
        });
        let good = crate::client_cert::test_pki::Ca::root("Good Root");
        let path = |name: &str, der: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, der).expect("write test file");
            path
        };
        let files = ConfiguredFiles {
            trusted_cas: vec![
                path("nameless.der", &nameless.der),
                path("good.der", &good.der),
            ],
            ..ConfiguredFiles::default()
        };

        let warnings = super::files(&files, crate::client_cert::test_pki::BASE).warnings;

        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("nameless.der cannot vouch for anyone")
                && warnings[0].contains("its subject is empty"),
            "{warnings:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_outbound_line_shows_no_query_and_no_userinfo() {
        let pki = TestPki::new("Posture URL");
        let settings = pki.settings(
            "https://operator:pa55word@127.0.0.1:8443/api/data?code=FUNCTION-KEY&x=1#part",
            None,
        );

        let line = outbound_line(&settings, Some("OUTBOUND_CLIENT_CERT_PATH=/home/id.p12"));

        assert!(
            line.starts_with("outbound: https://127.0.0.1:8443/api/data identity "),
            "{line}"
        );
        for secret in [
            "FUNCTION-KEY",
            "code=",
            "operator",
            "pa55word",
            "?",
            "#part",
        ] {
            assert!(!line.contains(secret), "{secret:?} shown: {line}");
        }
    }
}
