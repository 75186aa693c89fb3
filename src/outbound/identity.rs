//! The outbound client identity: a private key and its certificate chain, read once at startup
//! from a PKCS#12 file (what App Service puts in `/var/ssl/private/`) or, as a convenience, a PEM
//! file holding the chain and the key.
//!
//! PKCS#12 is decoded by p12-keystore, a maintained pure-Rust reader: it handles OpenSSL 3's
//! default (PBES2 AES-256-CBC, SHA-256 MAC), the legacy RC2-40/3DES + SHA-1 files, 3DES-only
//! Windows exports, and files without encryption or MAC. We take its raw bags and link key,
//! leaf and CA certificates ourselves (by localKeyId, else by public key; then by issuer), so
//! files written without localKeyId attributes still work.
//!
//! This module owns parsing and the startup checks (key present, key matches its certificate,
//! not expired). It does not know about settings, trust roots or HTTP.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::sign::CertifiedKey;
use secrecy::{ExposeSecret, SecretString};

use super::chain::{LeafFacts, find_leaf, order_chain};
use super::pkcs12_work::{self, WorkError};
use crate::cert_file::{self, Encoding, LoadError};

/// Why the identity could not be loaded. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Read(#[from] LoadError),
    #[error("wrong password: the PKCS#12 integrity check (MAC) failed")]
    WrongPassword,
    #[error("cannot decrypt the PKCS#12 file (wrong password or unsupported algorithm): {detail}")]
    Decrypt { detail: String },
    /// The file asks for more key-derivation work than an identity needs (see `pkcs12_work`).
    #[error(transparent)]
    Work(#[from] WorkError),
    #[error("not a PKCS#12 or PEM file: {detail}")]
    Malformed { detail: String },
    #[error("the file holds no private key")]
    NoPrivateKey,
    #[error("the file holds no certificate")]
    NoCertificate,
    #[error("the private key does not match the certificate {subject:?}")]
    KeyMismatch { subject: String },
    #[error("no certificate in the file matches the private key")]
    NoMatchingCertificate,
    #[error("unusable private key: {detail}")]
    UnusableKey { detail: String },
    #[error("unparsable certificate: {detail}")]
    BadCertificate { detail: String },
    #[error("the certificate {subject:?} expired at {not_after} (now {now})")]
    Expired {
        subject: String,
        not_after: String,
        now: String,
    },
    #[error("the certificate {subject:?} is not valid before {not_before} (now {now})")]
    NotYetValid {
        subject: String,
        not_before: String,
        now: String,
    },
}

/// A private key and its chain (leaf first, then CA certificates ordered by issuer link).
///
/// Two identities are equal when their chains (every certificate, in order) and keys are: a
/// chain completed after its leaf is a different identity.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    leaf: LeafFacts,
}

// === impl Identity ===

impl Identity {
    /// Reads `path`: PEM when it starts like PEM, PKCS#12 otherwise.
    ///
    /// # Errors
    /// Any [`IdentityError`]; validity dates are not checked here (see [`Identity::check_validity`]).
    pub fn load(
        path: &Path,
        password: &SecretString,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        let bytes = cert_file::read(path, cert_file::FileKind::Identity)?;
        Self::from_bytes(&bytes, password, provider)
    }

    /// Decodes PEM (chain and key) or PKCS#12 bytes, told apart by their content.
    ///
    /// # Errors
    /// As [`Identity::from_pkcs12`] and [`Identity::from_pem`].
    pub fn from_bytes(
        bytes: &[u8],
        password: &SecretString,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        match Encoding::sniff(bytes) {
            Encoding::Pem => Self::from_pem(bytes, provider),
            Encoding::Binary => Self::from_pkcs12(bytes, password, provider),
        }
    }

