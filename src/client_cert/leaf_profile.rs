//! What RFC 5280 requires of a client certificate itself, beyond DER (`der.rs`) and the
//! schema (x509-parser), checked on the parse `certificate.rs` already made, pinned or chained:
//!
//! - **Malformed** (`cert_malformed`): a serial number that is not a positive integer of at
//!   most 20 octets (§4.1.2.2: the number a CRL names the certificate by; CRL tools and
//!   databases need not hold more), a dNSName that is not in the preferred name syntax
//!   (§4.2.1.6: letters, digits and hyphens, e.g. no underscore; a leftmost `*` label is
//!   allowed, and compared as text), an empty subject without a critical subjectAltName
//!   (§4.1.2.6).
//! - **Not a client certificate** (`cert_wrong_usage`), although basicConstraints says it is
//!   no CA: keyUsage keyCertSign (§4.2.1.3: only a CA signs certificates), a nameConstraints
//!   extension (§4.2.1.10: CA certificates only), anyExtendedKeyUsage (valid for every
//!   purpose: usage confusion waiting to happen; an issuer that means client authentication
//!   says clientAuth).
//!
//! What is deliberately not refused, and why, is in `docs/conformance.md` (a critical EKU, a
//! missing EKU, a missing authorityKeyIdentifier, a critical subjectAltName).

use x509_parser::certificate::X509Certificate;

use super::Denied;
use super::name_constraints::is_dns_name;

/// 2.5.29.30, the content of its OBJECT IDENTIFIER.
const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];

/// The most octets a serial number may have (RFC 5280 §4.1.2.2).
pub const MAX_SERIAL_OCTETS: usize = 20;

/// Refuses a certificate whose serial, DNS names or subject break RFC 5280's profile.
/// `san_critical` is the subjectAltName's criticality, `None` without one.
///
/// # Errors
/// [`Denied::Malformed`] naming the rule.
pub(crate) fn check(
    cert: &X509Certificate<'_>,
    dns_names: &[String],
    san_critical: Option<bool>,
) -> Result<(), Denied> {
    let serial = cert.raw_serial();
    if serial.iter().all(|byte| *byte == 0) {
        return Err(Denied::malformed(
            "serial number is zero (RFC 5280: a positive integer)",
        ));
    }
    if serial.first().is_some_and(|byte| byte & 0x80 != 0) {
        return Err(Denied::malformed(
            "serial number is negative (RFC 5280: a positive integer)",
        ));
    }
    if serial.len() > MAX_SERIAL_OCTETS {
        return Err(Denied::malformed(format!(
            "serial number of {} octets (RFC 5280: at most {MAX_SERIAL_OCTETS})",
            serial.len()
        )));
    }
    if let Some(name) = dns_names.iter().find(|name| !is_san_dns_name(name)) {
        return Err(Denied::malformed(format!(
            "dNSName {name:?} is not a DNS name in preferred syntax (RFC 5280 §4.2.1.6)"
        )));
    }
    if cert.subject().iter().next().is_none() && san_critical != Some(true) {
        return Err(Denied::malformed(
            "empty subject without a critical subjectAltName (RFC 5280 §4.1.2.6)",
        ));
    }
    Ok(())
}

/// Why a certificate that is not a CA still carries what only a CA, or every purpose, may.
pub(crate) fn not_a_client(cert: &X509Certificate<'_>, is_ca: bool) -> Option<&'static str> {
    let key_cert_sign = cert
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|usage| usage.value.key_cert_sign());
    if key_cert_sign && !is_ca {
        return Some("keyUsage keyCertSign, which only a CA certificate may assert");
    }
    if cert
        .extensions()
        .iter()
        .any(|extension| extension.oid.as_bytes() == NAME_CONSTRAINTS)
    {
        return Some("nameConstraints, which only a CA certificate may carry");
    }
    if cert
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.value.any)
    {
        return Some("extendedKeyUsage anyExtendedKeyUsage: valid for every purpose");
    }
    None
}

