//! How much key-derivation work a PKCS#12 file asks for, counted before any of it is done.
//!
//! A PKCS#12 file names its own costs: the MAC's iteration count, and one for every encrypted
//! safe and every shrouded key bag. p12-keystore caps each derivation (1,000,000 iterations)
//! but not their number, so a small file holding hundreds of key bags costs minutes of CPU,
//! and it exposes no hook to stop part-way. So this module reads the structure first, with the
//! same RustCrypto types p12-keystore decodes it with, adds every derivation up, and refuses a
//! file over [`MAX_WORK`] before p12-keystore is called.
//!
//! What an encrypted safe holds cannot be read without decrypting it, and it may hold key bags
//! of its own (each a derivation). So an encrypted safe is decrypted here too, once the work so
//! far (its own derivation included, twice: here and again in p12-keystore) is within the
//! budget, only to count the bags inside. When that decryption fails (a wrong password, an
//! algorithm p12-keystore does not read either), p12-keystore stops at the same safe, so
//! nothing uncounted runs after it.
//!
//! Work is counted in hash iterations: a derivation's iteration count times the hash blocks it
//! produces (a 3DES key from SHA-1 is two blocks, its IV a third). scrypt is refused outright
//! (p12-keystore accepts up to 1 GiB of memory per bag). This module decides nothing else about
//! the file; `identity.rs` decodes it.

use pkcs5::der::asn1::{ContextSpecific, ObjectIdentifier, OctetString};
use pkcs5::der::{Any, Decode, DecodeOwned, Encode, Reader, SliceReader};
use pkcs5::pbes2;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::ContentInfo;
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::pfx::Pfx;
use pkcs12::safe_bag::SafeContents;

/// The most key-derivation work one PKCS#12 file may ask for, in hash iterations: about a
/// second of one core. A file at p12-keystore's per-derivation cap (1,000,000 for the MAC, the
/// certificates and the key) needs about 4,000,000; OpenSSL's default file about 8,000.
pub const MAX_WORK: u64 = 10_000_000;

/// The work a file asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Key derivations (MAC, safes, key bags, counting the safes decrypted here twice).
    pub derivations: u64,
    /// Hash iterations over all of them.
    pub iterations: u64,
}

/// Why the file is refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    #[error(
        "the PKCS#12 file asks for at least {} hash iterations of key derivation ({} derivations), more than the {limit} accepted per file: export it again with fewer iterations (OpenSSL's default, 2048, is enough)",
        .work.iterations, .work.derivations
    )]
    TooMuch { work: Work, limit: u64 },
    #[error(
        "the PKCS#12 file uses scrypt key derivation, which is not accepted (it can ask for a gigabyte of memory per bag): export it again with PBKDF2, OpenSSL's default"
    )]
    Scrypt,
}

const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const SECRET_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.5");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const SHA1_BYTES: usize = 20;

/// Counts the work `der` asks for with `password`, refusing it once over `limit`.
///
/// Bytes that do not parse are not refused here: p12-keystore parses them with the same types
/// and reports what is wrong, having done no key derivation the count did not see.
///
/// # Errors
/// [`WorkError::TooMuch`] over `limit`, [`WorkError::Scrypt`] for scrypt.
pub fn check(der: &[u8], password: &str, limit: u64) -> Result<Work, WorkError> {
    let mut meter = Meter {
        work: Work::default(),
        limit,
    };
    let Ok(pfx) = Pfx::from_der(der) else {
        return Ok(meter.work);
    };
    if let Some(mac) = &pfx.mac_data {
        // The MAC key is one PKCS#12 KDF block of the MAC's own digest.
        meter.charge(1, positive(mac.iterations))?;
    }
    let Some(safes) = authenticated_safes(&pfx.auth_safe) else {
        return Ok(meter.work);
    };
    // Everything visible first, so that an oversized file is refused before any decryption.
    let mut encrypted = Vec::new();
    for safe in &safes {
        match safe.content_type {
            DATA => {
                if let Some(bags) = data_bags(safe) {
                    meter.charge_bags(&bags)?;
                }
            }
            ENCRYPTED_DATA => {
                let Some(data) = decode_any::<EncryptedData>(&safe.content) else {
                    break;
                };
                let cost = cost(&data.enc_content_info.content_enc_alg)?;
                // Decrypted here to count its bags, and again by p12-keystore.
                meter.charge(2 * cost.derivations, 2 * cost.iterations)?;
                encrypted.push(data);
            }
            _ => break,
        }
    }
    for data in encrypted {
        let info = data.enc_content_info;
        let Some(ciphertext) = info.encrypted_content else {
            continue;
        };
        let Some(plain) = decrypt(&info.content_enc_alg, ciphertext.as_bytes(), password) else {
            // p12-keystore fails at this safe too, before anything after it.
            break;
        };
        let Ok(bags) = SafeContents::from_der(&plain) else {
            break;
        };
        meter.charge_bags(&bags)?;
    }
    Ok(meter.work)
}

