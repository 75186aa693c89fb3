//! Test PKI for the outbound tests, generated at test time (no key is committed): a root CA,
//! an intermediate CA that signs client certificates, a server certificate for 127.0.0.1, and
//! PKCS#12 files of every kind users bring, written by p12-keystore or by the `openssl` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

use super::availability::{Reason, Unavailable};
use super::client::OutboundSettings;
use super::identity::Identity;
use super::tls;

/// The password of the generated files; tests assert it never shows in an error.
pub const PASSWORD: &str = "s3cret-Pa55word!";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ec,
    Rsa,
}

/// Every PKCS#12 flavour we claim to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P12Kind {
    /// p12-keystore's default: PBES2 AES-256-CBC, HMAC-SHA-256 (what OpenSSL 3 writes too).
    Modern,
    /// 3DES for keys and certificates, SHA-1 MAC: a Windows export.
    TripleDes,
    /// `openssl pkcs12 -export` with OpenSSL 3's defaults.
    OpensslDefault,
    /// `openssl pkcs12 -export -legacy`: 3DES key, RC2-40 certificates, SHA-1 MAC.
    OpensslLegacy,
    /// `-keypbe NONE -certpbe NONE -nomac`: plain bags, no integrity check.
    OpensslPlain,
}

/// How [`TestPki::shaped`] makes a certificate with the client's CN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// clientAuth, issued by the intermediate: the real thing.
    Client,
    /// No extended key usage at all (allowed).
    NoExtendedKeyUsage,
    ServerAuthOnly,
    /// basicConstraints cA=TRUE.
    Ca,
    /// Issued by the root instead of the intermediate: another issuer.
    FromRoot,
    SelfSigned,
}

/// A client certificate and key, with the chain that issued it.
pub struct ClientIdentity {
    pub leaf: CertificateDer<'static>,
    pub key_pkcs8: Vec<u8>,
    /// Intermediate, then root.
    pub cas: Vec<CertificateDer<'static>>,
}

