//! Putting an identity's certificates in order: which one is the leaf (the one whose public
//! key is the private key's), and which CA certificates follow it, each the issuer of the one
//! before; and what the leaf says about itself ([`LeafFacts`]: names, serial, validity, whether
//! it is a CA and whether its usage allows client authentication). Certificates are compared
//! by their raw DER names, never by their text form. It does not check signatures or validity:
//! the upstream's verifier does that.

use rustls::pki_types::CertificateDer;
use rustls::sign::SigningKey;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::identity::IdentityError;

/// What the leaf certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LeafFacts {
    /// The subject, as text (for logs).
    pub subject: String,
    /// The subject's first CN, by OID.
    pub common_name: Option<String>,
    /// The issuer's name, raw DER (compared), and as text (logged).
    pub issuer: Vec<u8>,
    pub issuer_text: String,
    /// The serial number, colon-free lower-case hex.
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    /// basicConstraints cA=TRUE.
    pub is_ca: bool,
    /// The extended key usages it lists, `None` without the extension.
    pub extended_key_usage: Option<Vec<&'static str>>,
}

impl LeafFacts {
    /// Reads `der`'s facts.
    pub(super) fn read(der: &CertificateDer<'_>) -> Result<Self, IdentityError> {
        let cert = parse(der)?;
        let bad =
            |what: &str, error: x509_parser::error::X509Error| IdentityError::BadCertificate {
                detail: format!("{what}: {error}"),
            };
        let is_ca = cert
            .basic_constraints()
            .map_err(|error| bad("basicConstraints", error))?
            .is_some_and(|extension| extension.value.ca);
        let extended_key_usage = cert
            .extended_key_usage()
            .map_err(|error| bad("extendedKeyUsage", error))?
            .map(|extension| usage_names(extension.value));
        let validity = cert.validity();
        Ok(Self {
            subject: cert.subject().to_string(),
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            issuer: cert.issuer().as_raw().to_vec(),
            issuer_text: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string().replace(':', ""),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            is_ca,
            extended_key_usage,
        })
    }

    /// Whether TLS client authentication is allowed: no extended key usage, or clientAuth.
    pub(super) fn allows_client_auth(&self) -> bool {
        self.extended_key_usage
            .as_ref()
            .is_none_or(|usages| usages.contains(&"clientAuth"))
    }
}

fn usage_names(usage: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<&'static str> {
    [
        (usage.any, "anyExtendedKeyUsage"),
        (usage.server_auth, "serverAuth"),
        (usage.client_auth, "clientAuth"),
        (usage.code_signing, "codeSigning"),
        (usage.email_protection, "emailProtection"),
        (usage.time_stamping, "timeStamping"),
        (usage.ocsp_signing, "OCSPSigning"),
        (!usage.other.is_empty(), "other"),
    ]
    .into_iter()
    .filter_map(|(present, name)| present.then_some(name))
    .collect()
}

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
