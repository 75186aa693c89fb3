//! Checking a CRL that arrived from a distribution point before it joins the CRL set: exactly
//! one CRL, issued and signed by a configured CA (anchor or intermediate) whose key may sign
//! CRLs, current (thisUpdate not in the future, nextUpdate not passed), and no older than the
//! CRL held for the same URL (by CRL number).
//!
//! The transport is not trusted (distribution points are usually plain HTTP): the signature is.
//! webpki checks the CRL again on every use; this check exists so that a bad CRL is refused
//! at the door and the last good one stays in force. Pure function over bytes and values; the
//! fetching is `fetch.rs`'s job.

use std::path::Path;

use rustls_pki_types::CertificateDer;
use x509_parser::oid_registry::{OID_PKCS1_SHA1WITHRSA, OID_SHA1_WITH_RSA};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert_file::crls_from_bytes;
use crate::client_cert::ca_certificate::may_sign_crls;
use crate::client_cert::words::describe_unusable_crl;

/// A CRL that passed [`check`], with what the source remembers of it.
#[derive(Debug, Clone)]
pub struct CheckedCrl {
    pub der: Vec<u8>,
    /// The CRL number, big-endian without leading zeros (`None`: the CRL carries none).
    pub number: Option<Vec<u8>>,
    /// thisUpdate and nextUpdate, unix seconds.
    pub this_update: i64,
    pub next_update: i64,
    /// The issuer, RFC 4514 (for logs).
    pub issuer: String,
}

/// Why a fetched CRL was refused (the last good CRL stays in force).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlRefused {
    #[error("not a crl: {0}")]
    NotCrl(String),
    #[error("{0} crls in one response: a distribution point serves one")]
    NotOne(usize),
    #[error("no configured ca is named {issuer:?}, the crl's issuer")]
    UnknownIssuer { issuer: String },
    #[error("the signature does not verify with the key of any configured ca named {issuer:?}")]
    BadSignature { issuer: String },
    #[error("the ca {issuer:?} may not sign crls (its key usage lacks cRLSign)")]
    NotCrlSigner { issuer: String },
    #[error("sha-1 signatures are not accepted")]
    WeakSignature,
    #[error("no nextUpdate")]
    NoNextUpdate,
    #[error("thisUpdate {this_update} is in the future (now {now})")]
    NotYetValid { this_update: i64, now: i64 },
    #[error("already past its nextUpdate {next_update} (now {now})")]
    Expired { next_update: i64, now: i64 },
    #[error("crl number {got} is older than the {held} already held")]
    OlderNumber { got: String, held: String },
}

