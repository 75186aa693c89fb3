//! Putting an identity's certificates in order: which one is the leaf (the one whose public
//! key is the private key's), and which CA certificates follow it, each the issuer of the one
//! before. Certificates are compared by their raw DER names, never by their text form.
//! It does not check signatures or validity: the upstream's verifier does that.

use rustls::pki_types::CertificateDer;
use rustls::sign::SigningKey;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::identity::IdentityError;

/// Parses one certificate.
pub(super) fn parse<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, IdentityError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|error| IdentityError::BadCertificate {
            detail: error.to_string(),
        })
}

/// The certificate whose public key is the key's own.
pub(super) fn find_leaf(
    certs: &[CertificateDer<'static>],
    key: &dyn SigningKey,
) -> Result<Option<usize>, IdentityError> {
    let Some(spki) = key.public_key() else {
        // The provider cannot tell; rustls will still check the first certificate.
        return Ok(Some(0));
    };
    for (index, der) in certs.iter().enumerate() {
        if parse(der)?.public_key().raw == spki.as_ref() {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Leaf first, then each issuer found among `certs`; unrelated certificates are dropped.
pub(super) fn order_chain(
    mut certs: Vec<CertificateDer<'static>>,
    leaf_index: usize,
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let mut chain = vec![certs.swap_remove(leaf_index)];
    loop {
        let (subject, issuer) = {
            let current = parse(&chain[chain.len() - 1])?;
            (
                current.subject().as_raw().to_vec(),
                current.issuer().as_raw().to_vec(),
            )
        };
        if subject == issuer {
            break;
        }
        let mut next = None;
        for (index, der) in certs.iter().enumerate() {
            if parse(der)?.subject().as_raw() == issuer.as_slice() {
                next = Some(index);
                break;
            }
        }
        match next {
            Some(index) => chain.push(certs.swap_remove(index)),
            None => break,
        }
    }
    if !certs.is_empty() {
        tracing::debug!(
            dropped = certs.len(),
            "certificates unrelated to the identity's chain were ignored"
        );
    }
    Ok(chain)
}
