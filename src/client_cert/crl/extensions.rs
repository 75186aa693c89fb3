//! The extensions that say what a CRL covers, read in place: the CRL's own (cRLNumber,
//! deltaCRLIndicator, issuingDistributionPoint, freshestCRL), each entry's (reasonCode,
//! certificateIssuer), and a certificate's cRLDistributionPoints, which a partitioned CRL is
//! matched against. A critical extension not listed here makes the CRL unusable (RFC 5280
//! §5.2); an unknown non-critical one (AD CS adds several) is skipped.

use super::CrlProblem;
use super::tlv::{self, Malformed, Reader};

const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
const FRESHEST_CRL: &[u8] = &[0x55, 0x1d, 0x2e];
const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];
const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];
const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1d, 0x1d];
const CRL_DISTRIBUTION_POINTS: &[u8] = &[0x55, 0x1d, 0x1f];

/// A GeneralName `uniformResourceIdentifier` ([6] IA5String).
const URI: u8 = tlv::primitive(6);

/// What a CRL's extensions say.
#[derive(Debug, Default)]
pub(super) struct CrlExtensions<'a> {
    /// cRLNumber's INTEGER content.
    pub number: Option<&'a [u8]>,
    /// deltaCRLIndicator's BaseCRLNumber content: this is a delta CRL.
    pub delta_base: Option<&'a [u8]>,
    pub scope: Option<IssuingDistributionPoint<'a>>,
    /// freshestCRL: the URIs where delta CRLs are published (present: the CRL announces them).
    pub freshest: Option<Vec<&'a [u8]>>,
}

/// An issuingDistributionPoint: the partition (a distribution point name) and the kinds of
/// certificate the CRL covers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct IssuingDistributionPoint<'a> {
    /// The distributionPoint field's whole encoding: the partition's identity.
    pub point: Option<&'a [u8]>,
    /// The URIs of its fullName, which a certificate's cRLDistributionPoints must name.
    pub uris: Vec<&'a [u8]>,
    pub only_user_certs: bool,
    pub only_ca_certs: bool,
}

/// One extension: its OID's content, criticality and value.
struct Extension<'a> {
    oid: &'a [u8],
    critical: bool,
    value: &'a [u8],
}

/// Reads the `[0] EXPLICIT Extensions` of a TBSCertList (its content).
pub(super) fn crl_extensions(explicit: &[u8]) -> Result<CrlExtensions<'_>, CrlProblem> {
    let mut found = CrlExtensions::default();
    let mut seen: Vec<&[u8]> = Vec::new();
    for extension in extensions(tlv::single(
        explicit,
        tlv::SEQUENCE,
        "extensions are not a sequence",
    )?) {
        let extension = extension?;
        if seen.contains(&extension.oid) {
            return Err(CrlProblem::DuplicateExtension(oid_text(extension.oid)));
        }
        seen.push(extension.oid);
        match extension.oid {
            CRL_NUMBER if extension.critical => return Err(CrlProblem::CriticalCrlNumber),
            CRL_NUMBER => found.number = Some(crl_number(extension.value)?),
            DELTA_CRL_INDICATOR => found.delta_base = Some(crl_number(extension.value)?),
            ISSUING_DISTRIBUTION_POINT => found.scope = Some(issuing_point(extension.value)?),
            FRESHEST_CRL => found.freshest = Some(distribution_point_uris(extension.value)?),
            AUTHORITY_KEY_IDENTIFIER => {}
            _ if extension.critical => {
                return Err(CrlProblem::UnknownCriticalExtension(oid_text(
                    extension.oid,
                )));
            }
            _ => {}
        }
    }
    Ok(found)
}

