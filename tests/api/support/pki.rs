//! A test PKI made with rcgen at test time: a root CA, an intermediate, and client certificates
//! shaped as each test needs, written to a temporary folder. No key is ever committed.

use std::path::PathBuf;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// A certificate with its key.
pub struct Issued {
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pem: String,
    /// PKCS#8 DER of the private key.
    pub key_der: Vec<u8>,
}

impl Issued {
    /// The `X-ARR-ClientCert` value App Service would send: base64 of the DER.
    pub fn header(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    pub fn sha1(&self) -> String {
        use sha1::Digest;
        hex_upper(&sha1::Sha1::digest(&self.der))
    }

    pub fn sha256(&self) -> String {
        use sha2::Digest;
        hex_upper(&sha2::Sha256::digest(&self.der))
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// How to shape a client certificate.
#[derive(Clone)]
pub struct Leaf {
    pub subject: Vec<(DnType, String)>,
    pub dns_names: Vec<String>,
    pub client_auth: bool,
    pub server_auth_only: bool,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub serial: u64,
}

impl Leaf {
    pub fn client(cn: &str) -> Self {
        Self {
            subject: vec![(DnType::CommonName, cn.to_owned())],
            dns_names: Vec::new(),
            client_auth: true,
            server_auth_only: false,
            not_before: OffsetDateTime::now_utc() - Duration::days(1),
            not_after: OffsetDateTime::now_utc() + Duration::days(30),
            serial: 0x1001,
        }
    }
}

/// A CA that can sign leaves (and CRLs).
pub struct Authority {
    pub cert: Issued,
    issuer: Issuer<'static, KeyPair>,
}

/// Root CA, intermediate, and a folder for files.
pub struct TestPki {
    pub root: Authority,
    pub intermediate: Authority,
    pub dir: PathBuf,
}

impl TestPki {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mtls-handler-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create PKI folder");
        let root = authority("Test Root CA", None);
        let intermediate = authority("Test Intermediate CA", Some(&root));
        Self {
            root,
            intermediate,
            dir,
        }
    }

    /// Writes `contents` to `<dir>/<name>` and returns the path as a string.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("write PKI file");
        path.to_string_lossy().into_owned()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A leaf signed by the root CA.
    pub fn issue(&self, leaf: &Leaf) -> Issued {
        sign(leaf, &self.root.issuer)
    }

    /// A leaf that names the root CA as its issuer but is signed by another key of the same
    /// name: what a forger without the CA's key makes.
    pub fn forge(&self, leaf: &Leaf) -> Issued {
        sign(leaf, &authority("Test Root CA", None).issuer)
    }

    /// A leaf signed by the intermediate CA.
    pub fn issue_under_intermediate(&self, leaf: &Leaf) -> Issued {
        sign(leaf, &self.intermediate.issuer)
    }

    /// A server certificate for 127.0.0.1 and localhost, signed by the root CA.
    pub fn server(&self) -> Issued {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.root.issuer).expect("sign");
        Issued {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }

    /// A PKCS#12 file (p12-keystore's defaults: PBES2 AES-256, SHA-256 MAC) holding `key` and
    /// `chain` (leaf first).
    pub fn pkcs12(&self, key_der: &[u8], chain: &[&Issued], password: &str) -> Vec<u8> {
        let key = p12_keystore::PrivateKey::from_der(key_der).expect("PKCS#8 key");
        let certs: Vec<_> = chain
            .iter()
            .map(|issued| p12_keystore::Certificate::from_der(&issued.der).expect("certificate"))
            .collect();
        let mut store = p12_keystore::KeyStore::new();
        let entry = p12_keystore::PrivateKeyChain::new("identity", key, certs);
        store.add_entry(
            "identity",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(entry),
        );
        store.writer(password).write().expect("write PKCS#12")
    }

    /// A CA certificate (basicConstraints cA=TRUE) with the leaf's subject, signed by the root.
    pub fn issue_as_ca(&self, leaf: &Leaf) -> Issued {
        let key = KeyPair::generate().expect("key");
        let mut params = params(leaf);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.signed_by(&key, &self.root.issuer).expect("sign");
        issued(&cert, &key)
    }

    /// A self-signed leaf with the same shape: what an impostor can make.
    pub fn self_signed(&self, leaf: &Leaf) -> Issued {
        let key = KeyPair::generate().expect("key");
        let cert = params(leaf).self_signed(&key).expect("self-sign");
        issued(&cert, &key)
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn params(leaf: &Leaf) -> CertificateParams {
    let mut params = CertificateParams::new(leaf.dns_names.clone()).expect("params");
    let mut dn = DistinguishedName::new();
    for (kind, value) in &leaf.subject {
        dn.push(kind.clone(), value.clone());
    }
    params.distinguished_name = dn;
    params.subject_alt_names = leaf
        .dns_names
        .iter()
        .map(|name| SanType::DnsName(name.clone().try_into().expect("DNS name")))
        .collect();
    params.not_before = leaf.not_before;
    params.not_after = leaf.not_after;
    params.serial_number = Some(leaf.serial.into());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = if leaf.server_auth_only {
        vec![ExtendedKeyUsagePurpose::ServerAuth]
    } else if leaf.client_auth {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    } else {
        Vec::new()
    };
    params
}

fn sign(leaf: &Leaf, issuer: &Issuer<'static, KeyPair>) -> Issued {
    let key = KeyPair::generate().expect("key");
    let cert = params(leaf).signed_by(&key, issuer).expect("sign");
    issued(&cert, &key)
}

fn authority(cn: &str, parent: Option<&Authority>) -> Authority {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(2);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
    let cert = match parent {
        None => params.self_signed(&key).expect("self-sign CA"),
        Some(parent) => params
            .signed_by(&key, &parent.issuer)
            .expect("sign intermediate"),
    };
    let issued = issued(&cert, &key);
    Authority {
        cert: issued,
        issuer: Issuer::new(params, key),
    }
}

impl Authority {
    /// `spec` written by hand and signed by this CA (what rcgen cannot write: delta CRLs).
    pub fn crl_from(&self, spec: &super::crl_spec::CrlSpec) -> Vec<u8> {
        use rcgen::SigningKey;
        spec.signed(&self.cert.der, &|message| {
            self.issuer.key().sign(message).expect("sign CRL")
        })
    }

    /// A CRL from this CA revoking `serials`, valid from yesterday until `next_update`.
    pub fn crl(&self, serials: &[u64], next_update: OffsetDateTime) -> String {
        self.crl_numbered(serials, 1, next_update)
    }

    /// Like [`Authority::crl`], with CRL number `number`.
    pub fn crl_numbered(
        &self,
        serials: &[u64],
        number: u64,
        next_update: OffsetDateTime,
    ) -> String {
        let now = OffsetDateTime::now_utc();
        let params = rcgen::CertificateRevocationListParams {
            this_update: now - Duration::days(1),
            next_update,
            crl_number: number.into(),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|serial| rcgen::RevokedCertParams {
                    serial_number: (*serial).into(),
                    revocation_time: now - Duration::hours(1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .expect("sign CRL")
            .pem()
            .expect("CRL PEM")
    }
}

fn issued(cert: &rcgen::Certificate, key: &KeyPair) -> Issued {
    Issued {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
    }
}
