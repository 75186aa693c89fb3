//! The DNS name constraints of a verified path, applied to the subject CN when a CN rule is
//! what admits the caller.
//!
//! RFC 5280 applies dNSName constraints to dNSName SANs only (webpki does exactly that), so a
//! CA limited to `partner.example` could otherwise vouch for `CN=api-client.contoso.com`. Here
//! the CN is an identity, so it is held to the same subtrees as a DNS SAN would be, in every
//! CA of the path: inside at least one permitted dNSName subtree of each CA that has any, and
//! inside no excluded one. A CN that is not a DNS name is outside every permitted subtree.
//! Subtree matching follows RFC 5280 §4.2.1.10 as webpki reads it: `example.com` covers itself
//! and its subdomains, `.example.com` its subdomains only, and the empty string everything;
//! ASCII case is ignored. Other name forms (email, IP, directory name) are webpki's business.

use x509_parser::extensions::GeneralName;

/// One CA certificate's dNSName subtrees, lowercased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsConstraints {
    /// `None` when the CA permits no dNSName subtree explicitly (then every DNS name is
    /// permitted by it).
    pub permitted: Option<Vec<String>>,
    pub excluded: Vec<String>,
}

impl DnsConstraints {
    /// The dNSName subtrees of a CA certificate's nameConstraints; `None` when it has none
    /// (or the certificate does not parse: webpki refuses such a CA anyway).
    pub fn read(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let extension = cert.name_constraints().ok()??;
        let dns = |subtrees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
            subtrees.as_ref().map(|subtrees| {
                subtrees
                    .iter()
                    .filter_map(|subtree| match subtree.base {
                        GeneralName::DNSName(name) => Some(name.to_ascii_lowercase()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
        };
        let constraints = Self {
            permitted: dns(&extension.value.permitted_subtrees)
                .filter(|permitted| !permitted.is_empty()),
            excluded: dns(&extension.value.excluded_subtrees).unwrap_or_default(),
        };
        (constraints != Self::default()).then_some(constraints)
    }

    /// Why `name` is outside these subtrees, or `None` when it is inside.
    pub fn refuses(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        if let Some(subtree) = self.excluded.iter().find(|subtree| within(&name, subtree)) {
            return Some(format!("inside the excluded dns subtree {subtree:?}"));
        }
        match &self.permitted {
            Some(permitted) if !permitted.iter().any(|subtree| within(&name, subtree)) => {
                Some(format!("outside the permitted dns subtrees {permitted:?}"))
            }
            _ => None,
        }
    }
}

/// Whether `name` (lowercase) is inside the dNSName subtree `subtree` (lowercase). A name that
/// is not a DNS name is inside no subtree but the empty one.
fn within(name: &str, subtree: &str) -> bool {
    if subtree.is_empty() {
        return true;
    }
    if !is_dns_name(name) {
        return false;
    }
    match subtree.strip_prefix('.') {
        Some(parent) => name.len() > subtree.len() && name.ends_with(subtree) && !parent.is_empty(),
        None => {
            name == subtree
                || (name.len() > subtree.len()
                    && name.ends_with(subtree)
                    && name.as_bytes()[name.len() - subtree.len() - 1] == b'.')
        }
    }
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 bytes, at most 253 in all.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Why `cn` is outside the constraints of some CA in the path, or `None`.
pub fn refuses_common_name(path: &[DnsConstraints], cn: &str) -> Option<String> {
    path.iter().find_map(|constraints| constraints.refuses(cn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_match_as_rfc_5280_reads_them() {
        let cases = [
            ("partner.example", "partner.example", true),
            ("api.partner.example", "partner.example", true),
            ("API.Partner.Example", "partner.example", true),
            ("evilpartner.example", "partner.example", false),
            ("partner.example.evil", "partner.example", false),
            ("partner.example", ".partner.example", false),
            ("a.partner.example", ".partner.example", true),
            ("anything.example", "", true),
            ("Partner Gateway", "partner.example", false),
            ("gw.partner.example.", "partner.example", false),
        ];
        for (name, subtree, expected) in cases {
            assert_eq!(
                within(&name.to_ascii_lowercase(), subtree),
                expected,
                "{name:?} in {subtree:?}"
            );
        }
    }
}
