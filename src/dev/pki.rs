//! The development PKI: made once with rcgen in a git-ignored folder, reused on later starts.
//!
//! Files: `ca.pem` (+ `ca.key`), `server.pem`/`server.key` (localhost, 127.0.0.1),
//! `client.pem`/`client.key` (clientAuth, CN [`CLIENT_CN`]), `outbound.p12` (the outbound
//! identity, password [`OUTBOUND_PASSWORD`]). These are development credentials only.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// The common name of the development client certificate, allowlisted by `handler dev`.
pub const CLIENT_CN: &str = "dev-client.mtls-handler.local";
/// The common name of the development outbound identity.
pub const OUTBOUND_CN: &str = "dev-outbound.mtls-handler.local";
/// The password of `outbound.p12` (a development file; never use it for anything else).
pub const OUTBOUND_PASSWORD: &str = "mtls-handler-dev";

const FILES: [&str; 8] = [
    "ca.pem",
    "ca.key",
    "server.pem",
    "server.key",
    "client.pem",
    "client.key",
    "outbound.pem",
    "outbound.p12",
];

/// Why the development PKI could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot generate the development certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write the PKCS#12 identity: {0}")]
    Pkcs12(String),
    #[error("no development PKI in {dir}: run `handler dev` once (or give --dir)")]
    Missing { dir: String },
}

/// Paths of the development PKI's files.
#[derive(Debug, Clone)]
pub struct DevPki {
    pub dir: PathBuf,
    /// Whether this start created the files (false when they were reused).
    pub created: bool,
}

impl DevPki {
    /// Reuses the PKI in `dir` when every file is there, or creates a new one.
    ///
    /// # Errors
    /// [`PkiError`] when the folder cannot be written or generation fails.
    pub fn load_or_create(dir: &Path) -> Result<Self, PkiError> {
        let complete = FILES.iter().all(|name| dir.join(name).is_file());
        if !complete {
            create(dir)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            created: !complete,
        })
    }

    /// The PKI already in `dir`, without creating one.
    ///
    /// # Errors
    /// [`PkiError::Missing`] when a file of it is not there.
    pub fn existing(dir: &Path) -> Result<Self, PkiError> {
        if FILES.iter().all(|name| dir.join(name).is_file()) {
            Ok(Self {
                dir: dir.to_owned(),
                created: false,
            })
        } else {
            Err(PkiError::Missing {
                dir: dir.display().to_string(),
            })
        }
    }

    /// The same PKI with an absolute folder (for settings another process reads).
    pub fn absolute(&self) -> Self {
        Self {
            dir: std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone()),
            created: self.created,
        }
    }

    /// The path of one of its files (`ca.pem`, `client.pem`, ...).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn create(dir: &Path) -> Result<(), PkiError> {
    std::fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
    let (ca_params, ca_key) = authority()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    write(dir, "ca.pem", ca_cert.pem())?;
    write_secret(dir, "ca.key", issuer.key().serialize_pem())?;

    let server_names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let (server, server_key) = leaf(
        "localhost",
        server_names,
        ExtendedKeyUsagePurpose::ServerAuth,
        &issuer,
    )?;
    write(
        dir,
        "server.pem",
        format!("{}{}", server.pem(), ca_cert.pem()),
    )?;
    write_secret(dir, "server.key", server_key.serialize_pem())?;

    let (client, client_key) = leaf(
        CLIENT_CN,
        Vec::new(),
        ExtendedKeyUsagePurpose::ClientAuth,
        &issuer,
    )?;
    write(dir, "client.pem", client.pem())?;
    write_secret(dir, "client.key", client_key.serialize_pem())?;

    let (outbound, outbound_key) = leaf(
        OUTBOUND_CN,
        Vec::new(),
        ExtendedKeyUsagePurpose::ClientAuth,
        &issuer,
    )?;
    write(dir, "outbound.pem", outbound.pem())?;
    let p12 = pkcs12(&outbound_key, outbound.der(), ca_cert.der())?;
    write_secret(dir, "outbound.p12", p12)
}

fn authority() -> Result<(CertificateParams, KeyPair), PkiError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "mtls-handler development CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
    Ok((params, key))
}

fn leaf(
    cn: &str,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(rcgen::Certificate, KeyPair), PkiError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = names
        .into_iter()
        .map(|name| match name.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => name.try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(825);
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert, key))
}

fn pkcs12(key: &KeyPair, leaf: &[u8], ca: &[u8]) -> Result<Vec<u8>, PkiError> {
    let error = |e: p12_keystore::error::Error| PkiError::Pkcs12(e.to_string());
    let private_key = p12_keystore::PrivateKey::from_der(&key.serialize_der()).map_err(error)?;
    let chain = [
        p12_keystore::Certificate::from_der(leaf).map_err(error)?,
        p12_keystore::Certificate::from_der(ca).map_err(error)?,
    ];
    let mut store = p12_keystore::KeyStore::new();
    let entry = p12_keystore::PrivateKeyChain::new("outbound", private_key, chain);
    store.add_entry(
        "outbound",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(entry),
    );
    store.writer(OUTBOUND_PASSWORD).write().map_err(error)
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> Result<(), PkiError> {
    let path = dir.join(name);
    std::fs::write(&path, contents).map_err(|source| write_error(&path, source))
}

/// A private key or PKCS#12 file: readable and writable by the owner only (0600 on Unix), set
/// when the file is created so the key is never readable by others, even briefly.
fn write_secret(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> Result<(), PkiError> {
    use std::io::Write as _;
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|source| write_error(&path, source))?;
    #[cfg(unix)]
    {
        // An existing file keeps its mode on open: tighten it too.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|source| write_error(&path, source))?;
    }
    file.write_all(contents.as_ref())
        .map_err(|source| write_error(&path, source))
}

fn write_error(path: &Path, source: std::io::Error) -> PkiError {
    PkiError::Write {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_start_reuses_the_pki() {
        let dir = std::env::temp_dir().join(format!("mtls-handler-devpki-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        let first = DevPki::load_or_create(&dir).expect("create");
        assert!(first.created, "the first start creates the files");
        let ca = std::fs::read(first.file("ca.pem")).expect("ca.pem");
        let second = DevPki::load_or_create(&dir).expect("reuse");
        assert!(!second.created, "the second start reuses them");
        assert_eq!(std::fs::read(second.file("ca.pem")).expect("ca.pem"), ca);
        let p12 = std::fs::read(second.file("outbound.p12")).expect("outbound.p12");
        let store = p12_keystore::KeyStore::from_pkcs12(
            &p12,
            OUTBOUND_PASSWORD,
            p12_keystore::Pkcs12ImportPolicy::default(),
        )
        .expect("p12 reads back");
        let (_, chain) = store.private_key_chain().expect("a key with its chain");
        assert_eq!(chain.certs().len(), 2, "leaf and CA");
        #[cfg(unix)]
        for name in ["ca.key", "server.key", "client.key", "outbound.p12"] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(second.file(name))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name} is readable by the owner only");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