struct Meter {
    work: Work,
    limit: u64,
}

/// One algorithm's derivations and hash iterations.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    derivations: u64,
    iterations: u64,
}

impl Meter {
    fn charge(&mut self, derivations: u64, iterations: u64) -> Result<(), WorkError> {
        self.work.derivations = self.work.derivations.saturating_add(derivations);
        self.work.iterations = self.work.iterations.saturating_add(iterations);
        if self.work.iterations > self.limit {
            return Err(WorkError::TooMuch {
                work: self.work,
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Shrouded key bags and secret bags each cost one decryption; plain bags cost nothing.
    fn charge_bags(&mut self, bags: &SafeContents) -> Result<(), WorkError> {
        for bag in bags {
            let algorithm = match bag.bag_id {
                SHROUDED_KEY_BAG => {
                    ContextSpecific::<EncryptedPrivateKeyInfo>::from_der(&bag.bag_value)
                        .ok()
                        .map(|info| info.value.encryption_algorithm)
                }
                SECRET_BAG => secret_bag_algorithm(&bag.bag_value),
                _ => None,
            };
            if let Some(algorithm) = algorithm {
                let cost = cost(&algorithm)?;
                self.charge(cost.derivations, cost.iterations)?;
            }
        }
        Ok(())
    }
}

/// What decrypting with `algorithm` costs; an algorithm p12-keystore cannot use costs nothing
/// (it fails before deriving).
fn cost(algorithm: &AlgorithmIdentifierOwned) -> Result<Cost, WorkError> {
    let params: Option<Vec<u8>> = algorithm
        .parameters
        .as_ref()
        .and_then(|any| Encode::to_der(any).ok());
    let Some(params) = params else {
        return Ok(Cost::default());
    };
    match algorithm.oid {
        PBES2 => {
            let Ok(pbes2) = pbes2::Parameters::from_der(&params) else {
                return Ok(Cost::default());
            };
            match &pbes2.kdf {
                pbes2::Kdf::Pbkdf2(pbkdf2) => {
                    let blocks = pbes2.encryption.key_size().div_ceil(prf_bytes(pbkdf2.prf));
                    Ok(Cost {
                        derivations: 1,
                        iterations: u64::from(pbkdf2.iteration_count).saturating_mul(blocks as u64),
                    })
                }
                pbes2::Kdf::Scrypt(_) => Err(WorkError::Scrypt),
                _ => Ok(Cost::default()),
            }
        }
        PBE_SHA1_3DES | PBE_SHA1_RC2_40 => {
            let Ok(pbe) = Pkcs12PbeParams::from_der(&params) else {
                return Ok(Cost::default());
            };
            // Key and IV are two derivations; a 24-byte 3DES key is two SHA-1 blocks.
            let key_blocks = if algorithm.oid == PBE_SHA1_3DES { 2 } else { 1 };
            Ok(Cost {
                derivations: 2,
                iterations: positive(pbe.iterations).saturating_mul(key_blocks + 1),
            })
        }
        _ => Ok(Cost::default()),
    }
}

/// Decrypts an encrypted safe as p12-keystore does; `None` where it would fail.
fn decrypt(algorithm: &AlgorithmIdentifierOwned, data: &[u8], password: &str) -> Option<Vec<u8>> {
    let params: Vec<u8> = Encode::to_der(algorithm.parameters.as_ref()?).ok()?;
    match algorithm.oid {
        PBES2 => pbes2::Parameters::from_der(&params)
            .ok()?
            .decrypt(password.as_bytes(), data)
            .ok(),
        PBE_SHA1_3DES | PBE_SHA1_RC2_40 => {
            let pbe = Pkcs12PbeParams::from_der(&params).ok()?;
            pbes1_decrypt(algorithm.oid, &pbe, data, password)
        }
        _ => None,
    }
}

/// PKCS#12's own password-based encryption (RFC 7292 appendix B, C): SHA-1 KDF, CBC, PKCS#7.
fn pbes1_decrypt(
    oid: ObjectIdentifier,
    params: &Pkcs12PbeParams,
    data: &[u8],
    password: &str,
) -> Option<Vec<u8>> {
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
    use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
    let salt = params.salt.as_bytes();
    let key_len = if oid == PBE_SHA1_3DES { 24 } else { 5 };
    let derive = |kind, len| {
        derive_key_utf8::<sha1::Sha1>(password, salt, kind, params.iterations, len).ok()
    };
    let key = derive(Pkcs12KeyType::EncryptionKey, key_len)?;
    let iv = derive(Pkcs12KeyType::Iv, 8)?;
    if oid == PBE_SHA1_3DES {
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded_vec::<Pkcs7>(data)
            .ok()
    } else {
        cbc::Decryptor::<rc2::Rc2>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded_vec::<Pkcs7>(data)
            .ok()
    }
}

/// The AuthenticatedSafe of a `data` PFX (p12-keystore reads no other).
fn authenticated_safes(auth_safe: &ContentInfo) -> Option<Vec<ContentInfo>> {
    if auth_safe.content_type != DATA {
        return None;
    }
    let octets = decode_any::<OctetString>(&auth_safe.content)?;
    Vec::<ContentInfo>::from_der(octets.as_bytes()).ok()
}

fn data_bags(safe: &ContentInfo) -> Option<SafeContents> {
    let octets = decode_any::<OctetString>(&safe.content)?;
    SafeContents::from_der(octets.as_bytes()).ok()
}

/// A secret bag's `[0]` EncryptedPrivateKeyInfo algorithm, as p12-keystore reads it (it tries
/// to decrypt every secret bag with the password).
fn secret_bag_algorithm(bag_value: &[u8]) -> Option<AlgorithmIdentifierOwned> {
    let envelope = Any::from_der(bag_value).ok()?;
    let mut reader = SliceReader::new(envelope.value()).ok()?;
    let inner: OctetString = reader
        .sequence(|reader| {
            let _kind: ObjectIdentifier = reader.decode()?;
            let value: ContextSpecific<OctetString> = reader.decode()?;
            while !reader.is_finished() {
                reader.tlv_bytes()?;
            }
            Ok::<_, pkcs5::der::Error>(value.value)
        })
        .ok()?;
    EncryptedPrivateKeyInfo::from_der(inner.as_bytes())
        .ok()
        .map(|info| info.encryption_algorithm)
}

fn decode_any<T: DecodeOwned>(any: &Any) -> Option<T> {
    let der: Vec<u8> = Encode::to_der(any).ok()?;
    T::from_der(&der).ok()
}

fn prf_bytes(prf: pbes2::Pbkdf2Prf) -> usize {
    match prf {
        pbes2::Pbkdf2Prf::HmacWithSha1 => SHA1_BYTES,
        pbes2::Pbkdf2Prf::HmacWithSha224 => 28,
        pbes2::Pbkdf2Prf::HmacWithSha256 => 32,
        pbes2::Pbkdf2Prf::HmacWithSha384 => 48,
        _ => 64,
    }
}

fn positive(iterations: i32) -> u64 {
    u64::try_from(iterations).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use secrecy::SecretString;

    use super::*;
    use crate::outbound::hostile_p12::{
        data_safe, encrypted_safe, many_key_bags, pbes2_parameters, pfx, scrypt_key_bag,
        shrouded_key_bags,
    };
    use crate::outbound::identity::{Identity, IdentityError};
    use crate::outbound::test_pki::{KeyKind, P12Kind, PASSWORD, TempDir, TestPki, provider};

    fn load(bytes: &[u8]) -> Result<Identity, IdentityError> {
        Identity::from_pkcs12(bytes, &SecretString::from(PASSWORD), &provider())
    }

    #[test]
    fn every_kind_of_real_file_is_well_within_the_budget() {
        let pki = TestPki::new("Work");
        let dir = TempDir::new();
        let client = pki.client(KeyKind::Ec, None);
        for kind in [
            P12Kind::Modern,
            P12Kind::TripleDes,
            P12Kind::OpensslDefault,
            P12Kind::OpensslLegacy,
            P12Kind::OpensslPlain,
        ] {
            let bytes = std::fs::read(client.write_p12(&dir, kind, PASSWORD)).expect("read");
            let work = check(&bytes, PASSWORD, MAX_WORK).expect("within the budget");
            // The 3DES Windows export is the dearest: 100,000 (three SHA-1 blocks per 3DES derivation).
            assert!(work.iterations <= MAX_WORK / 100, "{kind:?}: {work:?}");
        }
        // p12-keystore's writer: 10,000 iterations for the MAC, the certificates' safe (counted
        // twice: decrypted here and in p12-keystore) and the key, one SHA-256 block each.
        let modern = client.p12_with_key(&client.key_pkcs8, PASSWORD);
        assert_eq!(
            check(&modern, PASSWORD, MAX_WORK),
            Ok(Work {
                derivations: 4,
                iterations: 40_000
            })
        );
    }

    #[test]
    fn many_key_bags_at_the_iteration_cap_are_refused_before_any_derivation() {
        // The review's file: 300 bags x 1,000,000 iterations, about 30 s of CPU in p12-keystore.
        let bytes = many_key_bags(300, 1_000_000);
        let started = Instant::now();

        let error = load(&bytes).expect_err("refused");

        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused without deriving: {:?}",
            started.elapsed()
        );
        let message = error.to_string();
        assert!(
            matches!(error, IdentityError::Work(WorkError::TooMuch { .. })),
            "{message}"
        );
        assert!(
            message.contains("more than the 10000000 accepted per file"),
            "{message}"
        );
    }

    #[test]
    fn key_bags_hidden_in_an_encrypted_safe_are_counted_too() {
        // A cheap, really encrypted safe (1,000 iterations) holding 50 bags at 1,000,000.
        let inner = shrouded_key_bags(50, &pbes2_parameters(1_000_000));
        let bytes = pfx(vec![encrypted_safe(
            &inner,
            PASSWORD,
            &pbes2_parameters(1_000),
        )]);
        let started = Instant::now();

        let error = check(&bytes, PASSWORD, MAX_WORK).expect_err("refused");

        assert!(started.elapsed() < Duration::from_secs(1));
        let WorkError::TooMuch { work, .. } = error else {
            panic!("{error}");
        };
        assert!(
            work.derivations > 2,
            "the inner bags were counted: {work:?}"
        );
    }

    #[test]
    fn a_file_just_within_the_budget_is_handed_over_and_one_just_over_is_not() {
        let within = pfx(vec![data_safe(&shrouded_key_bags(
            2,
            &pbes2_parameters(1_000),
        ))]);
        assert_eq!(
            check(&within, PASSWORD, 2_000),
            Ok(Work {
                derivations: 2,
                iterations: 2_000
            })
        );
        assert!(matches!(
            check(&within, PASSWORD, 1_999),
            Err(WorkError::TooMuch { .. })
        ));
    }

    #[test]
    fn scrypt_is_refused_without_allocating_its_memory() {
        let error = load(&scrypt_key_bag()).expect_err("refused");
        assert!(
            matches!(error, IdentityError::Work(WorkError::Scrypt)),
            "{error}"
        );
    }

    #[test]
    fn bytes_that_are_not_pkcs12_are_left_to_p12_keystore_to_describe() {
        assert_eq!(check(b"garbage", PASSWORD, MAX_WORK), Ok(Work::default()));
        assert!(matches!(
            load(b"garbage"),
            Err(IdentityError::Malformed { .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// A real file with one byte changed anywhere: counted and decoded without a panic;
        /// what the count refuses is not decoded.
        #[test]
        fn a_corrupted_file_is_counted_and_refused_or_decoded_without_a_panic(
            index in 0usize..4096,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let bytes = corrupted(index, byte);
            let counted = check(&bytes, PASSWORD, MAX_WORK);
            let loaded = load(&bytes);
            if counted.is_err() {
                proptest::prop_assert!(loaded.is_err());
            }
        }
    }

    fn corrupted(index: usize, byte: u8) -> Vec<u8> {
        static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let file = FILE.get_or_init(|| {
            let pki = TestPki::new("Corrupted");
            let client = pki.client(KeyKind::Ec, None);
            client.p12_with_key(&client.key_pkcs8, PASSWORD)
        });
        let mut bytes = file.clone();
        let at = index % bytes.len();
        bytes[at] = byte;
        bytes
    }
}
