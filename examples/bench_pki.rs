//! The PKI `bench/load.sh` needs, made at run time: `handler dev`'s development PKI (CA, server
//! certificate for the upstream, a client certificate, the PKCS#12 outbound identity), plus a
//! self-signed certificate to pin by thumbprint and a second CA with many distinct client
//! certificates (one `X-ARR-ClientCert` value per line) so that the decision cache cannot help,
//! and two forged templates that name that CA as issuer without its signature (`forged.der`,
//! CN `flood.invalid`; `forged-allowlisted.der`, the allowlisted rotating CN) for
//! `bench/flood.sh`.
//!
//! Usage: `cargo run --release --example bench_pki -- <dir> <distinct-certificates>`.
//! Writes `<dir>/bench.env` (shell variables the script sources). Benchmark credentials only.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mtls_handler::dev::pki::{self, DevPki};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha1::Digest as _;
use time::{Duration, OffsetDateTime};

/// The common name every rotating certificate shares (allowlisted by name, under its CA).
const ROTATING_CN: &str = "bench-rotating.mtls-handler.local";
const PINNED_CN: &str = "bench-pinned.mtls-handler.local";
/// The serial of the forged templates; `examples/flood.rs` rewrites its last 8 bytes.
const FORGED_SERIAL: [u8; 16] = [
    0x51, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(count)) = (args.next(), args.next()) else {
        return Err("usage: bench_pki <dir> <distinct-certificates>".into());
    };
    let count: u64 = count.parse()?;
    let dir = Path::new(&dir);
    let dev = DevPki::load_or_create(dir)?;

    let client = CertificateDer::from_pem_file(dev.file("client.pem"))?;
    std::fs::write(dir.join("client.b64"), STANDARD.encode(&client))?;

    let pinned_key = KeyPair::generate()?;
    let pinned = client_params(PINNED_CN, 1).self_signed(&pinned_key)?;
    std::fs::write(dir.join("pinned.b64"), STANDARD.encode(pinned.der()))?;
    let pinned_sha1: String = sha1::Sha1::digest(pinned.der())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect();

    let (ca_params, ca_key) = authority()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    std::fs::write(dir.join("rotating-ca.pem"), ca_cert.pem())?;
    let issuer = Issuer::new(ca_params, ca_key);
    // One key for all: the certificates still differ (serial, signature), which is what the
    // cache keys on, and generation stays fast.
    let leaf_key = KeyPair::generate()?;
    let mut lines = String::new();
    for serial in 1..=count {
        let cert = client_params(ROTATING_CN, serial).signed_by(&leaf_key, &issuer)?;
        lines.push_str(&STANDARD.encode(cert.der()));
        lines.push('\n');
    }
    std::fs::write(dir.join("rotating.txt"), lines)?;

    // Forgeries for `flood --template`: the rotating CA's name as issuer, signed by another key
    // (what anyone can make without the CA's key), with FORGED_SERIAL for the flooder to rewrite.
    let (forger_params, _) = authority()?;
    let forger = Issuer::new(forger_params, KeyPair::generate()?);
    for (file, cn) in [
        ("forged.der", "flood.invalid"),
        ("forged-allowlisted.der", ROTATING_CN),
    ] {
        let mut params = client_params(cn, 1);
        params.serial_number = Some(SerialNumber::from_slice(&FORGED_SERIAL));
        std::fs::write(dir.join(file), params.signed_by(&leaf_key, &forger)?.der())?;
    }

    let mut env = String::new();
    writeln!(env, "CLIENT_CN='{}'", pki::CLIENT_CN)?;
    writeln!(env, "ROTATING_CN='{ROTATING_CN}'")?;
    writeln!(env, "PINNED_SHA1='{pinned_sha1}'")?;
    writeln!(env, "OUTBOUND_PASSWORD='{}'", pki::OUTBOUND_PASSWORD)?;
    std::fs::write(dir.join("bench.env"), env)?;
    Ok(())
}

fn authority() -> Result<(CertificateParams, KeyPair), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "mtls-handler bench rotating CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(30);
    Ok((params, key))
}

fn client_params(cn: &str, serial: u64) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.serial_number = Some(serial.into());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(30);
    params
}
