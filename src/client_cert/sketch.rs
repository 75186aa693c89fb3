//! [`Sketch`]: what a few structural reads of a certificate's DER say about it, without
//! parsing it: the serial, the issuer and subject names as bytes, the subject's CN values and
//! the names in its subjectAltName extension.
//!
//! It is what `triage.rs` decides from before a cold decision is queued: reading these fields
//! costs a walk over a few TLV headers (the extensions are walked only when a name rule needs
//! them), where a parse with x509-parser, the strict DER walk and the chain cost a hundred
//! times more. The issuer is the *value* of the issuer Name, the bytes webpki compares with an
//! anchor's or intermediate's subject, so "no configured certificate has this subject" here
//! means exactly what webpki's `UnknownIssuer` means.
//!
//! It checks nothing else: a sketch can be read from a certificate that does not parse, and
//! the full decision then refuses it. Anything it cannot read (a long-form tag, a length over
//! four bytes, a field out of place, trailing bytes) gives no sketch. Every read moves forward
//! at least two bytes, so a walk is linear in the input; names are read at most
//! [`MAX_SAN_ENTRIES`] and [`MAX_NAME_ATTRIBUTES`] at a time, as the parse would allow.

use super::certificate::{MAX_NAME_ATTRIBUTES, MAX_SAN_ENTRIES};

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const VERSION: u8 = 0xA0;
const EXTENSIONS: u8 = 0xA3;
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];

/// A certificate's fields as located in its DER (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sketch<'a> {
    /// The serial number's content bytes.
    pub serial: &'a [u8],
    /// The issuer Name's value (inside its SEQUENCE), as webpki compares it.
    pub issuer: &'a [u8],
    /// The whole issuer Name element (for rendering).
    pub issuer_element: &'a [u8],
    /// The whole subject Name element.
    pub subject_element: &'a [u8],
    /// The subject Name's value (what a certificate it issued names as its issuer).
    pub subject: &'a [u8],
    /// The content of the extensions SEQUENCE, if there is one.
    extensions: Option<&'a [u8]>,
}

/// A subject CN value: its string tag (UTF8String `0x0C`, PrintableString `0x13`, ...) and its
/// content bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonName<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// A subjectAltName entry a name rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AltName<'a> {
    Email(&'a [u8]),
    Dns(&'a [u8]),
    Uri(&'a [u8]),
}

/// One DER element: its tag, its content, and the whole element.
#[derive(Debug, Clone, Copy)]
struct Element<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

impl<'a> Sketch<'a> {
    /// Locates the fields of the certificate `der`, or `None` when its outline is not that of
    /// one certificate.
    pub fn read(der: &'a [u8]) -> Option<Self> {
        let mut input = der;
        let certificate = expect(&mut input, SEQUENCE)?;
        if !input.is_empty() {
            return None;
        }
        let mut outer = certificate.content;
        let mut tbs = expect(&mut outer, SEQUENCE)?.content;
        let mut serial = next(&mut tbs)?;
        if serial.tag == VERSION {
            serial = next(&mut tbs)?;
        }
        if serial.tag != INTEGER {
            return None;
        }
        expect(&mut tbs, SEQUENCE)?; // signature algorithm
        let issuer = expect(&mut tbs, SEQUENCE)?;
        expect(&mut tbs, SEQUENCE)?; // validity
        let subject = expect(&mut tbs, SEQUENCE)?;
        expect(&mut tbs, SEQUENCE)?; // subjectPublicKeyInfo
        let mut extensions = None;
        while let Some(field) = next(&mut tbs) {
            if field.tag == EXTENSIONS {
                let mut inside = field.content;
                extensions = Some(expect(&mut inside, SEQUENCE)?.content);
            }
        }
        Some(Self {
            serial: serial.content,
            issuer: issuer.content,
            issuer_element: issuer.whole,
            subject_element: subject.whole,
            subject: subject.content,
            extensions,
        })
    }

    /// The values of the subject's CN attributes, in order (at most [`MAX_NAME_ATTRIBUTES`]
    /// attributes are looked at).
    pub fn common_names(&self) -> impl Iterator<Item = CommonName<'a>> + use<'a> {
        elements(self.subject)
            .filter(|rdn| rdn.tag == SET)
            .flat_map(|rdn| elements(rdn.content))
            .take(MAX_NAME_ATTRIBUTES)
            .filter_map(|attribute| {
                let mut inside = attribute.content;
                let oid = expect(&mut inside, OID)?;
                let value = next(&mut inside)?;
                (oid.content == OID_COMMON_NAME).then_some(CommonName {
                    tag: value.tag,
                    value: value.content,
                })
            })
    }

    /// The email, DNS and URI entries of the subjectAltName extension, in order (at most
    /// [`MAX_SAN_ENTRIES`] entries are looked at).
    pub fn alt_names(&self) -> impl Iterator<Item = AltName<'a>> + use<'a> {
        let names = self
            .extensions
            .into_iter()
            .flat_map(elements)
            .find_map(|extension| {
                let mut inside = extension.content;
                if expect(&mut inside, OID)?.content != OID_SUBJECT_ALT_NAME {
                    return None;
                }
                let mut value = next(&mut inside)?;
                if value.tag == BOOLEAN {
                    value = next(&mut inside)?;
                }
                (value.tag == OCTET_STRING).then_some(value.content)
            })
            .and_then(|mut octets| expect(&mut octets, SEQUENCE))
            .map_or(&[][..], |names| names.content);
        elements(names)
            .take(MAX_SAN_ENTRIES)
            .filter_map(|name| match name.tag {
                0x81 => Some(AltName::Email(name.content)),
                0x82 => Some(AltName::Dns(name.content)),
                0x86 => Some(AltName::Uri(name.content)),
                _ => None,
            })
    }
}

/// The elements of `content`, one after the other, until one cannot be read.
fn elements(mut content: &[u8]) -> impl Iterator<Item = Element<'_>> {
    std::iter::from_fn(move || next(&mut content))
}

fn expect<'a>(input: &mut &'a [u8], tag: u8) -> Option<Element<'a>> {
    next(input).filter(|element| element.tag == tag)
}

