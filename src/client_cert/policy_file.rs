//! The optional JSON policy file (`CLIENT_CERT_POLICY_PATH`): APIM-style identity rules.
//!
//! ```json
//! { "rules": [ { "name": "partner-a", "issuer_thumbprint": "AB..", "dns_name": "a.example" } ] }
//! ```
//! Fields of one rule are AND'ed; rules are OR'ed with each other and with the settings. Every
//! field is an exact match: `subject`/`issuer` against the RFC 4514 rendering in `ClientCert`,
//! `serial` as hex (separators and leading zero bytes ignored), `spki_sha256` as base64
//! (`pin-sha256`). Parsed and validated once, at startup; unknown fields are errors.
//!
//! Only a rule with `thumbprint` can match without a verified chain: a thumbprint names one
//! exact certificate, whose subject, serial and dates nobody can change. Every other rule,
//! `spki_sha256` included, needs a configured CA to vouch for the certificate: whoever holds a
//! pinned key can self-sign a new certificate for it with any subject, serial and validity, so
//! a key pin alone would outlive the certificate's expiry and revocation. Such a rule without
//! `CLIENT_CERT_TRUSTED_CA_PATHS` could never match, so configuration refuses it at startup.

use serde::Deserialize;

use super::ClientCert;
use super::policy::Thumbprint;
use super::trust::VerifiedChain;

/// One identity rule: every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityRule {
    pub name: String,
    pub thumbprint: Option<Thumbprint>,
    pub issuer_thumbprint: Option<Thumbprint>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub dns_name: Option<String>,
    pub uri: Option<String>,
    pub email: Option<String>,
    /// Normalised: uppercase hex, no separators, no leading `00` bytes.
    pub serial: Option<String>,
    pub spki_sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    thumbprint: Option<String>,
    issuer_thumbprint: Option<String>,
    subject: Option<String>,
    issuer: Option<String>,
    dns_name: Option<String>,
    uri: Option<String>,
    email: Option<String>,
    serial: Option<String>,
    spki_sha256: Option<String>,
}