    /// Decodes a PKCS#12 file (any of the encryption and MAC variants above), once its
    /// key-derivation work is counted and found within [`pkcs12_work::MAX_WORK`]. The work is
    /// CPU-bound (up to about a second): call this off the async workers.
    ///
    /// # Errors
    /// [`IdentityError::Work`] over the budget, [`IdentityError::WrongPassword`] on a MAC
    /// failure, [`IdentityError::NoPrivateKey`], [`IdentityError::KeyMismatch`] and the other
    /// parse failures.
    pub fn from_pkcs12(
        der: &[u8],
        password: &SecretString,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        pkcs12_work::check(der, password.expose_secret(), pkcs12_work::MAX_WORK)?;
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(der, password.expose_secret())
            .map_err(classify_pkcs12_error)?;
        let key_bag = archive.keys.first().ok_or(IdentityError::NoPrivateKey)?;
        if archive.keys.len() > 1 {
            tracing::warn!(
                keys = archive.keys.len(),
                "the PKCS#12 file holds several private keys; using the first"
            );
        }
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_bag.key.as_der().to_vec()));
        let certs: Vec<CertificateDer<'static>> = archive
            .certs
            .iter()
            .map(|bag| CertificateDer::from(bag.cert.as_der().to_vec()))
            .collect();
        let linked = archive.certs.iter().position(|bag| {
            matches!((&bag.local_key_id, &key_bag.local_key_id),
                (Some(cert_id), Some(key_id)) if cert_id.as_slice() == key_id.as_ref())
        });
        Self::assemble(certs, linked, key, provider)
    }

    /// Decodes PEM text holding the certificates (any order) and one private key.
    ///
    /// # Errors
    /// As [`Identity::from_pkcs12`], without the password failures.
    pub fn from_pem(pem: &[u8], provider: &CryptoProvider) -> Result<Self, IdentityError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| IdentityError::Malformed {
                detail: error.to_string(),
            })?;
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|error| match error {
            rustls::pki_types::pem::Error::NoItemsFound => IdentityError::NoPrivateKey,
            other => IdentityError::Malformed {
                detail: other.to_string(),
            },
        })?;
        Self::assemble(certs, None, key, provider)
    }

    /// Checks that `now` lies within the leaf's validity period.
    ///
    /// # Errors
    /// [`IdentityError::Expired`] or [`IdentityError::NotYetValid`].
    pub fn check_validity(&self, now: UnixTime) -> Result<(), IdentityError> {
        let now_secs = unix_secs(now);
        if now_secs > self.leaf.not_after {
            return Err(IdentityError::Expired {
                subject: self.leaf.subject.clone(),
                not_after: self.not_after(),
                now: rfc3339(now_secs),
            });
        }
        if now_secs < self.leaf.not_before {
            return Err(IdentityError::NotYetValid {
                subject: self.leaf.subject.clone(),
                not_before: rfc3339(self.leaf.not_before),
                now: rfc3339(now_secs),
            });
        }
        Ok(())
    }

    /// Whether the leaf expires within `window` of `now`.
    pub fn expires_within(&self, now: UnixTime, window: Duration) -> bool {
        let window_secs = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        self.leaf.not_after <= unix_secs(now).saturating_add(window_secs)
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A copy of the private key, for rustls.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The leaf's subject, as text (for logs).
    pub fn subject(&self) -> &str {
        &self.leaf.subject
    }

    /// The leaf's subject CN, if it has one.
    pub fn common_name(&self) -> Option<&str> {
        self.leaf.common_name.as_deref()
    }

    /// The leaf issuer's name, as text.
    pub fn issuer(&self) -> &str {
        &self.leaf.issuer_text
    }

    /// The leaf's serial number, hex.
    pub fn serial(&self) -> &str {
        &self.leaf.serial
    }

    /// The leaf's notAfter, unix seconds.
    pub fn not_after_secs(&self) -> i64 {
        self.leaf.not_after
    }

    /// The leaf's notBefore, unix seconds.
    pub fn not_before_secs(&self) -> i64 {
        self.leaf.not_before
    }

    /// The leaf's notAfter, RFC 3339 (what `health` reports).
    pub fn not_after(&self) -> String {
        rfc3339(self.leaf.not_after)
    }

    /// Whether the leaf is a CA certificate (basicConstraints cA=TRUE).
    pub fn is_ca(&self) -> bool {
        self.leaf.is_ca
    }

    /// Whether the leaf may authenticate a TLS client: no extended key usage, or clientAuth.
    pub fn allows_client_auth(&self) -> bool {
        self.leaf.allows_client_auth()
    }

    /// The extended key usages the leaf lists (`None` without the extension), for messages.
    pub fn extended_key_usage(&self) -> Option<&[&'static str]> {
        self.leaf.extended_key_usage.as_deref()
    }

    /// Whether `other`'s leaf has the same issuer name (compared as DER).
    pub fn same_issuer_as(&self, other: &Identity) -> bool {
        self.leaf.issuer == other.leaf.issuer
    }

    /// Picks the leaf (linked by localKeyId, else by public key), checks the key matches it
    /// with rustls, and orders the CA certificates after it by issuer link.
    fn assemble(
        certs: Vec<CertificateDer<'static>>,
        linked: Option<usize>,
        key: PrivateKeyDer<'static>,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        if certs.is_empty() {
            return Err(IdentityError::NoCertificate);
        }
        let signing_key = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|error| IdentityError::UnusableKey {
                detail: error.to_string(),
            })?;
        let leaf_index = match linked {
            Some(index) => index,
            None => find_leaf(&certs, signing_key.as_ref())?
                .ok_or(IdentityError::NoMatchingCertificate)?,
        };
        let chain = order_chain(certs, leaf_index)?;
        let leaf = LeafFacts::read(&chain[0])?;
        match CertifiedKey::new(chain.clone(), signing_key).keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(_) => {
                return Err(IdentityError::KeyMismatch {
                    subject: leaf.subject,
                });
            }
        }
        Ok(Self { chain, key, leaf })
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            leaf: self.leaf.clone(),
        }
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.chain == other.chain && self.key.secret_der() == other.key.secret_der()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.leaf.subject)
            .field("not_after", &self.not_after())
            .field("chain_len", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

fn classify_pkcs12_error(error: p12_keystore::error::Error) -> IdentityError {
    use p12_keystore::error::Error as P12;
    match error {
        P12::MacError(_) => IdentityError::WrongPassword,
        P12::UnpadError | P12::Pkcs5Error(_) | P12::InvalidPrivateKey => IdentityError::Decrypt {
            detail: error.to_string(),
        },
        other => IdentityError::Malformed {
            detail: other.to_string(),
        },
    }
}

fn unix_secs(now: UnixTime) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

/// `secs` since the epoch as RFC 3339 (UTC), e.g. `2026-01-31T12:00:00Z`.
pub(super) fn rfc3339(secs: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_pki::{
        KeyKind, P12Kind, PASSWORD, TempDir, TestPki, key, pem, provider,
    };

    fn secret(password: &str) -> SecretString {
        SecretString::from(password.to_owned())
    }

    fn subject_cn(der: &CertificateDer<'_>) -> String {
        LeafFacts::read(der).expect("parsable").subject
    }

    #[test]
    fn every_pkcs12_kind_loads_with_its_chain_in_issuer_order() {
        let pki = TestPki::new("Kinds");
        let dir = TempDir::new();
        let kinds = [
            P12Kind::Modern,
            P12Kind::TripleDes,
            P12Kind::OpensslDefault,
            P12Kind::OpensslLegacy,
            P12Kind::OpensslPlain,
        ];
        for key_kind in [KeyKind::Ec, KeyKind::Rsa] {
            let client = pki.client(key_kind, None);
            for kind in kinds {
                let path = client.write_p12(&dir, kind, PASSWORD);
                let identity = Identity::load(&path, &secret(PASSWORD), &provider())
                    .unwrap_or_else(|e| panic!("{key_kind:?} {kind:?} should load: {e}"));
                let names: Vec<String> = identity.chain().iter().map(subject_cn).collect();
                assert_eq!(
                    names,
                    vec![
                        "CN=outbound-client".to_owned(),
                        "CN=Kinds Intermediate CA".to_owned(),
                        "CN=Kinds Root CA".to_owned()
                    ],
                    "{key_kind:?} {kind:?}: leaf first, then issuers"
                );
                assert_eq!(identity.chain()[0], client.leaf, "{key_kind:?} {kind:?}");
            }
        }
    }

    #[test]
    fn empty_password_files_load_with_an_empty_password() {
        let pki = TestPki::new("Empty");
        let dir = TempDir::new();
        let client = pki.client(KeyKind::Ec, None);
        for kind in [
            P12Kind::Modern,
            P12Kind::OpensslDefault,
            P12Kind::OpensslLegacy,
        ] {
            let path = client.write_p12(&dir, kind, "");
            let loaded = Identity::load(&path, &secret(""), &provider());
            assert!(loaded.is_ok(), "{kind:?} with empty password: {loaded:?}");
        }
    }

    #[test]
    fn a_plain_file_without_mac_loads_whatever_the_password() {
        let pki = TestPki::new("Plain");
        let dir = TempDir::new();
        let path = pki
            .client(KeyKind::Ec, None)
            .write_p12(&dir, P12Kind::OpensslPlain, PASSWORD);
        assert!(Identity::load(&path, &secret(""), &provider()).is_ok());
    }

    #[test]
    fn a_wrong_password_is_reported_as_such() {
        let pki = TestPki::new("Wrong");
        let dir = TempDir::new();
        let client = pki.client(KeyKind::Ec, None);
        for kind in [P12Kind::Modern, P12Kind::OpensslLegacy] {
            let path = client.write_p12(&dir, kind, PASSWORD);
            let error = Identity::load(&path, &secret("not-it"), &provider()).unwrap_err();
            assert!(
                matches!(error, IdentityError::WrongPassword),
                "{kind:?}: {error}"
            );
        }
    }

    #[test]
    fn a_file_without_a_private_key_is_refused() {
        let pki = TestPki::new("NoKey");
        let bytes = pki.client(KeyKind::Ec, None).p12_without_key(PASSWORD);
        let error = Identity::from_pkcs12(&bytes, &secret(PASSWORD), &provider()).unwrap_err();
        assert!(matches!(error, IdentityError::NoPrivateKey), "{error}");
    }

    #[test]
    fn a_key_that_does_not_match_its_certificate_is_refused() {
        let pki = TestPki::new("Mismatch");
        let other = key(KeyKind::Ec).serialize_der();
        let bytes = pki.client(KeyKind::Ec, None).p12_with_key(&other, PASSWORD);
        let error = Identity::from_pkcs12(&bytes, &secret(PASSWORD), &provider()).unwrap_err();
        assert!(
            matches!(error, IdentityError::KeyMismatch { .. }),
            "{error}"
        );
    }

    #[test]
    fn validity_is_checked_against_the_given_time() {
        let pki = TestPki::new("Expiry");
        let not_before = rcgen::date_time_ymd(2020, 1, 1);
        let not_after = rcgen::date_time_ymd(2021, 1, 1);
        let client = pki.client(KeyKind::Ec, Some((not_before, not_after)));
        let bytes = client.p12_with_key(&client.key_pkcs8, PASSWORD);
        let identity = Identity::from_pkcs12(&bytes, &secret(PASSWORD), &provider()).unwrap();
        let at = |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs as u64));
        let day = 24 * 60 * 60;

        assert_eq!(identity.not_after(), "2021-01-01T00:00:00Z");
        assert!(
            identity
                .check_validity(at(not_after.unix_timestamp() - day))
                .is_ok()
        );
        let expired = identity
            .check_validity(at(not_after.unix_timestamp() + 1))
            .unwrap_err();
        assert!(
            matches!(expired, IdentityError::Expired { .. }),
            "{expired}"
        );
        let early = identity
            .check_validity(at(not_before.unix_timestamp() - 1))
            .unwrap_err();
        assert!(
            matches!(early, IdentityError::NotYetValid { .. }),
            "{early}"
        );
        let month = Duration::from_secs(30 * day as u64);
        assert!(identity.expires_within(at(not_after.unix_timestamp() - 10 * day), month));
        assert!(!identity.expires_within(at(not_after.unix_timestamp() - 40 * day), month));
    }

    #[test]
    fn a_pem_chain_and_key_load_in_any_order() {
        let pki = TestPki::new("Pem");
        let client = pki.client(KeyKind::Ec, None);
        let text = [
            pem("CERTIFICATE", &client.cas[1]),
            pem("PRIVATE KEY", &client.key_pkcs8),
            pem("CERTIFICATE", &client.leaf),
            pem("CERTIFICATE", &client.cas[0]),
        ]
        .concat();
        let identity = Identity::from_pem(text.as_bytes(), &provider()).unwrap();
        assert_eq!(identity.chain()[0], client.leaf);
        assert_eq!(identity.chain().len(), 3);
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let pki = TestPki::new("Debug");
        let client = pki.client(KeyKind::Ec, None);
        let bytes = client.p12_with_key(&client.key_pkcs8, PASSWORD);
        let identity = Identity::from_pkcs12(&bytes, &secret(PASSWORD), &provider()).unwrap();
        let debug = format!("{identity:?}");
        assert!(
            debug.contains("<redacted>") && !debug.contains("Pkcs8"),
            "{debug}"
        );
    }
}
