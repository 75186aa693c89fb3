//! Hand-built PKCS#12 files that ask for more key-derivation work than any identity needs: many
//! shrouded key bags claiming a high iteration count (their ciphertext is filler, since only the
//! claimed count costs anything), in a plain safe or inside a really encrypted one, and a bag
//! using scrypt. Written with the RustCrypto types p12-keystore reads with.
//!
//! Self-contained, so both the library's unit tests (`src/outbound/pkcs12_work.rs` includes it
//! with `#[path]`) and the integration tests use it.
#![allow(dead_code)]

use pkcs5::der::asn1::{ObjectIdentifier, OctetString};
use pkcs5::der::{Any, Decode, Encode};
use pkcs5::pbes2;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::{CmsVersion, ContentInfo};
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::cms::enveloped_data::EncryptedContentInfo;
use pkcs12::pbe_params::EncryptedPrivateKeyInfo;
use pkcs12::pfx::{Pfx, Version};
use pkcs12::safe_bag::SafeBag;

const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

/// PBES2 with PBKDF2-SHA256 at `iterations` and AES-256-CBC.
pub fn pbes2_parameters(iterations: u32) -> pbes2::Parameters {
    pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &[7u8; 16], [9u8; 16])
        .expect("PBES2 parameters")
}

fn algorithm(parameters: &pbes2::Parameters) -> AlgorithmIdentifierOwned {
    let der = parameters.to_der().expect("encode parameters");
    AlgorithmIdentifierOwned {
        oid: PBES2,
        parameters: Some(Any::from_der(&der).expect("parameters as Any")),
    }
}

/// `count` shrouded key bags, each claiming `parameters` over 32 bytes of filler.
pub fn shrouded_key_bags(count: usize, parameters: &pbes2::Parameters) -> Vec<SafeBag> {
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: algorithm(parameters),
        encrypted_data: OctetString::new(vec![0x5a; 32]).expect("octets"),
    };
    // SafeBag's encoder adds the `[0]` around the value itself.
    let value = info.to_der().expect("encode bag value");
    (0..count)
        .map(|_| SafeBag {
            bag_id: SHROUDED_KEY_BAG,
            bag_value: value.clone(),
            bag_attributes: None,
        })
        .collect()
}

/// A plain (`data`) safe holding `bags`.
pub fn data_safe(bags: &[SafeBag]) -> ContentInfo {
    content_info(DATA, octets(bags.to_vec().to_der().expect("encode bags")))
}

/// An `encryptedData` safe holding `bags`, really encrypted with `password` under `parameters`.
pub fn encrypted_safe(
    bags: &[SafeBag],
    password: &str,
    parameters: &pbes2::Parameters,
) -> ContentInfo {
    let plain = bags.to_vec().to_der().expect("encode bags");
    let ciphertext = parameters
        .encrypt(password.as_bytes(), &plain)
        .expect("encrypt the safe");
    let data = EncryptedData {
        version: CmsVersion::V0,
        enc_content_info: EncryptedContentInfo {
            content_type: DATA,
            content_enc_alg: algorithm(parameters),
            encrypted_content: Some(OctetString::new(ciphertext).expect("octets")),
        },
        unprotected_attrs: None,
    };
    let der = data.to_der().expect("encode encrypted data");
    ContentInfo {
        content_type: ENCRYPTED_DATA,
        content: Any::from_der(&der).expect("encrypted data as Any"),
    }
}

/// A PFX without a MAC (none is needed for the work to be done) over `safes`.
pub fn pfx(safes: Vec<ContentInfo>) -> Vec<u8> {
    let auth_safe = content_info(DATA, octets(safes.to_der().expect("encode safes")));
    Pfx {
        version: Version::V3,
        auth_safe,
        mac_data: None,
    }
    .to_der()
    .expect("encode PFX")
}

/// The review's file: `bags` shrouded key bags at `iterations` each, in one plain safe.
pub fn many_key_bags(bags: usize, iterations: u32) -> Vec<u8> {
    pfx(vec![data_safe(&shrouded_key_bags(
        bags,
        &pbes2_parameters(iterations),
    ))])
}

/// One shrouded key bag whose PBES2 uses scrypt (N = 2^20, r = 8: a gigabyte).
pub fn scrypt_key_bag() -> Vec<u8> {
    let scrypt = pbes2::ScryptParams {
        salt: pbes2::Salt::new([3u8; 16]).expect("salt"),
        cost_parameter: 1 << 20,
        block_size: 8,
        parallelization: 1,
        key_length: None,
    };
    let parameters = pbes2::Parameters {
        kdf: scrypt.into(),
        encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [1u8; 16] },
    };
    pfx(vec![data_safe(&shrouded_key_bags(1, &parameters))])
}

fn octets(bytes: Vec<u8>) -> Any {
    let der = OctetString::new(bytes)
        .expect("octets")
        .to_der()
        .expect("encode octets");
    Any::from_der(&der).expect("octets as Any")
}

fn content_info(content_type: ObjectIdentifier, content: Any) -> ContentInfo {
    ContentInfo {
        content_type,
        content,
    }
}
