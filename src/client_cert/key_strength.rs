//! The leaf's public key, summarised when the certificate is parsed, and the strength rule
//! every client certificate must meet, pinned or chained: RSA of at least 2048 bits, or EC on
//! P-256, P-384 or P-521, or Ed25519 / Ed448. Anything else (shorter RSA, smaller or unnamed
//! curves, DSA, GOST, unknown algorithms) is refused as `cert_weak_key`.
//!
//! webpki checks the keys that sign (issuers'), never the leaf's own; pins skip webpki
//! entirely. This module does not judge issuers' keys.

use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED448, OID_SIG_ED25519,
};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::Denied;
use super::cache::HeapSize;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// What the strength rule needs to know about a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeySummary {
    /// The modulus length in bits (leading zeros not counted).
    Rsa {
        bits: usize,
    },
    /// The named curve's OID, dotted; `None` for explicit parameters.
    Ec {
        curve: Option<String>,
    },
    Ed25519,
    Ed448,
    /// Any other algorithm, its OID dotted.
    Other {
        algorithm: String,
    },
}

impl PublicKeySummary {
    /// Summarises `spki`.
    ///
    /// # Errors
    /// [`Denied::Malformed`] when an RSA key does not parse.
    pub fn read(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self, Denied> {
        let algorithm = &spki.algorithm.algorithm;
        if *algorithm == OID_PKCS1_RSAENCRYPTION {
            let Ok(PublicKey::RSA(key)) = spki.parsed() else {
                return Err(Denied::malformed("rsa public key does not parse"));
            };
            return Ok(Self::Rsa {
                bits: significant_bits(key.modulus),
            });
        }
        if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|parameters| parameters.as_oid().ok())
                .map(|oid| oid.to_id_string());
            return Ok(Self::Ec { curve });
        }
        if *algorithm == OID_SIG_ED25519 {
            return Ok(Self::Ed25519);
        }
        if *algorithm == OID_SIG_ED448 {
            return Ok(Self::Ed448);
        }
        Ok(Self::Other {
            algorithm: algorithm.to_id_string(),
        })
    }

    /// The strength rule.
    ///
    /// # Errors
    /// [`Denied::WeakKey`] saying what the key is.
    pub fn check(&self) -> Result<(), Denied> {
        let weak = |reason: String| Err(Denied::WeakKey { reason });
        match self {
            Self::Rsa { bits } if *bits < MIN_RSA_BITS => {
                weak(format!("rsa key of {bits} bits (at least {MIN_RSA_BITS})"))
            }
            Self::Ec { curve: Some(curve) } if !is_accepted_curve(curve) => weak(format!(
                "ec key on curve {curve} (P-256, P-384 or P-521 only)"
            )),
            Self::Ec { curve: None } => weak("ec key without a named curve".to_owned()),
            Self::Other { algorithm } => {
                weak(format!("key algorithm {algorithm} is not rsa, ec or eddsa"))
            }
            _ => Ok(()),
        }
    }
}

impl HeapSize for PublicKeySummary {
    fn heap_bytes(&self) -> usize {
        match self {
            Self::Ec { curve } => curve.heap_bytes(),
            Self::Other { algorithm } => algorithm.heap_bytes(),
            Self::Rsa { .. } | Self::Ed25519 | Self::Ed448 => 0,
        }
    }
}

fn is_accepted_curve(curve: &str) -> bool {
    [OID_EC_P256, OID_NIST_EC_P384, OID_NIST_EC_P521]
        .iter()
        .any(|accepted| accepted.to_id_string() == curve)
}

/// The bit length of a big-endian unsigned integer.
fn significant_bits(bytes: &[u8]) -> usize {
    let Some(first) = bytes.iter().position(|byte| *byte != 0) else {
        return 0;
    };
    let leading = usize::try_from(bytes[first].leading_zeros()).unwrap_or(0);
    (bytes.len() - first) * 8 - leading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modulus_length_ignores_leading_zeros() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(significant_bits(&[0x01, 0x00]), 9);
        assert_eq!(significant_bits(&[0x00]), 0);
        assert_eq!(significant_bits(&[]), 0);
    }
}