/// Reads one element from the front of `input`: a one-byte tag, a definite length of at most
/// four bytes, the content.
fn next<'a>(input: &mut &'a [u8]) -> Option<Element<'a>> {
    let start = *input;
    let (&tag, rest) = start.split_first()?;
    if tag & 0x1F == 0x1F {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(count)?;
        let length = bytes
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, rest)
    };
    let (content, rest) = rest.split_at_checked(length)?;
    *input = rest;
    Some(Element {
        tag,
        content,
        whole: &start[..start.len() - rest.len()],
    })
}

#[cfg(test)]
mod tests {
    use x509_parser::prelude::{FromDer, X509Certificate};

    use super::*;
    use crate::client_cert::test_pki::{Ca, Leaf};

    #[test]
    fn reads_what_x509_parser_reads() {
        let root = Ca::root("Sketch Root CA");
        let der = root.issue(&Leaf {
            dns_names: vec!["a.example".into(), "B.example".into()],
            ..Leaf::cn("client.example")
        });
        let sketch = Sketch::read(&der).expect("a certificate");
        let (_, parsed) = X509Certificate::from_der(&der).expect("parses");
        assert_eq!(sketch.serial, parsed.raw_serial());
        assert_eq!(sketch.issuer_element, parsed.issuer().as_raw());
        assert_eq!(sketch.subject_element, parsed.subject().as_raw());
        let (_, root_parsed) = X509Certificate::from_der(&root.der).expect("parses");
        assert_eq!(
            sketch.issuer_element,
            root_parsed.subject().as_raw(),
            "the issuer is the root's subject, byte for byte"
        );
        let cns: Vec<_> = sketch.common_names().map(|cn| cn.value).collect();
        assert_eq!(cns, [b"client.example".as_slice()]);
        let sans: Vec<_> = sketch.alt_names().collect();
        assert_eq!(
            sans,
            [
                AltName::Dns(b"a.example".as_slice()),
                AltName::Dns(b"B.example".as_slice())
            ]
        );
    }

    #[test]
    fn the_issuer_is_the_names_value_as_webpki_compares_it() {
        let root = Ca::root("Sketch Root CA");
        let der = root.issue(&Leaf::cn("client.example"));
        let sketch = Sketch::read(&der).expect("a certificate");
        let webpki_der = rustls_pki_types::CertificateDer::from(der.as_slice());
        let read = webpki::EndEntityCert::try_from(&webpki_der).expect("webpki reads it");
        assert_eq!(sketch.issuer, read.issuer(), "webpki's issuer bytes");
        assert_eq!(sketch.subject, read.subject(), "webpki's subject bytes");
        assert_eq!(sketch.serial, read.serial(), "webpki's serial bytes");
        let element = sketch.issuer_element;
        assert_eq!(element[0], SEQUENCE);
        assert!(
            element.ends_with(sketch.issuer),
            "the value inside the SEQUENCE"
        );
        assert_eq!(element.len() - sketch.issuer.len(), 2, "a short header");
    }

    #[test]
    fn what_is_not_the_outline_of_one_certificate_gives_no_sketch() {
        let root = Ca::root("Sketch Root CA");
        let der = root.issue(&Leaf::cn("client.example"));
        let mut trailing = der.clone();
        trailing.push(0);
        for (input, reason) in [
            (Vec::new(), "empty"),
            (der[..der.len() / 2].to_vec(), "truncated"),
            (trailing, "trailing bytes"),
            (vec![0x30, 0x85, 1, 0, 0, 0, 0], "a five-byte length"),
            (vec![0x1F, 0x81, 0x01, 0x00], "a long-form tag"),
            (
                vec![0x30, 0x03, 0x02, 0x01, 0x01],
                "a SEQUENCE that is not a certificate",
            ),
        ] {
            assert_eq!(Sketch::read(&input), None, "{reason}");
        }
    }

    #[test]
    fn a_certificate_without_extensions_or_cn_has_no_names() {
        let root = Ca::root("Sketch Root CA");
        let der = root.issue(&Leaf {
            subject: vec![(rcgen::DnType::OrganizationName, "only an O".into())],
            ..Leaf::cn("unused")
        });
        let sketch = Sketch::read(&der).expect("a certificate");
        assert_eq!(sketch.common_names().count(), 0);
        assert_eq!(sketch.alt_names().count(), 0);
    }
}
