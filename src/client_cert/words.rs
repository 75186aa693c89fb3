//! Reasons in words for the log and for operators: webpki's errors (whose `Display` is their
//! Rust Debug text, e.g. `UnknownIssuer`). CRLs are read by `crl`, which words its own.
//!
//! Nothing here decides anything; `trust.rs` calls it to word what it decided.

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
}
