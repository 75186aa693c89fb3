//! What revocation needs of a certificate, read in place from its DER: serial, issuer and
//! subject names, public key, extensions. The certificate has been parsed strictly already
//! (`client_cert::der`, x509-parser or webpki); this only finds the fields again.

use super::tlv::{self, Malformed, Reader};

/// A certificate's fields, borrowed from its DER.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CertificateFields<'a> {
    /// The serial INTEGER's content.
    pub serial: &'a [u8],
    /// The issuer and subject Names' content (without their SEQUENCE header, as webpki
    /// gives them).
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    /// The SubjectPublicKeyInfo's content (as webpki's trust anchors hold it).
    pub spki: &'a [u8],
    /// The `[3]` extensions' SEQUENCE content, if any.
    pub extensions: Option<&'a [u8]>,
}

impl<'a> CertificateFields<'a> {
    /// Reads `der`, a whole Certificate.
    ///
    /// # Errors
    /// [`Malformed`] when it is not shaped as a certificate.
    pub(crate) fn read(der: &'a [u8]) -> Result<Self, Malformed> {
        let certificate = tlv::single(der, tlv::SEQUENCE, "not a certificate")?;
        let mut tbs =
            Reader::new(Reader::new(certificate).expect(tlv::SEQUENCE, "not a certificate")?);
        tbs.optional(tlv::constructed(0))?;
        let serial = tbs.expect(tlv::INTEGER, "no serial")?;
        tbs.expect(tlv::SEQUENCE, "no signature algorithm")?;
        let issuer = tbs.expect(tlv::SEQUENCE, "no issuer")?;
        tbs.expect(tlv::SEQUENCE, "no validity")?;
        let subject = tbs.expect(tlv::SEQUENCE, "no subject")?;
        let spki = tbs.expect(tlv::SEQUENCE, "no public key")?;
        tbs.optional(tlv::primitive(1))?;
        tbs.optional(tlv::primitive(2))?;
        let extensions = match tbs.optional(tlv::constructed(3))? {
            Some(explicit) => Some(tlv::single(
                explicit,
                tlv::SEQUENCE,
                "extensions are not a sequence",
            )?),
            None => None,
        };
        Ok(Self {
            serial,
            issuer,
            subject,
            spki,
            extensions,
        })
    }
}

/// A SubjectPublicKeyInfo's content: (the algorithm's AlgorithmIdentifier content, the key's
/// bits).
pub(super) fn public_key(spki: &[u8]) -> Result<(&[u8], &[u8]), Malformed> {
    let mut fields = Reader::new(spki);
    let algorithm = fields.expect(tlv::SEQUENCE, "a public key without an algorithm")?;
    let key = bit_string(fields.expect(tlv::BIT_STRING, "a public key that is not a bit string")?)?;
    fields.finish("trailing bytes after a public key")?;
    Ok((algorithm, key))
}

/// A BIT STRING's content without its unused-bits octet, which must be zero.
pub(super) fn bit_string(content: &[u8]) -> Result<&[u8], Malformed> {
    match content.split_first() {
        Some((0, bits)) => Ok(bits),
        _ => Err(Malformed("a bit string with unused bits")),
    }
}
