//! Configuration: every setting the handler reads, parsed and checked before the port is bound.
//!
//! Settings come from the environment (App Settings) through [`Env`]; each area has its own
//! submodule (`server`, `inbound`, `outbound`, `posture`) that names its settings as constants beside their
//! defaults. Loading collects every mistake and reports them all at once
//! ([`ConfigError::Invalid`]); `main` prints them and exits with code 64.

pub(crate) mod advice;
mod env;
pub mod inbound;
pub mod outbound;
pub mod posture;
pub mod server;
pub mod spelling;
pub mod table;

use std::fmt;

pub use env::{Env, ProcessEnv, Reader};
pub use inbound::InboundConfig;
pub use outbound::OutboundConfig;
pub use posture::PostureConfig;
pub use server::{LogFormat, ServerConfig};

/// The exit code for a configuration error (`EX_CONFIG` from sysexits.h is 78; we follow the
/// linkerd convention of `EX_USAGE`, 64, which the issue tracker asks for).
pub const EXIT_CONFIG: i32 = 64;

/// Every setting the handler reads (the host's own variables excepted), for documentation and
/// tests that must cover them all.
pub const SETTINGS: &[&str] = &[
    server::PORT,
    server::PORT_LEGACY,
    server::APP_ROOT,
    server::LOG_FORMAT,
    server::RUST_LOG,
    server::SHUTDOWN_TIMEOUT_MS,
    inbound::ALLOWED_CLIENT_CERT_THUMBPRINTS,
    inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES,
    inbound::ALLOWED_CLIENT_CERT_DNS_NAMES,
    inbound::ALLOWED_CLIENT_CERT_URIS,
    inbound::ALLOWED_CLIENT_CERT_EMAILS,
    inbound::CLIENT_CERT_TRUSTED_CA_PATHS,
    inbound::CLIENT_CERT_INTERMEDIATE_CA_PATHS,
    inbound::CLIENT_CERT_CRL_PATHS,
    inbound::CLIENT_CERT_CRL_URLS,
    inbound::CLIENT_CERT_CRL_RELOAD_SECONDS,
    inbound::CLIENT_CERT_CLOCK_SKEW_SECONDS,
    inbound::CLIENT_CERT_POLICY_PATH,
    inbound::CLIENT_CERT_HEADER,
    inbound::CLIENT_CERT_HEADER_FORMAT,
    inbound::CLIENT_CERT_MAX_HEADER_BYTES,
    inbound::CLIENT_CERT_ALLOW_UNVERIFIED_NAMES,
    inbound::CERT_INFO_ENABLED,
    inbound::CLIENT_CERT_FLOOD_PAUSE_MS,
    outbound::REMOTE_API_URL,
    outbound::CLIENT_CERT_PATH,
    outbound::CLIENT_CERT_PASSWORD,
    outbound::CLIENT_CERT_THUMBPRINT,
    outbound::CLIENT_CERT_COMMON_NAME,
    outbound::CLIENT_CERT_ALLOW_ANY_ISSUER,
    outbound::CLIENT_CERT_BASE64,
    outbound::CLIENT_CERT_DIR,
    outbound::CLIENT_CERT_RELOAD_SECONDS,
    outbound::TRUSTED_CA_PATHS,
    outbound::TRUST_PUBLIC_ROOTS,
    outbound::CONNECT_TIMEOUT_MS,
    outbound::TIMEOUT_MS,
    outbound::MAX_RESPONSE_BYTES,
    posture::POSTURE,
    posture::SITE_ID,
    posture::ARM_ENDPOINT,
    posture::IDENTITY_CLIENT_ID,
    posture::RECHECK_SECONDS,
    posture::TIMEOUT_MS,
    posture::ARM_CA_PATHS,
    outbound::MTLS_ENABLED,
];

/// Everything the handler needs, parsed into domain types: [`Config::load`] reads it.
#[derive(Debug)]
pub struct Config {
    /// The port, the app root and its host.json, logging, the shutdown timeout.
    pub server: ServerConfig,
    /// How callers are judged: the header, CAs, CRLs, the allowlist.
    pub inbound: InboundConfig,
    /// The outbound identity and upstream, when configured.
    pub outbound: OutboundConfig,
    /// The front end's posture check (`CLIENT_CERT_POSTURE_*`).
    pub posture: PostureConfig,
    /// Variables that look like settings but are not (logged at startup as warnings).
    pub look_alikes: Vec<spelling::LookAlike>,
    /// The certificate and CRL files configured, for the posture and its daily re-check.
    pub files: ConfiguredFiles,
}

/// The files of `CLIENT_CERT_TRUSTED_CA_PATHS`, `CLIENT_CERT_INTERMEDIATE_CA_PATHS` and
/// `CLIENT_CERT_CRL_PATHS`, as configured.
#[derive(Debug, Clone, Default)]
pub struct ConfiguredFiles {
    pub trusted_cas: Vec<std::path::PathBuf>,
    pub intermediates: Vec<std::path::PathBuf>,
    pub crls: Vec<std::path::PathBuf>,
    /// Where the outbound identity comes from, e.g. `OUTBOUND_CLIENT_CERT_PATH=/home/id.p12`.
    pub identity_source: Option<String>,
}

/// One setting with a problem: which one, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub setting: &'static str,
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration ({} problem(s)):\n{}", .0.len(), render(.0))]
    Invalid(Vec<SettingError>),
}

fn paths(env: &dyn Env, setting: &str) -> Vec<std::path::PathBuf> {
    Reader::new(env)
        .list(setting)
        .into_iter()
        .map(std::path::PathBuf::from)
        .collect()
}

fn render(errors: &[SettingError]) -> String {
    errors
        .iter()
        .map(|error| format!("  - {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads and checks every setting, files included (CA bundles, CRLs, the PKCS#12 identity).
    /// Outbound problems do not fail the load: they are in [`OutboundConfig::problems`], and the
    /// outbound client starts unavailable.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] with every problem found, each naming its setting.
    pub fn load(env: &dyn Env) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(env);
        let server = ServerConfig::read(&mut reader);
        let inbound = InboundConfig::read(&mut reader);
        let outbound = OutboundConfig::read(env, &mut reader);
        let posture = PostureConfig::read(&mut reader);
        let errors = reader.into_errors();
        if errors.is_empty() {
            Ok(Self {
                server,
                inbound,
                outbound,
                posture,
                look_alikes: spelling::look_alikes(env),
                files: ConfiguredFiles {
                    trusted_cas: paths(env, inbound::CLIENT_CERT_TRUSTED_CA_PATHS),
                    intermediates: paths(env, inbound::CLIENT_CERT_INTERMEDIATE_CA_PATHS),
                    crls: paths(env, inbound::CLIENT_CERT_CRL_PATHS),
                    identity_source: [outbound::CLIENT_CERT_PATH, outbound::CLIENT_CERT_THUMBPRINT]
                        .into_iter()
                        .find_map(|setting| {
                            let value = Reader::new(env).string(setting)?;
                            Some(format!("{setting}={value}"))
                        }),
                },
            })
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }
}
