//! The allowlist: exact matches on parsed certificate values, rules OR'ed.
//!
//! - Thumbprint pins (`ALLOWED_CLIENT_CERT_THUMBPRINTS`) name one exact certificate, so they
//!   need no CA (validity and usage are still checked elsewhere).
//! - Name rules (CN, DNS, URI, email) count only when a trusted CA vouched for the certificate,
//!   unless unverified names are explicitly allowed (a migration aid, logged on every use).
//! - Identity rules from the JSON policy file AND their fields; a rule needs a verified chain
//!   unless it pins the exact certificate (`thumbprint`). A key pin (`spki_sha256`) needs one
//!   too: the key's holder could otherwise self-sign a fresh certificate past expiry or
//!   revocation.
//!
//! No allowlist at all means nothing matches (fail closed). Trust is decided in `trust.rs`.

use std::fmt;
use std::str::FromStr;

use super::name_constraints::refuses_common_name;
use super::trust::VerifiedChain;
use super::{ClientCert, Denied, Principal};

pub use super::policy_file::{IdentityRule, parse_policy_file};

/// A certificate thumbprint: SHA-1 (40 hex) or SHA-256 (64 hex), stored uppercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thumbprint {
    hex: String,
}

/// Name rules: exact values to compare with the certificate's CN and SANs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameRules {
    pub common_names: Vec<String>,
    /// Compared ASCII-case-insensitively (DNS names are case-insensitive).
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
}

/// Every allowlist rule of a deployment.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub pins: Vec<Thumbprint>,
    pub names: NameRules,
    pub rules: Vec<IdentityRule>,
    pub allow_unverified_names: bool,
}

/// Which rule admitted a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// e.g. `thumbprint:SHA1`, `common_name`, `dns_name`, `policy:<rule name>`.
    pub rule: String,
    /// The value that rule matched: the pin, the CN or SAN as configured, the rule's name.
    pub principal: Principal,
    /// The match relied on a name without a verified chain (`CLIENT_CERT_ALLOW_UNVERIFIED_NAMES`).
    pub unverified_name: bool,
}

// === impl Thumbprint ===

impl FromStr for Thumbprint {
    type Err = &'static str;

    /// Strips `:` and spaces, uppercases, and checks for 40 or 64 hex characters.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let hex: String = value
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("a thumbprint is hex digits, optionally separated by ':' or spaces");
        }
        match hex.len() {
            40 | 64 => Ok(Self { hex }),
            _ => Err("expected 40 (SHA-1) or 64 (SHA-256) hex digits"),
        }
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

impl Thumbprint {
    /// `SHA1` or `SHA256`.
    pub fn algorithm(&self) -> &'static str {
        if self.hex.len() == 40 {
            "SHA1"
        } else {
            "SHA256"
        }
    }

    /// Whether these are the thumbprints of this thumbprint's certificate.
    pub fn matches(&self, sha1: &str, sha256: &str) -> bool {
        self.hex == sha1 || self.hex == sha256
    }
}

// === impl NameRules ===

impl NameRules {
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    pub fn count(&self) -> usize {
        self.common_names.len() + self.dns_names.len() + self.uris.len() + self.emails.len()
    }

    /// The first name rule the certificate satisfies, as its kind and the configured value it
    /// matched; the CN counts only when `cn_counts`. SANs are tried in the certificate's order.
    pub fn matches(&self, cert: &ClientCert, cn_counts: bool) -> Option<(&'static str, Principal)> {
        if cn_counts
            && let Some(cn) = &cert.common_name
            && let Some(allowed) = self.common_names.iter().find(|allowed| *allowed == cn)
        {
            return Some(("common_name", Principal::CommonName(allowed.clone())));
        }
        let dns = cert.dns_names.iter().find_map(|dns| {
            self.dns_names
                .iter()
                .find(|allowed| allowed.eq_ignore_ascii_case(dns))
        });
        if let Some(allowed) = dns {
            return Some(("dns_name", Principal::DnsName(allowed.clone())));
        }
        if let Some(uri) = cert.uris.iter().find(|uri| self.uris.contains(uri)) {
            return Some(("uri", Principal::Uri(uri.clone())));
        }
        if let Some(email) = cert.emails.iter().find(|email| self.emails.contains(email)) {
            return Some(("email", Principal::Email(email.clone())));
        }
        None
    }
}

/// Why the CN lies outside the DNS name constraints of the verified path, if it does.
fn cn_outside_constraints(cert: &ClientCert, chain: Option<&VerifiedChain>) -> Option<String> {
    let cn = cert.common_name.as_deref()?;
    refuses_common_name(&chain?.dns_constraints, cn)
}

// === impl Policy ===

