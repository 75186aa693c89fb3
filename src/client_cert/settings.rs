//! [`Settings`]: what the authenticator is built from. The `config` module reads the
//! environment and constructs it, so dependencies run one way (`config` -> `client_cert`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use url::Url;

use super::HeaderFormat;
use super::crl_files::CrlFiles;
use super::header::DEFAULT_MAX_HEADER_BYTES;
use super::policy::Thumbprint;
use super::policy_file::IdentityRule;
use super::revocation::CrlSet;
use super::trust::TrustedCa;

/// The header App Service's front end sets.
pub const DEFAULT_CLIENT_CERT_HEADER: &str = "X-ARR-ClientCert";
pub const DEFAULT_CRL_RELOAD_SECONDS: u64 = 30;
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 0;
/// How long a refusal over the log rate waits before it is answered (`filter.rs`), ms.
pub const DEFAULT_FLOOD_PAUSE_MS: u64 = 500;
/// The longest pause the setting allows, ms.
pub const LONGEST_FLOOD_PAUSE_MS: u64 = 5_000;

/// What the authenticator is built from: the inbound settings, parsed into this module's
/// types. `config` reads them from the environment and constructs this; nothing here reads
/// `config`.
pub struct Settings {
    pub header_name: String,
    pub header_format: HeaderFormat,
    pub max_header_bytes: usize,
    pub trusted_cas: Vec<TrustedCa>,
    pub intermediates: Vec<CertificateDer<'static>>,
    pub crl_paths: Vec<PathBuf>,
    /// The CRL files as loaded at startup, each with its content's digest (`None`: not loaded
    /// yet; the first reload loads them).
    pub crl_files: Option<CrlFiles>,
    pub crls: Arc<CrlSet>,
    pub crl_reload: Duration,
    /// Distribution points to fetch CRLs from (`crate::crl_source`).
    pub crl_urls: Vec<Url>,
    /// Every configured CA certificate (anchors, then intermediates): who may sign a CRL.
    pub crl_issuers: Vec<CertificateDer<'static>>,
    pub clock_skew_seconds: u64,
    pub thumbprints: Vec<Thumbprint>,
    pub common_names: Vec<String>,
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    pub allow_unverified_names: bool,
    pub policy_path: Option<PathBuf>,
    pub policy_rules: Vec<IdentityRule>,
    pub cert_info_enabled: bool,
    /// How long a refusal waits once its code is over the log rate (a flood).
    pub flood_pause: Duration,
}

impl Default for Settings {
    /// Every setting at its default: no CA, no allowlist (so every request is refused).
    fn default() -> Self {
        Self {
            header_name: DEFAULT_CLIENT_CERT_HEADER.to_owned(),
            header_format: HeaderFormat::Base64Der,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            trusted_cas: Vec::new(),
            intermediates: Vec::new(),
            crl_paths: Vec::new(),
            crl_files: None,
            crls: Arc::new(CrlSet::default()),
            crl_reload: Duration::from_secs(DEFAULT_CRL_RELOAD_SECONDS),
            crl_urls: Vec::new(),
            crl_issuers: Vec::new(),
            clock_skew_seconds: DEFAULT_CLOCK_SKEW_SECONDS,
            thumbprints: Vec::new(),
            common_names: Vec::new(),
            dns_names: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
            allow_unverified_names: false,
            policy_path: None,
            policy_rules: Vec::new(),
            cert_info_enabled: true,
            flood_pause: Duration::from_millis(DEFAULT_FLOOD_PAUSE_MS),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("header_name", &self.header_name)
            .field("header_format", &self.header_format)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("trusted_cas", &self.trusted_cas)
            .field("intermediates", &self.intermediates.len())
            .field("crl_paths", &self.crl_paths)
            .field("crls", &self.crls)
            .field("crl_reload", &self.crl_reload)
            .field("crl_urls", &self.crl_urls.len())
            .field("clock_skew_seconds", &self.clock_skew_seconds)
            .field("thumbprints", &self.thumbprints)
            .field("common_names", &self.common_names)
            .field("dns_names", &self.dns_names)
            .field("uris", &self.uris)
            .field("emails", &self.emails)
            .field("allow_unverified_names", &self.allow_unverified_names)
            .field("policy_path", &self.policy_path)
            .field("policy_rules", &self.policy_rules.len())
            .field("cert_info_enabled", &self.cert_info_enabled)
            .field("flood_pause", &self.flood_pause)
            .finish()
    }
}
