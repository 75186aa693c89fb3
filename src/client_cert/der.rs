//! Strict DER: refuses a certificate that is not in the one encoding DER allows, at any depth,
//! before anything reads its fields or hashes it (a thumbprint names one encoding only).
//!
//! x509-parser's ASN.1 layer (asn1-rs 0.7) accepts some BER: a length in a longer form than
//! needed, for one (its check is commented out), and webpki, which is strict, only sees chained
//! certificates, never pinned ones. So this module walks the TLV tree itself, with a depth bound
//! and no allocation: it reads the input in place.
//!
//! Checked everywhere (X.690 §8 and §10–11): definite lengths in their shortest form, tag
//! numbers in their shortest form, no constructed strings or times, BOOLEAN is `00` or `FF`,
//! INTEGER and ENUMERATED minimal and non-empty, BIT STRING unused bits at most 7 and zero,
//! NULL empty, OBJECT IDENTIFIER subidentifiers minimal, UTCTime `YYMMDDHHMMSSZ`,
//! GeneralizedTime `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5), SET OF in ascending order. The same
//! rules apply inside every extension's value (itself DER, one element), and the DEFAULTs a
//! certificate carries are omitted: no explicit v1 version, no `critical FALSE`, no
//! basicConstraints `cA FALSE`. Not checked: the contents of the public key and signature bit
//! strings (the key is checked by the key-strength rule; ring parses signatures strictly).
//! It does not check the X.509 schema either; x509-parser does that next.

use std::cmp::Ordering;
use std::fmt;

/// The deepest nesting accepted; real certificates stay under 12.
pub const MAX_DEPTH: usize = 32;

/// Where and why an encoding is not DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDer {
    /// Byte offset of the offending element from the start of the checked input.
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for NotDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not der at byte {}: {}", self.offset, self.reason)
    }
}

/// One element: where it starts, its identifier octet (tag numbers of 31 and over keep
/// `0x1f` there), and its content.
#[derive(Clone, Copy)]
struct Element<'a> {
    offset: usize,
    identifier: u8,
    encoding: &'a [u8],
    content: &'a [u8],
    content_offset: usize,
}

const UNIVERSAL_BOOLEAN: u8 = 0x01;
const UNIVERSAL_INTEGER: u8 = 0x02;
const UNIVERSAL_BIT_STRING: u8 = 0x03;
const UNIVERSAL_OCTET_STRING: u8 = 0x04;
const UNIVERSAL_NULL: u8 = 0x05;
const UNIVERSAL_OID: u8 = 0x06;
const UNIVERSAL_ENUMERATED: u8 = 0x0a;
const UNIVERSAL_UTC_TIME: u8 = 0x17;
const UNIVERSAL_GENERALIZED_TIME: u8 = 0x18;
const SET: u8 = 0x31;
const CONSTRUCTED: u8 = 0x20;
const CLASS_MASK: u8 = 0xc0;

/// Checks that `der` is exactly one certificate-shaped DER element, DER throughout.
///
/// # Errors
/// [`NotDer`] naming the first offending element.
pub fn check_certificate(der: &[u8]) -> Result<(), NotDer> {
    let certificate = single(der, 0)?;
    walk(certificate, 0)?;
    check_certificate_defaults_and_extensions(certificate)
}

/// Checks that `der` is a sequence of DER elements (any number), DER throughout.
///
/// # Errors
/// [`NotDer`] naming the first offending element.
pub fn check(der: &[u8]) -> Result<(), NotDer> {
    for element in Elements::new(der, 0) {
        walk(element?, 0)?;
    }
    Ok(())
}

/// One element of already-parsed DER, read in place: its identifier octet (tag numbers of 31
/// and over keep `0x1f` there), its content, and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub identifier: u8,
    pub content: &'a [u8],
    pub encoding: &'a [u8],
}

/// The elements of `input`, one after another (not descending into them); `None` if `input`
/// is not a sequence of well-formed elements.
pub(crate) fn elements(input: &[u8]) -> Option<Vec<Tlv<'_>>> {
    Elements::new(input, 0)
        .map(|element| {
            element.ok().map(|element| Tlv {
                identifier: element.identifier,
                content: element.content,
                encoding: element.encoding,
            })
        })
        .collect()
}

