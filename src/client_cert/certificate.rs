//! `ClientCert`: the owned, parsed fields of one client certificate, and its thumbprints.
//!
//! Fields are read structurally with x509-parser: the CN by its OID, names from the SAN
//! extension, never by matching rendered strings. Parsing refuses ambiguity (two CNs, a CN in a
//! multi-valued RDN) and never exposes parser text to callers (only the log sees the detail).
//! Trust, validity and allowlisting are decided elsewhere (`trust.rs`, `policy.rs`).

use std::net::IpAddr;

use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::OID_X509_COMMON_NAME;
use x509_parser::x509::X509Name;

use super::Denied;
use super::cache::HeapSize;
pub use super::key_strength::PublicKeySummary;
pub use super::name::Name;

/// The most extensions a certificate may carry (ordinary client certificates have about ten).
pub const MAX_EXTENSIONS: usize = 32;
/// The most subjectAltName entries (ordinary client certificates have a handful; public CAs
/// issue at most 100).
pub const MAX_SAN_ENTRIES: usize = 128;
/// The most attributes in the subject, and in the issuer (RDNs and multi-valued ones counted
/// by attribute).
pub const MAX_NAME_ATTRIBUTES: usize = 32;

/// A parsed client certificate. Thumbprints are uppercase hex of the DER's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub subject: Name,
    pub issuer: Name,
    /// The subject's single CN, read by OID (`2.5.4.3`).
    pub common_name: Option<String>,
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    /// The serial's DER content bytes, uppercase hex without separators.
    pub serial_hex: String,
    /// notBefore / notAfter, unix seconds (certificates before 1970 are clamped to 0).
    pub not_before: u64,
    pub not_after: u64,
    pub not_before_rfc3339: String,
    pub not_after_rfc3339: String,
    pub sha1_thumbprint: String,
    pub sha256_thumbprint: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo, standard base64: the HPKP / APIM `pin-sha256` form.
    pub spki_sha256_base64: String,
    /// `None` when the certificate has no extendedKeyUsage extension.
    pub extended_key_usage: Option<ExtendedKeyUsage>,
    /// basicConstraints `cA = TRUE`.
    pub is_ca: bool,
    /// What the key-strength rule needs to know about the public key.
    pub public_key: PublicKeySummary,
    /// The first critical extension webpki does not process (dotted OID), if any.
    pub unsupported_critical_extension: Option<String>,
    /// Why it is not an end-entity client certificate although basicConstraints says it is
    /// not a CA: keyCertSign, name constraints, anyExtendedKeyUsage.
    pub not_a_client: Option<&'static str>,
    /// The subject's emailAddress attributes when the certificate has no subjectAltName (or
    /// an empty one, which RFC 5280 forbids and must not shield them): what email name
    /// constraints apply to besides `emails` (RFC 5280 §4.2.1.10).
    pub subject_emails: Vec<String>,
    pub der: Vec<u8>,
}

/// What the extendedKeyUsage extension says that matters here. anyExtendedKeyUsage alone does
/// not count as clientAuth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedKeyUsage {
    pub client_auth: bool,
}