/// The reasonCode of one entry's extensions (`None`: none given), refusing what cannot be
/// used: a certificateIssuer (an indirect CRL) or an unknown critical extension.
pub(super) fn entry_reason(extensions_der: &[u8]) -> Result<Option<u8>, CrlProblem> {
    let mut reason = None;
    let content = tlv::single(
        extensions_der,
        tlv::SEQUENCE,
        "entry extensions are not a sequence",
    )?;
    for extension in extensions(content) {
        let extension = extension?;
        match extension.oid {
            REASON_CODE => {
                let code = tlv::single(
                    extension.value,
                    tlv::ENUMERATED,
                    "a reasonCode that is not an enumeration",
                )?;
                match code {
                    [code @ (0..=6 | 8..=10)] => reason = Some(*code),
                    _ => return Err(CrlProblem::Malformed("an unknown revocation reason")),
                }
            }
            INVALIDITY_DATE => {}
            CERTIFICATE_ISSUER => return Err(CrlProblem::Indirect),
            _ if extension.critical => {
                return Err(CrlProblem::UnknownCriticalExtension(oid_text(
                    extension.oid,
                )));
            }
            _ => {}
        }
    }
    Ok(reason)
}

/// The URIs of a certificate's cRLDistributionPoints that a partitioned CRL can match: those
/// of points with a fullName and neither reasons nor a cRLIssuer (as webpki). Empty when the
/// certificate has none (or they do not read: the certificate was parsed strictly already).
pub(crate) fn certificate_distribution_points(extensions_content: Option<&[u8]>) -> Vec<&[u8]> {
    let Some(content) = extensions_content else {
        return Vec::new();
    };
    extensions(content)
        .filter_map(Result::ok)
        .find(|extension| extension.oid == CRL_DISTRIBUTION_POINTS)
        .and_then(|extension| distribution_point_uris(extension.value).ok())
        .unwrap_or_default()
}

fn extensions(content: &[u8]) -> impl Iterator<Item = Result<Extension<'_>, CrlProblem>> {
    let mut reader = Reader::new(content);
    std::iter::from_fn(move || {
        if reader.is_empty() {
            return None;
        }
        Some(extension(&mut reader).map_err(CrlProblem::from))
    })
}

fn extension<'a>(reader: &mut Reader<'a>) -> Result<Extension<'a>, Malformed> {
    let mut fields =
        Reader::new(reader.expect(tlv::SEQUENCE, "an extension that is not a sequence")?);
    let oid = fields.expect(tlv::OID, "an extension without an object identifier")?;
    let critical = match fields.optional(tlv::BOOLEAN)? {
        Some(value) => tlv::boolean(value)?,
        None => false,
    };
    let value = fields.expect(
        tlv::OCTET_STRING,
        "an extension value that is not an octet string",
    )?;
    fields.finish("trailing bytes in an extension")?;
    Ok(Extension {
        oid,
        critical,
        value,
    })
}

/// cRLNumber and BaseCRLNumber: a non-negative INTEGER of at most 20 octets (RFC 5280 §5.2.3).
fn crl_number(value: &[u8]) -> Result<&[u8], CrlProblem> {
    let number = tlv::single(value, tlv::INTEGER, "a crl number that is not an integer")?;
    let negative = number.first().is_some_and(|first| first & 0x80 != 0);
    let length = number.len() - usize::from(number.first() == Some(&0) && number.len() > 1);
    if !tlv::is_minimal_integer(number) || negative || length > 20 {
        return Err(CrlProblem::BadCrlNumber);
    }
    Ok(number)
}

fn issuing_point(value: &[u8]) -> Result<IssuingDistributionPoint<'_>, CrlProblem> {
    let mut point = IssuingDistributionPoint::default();
    let mut fields = Reader::new(tlv::single(
        value,
        tlv::SEQUENCE,
        "an issuingDistributionPoint that is not a sequence",
    )?);
    while !fields.is_empty() {
        let field = fields.read()?;
        match field.tag {
            tag if tag == tlv::constructed(0) => {
                point.point = Some(field.encoding);
                point.uris = point_name_uris(field.value)?.ok_or(CrlProblem::RelativePointName)?;
            }
            tag if tag == tlv::primitive(1) => point.only_user_certs = tlv::boolean(field.value)?,
            tag if tag == tlv::primitive(2) => point.only_ca_certs = tlv::boolean(field.value)?,
            tag if tag == tlv::primitive(3) => return Err(CrlProblem::ReasonPartitioned),
            tag if tag == tlv::primitive(4) => {
                if tlv::boolean(field.value)? {
                    return Err(CrlProblem::Indirect);
                }
            }
            tag if tag == tlv::primitive(5) => {
                if tlv::boolean(field.value)? {
                    return Err(CrlProblem::AttributeCertificates);
                }
            }
            _ => {
                return Err(CrlProblem::Malformed(
                    "an unknown issuingDistributionPoint field",
                ));
            }
        }
    }
    if point.only_user_certs && point.only_ca_certs {
        return Err(CrlProblem::Malformed(
            "an issuingDistributionPoint for user and CA certificates only",
        ));
    }
    Ok(point)
}