/// The DER encoding of an element with a one-octet identifier and `content`.
pub(crate) fn encode(identifier: u8, content: &[u8]) -> Vec<u8> {
    let length = content.len();
    let length_octets: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|byte| *byte == 0)
        .collect();
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(identifier);
    match u8::try_from(length) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            // At most 8 octets for a usize, so the count fits the low seven bits.
            out.push(0x80 | u8::try_from(length_octets.len()).unwrap_or(0x7f));
            out.extend(length_octets);
        }
    }
    out.extend_from_slice(content);
    out
}

fn single(input: &[u8], base: usize) -> Result<Element<'_>, NotDer> {
    let mut elements = Elements::new(input, base);
    let first = elements.next().ok_or(NotDer {
        offset: base,
        reason: "empty",
    })??;
    if first.encoding.len() != input.len() {
        return Err(NotDer {
            offset: base + first.encoding.len(),
            reason: "trailing bytes after the element",
        });
    }
    Ok(first)
}

fn walk(element: Element<'_>, depth: usize) -> Result<(), NotDer> {
    let fail = |reason| {
        Err(NotDer {
            offset: element.offset,
            reason,
        })
    };
    let universal = element.identifier & CLASS_MASK == 0;
    let number = element.identifier & 0x1f;
    if element.identifier & CONSTRUCTED == 0 {
        return if universal {
            check_primitive(number, element.content).or_else(fail)
        } else {
            Ok(())
        };
    }
    if universal && is_string_or_time(number) {
        return fail("constructed string (BER only)");
    }
    if depth >= MAX_DEPTH {
        return fail("nested deeper than the limit");
    }
    let mut previous: Option<&[u8]> = None;
    for child in Elements::new(element.content, element.content_offset) {
        let child = child?;
        walk(child, depth + 1)?;
        if element.identifier == SET {
            if previous.is_some_and(|before| set_order(before, child.encoding).is_gt()) {
                return fail("set of elements out of ascending order");
            }
            previous = Some(child.encoding);
        }
    }
    Ok(())
}

fn is_string_or_time(number: u8) -> bool {
    matches!(number, 0x03 | 0x04 | 0x0c | 0x12..=0x1e)
}

fn check_primitive(number: u8, content: &[u8]) -> Result<(), &'static str> {
    match number {
        UNIVERSAL_BOOLEAN => match content {
            [0x00 | 0xff] => Ok(()),
            _ => Err("boolean is not 00 or FF"),
        },
        UNIVERSAL_INTEGER | UNIVERSAL_ENUMERATED => match content {
            [] => Err("empty integer"),
            [0x00, next, ..] if *next < 0x80 => Err("integer with a redundant leading 00"),
            [0xff, next, ..] if *next >= 0x80 => Err("integer with a redundant leading FF"),
            _ => Ok(()),
        },
        UNIVERSAL_BIT_STRING => match content {
            [] => Err("bit string without its unused-bits octet"),
            [unused] if *unused != 0 => Err("empty bit string with unused bits"),
            [unused, ..] if *unused > 7 => Err("bit string with more than 7 unused bits"),
            [unused, .., last] if last & ((1 << *unused) - 1) != 0 => {
                Err("bit string unused bits are not zero")
            }
            _ => Ok(()),
        },
        UNIVERSAL_NULL if !content.is_empty() => Err("null with content"),
        UNIVERSAL_OID => check_oid(content),
        UNIVERSAL_UTC_TIME => check_time(content, 13, "utc time is not YYMMDDHHMMSSZ"),
        UNIVERSAL_GENERALIZED_TIME => {
            check_time(content, 15, "generalized time is not YYYYMMDDHHMMSSZ")
        }
        _ => Ok(()),
    }
}

fn check_oid(content: &[u8]) -> Result<(), &'static str> {
    if content.last().is_none_or(|last| last & 0x80 != 0) {
        return Err("object identifier is empty or truncated");
    }
    let mut starts_subidentifier = true;
    for byte in content {
        if starts_subidentifier && *byte == 0x80 {
            return Err("object identifier subidentifier with a redundant leading 80");
        }
        starts_subidentifier = byte & 0x80 == 0;
    }
    Ok(())
}

