//! The CRL number rule, applied wherever a CRL is accepted (`CLIENT_CERT_CRL_PATHS` files and
//! CRLs fetched from `CLIENT_CERT_CRL_URLS`): a CRL carries a CRL number, not marked critical
//! (RFC 5280 §5.2.3; webpki itself refuses one of more than 20 octets).
//!
//! The number is what orders the CRLs of one issuer: which of two is newer (`revocation.rs`
//! keeps the newest of each issuer name) and whether a distribution point has served an older
//! one than it did before (`crl_source`). A CRL without one cannot be ordered, so a stale copy
//! could pass for the current one; such a CRL is unusable, as a CRL with a bad signature is.
//! Every CRL issuer we know of writes the number: `openssl ca -gencrl` does as soon as the CA
//! has a `crlnumber` file (without one it writes a version 1 CRL, which webpki refuses anyway),
//! AD CS and rcgen always do. A critical CRL number is as malformed as RFC 5280 can say
//! ("MUST mark this extension as non-critical"), and cheap to refuse.
//!
//! This module only judges; it is called on the CRL parse the caller already has.

use x509_parser::revocation_list::CertificateRevocationList;

/// 2.5.29.20, the content of its OBJECT IDENTIFIER.
const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];

/// Checks the CRL number of a parsed CRL.
///
/// # Errors
/// Why the CRL cannot be used, in words for the log.
pub fn check(crl: &CertificateRevocationList<'_>) -> Result<(), String> {
    let extension = crl
        .extensions()
        .iter()
        .find(|extension| extension.oid.as_bytes() == CRL_NUMBER)
        .ok_or(
            "the crl has no crl number (RFC 5280 §5.2.3 requires one: it orders an issuer's crls)",
        )?;
    if extension.critical {
        return Err("the crl number is marked critical (RFC 5280 §5.2.3: non-critical)".to_owned());
    }
    crl.crl_number().ok_or("the crl number is not an integer")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::client_cert::revocation::CrlSet;
    use crate::client_cert::test_pki::{Ca, DAY, reencode, tlv};
    use crate::crl_source::check::{CrlRefused, check as check_fetched};

    /// The CRL number extension's encoding starts with its OID: `06 03 55 1D 14`.
    const NUMBER_EXTENSION: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x14];

    fn without_number(crl: &[u8]) -> Vec<u8> {
        reencode(crl, &|_, tag, content| {
            (tag == 0x30 && content.starts_with(NUMBER_EXTENSION)).then(Vec::new)
        })
    }

    fn with_critical_number(crl: &[u8]) -> Vec<u8> {
        reencode(crl, &|_, tag, content| {
            (tag == 0x30 && content.starts_with(NUMBER_EXTENSION)).then(|| {
                let (oid, value) = content.split_at(NUMBER_EXTENSION.len());
                tlv(tag, &[oid, &[0x01, 0x01, 0xff], value].concat())
            })
        })
    }

    #[test]
    fn a_crl_without_a_usable_crl_number_is_refused_wherever_it_comes_from() {
        let root = Ca::root("Crl Root");
        let good = root.crl(&[], -DAY, 7 * DAY);
        assert_ne!(without_number(&good), good, "the edit removed the number");
        let cases = [
            ("no crl number", without_number(&good), "has no crl number"),
            (
                "a critical crl number",
                with_critical_number(&good),
                "marked critical",
            ),
        ];
        assert!(CrlSet::from_ders(&[&good]).is_ok(), "control: a file crl");
        let issuers = [root.der.clone().into()];
        let now = crate::client_cert::test_pki::BASE as i64;
        assert!(
            check_fetched(&good, &issuers, now, None).is_ok(),
            "control: a fetched crl"
        );
        for (reason, crl, words) in cases {
            let file = CrlSet::from_ders(&[&crl]).map(|_| ());
            assert!(
                file.as_ref().is_err_and(|why| why.contains(words)),
                "{reason}, from a file: {file:?}"
            );
            let fetched = check_fetched(&crl, &issuers, now, None).map(|_| ());
            assert!(
                matches!(&fetched, Err(CrlRefused::NotCrl(why)) if why.contains(words)),
                "{reason}, fetched: {fetched:?}"
            );
        }
    }
}