/// Parses and validates the policy file's text.
///
/// # Errors
/// Every problem found (invalid JSON, rule without name or fields, bad thumbprint ...).
pub fn parse_policy_file(text: &str) -> Result<Vec<IdentityRule>, Vec<String>> {
    let file: PolicyFile =
        serde_json::from_str(text).map_err(|error| vec![format!("invalid json: {error}")])?;
    let mut errors = Vec::new();
    let mut rules: Vec<IdentityRule> = Vec::new();
    for (index, raw) in file.rules.into_iter().enumerate() {
        match IdentityRule::from_raw(raw) {
            Ok(rule) if rules.iter().any(|other| other.name == rule.name) => {
                errors.push(format!("rule {index}: duplicate name {:?}", rule.name));
            }
            Ok(rule) => rules.push(rule),
            Err(error) => errors.push(format!("rule {index}: {error}")),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

impl IdentityRule {
    fn from_raw(raw: RawRule) -> Result<Self, String> {
        let name = raw.name.trim().to_owned();
        if name.is_empty() {
            return Err("name is empty".to_owned());
        }
        let thumbprint = |field: &str, value: Option<String>| {
            value
                .map(|v| v.parse::<Thumbprint>())
                .transpose()
                .map_err(|error| format!("{name}: {field}: {error}"))
        };
        let spki_sha256 = raw.spki_sha256.map(|v| v.trim().to_owned());
        if let Some(pin) = &spki_sha256 {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD.decode(pin);
            if decoded.map(|bytes| bytes.len()) != Ok(32) {
                return Err(format!("{name}: spki_sha256 must be base64 of 32 bytes"));
            }
        }
        let serial = raw
            .serial
            .map(|v| normalize_serial(&v).ok_or(format!("{name}: serial must be hex")))
            .transpose()?;
        let rule = Self {
            thumbprint: thumbprint("thumbprint", raw.thumbprint)?,
            issuer_thumbprint: thumbprint("issuer_thumbprint", raw.issuer_thumbprint)?,
            subject: raw.subject,
            issuer: raw.issuer,
            dns_name: raw.dns_name,
            uri: raw.uri,
            email: raw.email,
            serial,
            spki_sha256,
            name,
        };
        if rule
            == (Self {
                name: rule.name.clone(),
                ..Self::default()
            })
        {
            return Err(format!(
                "{}: a rule needs at least one field to match",
                rule.name
            ));
        }
        Ok(rule)
    }

    /// The rule pins one exact certificate (`thumbprint`), so it needs no verified chain.
    ///
    /// A key pin (`spki_sha256`) does not count: the key's holder can mint new certificates
    /// for it, so it matches only on a chain a configured CA vouches for.
    pub fn pins_certificate(&self) -> bool {
        self.thumbprint.is_some()
    }

    /// Whether every field that is set matches `cert`.
    pub fn matches(&self, cert: &ClientCert, chain: Option<&VerifiedChain>) -> bool {
        if chain.is_none() && !self.pins_certificate() {
            return false;
        }
        let issuer_ok = match (&self.issuer_thumbprint, chain) {
            (None, _) => true,
            (Some(pin), Some(chain)) => pin.matches(&chain.issuer_sha1, &chain.issuer_sha256),
            (Some(_), None) => false,
        };
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let any = |want: &Option<String>, have: &[String]| {
            want.as_ref().is_none_or(|w| have.iter().any(|h| h == w))
        };
        issuer_ok
            && self
                .thumbprint
                .as_ref()
                .is_none_or(|pin| pin.matches(&cert.sha1_thumbprint, &cert.sha256_thumbprint))
            && eq(&self.subject, &cert.subject.rfc4514)
            && eq(&self.issuer, &cert.issuer.rfc4514)
            && self.dns_name.as_ref().is_none_or(|want| {
                cert.dns_names
                    .iter()
                    .any(|dns| dns.eq_ignore_ascii_case(want))
            })
            && any(&self.uri, &cert.uris)
            && any(&self.email, &cert.emails)
            && self
                .serial
                .as_ref()
                .is_none_or(|want| normalize_serial(&cert.serial_hex).as_ref() == Some(want))
            && eq(&self.spki_sha256, &cert.spki_sha256_base64)
    }
}

/// Uppercase hex without `:`/spaces and without leading zero bytes; `None` if not hex.
fn normalize_serial(value: &str) -> Option<String> {
    let hex: String = value
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = hex.trim_start_matches('0');
    Some(if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_are_validated_at_startup() {
        let sha1 = "AB".repeat(20);
        let valid = format!(
            r#"{{"rules":[{{"name":"partner","issuer_thumbprint":"{sha1}","dns_name":"a.example","serial":"00:1a"}}]}}"#
        );
        let rules = parse_policy_file(&valid).expect("a valid file parses");
        assert_eq!(rules[0].serial.as_deref(), Some("1A"), "serial normalised");

        for (reason, text) in [
            ("not json", "{"),
            ("unknown field", r#"{"rules":[{"name":"x","cn":"y"}]}"#),
            ("rule without match fields", r#"{"rules":[{"name":"x"}]}"#),
            ("empty name", r#"{"rules":[{"name":" ","uri":"u"}]}"#),
            (
                "bad thumbprint",
                r#"{"rules":[{"name":"x","thumbprint":"zz"}]}"#,
            ),
            (
                "bad spki pin",
                r#"{"rules":[{"name":"x","spki_sha256":"abc"}]}"#,
            ),
            (
                "duplicate names",
                r#"{"rules":[{"name":"x","uri":"a"},{"name":"x","uri":"b"}]}"#,
            ),
        ] {
            assert!(parse_policy_file(text).is_err(), "{reason} is refused");
        }
    }
}