/// A DNS name, or one with a leftmost `*` label.
fn is_san_dns_name(name: &str) -> bool {
    is_dns_name(name.strip_prefix("*.").unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use rcgen::{
        CustomExtension, DistinguishedName, ExtendedKeyUsagePurpose, GeneralSubtree,
        KeyUsagePurpose, NameConstraints, SerialNumber,
    };

    use crate::client_cert::der::encode;
    use crate::client_cert::test_pki::{Leaf, reencode, tlv};
    use crate::client_cert::{ClientCert, Denied};

    fn named(dns: &str) -> Leaf {
        let mut leaf = Leaf::cn("client.example");
        leaf.dns_names = vec![dns.to_owned()];
        leaf
    }

    #[test]
    fn a_leaf_carrying_what_only_a_ca_may_is_not_a_client_certificate() {
        let cases: [(&str, Leaf, Option<&str>); 5] = [
            ("control: an ordinary client leaf", Leaf::cn("a"), None),
            (
                "keyUsage keyCertSign without cA",
                Leaf::cn("a").edited(|params| {
                    params.key_usages = vec![
                        KeyUsagePurpose::DigitalSignature,
                        KeyUsagePurpose::KeyCertSign,
                    ];
                }),
                Some("keyCertSign"),
            ),
            (
                "control: digitalSignature alone",
                Leaf::cn("a").edited(|params| {
                    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                }),
                None,
            ),
            (
                "name constraints in a leaf",
                Leaf::cn("a").edited(|params| {
                    params.name_constraints = Some(NameConstraints {
                        permitted_subtrees: vec![GeneralSubtree::DnsName("example.com".into())],
                        excluded_subtrees: Vec::new(),
                    });
                }),
                Some("nameConstraints"),
            ),
            (
                "anyExtendedKeyUsage beside clientAuth",
                Leaf::cn("a").eku(vec![
                    ExtendedKeyUsagePurpose::ClientAuth,
                    ExtendedKeyUsagePurpose::Any,
                ]),
                Some("anyExtendedKeyUsage"),
            ),
        ];
        for (reason, leaf, refused) in cases {
            let cert = ClientCert::parse(leaf.self_signed()).expect(reason);
            let outcome = cert.check_own_content();
            match refused {
                None => assert_eq!(outcome, Ok(()), "{reason}"),
                Some(words) => assert!(
                    matches!(&outcome, Err(Denied::WrongUsage { reason }) if reason.contains(words)),
                    "{reason}: {outcome:?}"
                ),
            }
        }
    }

    #[test]
    fn serials_dns_names_and_empty_subjects_outside_rfc_5280_are_malformed() {
        let empty_subject = |params: &mut rcgen::CertificateParams| {
            params.distinguished_name = DistinguishedName::new();
        };
        let non_critical_san = CustomExtension::from_oid_content(
            &[2, 5, 29, 17],
            encode(0x30, &encode(0x82, b"client.example")),
        );
        let mut empty_subject_non_critical_san = Leaf::cn("x").edited(empty_subject);
        empty_subject_non_critical_san.custom_extensions = vec![non_critical_san];
        let mut empty_subject_critical_san = named("client.example").edited(empty_subject);
        empty_subject_critical_san.subject = Vec::new();
        let negative = reencode(&Leaf::cn("a").self_signed(), &|path, tag, _| {
            (path == [0, 1]).then(|| tlv(tag, &[0x80, 0x01]))
        });
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            (
                "serial zero",
                Leaf::cn("a")
                    .edited(|params| params.serial_number = Some(SerialNumber::from(vec![0])))
                    .self_signed(),
                Some("serial number is zero"),
            ),
            (
                "a negative serial",
                negative,
                Some("serial number is negative"),
            ),
            (
                "a serial of 21 octets",
                Leaf::cn("a")
                    .edited(|params| {
                        params.serial_number = Some(SerialNumber::from(vec![0x01; 21]));
                    })
                    .self_signed(),
                Some("serial number of 21 octets"),
            ),
            (
                "control: a serial of 20 octets",
                Leaf::cn("a")
                    .edited(|params| {
                        params.serial_number = Some(SerialNumber::from(vec![0x01; 20]));
                    })
                    .self_signed(),
                None,
            ),
            (
                "an underscore in a dNSName",
                named("api_gw.example").self_signed(),
                Some("\"api_gw.example\" is not a DNS name"),
            ),
            (
                "a trailing dot in a dNSName",
                named("api.example.").self_signed(),
                Some("is not a DNS name"),
            ),
            (
                "control: a leftmost wildcard label",
                named("*.example").self_signed(),
                None,
            ),
            (
                "an empty subject with a non-critical subjectAltName",
                empty_subject_non_critical_san.self_signed(),
                Some("empty subject without a critical subjectAltName"),
            ),
            (
                "control: an empty subject with a critical subjectAltName",
                empty_subject_critical_san.self_signed(),
                None,
            ),
        ];
        for (reason, der, refused) in cases {
            let parsed = ClientCert::parse(der);
            match refused {
                None => assert!(parsed.is_ok(), "{reason}: {parsed:?}"),
                Some(words) => assert!(
                    matches!(&parsed, Err(Denied::Malformed { reason }) if reason.contains(words)),
                    "{reason}: {parsed:?}"
                ),
            }
        }
    }
}
