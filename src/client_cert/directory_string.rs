//! A DirectoryString attribute value (RFC 5280 §4.1.2.4) as text, for the CN: UTF8String,
//! PrintableString, IA5String and NumericString as they are; BMPString as UTF-16BE and
//! UniversalString as UTF-32BE (AD CS issues both), refusing what is not a Unicode scalar value.
//!
//! TeletexString is refused on purpose: T.61's bytes above 0x7F are combining diacritics and
//! other characters that Latin-1 puts elsewhere, so the same bytes read differently in different
//! tools, and an identity must have one reading. CAs under the CA/Browser Forum rules have not
//! issued it for years. Other types (VisibleString, ...) are not DirectoryString choices.
//! Rendering names for display is `name.rs`'s job.

use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::x509::AttributeTypeAndValue;

/// The value as text.
///
/// # Errors
/// Why it is not text this module reads, in words for the log.
pub fn decode(attribute: &AttributeTypeAndValue<'_>) -> Result<String, String> {
    let tag = attribute.attr_value().tag();
    let bytes = attribute.as_slice();
    match tag {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::NumericString => {
            String::from_utf8(bytes.to_vec()).map_err(|_| format!("{tag:?} is not valid utf-8"))
        }
        Tag::BmpString => bmp_string(bytes),
        Tag::UniversalString => universal_string(bytes),
        Tag::TeletexString => Err(
            "TeletexString (T.61) is refused: its non-ASCII bytes have no single reading"
                .to_owned(),
        ),
        other => Err(format!("{other:?} is not a DirectoryString type read here")),
    }
}

/// UCS-2 big-endian: every code unit one character, no surrogates.
fn bmp_string(bytes: &[u8]) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err("BMPString of an odd number of bytes".to_owned());
    }
    bytes
        .chunks_exact(2)
        .map(|unit| {
            let unit = u16::from_be_bytes([unit[0], unit[1]]);
            char::from_u32(u32::from(unit))
                .ok_or_else(|| format!("BMPString with the surrogate code unit U+{unit:04X}"))
        })
        .collect()
}

/// UCS-4 big-endian: every four bytes one Unicode scalar value.
fn universal_string(bytes: &[u8]) -> Result<String, String> {
    if !bytes.len().is_multiple_of(4) {
        return Err("UniversalString of a length that is not a multiple of 4".to_owned());
    }
    bytes
        .chunks_exact(4)
        .map(|unit| {
            let unit = u32::from_be_bytes([unit[0], unit[1], unit[2], unit[3]]);
            char::from_u32(unit)
                .ok_or_else(|| format!("UniversalString with the invalid code point {unit:#X}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rcgen::string::{BmpString, TeletexString, UniversalString};
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    use crate::client_cert::test_pki::{reencode, tlv};
    use crate::client_cert::{ClientCert, Denied};

    /// A self-signed certificate whose subject is only `CN=<value>`.
    fn with_common_name(value: DnValue) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, value);
        let key = KeyPair::generate().expect("key generation");
        params
            .self_signed(&key)
            .expect("self-signed")
            .der()
            .to_vec()
    }

    /// The certificate with the subject CN's value (tag and content) replaced.
    fn with_raw_common_name(tag: u8, content: &[u8]) -> Vec<u8> {
        let der = with_common_name(DnValue::Utf8String("placeholder".into()));
        // [0] tbs, [5] subject, its first RDN, the attribute, [1] its value.
        reencode(&der, &|path, _, _| {
            (path == [0, 5, 0, 0, 1]).then(|| tlv(tag, content))
        })
    }

    fn common_name(der: Vec<u8>) -> Result<Option<String>, Denied> {
        ClientCert::parse(der).map(|cert| cert.common_name)
    }

    #[test]
    fn bmp_and_universal_string_common_names_decode() {
        let cases = [
            (
                "BMPString, as AD CS issues it",
                DnValue::BmpString(BmpString::try_from("api-client.contoso.com").expect("bmp")),
                "api-client.contoso.com",
            ),
            (
                "BMPString beyond ASCII",
                DnValue::BmpString(BmpString::try_from("Grüße Ω").expect("bmp")),
                "Grüße Ω",
            ),
            (
                "UniversalString beyond the BMP",
                DnValue::UniversalString(UniversalString::try_from("svc-😀").expect("ucs-4")),
                "svc-😀",
            ),
            (
                "UTF8String, as before",
                DnValue::Utf8String("client.example".into()),
                "client.example",
            ),
        ];
        for (reason, value, expected) in cases {
            assert_eq!(
                common_name(with_common_name(value)),
                Ok(Some(expected.to_owned())),
                "{reason}"
            );
        }
    }

    #[test]
    fn invalid_code_points_and_teletex_are_malformed_with_a_reason_for_the_log() {
        let teletex = TeletexString::try_from("client.example").expect("teletex");
        let cases = [
            (
                "an unpaired surrogate in a BMPString",
                with_raw_common_name(0x1e, &[0xd8, 0x00, 0x00, 0x41]),
                "cn: BMPString with the surrogate code unit U+D800",
            ),
            (
                "a BMPString of an odd length",
                with_raw_common_name(0x1e, &[0x00, 0x41, 0x00]),
                "cn: BMPString of an odd number of bytes",
            ),
            (
                "a UniversalString code point past U+10FFFF",
                with_raw_common_name(0x1c, &[0x00, 0x11, 0x00, 0x00]),
                "cn: UniversalString with the invalid code point 0x110000",
            ),
            (
                "a UniversalString surrogate",
                with_raw_common_name(0x1c, &[0x00, 0x00, 0xdc, 0x00]),
                "cn: UniversalString with the invalid code point 0xDC00",
            ),
            (
                "a UniversalString of a length that is not a multiple of 4",
                with_raw_common_name(0x1c, &[0x00, 0x00, 0x41]),
                "cn: UniversalString of a length that is not a multiple of 4",
            ),
            (
                "TeletexString is refused, even when it is all ASCII",
                with_common_name(DnValue::TeletexString(teletex)),
                "cn: TeletexString (T.61) is refused: its non-ASCII bytes have no single reading",
            ),
        ];
        for (reason, der, detail) in cases {
            assert_eq!(
                common_name(der),
                Err(Denied::Malformed {
                    reason: detail.to_owned()
                }),
                "{reason}"
            );
        }
    }
}