impl ClientCert {
    /// Parses exactly one DER certificate.
    ///
    /// # Errors
    /// [`Denied::Malformed`] if it is not DER at any depth (`der.rs`), does not parse (or has
    /// trailing bytes, duplicate or invalid extensions); [`Denied::Ambiguous`] if the subject has several CNs or a CN inside a
    /// multi-valued RDN.
    pub fn parse(der: Vec<u8>) -> Result<Self, Denied> {
        super::der::check_certificate(&der)
            .map_err(|error| Denied::malformed(error.to_string()))?;
        let (rest, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|error| Denied::malformed(format!("x509 parse error: {error}")))?;
        if !rest.is_empty() {
            return Err(Denied::malformed("trailing bytes after certificate"));
        }
        check_bounds(&cert)?;
        let common_name = single_common_name(cert.subject())?;
        let sans = SubjectAltNames::read(&cert)?;
        super::leaf_profile::check(&cert, &sans.dns_names, sans.critical)?;
        let extended_key_usage = read_eku(&cert)?;
        let is_ca = cert
            .basic_constraints()
            .map_err(|error| Denied::malformed(format!("basicConstraints: {error}")))?
            .is_some_and(|extension| extension.value.ca);
        let not_a_client = super::leaf_profile::not_a_client(&cert, is_ca);
        let subject_emails = if sans.has_entries {
            Vec::new()
        } else {
            super::name::email_addresses(cert.subject())
        };
        let public_key = PublicKeySummary::read(cert.public_key())?;
        let unsupported_critical_extension = cert
            .extensions()
            .iter()
            .find(|extension| extension.critical && !is_processed(&extension.oid))
            .map(|extension| extension.oid.to_id_string());
        let validity = cert.validity();
        let not_before = unix_seconds(validity.not_before.timestamp());
        let not_after = unix_seconds(validity.not_after.timestamp());
        Ok(Self {
            subject: Name::read(cert.subject()),
            issuer: Name::read(cert.issuer()),
            common_name,
            dns_names: sans.dns_names,
            uris: sans.uris,
            emails: sans.emails,
            ip_addresses: sans.ip_addresses,
            serial_hex: hex_upper(cert.raw_serial()),
            not_before,
            not_after,
            not_before_rfc3339: rfc3339(not_before),
            not_after_rfc3339: rfc3339(not_after),
            sha1_thumbprint: hex_upper(&Sha1::digest(&der)),
            sha256_thumbprint: hex_upper(&Sha256::digest(&der)),
            spki_sha256_base64: base64::engine::general_purpose::STANDARD
                .encode(Sha256::digest(cert.public_key().raw)),
            extended_key_usage,
            is_ca,
            public_key,
            unsupported_critical_extension,
            not_a_client,
            subject_emails,
            der,
        })
    }

    /// Rules on the certificate's own content that apply pinned or chained: no critical
    /// extension the chain verifier would refuse (RFC 5280 §4.2: a relying party must reject
    /// one it does not process), nothing that makes it more than a client certificate
    /// (`leaf_profile.rs`), and a strong enough key.
    ///
    /// # Errors
    /// [`Denied::Untrusted`] for an unsupported critical extension, as webpki refuses a chained
    /// one; [`Denied::WrongUsage`]; [`Denied::WeakKey`].
    pub fn check_own_content(&self) -> Result<(), Denied> {
        if let Some(oid) = &self.unsupported_critical_extension {
            return Err(Denied::Untrusted {
                reason: format!("unsupported critical extension {oid}"),
            });
        }
        if let Some(reason) = self.not_a_client {
            return Err(Denied::WrongUsage {
                reason: reason.to_owned(),
            });
        }
        self.public_key.check()
    }

    /// Whether an EKU extension, if present, allows clientAuth (absent EKU = any usage).
    pub fn allows_client_auth(&self) -> bool {
        self.extended_key_usage
            .as_ref()
            .is_none_or(|eku| eku.client_auth)
    }
}

/// The extensions webpki processes (keyUsage, subjectAltName, basicConstraints,
/// nameConstraints, cRLDistributionPoints, extKeyUsage: 2.5.29.15, 17, 19, 30, 31, 37); it
/// refuses any other when critical.
pub(crate) fn is_processed(oid: &x509_parser::der_parser::oid::Oid<'_>) -> bool {
    matches!(oid.as_bytes(), [0x55, 0x1d, 15 | 17 | 19 | 30 | 31 | 37])
}

impl HeapSize for ClientCert {
    fn heap_bytes(&self) -> usize {
        // Every field named, so that a new one cannot be left out of the count.
        let Self {
            subject,
            issuer,
            common_name,
            dns_names,
            uris,
            emails,
            ip_addresses,
            serial_hex,
            not_before: _,
            not_after: _,
            not_before_rfc3339,
            not_after_rfc3339,
            sha1_thumbprint,
            sha256_thumbprint,
            spki_sha256_base64,
            extended_key_usage: _,
            is_ca: _,
            public_key,
            unsupported_critical_extension,
            not_a_client: _,
            subject_emails,
            der,
        } = self;
        subject.rfc4514.heap_bytes()
            + issuer.rfc4514.heap_bytes()
            + common_name.heap_bytes()
            + dns_names.heap_bytes()
            + uris.heap_bytes()
            + emails.heap_bytes()
            + ip_addresses.heap_bytes()
            + serial_hex.heap_bytes()
            + not_before_rfc3339.heap_bytes()
            + not_after_rfc3339.heap_bytes()
            + sha1_thumbprint.heap_bytes()
            + sha256_thumbprint.heap_bytes()
            + spki_sha256_base64.heap_bytes()
            + public_key.heap_bytes()
            + unsupported_critical_extension.heap_bytes()
            + subject_emails.heap_bytes()
            + der.heap_bytes()
    }
}

