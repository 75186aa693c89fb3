//! `Principal`: who the caller is, as the allowlist rule that admitted it names them. The value
//! is the configured one (a DNS name as the setting spells it), so business code can compare it
//! with its own configuration; for a policy-file rule it is the rule's name, a partner id.
//!
//! Deciding which rule matched is `policy.rs`'s job; this only carries the answer.

use std::fmt;

use serde::Serialize;

/// The identity an admitted caller was allowlisted as.
///
/// Serialised as `{"kind": "dns_name", "value": "gw.partner.example"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Principal {
    /// A rule of `CLIENT_CERT_POLICY_PATH` matched: its `name`. Name the rules after your
    /// partners (`partner-a`) and this is the partner's id.
    Policy(String),
    /// An `ALLOWED_CLIENT_CERT_THUMBPRINTS` pin matched: the thumbprint, upper-case hex (40
    /// characters for SHA-1, 64 for SHA-256).
    Thumbprint(String),
    /// `ALLOWED_CLIENT_CERT_COMMON_NAMES`: the subject CN.
    CommonName(String),
    /// `ALLOWED_CLIENT_CERT_DNS_NAMES`: the allowlisted DNS name, as configured, that one of the
    /// certificate's DNS SANs matched (ignoring ASCII case).
    DnsName(String),
    /// `ALLOWED_CLIENT_CERT_URIS`: the URI SAN that matched.
    Uri(String),
    /// `ALLOWED_CLIENT_CERT_EMAILS`: the email SAN that matched.
    Email(String),
}

impl Principal {
    /// `policy`, `thumbprint`, `common_name`, `dns_name`, `uri` or `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Policy(_) => "policy",
            Self::Thumbprint(_) => "thumbprint",
            Self::CommonName(_) => "common_name",
            Self::DnsName(_) => "dns_name",
            Self::Uri(_) => "uri",
            Self::Email(_) => "email",
        }
    }

    /// The matched value: the rule name, thumbprint, CN or SAN.
    pub fn value(&self) -> &str {
        match self {
            Self::Policy(value)
            | Self::Thumbprint(value)
            | Self::CommonName(value)
            | Self::DnsName(value)
            | Self::Uri(value)
            | Self::Email(value) => value,
        }
    }

    /// The policy rule's name when a policy rule admitted the caller: the partner id.
    pub fn partner(&self) -> Option<&str> {
        match self {
            Self::Policy(name) => Some(name),
            _ => None,
        }
    }

    /// Heap bytes held, for the decision cache's accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.value().len()
    }
}

impl fmt::Display for Principal {
    /// `kind:value`, e.g. `policy:partner-a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_serialises_as_its_kind_and_value() {
        let json = serde_json::to_value(Principal::DnsName("gw.partner.example".into()))
            .expect("serialisable");
        assert_eq!(
            json,
            serde_json::json!({"kind": "dns_name", "value": "gw.partner.example"})
        );
        let partner = Principal::Policy("partner-a".into());
        assert_eq!(partner.to_string(), "policy:partner-a");
        assert_eq!(partner.partner(), Some("partner-a"));
        assert_eq!(Principal::CommonName("x".into()).partner(), None);
    }
}