/// The URIs of every distribution point in a CRLDistributionPoints (or freshestCRL) value
/// that has a fullName and neither reasons nor a cRLIssuer.
fn distribution_point_uris(value: &[u8]) -> Result<Vec<&[u8]>, CrlProblem> {
    let mut uris = Vec::new();
    let mut points = Reader::new(tlv::single(
        value,
        tlv::SEQUENCE,
        "distribution points that are not a sequence",
    )?);
    while !points.is_empty() {
        let mut fields = Reader::new(
            points.expect(tlv::SEQUENCE, "a distribution point that is not a sequence")?,
        );
        let name = fields.optional(tlv::constructed(0))?;
        let restricted = !fields.is_empty();
        if let (Some(name), false) = (name, restricted) {
            uris.extend(point_name_uris(name)?.unwrap_or_default());
        }
    }
    Ok(uris)
}

/// A DistributionPointName's URIs: `Some` for a fullName, `None` for a name relative to
/// the CRL issuer.
fn point_name_uris(name: &[u8]) -> Result<Option<Vec<&[u8]>>, Malformed> {
    let mut reader = Reader::new(name);
    let choice = reader.read()?;
    reader.finish("trailing bytes in a distribution point name")?;
    if choice.tag != tlv::constructed(0) {
        return Ok(None);
    }
    let mut names = Reader::new(choice.value);
    let mut uris = Vec::new();
    while !names.is_empty() {
        let general_name = names.read()?;
        if general_name.tag == URI {
            uris.push(general_name.value);
        }
    }
    Ok(Some(uris))
}

/// An OID's content in dotted form, for messages.
pub(super) fn oid_text(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for byte in content {
        value = value.saturating_mul(128) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let mut text = match arcs.first() {
        Some(first) if *first >= 80 => format!("2.{}", first - 80),
        Some(first) => format!("{}.{}", first / 40, first % 40),
        None => return "(empty)".to_owned(),
    };
    for arc in &arcs[1..] {
        text.push_str(&format!(".{arc}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_read_in_dotted_form() {
        assert_eq!(oid_text(CRL_NUMBER), "2.5.29.20");
        assert_eq!(
            oid_text(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x15, 0x01]),
            "1.3.6.1.4.1.311.21.1"
        );
    }

    #[test]
    fn crl_numbers_are_non_negative_and_at_most_twenty_octets() {
        let number = |content: &[u8]| {
            let mut value = vec![tlv::INTEGER, u8::try_from(content.len()).expect("short")];
            value.extend_from_slice(content);
            crl_number(&value).map(<[u8]>::to_vec)
        };
        assert_eq!(number(&[0x0a]), Ok(vec![0x0a]));
        assert_eq!(number(&[0x00, 0x80]), Ok(vec![0x00, 0x80]));
        assert_eq!(number(&[0x80]), Err(CrlProblem::BadCrlNumber), "negative");
        assert_eq!(
            number(&[0x00, 0x01]),
            Err(CrlProblem::BadCrlNumber),
            "not minimal"
        );
        assert_eq!(
            number(&[0x7f; 21]),
            Err(CrlProblem::BadCrlNumber),
            "21 octets"
        );
        let mut twenty = vec![0x00];
        twenty.extend([0xff; 20]);
        assert!(number(&twenty).is_ok(), "20 octets after the sign octet");
    }
}