/// Refuses a certificate that carries more than the bounds allow, before any other work is
/// spent on it (names rendered, rules evaluated, chains built). The detail names the bound.
fn check_bounds(cert: &X509Certificate<'_>) -> Result<(), Denied> {
    let bound = |what: &str, count: usize, max: usize| {
        if count > max {
            Err(Denied::malformed(format!(
                "certificate exceeds a bound: {count} {what} (at most {max})"
            )))
        } else {
            Ok(())
        }
    };
    bound("extensions", cert.extensions().len(), MAX_EXTENSIONS)?;
    for (what, name) in [
        ("subject attributes", cert.subject()),
        ("issuer attributes", cert.issuer()),
    ] {
        bound(what, name.iter_attributes().count(), MAX_NAME_ATTRIBUTES)?;
    }
    // An unreadable extension is refused with its own detail when the SANs are read.
    if let Ok(Some(sans)) = cert.subject_alternative_name() {
        bound(
            "subjectAltName entries",
            sans.value.general_names.len(),
            MAX_SAN_ENTRIES,
        )?;
    }
    Ok(())
}

fn single_common_name(subject: &X509Name<'_>) -> Result<Option<String>, Denied> {
    let mut found = None;
    for rdn in subject.iter() {
        let attrs: Vec<_> = rdn.iter().collect();
        for attr in &attrs {
            if *attr.attr_type() != OID_X509_COMMON_NAME {
                continue;
            }
            if attrs.len() > 1 {
                return Err(Denied::ambiguous("cn inside a multi-valued rdn"));
            }
            if found.is_some() {
                return Err(Denied::ambiguous("subject has more than one cn"));
            }
            let value = super::directory_string::decode(attr)
                .map_err(|reason| Denied::malformed(format!("cn: {reason}")))?;
            found = Some(value);
        }
    }
    Ok(found)
}

#[derive(Default)]
struct SubjectAltNames {
    dns_names: Vec<String>,
    uris: Vec<String>,
    emails: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    /// Whether the extension is critical; `None` when there is none.
    critical: Option<bool>,
    /// The extension has at least one name (of any form).
    has_entries: bool,
}

impl SubjectAltNames {
    fn read(cert: &X509Certificate<'_>) -> Result<Self, Denied> {
        let mut sans = Self::default();
        let extension = cert
            .subject_alternative_name()
            .map_err(|error| Denied::malformed(format!("subjectAltName: {error}")))?;
        let Some(extension) = extension else {
            return Ok(sans);
        };
        sans.critical = Some(extension.critical);
        sans.has_entries = !extension.value.general_names.is_empty();
        for name in &extension.value.general_names {
            match name {
                GeneralName::DNSName(dns) => sans.dns_names.push((*dns).to_owned()),
                GeneralName::URI(uri) => sans.uris.push((*uri).to_owned()),
                GeneralName::RFC822Name(email) => sans.emails.push((*email).to_owned()),
                GeneralName::IPAddress(bytes) => sans.ip_addresses.push(ip_address(bytes)?),
                GeneralName::Invalid(..) => return Err(Denied::malformed("invalid san entry")),
                _ => {}
            }
        }
        Ok(sans)
    }
}

fn ip_address(bytes: &[u8]) -> Result<IpAddr, Denied> {
    if let Ok(octets) = <[u8; 4]>::try_from(bytes) {
        Ok(IpAddr::from(octets))
    } else if let Ok(octets) = <[u8; 16]>::try_from(bytes) {
        Ok(IpAddr::from(octets))
    } else {
        Err(Denied::malformed("invalid ip address san"))
    }
}

fn read_eku(cert: &X509Certificate<'_>) -> Result<Option<ExtendedKeyUsage>, Denied> {
    let extension = cert
        .extended_key_usage()
        .map_err(|error| Denied::malformed(format!("extendedKeyUsage: {error}")))?;
    Ok(extension.map(|extension| ExtendedKeyUsage {
        client_auth: extension.value.client_auth,
    }))
}

fn unix_seconds(timestamp: i64) -> u64 {
    u64::try_from(timestamp).unwrap_or(0)
}

