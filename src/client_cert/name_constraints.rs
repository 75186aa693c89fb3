//! The DNS name constraints of a verified path, applied to the subject CN when a CN rule is
//! what admits the caller.
//!
//! RFC 5280 applies dNSName constraints to dNSName SANs only (webpki does exactly that), so a
//! CA limited to `partner.example` could otherwise vouch for `CN=api-client.contoso.com`. Here
//! the CN is an identity, so it is held to the same subtrees as a DNS SAN would be, in every
//! CA of the path: inside at least one permitted dNSName subtree of each CA that has any, and
//! inside no excluded one. A CN that is not a DNS name is outside every permitted subtree.
//! Subtree matching follows RFC 5280 §4.2.1.10 as webpki reads it: `example.com` covers itself
//! and its subdomains, and the empty string everything; ASCII case is ignored. (A base with a
//! leading period, `.example.com`, is read as its subdomains only, but RFC 5280 has no such
//! dNSName and a CA with one cannot vouch at all: `subtrees.rs`.) An excluded subtree is matched without requiring a strict DNS name
//! (a trailing dot dropped), so `CN=api_x.contoso.com` or `CN=api.contoso.com.` cannot step
//! around an excluded `contoso.com`; a permitted subtree still requires one (fail closed). Other name forms (email, IP, directory name) are webpki's business.

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
    /// (or they do not parse: such a CA cannot vouch at all, `ca_certificate.rs`).
    pub fn from_certificate(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Self> {
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
        if let Some(subtree) = self
            .excluded
            .iter()
            .find(|subtree| within_loosely(&name, subtree))
        {
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

/// Whether `name` (lowercase) falls under the excluded subtree `subtree` (lowercase), read
/// loosely so that exclusion cannot be sidestepped: the name need not be a strict DNS name
/// (`api_x.contoso.com`, `API.contoso.com.` and `a b.contoso.com` are all under `contoso.com`),
/// one trailing dot on either side is dropped, and labels are compared by suffix as in
/// [`within`]. Permitted subtrees keep [`within`]'s strict reading (fail closed).
fn within_loosely(name: &str, subtree: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let subtree = subtree.strip_suffix('.').unwrap_or(subtree);
    if subtree.is_empty() {
        return true;
    }
    match subtree.strip_prefix('.') {
        Some(parent) => !parent.is_empty() && name.len() > subtree.len() && name.ends_with(subtree),
        None => {
            name == subtree
                || (name.len() > subtree.len()
                    && name.ends_with(subtree)
                    && name.as_bytes()[name.len() - subtree.len() - 1] == b'.')
        }
    }
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 bytes, at most 253 in all
/// (RFC 1034's preferred name syntax, which RFC 5280 requires of a dNSName).
pub(crate) fn is_dns_name(name: &str) -> bool {
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

    #[test]
    fn an_excluded_subtree_catches_names_that_are_not_strict_dns_names() {
        let constraints = DnsConstraints {
            permitted: None,
            excluded: vec!["contoso.com".to_owned()],
        };
        let cases = [
            ("api_x.contoso.com", true, "underscore label"),
            ("api.contoso.com.", true, "trailing dot"),
            ("API.Contoso.COM.", true, "trailing dot and case"),
            ("contoso.com.", true, "the subtree itself, trailing dot"),
            ("a b.contoso.com", true, "space in a label"),
            ("x..contoso.com", true, "empty label"),
            ("api.contoso.com", true, "a strict DNS name"),
            ("evilcontoso.com", false, "not a label suffix"),
            ("contoso.com.evil", false, "contoso.com is not the suffix"),
            ("partner_x.example", false, "unrelated"),
        ];
        for (name, refused, reason) in cases {
            assert_eq!(
                constraints.refuses(name).is_some(),
                refused,
                "{reason}: {name:?}"
            );
        }
    }

    #[test]
    fn a_permitted_subtree_still_requires_a_strict_dns_name() {
        let constraints = DnsConstraints {
            permitted: Some(vec!["partner.example".to_owned()]),
            excluded: Vec::new(),
        };
        for (name, refused, reason) in [
            ("api.partner.example", false, "inside"),
            ("api_x.partner.example", true, "underscore: not a DNS name"),
            ("api.partner.example.", true, "trailing dot: not a DNS name"),
            ("a b.partner.example", true, "space: not a DNS name"),
        ] {
            assert_eq!(
                constraints.refuses(name).is_some(),
                refused,
                "{reason}: {name:?}"
            );
        }
    }
}
