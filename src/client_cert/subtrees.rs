//! A CA certificate's nameConstraints read from its DER, as RFC 5280 §4.2.1.10 writes it:
//! `SEQUENCE { permittedSubtrees [0] OPTIONAL, excludedSubtrees [1] OPTIONAL }`, each a
//! non-empty `SEQUENCE OF GeneralSubtree`, and a GeneralSubtree only its `base` (this profile
//! uses neither minimum nor maximum).
//!
//! Two questions are answered here, once per configured CA at startup: whether the constraints
//! are so malformed that the CA cannot vouch for anyone ([`NameConstraints::problem`]: neither
//! list present, an empty list, minimum or maximum, a dNSName that is not a DNS name, e.g. with
//! a leading period, an rfc822Name that is neither a mailbox, a host nor a `.domain`, an iPAddress
//! that is not an address and a contiguous mask), and what the constraints are without their
//! rfc822Name subtrees, which webpki cannot evaluate ([`NameConstraints::without_email`];
//! `email_constraints.rs` applies those). Matching names against the other forms is webpki's.

use super::der::{Tlv, elements, encode};
use super::email_constraints::EmailSubtree;
use super::name_constraints::is_dns_name;

/// The GeneralName tags a base is read by: `[1] rfc822Name`, `[2] dNSName`, `[7] iPAddress`.
const RFC822_NAME: u8 = 0x81;
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;
const SEQUENCE: u8 = 0x30;
const PERMITTED: u8 = 0xa0;
const EXCLUDED: u8 = 0xa1;

/// A nameConstraints value, read in place.
#[derive(Debug, Clone)]
pub(crate) struct NameConstraints<'a> {
    permitted: Option<Vec<Subtree<'a>>>,
    excluded: Option<Vec<Subtree<'a>>>,
}

#[derive(Debug, Clone, Copy)]
struct Subtree<'a> {
    /// The base GeneralName element.
    base: Tlv<'a>,
    /// The whole GeneralSubtree element.
    encoding: &'a [u8],
    /// It has a minimum or maximum after its base.
    bounded: bool,
}

impl<'a> NameConstraints<'a> {
    /// Reads the content of the NameConstraints SEQUENCE (what webpki keeps of an anchor's
    /// constraints; [`NameConstraints::read_extension_value`] for a certificate's extension).
    ///
    /// # Errors
    /// Why it is not a NameConstraints value, in words.
    pub(crate) fn read_content(content: &'a [u8]) -> Result<Self, &'static str> {
        let parts = elements(content).ok_or("nameConstraints is not DER")?;
        let mut constraints = Self {
            permitted: None,
            excluded: None,
        };
        let mut rest = parts.as_slice();
        if let [first, tail @ ..] = rest
            && first.identifier == PERMITTED
        {
            constraints.permitted = Some(subtrees(first.content)?);
            rest = tail;
        }
        if let [first, tail @ ..] = rest
            && first.identifier == EXCLUDED
        {
            constraints.excluded = Some(subtrees(first.content)?);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err("nameConstraints has fields other than permitted and excluded subtrees");
        }
        Ok(constraints)
    }

    /// Reads a certificate's nameConstraints extension value (the SEQUENCE itself).
    ///
    /// # Errors
    /// Why it is not a NameConstraints value, in words.
    pub(crate) fn read_extension_value(value: &'a [u8]) -> Result<Self, &'static str> {
        match elements(value).as_deref() {
            Some([sequence]) if sequence.identifier == SEQUENCE => {
                Self::read_content(sequence.content)
            }
            _ => Err("nameConstraints is not one SEQUENCE"),
        }
    }

    /// Why these constraints leave the CA unable to vouch for anyone, if they do.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.permitted.is_none() && self.excluded.is_none() {
            return Some("nameConstraints has neither permitted nor excluded subtrees".to_owned());
        }
        for (which, list) in [("permitted", &self.permitted), ("excluded", &self.excluded)] {
            let Some(list) = list else { continue };
            if list.is_empty() {
                return Some(format!(
                    "nameConstraints has an empty list of {which} subtrees"
                ));
            }
            for subtree in list {
                if subtree.bounded {
                    return Some(format!(
                        "a {which} subtree has a minimum or maximum, which RFC 5280 does not use"
                    ));
                }
                if let Some(problem) = base_problem(subtree.base) {
                    return Some(format!("{which} subtree: {problem}"));
                }
            }
        }
        None
    }