impl Policy {
    /// No rule of any kind: every certificate is refused.
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty() && self.names.is_empty() && self.rules.is_empty()
    }

    /// Why nothing admitted `cert` (after [`Policy::evaluate`] found no rule): its CN matches a
    /// CN rule but lies outside the path's DNS name constraints, or simply no rule matches.
    pub fn refusal(&self, cert: &ClientCert, chain: Option<&VerifiedChain>) -> Denied {
        match (&cert.common_name, cn_outside_constraints(cert, chain)) {
            (Some(cn), Some(reason)) if self.names.common_names.contains(cn) => {
                Denied::CnOutsideNameConstraints {
                    cn: cn.clone(),
                    reason,
                }
            }
            _ => Denied::NotAllowed {
                cn: cert.common_name.clone(),
                thumbprint: cert.sha256_thumbprint.clone(),
            },
        }
    }

    /// The first rule that admits `cert`; `chain` is `Some` when a trusted CA vouched for it.
    /// A CN rule counts only when the CN is inside the DNS name constraints of every CA on the
    /// path (`name_constraints.rs`).
    pub fn evaluate(&self, cert: &ClientCert, chain: Option<&VerifiedChain>) -> Option<Match> {
        let matched = |rule: String, principal: Principal| Match {
            rule,
            principal,
            unverified_name: false,
        };
        if let Some(pin) = self
            .pins
            .iter()
            .find(|pin| pin.matches(&cert.sha1_thumbprint, &cert.sha256_thumbprint))
        {
            return Some(matched(
                format!("thumbprint:{}", pin.algorithm()),
                Principal::Thumbprint(pin.to_string()),
            ));
        }
        if let Some(rule) = self.rules.iter().find(|rule| rule.matches(cert, chain)) {
            return Some(matched(
                format!("policy:{}", rule.name),
                Principal::Policy(rule.name.clone()),
            ));
        }
        let cn_counts = cn_outside_constraints(cert, chain).is_none();
        let (kind, principal) = self.names.matches(cert, cn_counts)?;
        if chain.is_some() {
            Some(matched(kind.to_owned(), principal))
        } else if self.allow_unverified_names {
            Some(Match {
                rule: kind.to_owned(),
                principal,
                unverified_name: true,
            })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use rustls_pki_types::CertificateDer;

    use super::*;
    use crate::client_cert::test_pki::{Ca, Leaf, at};
    use crate::client_cert::trust::TrustedCa;
    use crate::client_cert::{Authenticator, Settings};

    fn admitted_as(settings: &Settings, der: &[u8]) -> Result<Principal, &'static str> {
        let header = STANDARD.encode(der);
        Authenticator::new(settings)
            .authorize(&[header.as_bytes()], at(0))
            .map(|authorized| authorized.principal)
            .map_err(|denied| denied.code())
    }

    #[test]
    fn the_principal_is_the_value_the_matching_rule_named() {
        let root = Ca::root("Test Root CA");
        let anchor = TrustedCa::from_der(&CertificateDer::from(root.der.clone())).expect("anchor");
        let mut leaf = Leaf::cn("gw.partner.example");
        leaf.dns_names = vec!["a.partner.example".into(), "B.Partner.Example".into()];
        leaf.uris = vec!["spiffe://partner/gw".into()];
        leaf.emails = vec!["ops@partner.example".into()];
        let der = root.issue(&leaf);
        let cert = ClientCert::parse(der.clone()).expect("parses");
        let trusted = |settings: Settings| Settings {
            trusted_cas: vec![anchor.clone()],
            ..settings
        };
        let partner_rule = IdentityRule {
            name: "partner-a".into(),
            dns_name: Some("a.partner.example".into()),
            ..IdentityRule::default()
        };
        let cases = [
            (
                "a CN rule: the CN",
                trusted(Settings {
                    common_names: vec!["gw.partner.example".into()],
                    ..Settings::default()
                }),
                Principal::CommonName("gw.partner.example".into()),
            ),
            (
                "several DNS SANs: the one allowlisted, as configured",
                trusted(Settings {
                    dns_names: vec!["b.partner.example".into()],
                    ..Settings::default()
                }),
                Principal::DnsName("b.partner.example".into()),
            ),
            (
                "a URI rule",
                trusted(Settings {
                    uris: vec!["spiffe://partner/gw".into()],
                    ..Settings::default()
                }),
                Principal::Uri("spiffe://partner/gw".into()),
            ),
            (
                "an email rule",
                trusted(Settings {
                    emails: vec!["ops@partner.example".into()],
                    ..Settings::default()
                }),
                Principal::Email("ops@partner.example".into()),
            ),
            (
                "a policy rule: its name, the partner id",
                trusted(Settings {
                    policy_rules: vec![partner_rule],
                    common_names: vec!["gw.partner.example".into()],
                    ..Settings::default()
                }),
                Principal::Policy("partner-a".into()),
            ),
            (
                "a pin: the thumbprint",
                Settings {
                    thumbprints: vec![cert.sha1_thumbprint.parse().expect("thumbprint")],
                    ..Settings::default()
                },
                Principal::Thumbprint(cert.sha1_thumbprint.clone()),
            ),
        ];
        for (reason, settings, expected) in cases {
            assert_eq!(admitted_as(&settings, &der), Ok(expected), "{reason}");
        }
    }
}