/// Uppercase hex without separators.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds (the `time` crate, as everywhere else here).
pub(crate) fn rfc3339(seconds: u64) -> String {
    use time::format_description::well_known::Rfc3339;
    i64::try_from(seconds)
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use rcgen::DnType;

    use super::*;
    use crate::client_cert::test_pki::{BASE, DAY, Leaf};

    #[test]
    fn fields_are_read_structurally() {
        let mut leaf = Leaf::cn("svc, \"quoted\"")
            .attr(DnType::OrganizationName, "Contoso")
            .valid(-DAY, 30 * DAY)
            .serial(0x1234);
        leaf.dns_names = vec!["svc.example".into()];
        leaf.emails = vec!["ops@example.com".into()];
        let der = leaf.self_signed();

        let cert = ClientCert::parse(der.clone()).expect("rcgen cert parses");

        assert_eq!(
            cert.common_name.as_deref(),
            Some("svc, \"quoted\""),
            "cn read by oid"
        );
        assert_eq!(
            cert.subject.rfc4514, "O=Contoso,CN=svc\\, \\\"quoted\\\"",
            "rfc 4514 order and escaping"
        );
        assert_eq!(cert.dns_names, vec!["svc.example"], "dns san");
        assert_eq!(cert.emails, vec!["ops@example.com"], "email san");
        assert_eq!(cert.serial_hex, "1234", "serial as uppercase hex");
        assert_eq!(cert.not_before, BASE - 86_400, "notBefore in unix seconds");
        assert_eq!(
            cert.not_before_rfc3339, "2024-12-31T00:00:00Z",
            "rfc 3339 rendering"
        );
        assert_eq!(
            cert.not_after_rfc3339, "2025-01-31T00:00:00Z",
            "rfc 3339 rendering"
        );
        assert_eq!(cert.sha1_thumbprint.len(), 40, "sha-1 thumbprint is 40 hex");
        assert_eq!(
            cert.sha256_thumbprint,
            hex_upper(&Sha256::digest(&der)),
            "sha-256 of the der"
        );
        assert_eq!(
            cert.spki_sha256_base64.len(),
            44,
            "spki pin is base64 of 32 bytes"
        );
        assert!(
            cert.allows_client_auth() && !cert.is_ca,
            "client leaf, not a ca"
        );
    }

    #[test]
    fn certificates_beyond_the_bounds_are_malformed_with_the_bound_named() {
        let mut many_sans = Leaf::cn("svc");
        many_sans.dns_names = (0..=MAX_SAN_ENTRIES)
            .map(|i| format!("n{i}.example"))
            .collect();
        let mut at_the_bound = Leaf::cn("svc");
        at_the_bound.dns_names = (0..MAX_SAN_ENTRIES)
            .map(|i| format!("n{i}.example"))
            .collect();
        let mut many_attributes = Leaf::cn("svc");
        for i in 0..MAX_NAME_ATTRIBUTES {
            // rcgen keeps one value per attribute type: a private OID for each.
            let oid = vec![1, 3, 6, 1, 4, 1, 55_555, u64::try_from(i).unwrap_or(0)];
            many_attributes = many_attributes.attr(DnType::CustomDnType(oid), "x");
        }

        for (leaf, expected, reason) in [
            (
                &many_sans,
                Some("129 subjectAltName entries (at most 128)"),
                "one SAN too many",
            ),
            (&at_the_bound, None, "exactly at the bound"),
            (
                &many_attributes,
                Some("33 subject attributes (at most 32)"),
                "one attribute too many",
            ),
        ] {
            let outcome = ClientCert::parse(leaf.self_signed());
            match expected {
                Some(detail) => {
                    let denied = outcome.expect_err(reason);
                    assert_eq!(denied.code(), "cert_malformed", "{reason}");
                    assert!(denied.to_string().contains(detail), "{reason}: {denied}");
                }
                None => assert!(outcome.is_ok(), "{reason}: {outcome:?}"),
            }
        }
    }

    #[test]
    fn rfc3339_handles_leap_years_and_epoch() {
        for (seconds, expected, reason) in [
            (0, "1970-01-01T00:00:00Z", "epoch"),
            (
                951_782_400,
                "2000-02-29T00:00:00Z",
                "leap day of a 400-year leap year",
            ),
            (
                BASE + 3_661,
                "2025-01-01T01:01:01Z",
                "hours, minutes, seconds",
            ),
        ] {
            assert_eq!(rfc3339(seconds), expected, "{reason}");
        }
    }
}