    /// The rfc822Name bases, permitted then excluded, as text.
    pub(crate) fn email_bases(&self) -> (Vec<String>, Vec<String>) {
        let bases = |list: &Option<Vec<Subtree<'_>>>| -> Vec<String> {
            list.iter()
                .flatten()
                .filter(|subtree| subtree.base.identifier == RFC822_NAME)
                .map(|subtree| String::from_utf8_lossy(subtree.base.content).into_owned())
                .collect()
        };
        (bases(&self.permitted), bases(&self.excluded))
    }

    /// Whether any subtree is an rfc822Name.
    pub(crate) fn has_email(&self) -> bool {
        let (permitted, excluded) = self.email_bases();
        !permitted.is_empty() || !excluded.is_empty()
    }

    /// The content of these constraints without their rfc822Name subtrees, re-encoded; `None`
    /// when no subtree is left (then the constraints are dropped altogether).
    pub(crate) fn without_email(&self) -> Option<Vec<u8>> {
        let list = |identifier: u8, list: &Option<Vec<Subtree<'_>>>| -> Vec<u8> {
            let kept: Vec<u8> = list
                .iter()
                .flatten()
                .filter(|subtree| subtree.base.identifier != RFC822_NAME)
                .flat_map(|subtree| subtree.encoding.iter().copied())
                .collect();
            if kept.is_empty() {
                Vec::new()
            } else {
                encode(identifier, &kept)
            }
        };
        let content = [
            list(PERMITTED, &self.permitted),
            list(EXCLUDED, &self.excluded),
        ]
        .concat();
        (!content.is_empty()).then_some(content)
    }
}

/// A non-empty or empty `SEQUENCE OF GeneralSubtree` (emptiness is [`NameConstraints::problem`]).
fn subtrees(content: &[u8]) -> Result<Vec<Subtree<'_>>, &'static str> {
    elements(content)
        .ok_or("nameConstraints subtrees are not DER")?
        .into_iter()
        .map(|subtree| {
            if subtree.identifier != SEQUENCE {
                return Err("a GeneralSubtree is not a SEQUENCE");
            }
            let fields = elements(subtree.content).ok_or("a GeneralSubtree is not DER")?;
            let (base, bounds) = fields.split_first().ok_or("a GeneralSubtree has no base")?;
            Ok(Subtree {
                base: *base,
                encoding: subtree.encoding,
                bounded: !bounds.is_empty(),
            })
        })
        .collect()
}

/// Why a subtree's base is not a name of its form, for the forms read here.
fn base_problem(base: Tlv<'_>) -> Option<String> {
    let text = || String::from_utf8_lossy(base.content).into_owned();
    match base.identifier {
        DNS_NAME => {
            let name = std::str::from_utf8(base.content).unwrap_or("\u{fffd}");
            (!name.is_empty() && !is_dns_name(name)).then(|| {
                format!(
                    "dNSName {:?} is not a DNS name (a leading period is for URIs and email addresses only)",
                    text()
                )
            })
        }
        RFC822_NAME => EmailSubtree::parse(&text()).err(),
        IP_ADDRESS => (!is_address_and_mask(base.content))
            .then(|| "iPAddress is not an address followed by a contiguous mask".to_owned()),
        _ => None,
    }
}