fn check_time(content: &[u8], length: usize, reason: &'static str) -> Result<(), &'static str> {
    match content.split_last() {
        Some((b'Z', digits))
            if content.len() == length && digits.iter().all(u8::is_ascii_digit) =>
        {
            Ok(())
        }
        _ => Err(reason),
    }
}

/// X.690 §11.6: encodings compared as octet strings, the shorter padded with zeros.
fn set_order(left: &[u8], right: &[u8]) -> Ordering {
    let common = left.len().min(right.len());
    match left[..common].cmp(&right[..common]) {
        Ordering::Equal => {
            let (longer, sign) = if left.len() > right.len() {
                (&left[common..], Ordering::Greater)
            } else {
                (&right[common..], Ordering::Less)
            };
            if longer.iter().all(|byte| *byte == 0) {
                Ordering::Equal
            } else {
                sign
            }
        }
        unequal => unequal,
    }
}

/// The DEFAULTs a certificate must omit, and every extension value (DER itself).
fn check_certificate_defaults_and_extensions(certificate: Element<'_>) -> Result<(), NotDer> {
    let Some(Ok(tbs)) = Elements::new(certificate.content, certificate.content_offset).next()
    else {
        return Ok(()); // the schema is x509-parser's to refuse
    };
    for field in Elements::new(tbs.content, tbs.content_offset) {
        let field = field?;
        match field.identifier {
            0xa0 if field.content == [UNIVERSAL_INTEGER, 0x01, 0x00] => {
                return Err(NotDer {
                    offset: field.offset,
                    reason: "version v1 written out (a DEFAULT)",
                });
            }
            0xa3 => check_extensions(field)?,
            _ => {}
        }
    }
    Ok(())
}

/// `[3] { SEQUENCE OF Extension }`, Extension = `{ OID, critical BOOLEAN DEFAULT FALSE,
/// OCTET STRING }`.
fn check_extensions(explicit: Element<'_>) -> Result<(), NotDer> {
    for list in Elements::new(explicit.content, explicit.content_offset) {
        let list = list?;
        for extension in Elements::new(list.content, list.content_offset) {
            let extension = extension?;
            let mut oid: &[u8] = &[];
            for part in Elements::new(extension.content, extension.content_offset) {
                let part = part?;
                match part.identifier {
                    UNIVERSAL_OID => oid = part.content,
                    UNIVERSAL_BOOLEAN if part.content == [0x00] => {
                        return Err(NotDer {
                            offset: part.offset,
                            reason: "extension critical FALSE written out (a DEFAULT)",
                        });
                    }
                    UNIVERSAL_OCTET_STRING => check_extension_value(oid, part)?,
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// An extension's value: one DER element; basicConstraints without an explicit `cA FALSE`.
fn check_extension_value(oid: &[u8], value: Element<'_>) -> Result<(), NotDer> {
    let inner = single(value.content, value.content_offset)?;
    walk(inner, 0)?;
    const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    if oid == BASIC_CONSTRAINTS && inner.content.starts_with(&[UNIVERSAL_BOOLEAN, 0x01, 0x00]) {
        return Err(NotDer {
            offset: inner.content_offset,
            reason: "basicConstraints cA FALSE written out (a DEFAULT)",
        });
    }
    Ok(())
}

/// The elements of `input`, one after another; `base` is `input`'s offset in the whole.
struct Elements<'a> {
    input: &'a [u8],
    position: usize,
    base: usize,
}

impl<'a> Elements<'a> {
    fn new(input: &'a [u8], base: usize) -> Self {
        Self {
            input,
            position: 0,
            base,
        }
    }

    fn read(&mut self) -> Result<Element<'a>, NotDer> {
        let start = self.position;
        let offset = self.base + start;
        let fail = |reason| NotDer { offset, reason };
        let rest = &self.input[start..];
        let (&identifier, mut cursor) = rest.split_first().ok_or(fail("truncated"))?;
        if identifier & 0x1f == 0x1f {
            cursor = skip_long_tag_number(cursor).map_err(fail)?;
        }
        let (length, after_length) = read_length(cursor).map_err(fail)?;
        if after_length.len() < length {
            return Err(fail("length runs past the end of its container"));
        }
        let header = rest.len() - after_length.len();
        self.position = start + header + length;
        Ok(Element {
            offset,
            identifier,
            encoding: &rest[..header + length],
            content: &after_length[..length],
            content_offset: offset + header,
        })
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>, NotDer>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.input.len() {
            return None;
        }
        let element = self.read();
        if element.is_err() {
            self.position = self.input.len(); // stop after the first error
        }
        Some(element)
    }
}

/// Tag numbers of 31 and over: base-128, shortest form, at most four octets, and at least 31.
fn skip_long_tag_number(input: &[u8]) -> Result<&[u8], &'static str> {
    let mut number: u32 = 0;
    for (index, byte) in input.iter().enumerate().take(4) {
        if index == 0 && *byte == 0x80 {
            return Err("tag number with a redundant leading 80");
        }
        number = (number << 7) | u32::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if number < 31 {
                return Err("tag number below 31 in the long form");
            }
            return Ok(&input[index + 1..]);
        }
    }
    Err("tag number truncated or longer than four octets")
}

/// A definite length in its shortest form, at most four octets.
fn read_length(input: &[u8]) -> Result<(usize, &[u8]), &'static str> {
    let (&first, rest) = input.split_first().ok_or("truncated before the length")?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    match count {
        0 => return Err("indefinite length (BER only)"),
        5.. => return Err("length of more than four octets"),
        _ => {}
    }
    let bytes = rest.get(..count).ok_or("truncated inside the length")?;
    if bytes[0] == 0 {
        return Err("length with a redundant leading 00");
    }
    let length = bytes
        .iter()
        .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
    if length < 0x80 {
        return Err("length in the long form below 128");
    }
    Ok((length, &rest[count..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_der_passes() {
        let cases: [(&str, &[u8]); 8] = [
            ("empty sequence", &[0x30, 0x00]),
            ("boolean true", &[0x01, 0x01, 0xff]),
            (
                "integer 127, 128, -1",
                &[0x02, 0x01, 0x7f, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0xff],
            ),
            (
                "bit string with 3 unused zero bits",
                &[0x03, 0x02, 0x03, 0xf8],
            ),
            ("oid 2.5.4.3", &[0x06, 0x03, 0x55, 0x04, 0x03]),
            ("utc time", b"\x17\x0d250101000000Z"),
            (
                "set in ascending order",
                &[0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02],
            ),
            ("context tag 31 in the long form", &[0x9f, 0x1f, 0x00]),
        ];
        for (reason, der) in cases {
            assert_eq!(check(der), Ok(()), "{reason}");
        }
    }

    #[test]
    fn every_ber_only_encoding_is_refused_with_its_reason() {
        let mut long_sequence = vec![0x30, 0x81, 0x80];
        long_sequence.extend(std::iter::repeat_n([0x05, 0x00], 64).flatten());
        assert_eq!(
            check(&long_sequence),
            Ok(()),
            "control: 128 bytes need the long form"
        );
        let cases: Vec<(&[u8], &str)> = vec![
            (
                &[0x30, 0x81, 0x02, 0x05, 0x00],
                "length in the long form below 128",
            ),
            (
                &[0x30, 0x82, 0x00, 0x80],
                "length with a redundant leading 00",
            ),
            (&[0x30, 0x80, 0x00, 0x00], "indefinite length (BER only)"),
            (
                &[0x30, 0x85, 1, 0, 0, 0, 0],
                "length of more than four octets",
            ),
            (
                &[0x30, 0x03, 0x05, 0x00],
                "length runs past the end of its container",
            ),
            (&[0x01, 0x01, 0x01], "boolean is not 00 or FF"),
            (&[0x02, 0x00], "empty integer"),
            (
                &[0x02, 0x02, 0x00, 0x7f],
                "integer with a redundant leading 00",
            ),
            (
                &[0x02, 0x02, 0xff, 0x80],
                "integer with a redundant leading FF",
            ),
            (
                &[0x03, 0x02, 0x03, 0xf9],
                "bit string unused bits are not zero",
            ),
            (
                &[0x03, 0x02, 0x08, 0x00],
                "bit string with more than 7 unused bits",
            ),
            (&[0x03, 0x01, 0x01], "empty bit string with unused bits"),
            (&[0x05, 0x01, 0x00], "null with content"),
            (
                &[0x06, 0x02, 0x80, 0x01],
                "object identifier subidentifier with a redundant leading 80",
            ),
            (
                &[0x24, 0x03, 0x04, 0x01, 0x41],
                "constructed string (BER only)",
            ),
            (b"\x17\x0b2501010000Z", "utc time is not YYMMDDHHMMSSZ"),
            (
                b"\x17\x11250101000000+0000",
                "utc time is not YYMMDDHHMMSSZ",
            ),
            (
                b"\x18\x1320250101000000.500Z",
                "generalized time is not YYYYMMDDHHMMSSZ",
            ),
            (
                &[0x31, 0x06, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01],
                "set of elements out of ascending order",
            ),
            (
                &[0x9f, 0x80, 0x1f, 0x00],
                "tag number with a redundant leading 80",
            ),
            (&[0x9f, 0x05, 0x00], "tag number below 31 in the long form"),
        ];
        for (der, reason) in cases {
            assert_eq!(
                check(der).map_err(|error| error.reason),
                Err(reason),
                "{der:02X?}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded_without_recursing_past_the_limit() {
        let depth = MAX_DEPTH + 1;
        let mut nested = vec![0x05, 0x00];
        for _ in 0..depth {
            let mut outer = vec![0x30];
            let length = nested.len();
            if length < 0x80 {
                outer.push(u8::try_from(length).expect("short"));
            } else {
                outer.extend([0x82, (length >> 8) as u8, length as u8]);
            }
            outer.extend(nested);
            nested = outer;
        }
        assert_eq!(
            check(&nested).map_err(|error| error.reason),
            Err("nested deeper than the limit")
        );
    }
}

#[cfg(test)]
mod certificate_tests {
    use crate::client_cert::test_pki::{self, Leaf, reencode, tlv, tlv_long_length};
    use crate::client_cert::{ClientCert, Denied};

    type Edit = Box<test_pki::Edit<'static>>;

    /// Paths into an rcgen leaf: [0] tbs; in it [0] version, [1] serial, [5] subject,
    /// [7] extensions ([7, 0, i] the i-th Extension).
    fn edits() -> Vec<(&'static str, Edit)> {
        vec![
            (
                "the outer length in a non-minimal long form (the issue's case)",
                Box::new(|path, tag, body| path.is_empty().then(|| tlv_long_length(tag, body, 4))),
            ),
            (
                "an indefinite outer length",
                Box::new(|path, tag, body| {
                    path.is_empty()
                        .then(|| [&[tag, 0x80], body, &[0, 0]].concat())
                }),
            ),
            (
                "the cn's length in the long form, deep in the subject",
                Box::new(|path, tag, body| {
                    (path == [0, 5, 0, 0, 1]).then(|| tlv_long_length(tag, body, 1))
                }),
            ),
            (
                "the serial with a redundant leading zero",
                Box::new(|path, tag, body| {
                    (path == [0, 1]).then(|| tlv(tag, &[&[0u8][..], body].concat()))
                }),
            ),
            (
                "an extension with critical FALSE written out",
                Box::new(|path, tag, body| {
                    (path == [0, 7, 0, 0]).then(|| {
                        let oid_length = usize::from(body[1]) + 2;
                        let mut with_false = body[..oid_length].to_vec();
                        with_false.extend([0x01, 0x01, 0x00]);
                        with_false.extend(&body[oid_length..]);
                        tlv(tag, &with_false)
                    })
                }),
            ),
            (
                "an extension value whose inner length is in the long form",
                Box::new(|path, tag, body| {
                    (path == [0, 7, 0, 0, 1]).then(|| {
                        let inner_body = &body[2..];
                        tlv(tag, &tlv_long_length(body[0], inner_body, 2))
                    })
                }),
            ),
            (
                "the v3 version written with a redundant leading zero",
                Box::new(|path, tag, body| (path == [0, 0, 0]).then(|| tlv(tag, &[0x00, body[0]]))),
            ),
        ]
    }

    #[test]
    fn a_certificate_that_is_not_der_anywhere_is_malformed() {
        let mut leaf = Leaf::cn("client.example");
        leaf.dns_names = vec!["client.example".into()];
        let der = leaf.self_signed();
        let same = reencode(&der, &|_, _, _| None);
        assert_eq!(
            same, der,
            "control: re-encoding without edits is the identity"
        );
        assert!(
            ClientCert::parse(same).is_ok(),
            "control: the original parses"
        );
        for (reason, edit) in edits() {
            let rewritten = reencode(&der, &*edit);
            assert_ne!(rewritten, der, "{reason}: the edit applied");
            let parsed = ClientCert::parse(rewritten);
            assert!(
                matches!(&parsed, Err(Denied::Malformed { reason }) if reason.starts_with("not der")),
                "{reason}: {parsed:?}"
            );
        }
    }
}