pub struct TestPki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
    pub server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl TestPki {
    pub fn new(name: &str) -> Self {
        let root =
            CertifiedIssuer::self_signed(ca_params(&format!("{name} Root CA")), key(KeyKind::Ec))
                .expect("root CA");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params(&format!("{name} Intermediate CA")),
            key(KeyKind::Ec),
            &root,
        )
        .expect("intermediate CA");
        let server_key = key(KeyKind::Ec);
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server SAN");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = params.signed_by(&server_key, &root).expect("server cert");
        Self {
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            root,
            intermediate,
        }
    }

    pub fn root(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    pub fn server_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()))
    }

    /// A client certificate signed by the intermediate CA, valid now (or over `validity`).
    pub fn client(
        &self,
        kind: KeyKind,
        validity: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> ClientIdentity {
        self.shaped(Shape::Client, kind, validity)
    }

    /// A certificate with the client's CN, shaped as `shape` (a decoy, or the real thing).
    pub fn shaped(
        &self,
        shape: Shape,
        kind: KeyKind,
        validity: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> ClientIdentity {
        let key = key(kind);
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SAN");
        params
            .distinguished_name
            .push(DnType::CommonName, "outbound-client");
        params.extended_key_usages = match shape {
            Shape::ServerAuthOnly => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Shape::NoExtendedKeyUsage => Vec::new(),
            _ => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
        if shape == Shape::Ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        if let Some((not_before, not_after)) = validity {
            params.not_before = not_before;
            params.not_after = not_after;
        }
        let (leaf, cas) = match shape {
            Shape::FromRoot => (
                params.signed_by(&key, &self.root).expect("client cert"),
                vec![self.root.der().clone()],
            ),
            Shape::SelfSigned => (params.self_signed(&key).expect("self-signed"), Vec::new()),
            _ => (
                params
                    .signed_by(&key, &self.intermediate)
                    .expect("client cert"),
                vec![self.intermediate.der().clone(), self.root.der().clone()],
            ),
        };
        ClientIdentity {
            leaf: leaf.der().clone(),
            key_pkcs8: key.serialize_der(),
            cas,
        }
    }

    /// Settings trusting only this PKI's root, for `url`, presenting `identity` (none: the
    /// client is unavailable).
    pub fn settings(&self, url: &str, identity: Option<&Identity>) -> OutboundSettings {
        let provider = tls::provider();
        let verifier = tls::verifier(vec![self.root()], false, &provider).expect("verifier");
        OutboundSettings {
            url: Some(url.parse().expect("test URL")),
            verifier,
            provider,
            identity: identity.cloned().ok_or_else(|| {
                Unavailable::new(
                    Reason::IdentityMissing,
                    "OUTBOUND_CLIENT_CERT_PATH",
                    "none",
                    false,
                )
            }),
            connect_timeout: std::time::Duration::from_millis(500),
            timeout: std::time::Duration::from_millis(500),
            max_response_bytes: 1024,
            trust_public_roots: false,
            private_ca_count: 1,
            identity_reload: None,
        }
    }
}

impl ClientIdentity {
    /// Writes a PKCS#12 file of `kind` into `dir`; CA certificates go in root-first, so the
    /// reader has to order them.
    pub fn write_p12(&self, dir: &TempDir, kind: P12Kind, password: &str) -> PathBuf {
        let path = dir.file(&format!("{kind:?}.p12"));
        let bytes = match kind {
            P12Kind::Modern => self.keystore_p12(
                password,
                EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
                MacAlgorithm::HmacSha256,
            ),
            P12Kind::TripleDes => self.keystore_p12(
                password,
                EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
                MacAlgorithm::HmacSha1,
            ),
            P12Kind::OpensslDefault => return self.openssl_p12(dir, &path, password, &[]),
            P12Kind::OpensslLegacy => return self.openssl_p12(dir, &path, password, &["-legacy"]),
            P12Kind::OpensslPlain => {
                let args = ["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"];
                return self.openssl_p12(dir, &path, password, &args);
            }
        };
        std::fs::write(&path, bytes).expect("write p12");
        path
    }

    /// A p12-keystore file holding `key_pkcs8` under this leaf (used for a mismatched key).
    pub fn p12_with_key(&self, key_pkcs8: &[u8], password: &str) -> Vec<u8> {
        let certs = std::iter::once(&self.leaf)
            .chain(self.cas.iter().rev())
            .map(|der| Certificate::from_der(der).expect("cert"));
        let key = PrivateKey::from_der(key_pkcs8).expect("pkcs8");
        let mut store = KeyStore::new();
        let chain = PrivateKeyChain::new(b"key-1".as_slice(), key, certs);
        store.add_entry("client", KeyStoreEntry::PrivateKeyChain(chain));
        store.writer(password).write().expect("write p12")
    }

    /// A file with the certificates only.
    pub fn p12_without_key(&self, password: &str) -> Vec<u8> {
        let mut store = KeyStore::new();
        let leaf = Certificate::from_der(&self.leaf).expect("cert");
        store.add_entry("leaf", KeyStoreEntry::Certificate(leaf));
        store.writer(password).write().expect("write p12")
    }

    fn keystore_p12(
        &self,
        password: &str,
        encryption: EncryptionAlgorithm,
        mac: MacAlgorithm,
    ) -> Vec<u8> {
        let certs = std::iter::once(&self.leaf)
            .chain(self.cas.iter().rev())
            .map(|der| Certificate::from_der(der).expect("cert"));
        let key = PrivateKey::from_der(&self.key_pkcs8).expect("pkcs8");
        let mut store = KeyStore::new();
        store.add_entry(
            "client",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(b"key-1".as_slice(), key, certs)),
        );
        store
            .writer(password)
            .encryption_algorithm(encryption)
            .mac_algorithm(mac)
            .write()
            .expect("write p12")
    }

    fn openssl_p12(&self, dir: &TempDir, out: &Path, password: &str, extra: &[&str]) -> PathBuf {
        let leaf = dir.file("leaf.pem");
        let key = dir.file("key.pem");
        let cas = dir.file("cas.pem");
        std::fs::write(&leaf, pem("CERTIFICATE", &self.leaf)).expect("leaf pem");
        std::fs::write(&key, pem("PRIVATE KEY", &self.key_pkcs8)).expect("key pem");
        let ca_pem: String = self
            .cas
            .iter()
            .rev()
            .map(|der| pem("CERTIFICATE", der))
            .collect();
        std::fs::write(&cas, ca_pem).expect("ca pem");
        let status = Command::new("openssl")
            .args(["pkcs12", "-export", "-in"])
            .arg(&leaf)
            .arg("-inkey")
            .arg(&key)
            .arg("-certfile")
            .arg(&cas)
            .arg("-out")
            .arg(out)
            .arg("-passout")
            .arg(format!("pass:{password}"))
            .args(extra)
            .status()
            .expect("the openssl CLI is installed");
        assert!(status.success(), "openssl pkcs12 -export {extra:?} failed");
        out.to_path_buf()
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "mtls-handler-outbound-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The ring provider, as the code under test uses it.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    tls::provider()
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SAN");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// An EC P-256 key from rcgen, or an RSA-2048 key from the openssl CLI (ring cannot generate RSA).
pub fn key(kind: KeyKind) -> KeyPair {
    match kind {
        KeyKind::Ec => KeyPair::generate().expect("EC key"),
        KeyKind::Rsa => {
            let output = Command::new("openssl")
                .args([
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ])
                .output()
                .expect("the openssl CLI is installed");
            assert!(output.status.success(), "openssl genpkey failed");
            let pem = String::from_utf8(output.stdout).expect("PEM is text");
            KeyPair::from_pem(&pem).expect("RSA key")
        }
    }
}
