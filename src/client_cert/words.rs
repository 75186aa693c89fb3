//! Reasons in words for the log and for operators: webpki's errors (whose `Display` is their
//! Rust Debug text, e.g. `UnknownIssuer`) and CRL files webpki cannot read.
//!
//! Nothing here decides anything; `trust.rs` and `revocation.rs` call it to word what they
//! decided.

use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// What a webpki error means, in words.
#[allow(deprecated)] // the context-free variants are still matched, whichever webpki returns
pub fn describe(error: &webpki::Error) -> String {
    use webpki::Error as E;
    let text = match error {
        E::UnknownIssuer => "no configured CA or intermediate issued it",
        E::InvalidSignatureForPublicKey => "its signature does not verify with its issuer's key",
        E::CertExpired { .. } => "a certificate of the chain has expired",
        E::CertNotValidYet { .. } => "a certificate of the chain is not valid yet",
        E::CertRevoked => "a configured CRL lists it",
        E::CrlExpired { .. } => "the CRL covering it is past its nextUpdate",
        E::UnknownRevocationStatus => "no configured CRL covers its issuer",
        E::IssuerNotCrlSigner => "the CRL's issuer lacks the cRLSign key usage",
        E::InvalidCrlSignatureForPublicKey => "the CRL's signature does not verify",
        E::UnsupportedCrlVersion => "the CRL is version 1; only version 2 CRLs are read",
        E::UnsupportedCriticalExtension => "it carries a critical extension that is not understood",
        E::CaUsedAsEndEntity => "a CA certificate was presented as a client",
        E::EndEntityUsedAsCa => "a leaf certificate sits where a CA is needed",
        E::NameConstraintViolation => "a CA's name constraints exclude it",
        E::PathLenConstraintViolated => "the chain is longer than a CA's pathLen allows",
        E::MaximumPathDepthExceeded => "the chain is too long",
        E::BadDer => "it is not valid DER",
        other => return words(&format!("{other:?}")),
    };
    text.to_owned()
}

/// Why a CRL file cannot be used, with what to do about a version 1 CRL (what
/// `openssl ca -gencrl` writes when the CA has no `crlnumber` file).
pub fn describe_unusable_crl(der: &[u8], error: &webpki::Error) -> String {
    let version_1 =
        CertificateRevocationList::from_der(der).is_ok_and(|(_, crl)| crl.version().is_none());
    if version_1 {
        "it is a version 1 CRL, which is not supported: make a version 2 CRL (with openssl, \
         give the CA a crlnumber file, e.g. `echo 1000 > crlnumber` and `crlnumber = \
         $dir/crlnumber` in its section, then run `openssl ca -gencrl` again)"
            .to_owned()
    } else {
        format!("it is not a CRL webpki can use: {}", describe(error))
    }
}

/// `UnsupportedSignatureAlgorithmContext(..)` -> `unsupported signature algorithm`.
fn words(debug: &str) -> String {
    let name = debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or(debug)
        .trim_end_matches("Context");
    let mut out = String::with_capacity(name.len() + 8);
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_webpki_error_reads_as_words_without_rust_syntax() {
        let cases = [
            webpki::Error::UnknownIssuer,
            webpki::Error::MaximumSignatureChecksExceeded,
            webpki::Error::UnsupportedCriticalExtension,
            webpki::Error::TrailingData(webpki::DerTypeId::Certificate),
        ];
        for error in cases {
            let text = describe(&error);
            assert!(!text.contains(['(', '{']), "{error:?} -> {text}");
            assert_ne!(text, format!("{error:?}"), "words, not Debug text");
        }
        assert_eq!(
            words(
                "UnsupportedSignatureAlgorithmContext(UnsupportedSignatureAlgorithmContext { .. })"
            ),
            "unsupported signature algorithm"
        );
        assert_eq!(words("TrailingData(Certificate)"), "trailing data");
    }

    /// `der` with the TBSCertList's version field (`02 01 01`) removed: a version 1 CRL, as
    /// `openssl ca -gencrl` writes without a crlnumber (the signature no longer verifies, which
    /// reading the version does not need).
    fn without_version(der: &[u8]) -> Vec<u8> {
        fn header(der: &[u8]) -> (usize, usize) {
            match der[1] {
                short if short < 0x80 => (2, usize::from(short)),
                long => {
                    let count = usize::from(long & 0x7f);
                    let length = der[2..2 + count]
                        .iter()
                        .fold(0, |length, byte| length * 256 + usize::from(*byte));
                    (2 + count, length)
                }
            }
        }
        let sequence = |content: &[u8]| crate::client_cert::test_pki::tlv(0x30, content);
        let (outer_header, _) = header(der);
        let tbs = &der[outer_header..];
        let (tbs_header, tbs_length) = header(tbs);
        let rest = &tbs[tbs_header + tbs_length..];
        let tbs_content = &tbs[tbs_header..tbs_header + tbs_length];
        assert_eq!(&tbs_content[..3], [0x02, 0x01, 0x01], "a v2 CRL's version");
        let mut content = sequence(&tbs_content[3..]);
        content.extend_from_slice(rest);
        sequence(&content)
    }

    #[test]
    fn a_version_1_crl_is_named_and_the_fix_is_given() {
        use crate::client_cert::test_pki::{Ca, DAY};
        let v2 = Ca::root("Test Root CA").crl(&[7], 0, DAY);
        let v1 = without_version(&v2);
        let error = webpki::OwnedCertRevocationList::from_der(&v1).expect_err("webpki refuses v1");

        let message = describe_unusable_crl(&v1, &error);

        assert!(message.contains("version 1 CRL"), "{message}");
        assert!(
            message.contains("crlnumber"),
            "how to make a v2 one: {message}"
        );
        let other = describe_unusable_crl(b"garbage", &webpki::Error::BadDer);
        assert!(!other.contains("version 1"), "{other}");
    }
}