/// 8 octets (IPv4 address and mask) or 32 (IPv6), the mask all ones then all zeros.
fn is_address_and_mask(octets: &[u8]) -> bool {
    if octets.len() != 8 && octets.len() != 32 {
        return false;
    }
    let mask = &octets[octets.len() / 2..];
    let mut seen_zero = false;
    for byte in mask {
        for bit in (0..8).rev() {
            let one = byte & (1 << bit) != 0;
            if one && seen_zero {
                return false;
            }
            seen_zero |= !one;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subtree(identifier: u8, base: &[u8]) -> Vec<u8> {
        encode(SEQUENCE, &encode(identifier, base))
    }

    fn constraints(permitted: Option<&[Vec<u8>]>, excluded: Option<&[Vec<u8>]>) -> Vec<u8> {
        let list = |identifier, list: Option<&[Vec<u8>]>| {
            list.map(|list| encode(identifier, &list.concat()))
                .unwrap_or_default()
        };
        [list(PERMITTED, permitted), list(EXCLUDED, excluded)].concat()
    }

    #[test]
    fn malformed_constraints_are_named_and_well_formed_ones_pass() {
        let dns = |name: &str| subtree(DNS_NAME, name.as_bytes());
        let email = |name: &str| subtree(RFC822_NAME, name.as_bytes());
        let mut bounded = encode(DNS_NAME, b"example.com");
        bounded.extend(encode(0x80, &[1]));
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            (
                "a permitted dNSName",
                constraints(Some(&[dns("example.com")]), None),
                None,
            ),
            (
                "email forms: mailbox, host, domain",
                constraints(
                    Some(&[email("a@example.com"), email("example.com")]),
                    Some(&[email(".example.net")]),
                ),
                None,
            ),
            (
                "an IPv4 address and mask",
                constraints(
                    Some(&[subtree(IP_ADDRESS, &[10, 0, 0, 0, 255, 0, 0, 0])]),
                    None,
                ),
                None,
            ),
            (
                "neither list",
                constraints(None, None),
                Some("neither permitted nor excluded"),
            ),
            (
                "two empty lists",
                constraints(Some(&[]), Some(&[])),
                Some("an empty list of permitted subtrees"),
            ),
            (
                "a dNSName with a leading period",
                constraints(Some(&[dns(".example.com")]), None),
                Some("dNSName \".example.com\" is not a DNS name"),
            ),
            (
                "an rfc822Name with two @",
                constraints(Some(&[email("invalid@invalid@example.com")]), None),
                Some("is not a mailbox"),
            ),
            (
                "a mask with a hole",
                constraints(
                    None,
                    Some(&[subtree(IP_ADDRESS, &[10, 0, 0, 0, 255, 0, 255, 0])]),
                ),
                Some("contiguous mask"),
            ),
            (
                "a subtree with a minimum",
                constraints(Some(&[encode(SEQUENCE, &bounded)]), None),
                Some("minimum or maximum"),
            ),
        ];
        for (reason, content, expected) in cases {
            let read = NameConstraints::read_content(&content).expect(reason);
            let problem = read.problem();
            match expected {
                None => assert_eq!(problem, None, "{reason}"),
                Some(words) => assert!(
                    problem.as_deref().is_some_and(|text| text.contains(words)),
                    "{reason}: {problem:?}"
                ),
            }
        }
    }

    #[test]
    fn without_email_keeps_every_other_subtree_in_order() {
        let dns = subtree(DNS_NAME, b"example.com");
        let email = subtree(RFC822_NAME, b"example.com");
        let ip = subtree(IP_ADDRESS, &[10, 0, 0, 0, 255, 0, 0, 0]);
        let both = constraints(
            Some(&[email.clone(), dns.clone()]),
            Some(&[ip.clone(), email.clone()]),
        );
        let read = NameConstraints::read_content(&both).expect("well-formed");
        assert!(read.has_email());
        assert_eq!(
            read.without_email(),
            Some(constraints(Some(&[dns]), Some(&[ip]))),
            "email subtrees dropped, lists re-encoded"
        );
        let only_email = constraints(Some(&[email]), None);
        let read = NameConstraints::read_content(&only_email).expect("well-formed");
        assert_eq!(read.without_email(), None, "nothing left: no constraints");
        assert_eq!(
            read.email_bases(),
            (vec!["example.com".to_owned()], Vec::new())
        );
    }
}