/// Checks `body` (PEM or DER) as a CRL from `issuers` at `now`, against the CRL number of the
/// CRL already held for the same source (`held_number`).
///
/// # Errors
/// [`CrlRefused`] saying why.
pub fn check(
    body: &[u8],
    issuers: &[CertificateDer<'static>],
    now: i64,
    held_number: Option<&[u8]>,
) -> Result<CheckedCrl, CrlRefused> {
    let ders = crls_from_bytes(body, Path::new("response"))
        .map_err(|error| CrlRefused::NotCrl(error.to_string()))?;
    let [der] = ders.as_slice() else {
        return Err(CrlRefused::NotOne(ders.len()));
    };
    let der = der.as_ref();
    // webpki must be able to use it too (it refuses delta CRLs, unknown critical extensions).
    webpki::OwnedCertRevocationList::from_der(der)
        .map_err(|error| CrlRefused::NotCrl(describe_unusable_crl(der, &error)))?;
    let (_, crl) = CertificateRevocationList::from_der(der)
        .map_err(|error| CrlRefused::NotCrl(error.to_string()))?;
    crate::client_cert::crl_number::check(&crl).map_err(CrlRefused::NotCrl)?;
    let issuer = crl.issuer().to_string();
    check_signature(&crl, issuers, &issuer)?;
    let this_update = crl.last_update().timestamp();
    let next_update = crl
        .next_update()
        .ok_or(CrlRefused::NoNextUpdate)?
        .timestamp();
    if this_update > now {
        return Err(CrlRefused::NotYetValid { this_update, now });
    }
    if next_update <= now {
        return Err(CrlRefused::Expired { next_update, now });
    }
    let number = crl.crl_number().map(|number| number.to_bytes_be());
    if let (Some(got), Some(held)) = (number.as_deref(), held_number)
        && is_older(got, held)
    {
        return Err(CrlRefused::OlderNumber {
            got: hex(got),
            held: hex(held),
        });
    }
    Ok(CheckedCrl {
        der: der.to_vec(),
        number,
        this_update,
        next_update,
        issuer,
    })
}

/// Verifies the signature with every configured CA of the issuer's name until one works.
fn check_signature(
    crl: &CertificateRevocationList<'_>,
    issuers: &[CertificateDer<'static>],
    issuer: &str,
) -> Result<(), CrlRefused> {
    if crl.signature_algorithm.algorithm == OID_PKCS1_SHA1WITHRSA
        || crl.signature_algorithm.algorithm == OID_SHA1_WITH_RSA
    {
        return Err(CrlRefused::WeakSignature);
    }
    let candidates: Vec<(&[u8], X509Certificate<'_>)> = issuers
        .iter()
        .filter_map(|der| {
            let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
            Some((der.as_ref(), cert))
        })
        .filter(|(_, cert)| cert.subject().as_raw() == crl.issuer().as_raw())
        .collect();
    if candidates.is_empty() {
        return Err(CrlRefused::UnknownIssuer {
            issuer: issuer.to_owned(),
        });
    }
    let (signer, _) = candidates
        .iter()
        .find(|(_, cert)| crl.verify_signature(cert.public_key()).is_ok())
        .ok_or_else(|| CrlRefused::BadSignature {
            issuer: issuer.to_owned(),
        })?;
    // The same rule webpki's use of the CRL is held to (`client_cert::trust`).
    if may_sign_crls(signer) {
        Ok(())
    } else {
        Err(CrlRefused::NotCrlSigner {
            issuer: issuer.to_owned(),
        })
    }
}

fn is_older(got: &[u8], held: &[u8]) -> bool {
    let trim =
        |bytes: &[u8]| -> Vec<u8> { bytes.iter().copied().skip_while(|b| *b == 0).collect() };
    let (got, held) = (trim(got), trim(held));
    (got.len(), got.as_slice()) < (held.len(), held.as_slice())
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "0".to_owned();
    }
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::test_pki::{BASE, Ca, DAY};
    use rcgen::KeyUsagePurpose;

    fn issuers(cas: &[&Ca]) -> Vec<CertificateDer<'static>> {
        cas.iter()
            .map(|ca| CertificateDer::from(ca.der.clone()))
            .collect()
    }

    #[test]
    fn a_crl_is_accepted_only_from_a_configured_signer_while_current_and_not_older() {
        let root = Ca::root("Crl Root");
        let impostor = Ca::root("Crl Root");
        let stranger = Ca::root("Stranger Root");
        let no_crl_sign = Ca::root_with_key_usages(
            "No CrlSign Root",
            vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::DigitalSignature,
            ],
        );
        let configured = issuers(&[&root, &no_crl_sign]);
        let good = root.crl(&[5], -DAY, 7 * DAY);
        let now = BASE as i64;
        let held_newer = [0x05u8];
        type Case<'a> = (&'a str, Vec<u8>, Option<&'a [u8]>, Option<&'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("a current crl from the root", good.clone(), None, None),
            ("the same crl again", good.clone(), Some(&[0x01]), None),
            (
                "garbage",
                b"<html>503</html>".to_vec(),
                None,
                Some("not a crl"),
            ),
            (
                "a same-named ca's crl",
                impostor.crl(&[], -DAY, DAY),
                None,
                Some("signature does not verify"),
            ),
            (
                "an unknown issuer",
                stranger.crl(&[], -DAY, DAY),
                None,
                Some("no configured ca"),
            ),
            (
                "a ca without cRLSign",
                no_crl_sign.crl_ignoring_key_usage(&[], -DAY, DAY),
                None,
                Some("cRLSign"),
            ),
            (
                "past nextUpdate",
                root.crl(&[], -2 * DAY, -DAY),
                None,
                Some("past its nextUpdate"),
            ),
            (
                "thisUpdate ahead",
                root.crl(&[], DAY, 2 * DAY),
                None,
                Some("in the future"),
            ),
            (
                "an older crl number",
                good.clone(),
                Some(&held_newer),
                Some("older"),
            ),
            (
                "one DER sequence webpki cannot read as a crl",
                vec![0x30, 0x03, 0x02, 0x01, 0x01],
                None,
                Some("not a crl: it is not a CRL webpki can use"),
            ),
        ];
        for (reason, body, held, refused) in cases {
            let result = check(&body, &configured, now, held);
            match refused {
                None => assert!(result.is_ok(), "{reason}: {result:?}"),
                Some(fragment) => {
                    let error = result.expect_err(reason).to_string();
                    assert!(error.contains(fragment), "{reason}: {error}");
                    assert!(
                        !error.contains('{') && !error.contains("BadDer"),
                        "{reason}: words, not Debug text: {error}"
                    );
                }
            }
        }
    }
}
