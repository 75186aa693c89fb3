//! Configuration: every setting the handler reads, parsed and checked before the port is bound.
//!
//! Settings come from the environment (App Settings) through [`Env`]; each area has its own
//! submodule (`server`, `inbound`, `outbound`) that names its settings as constants beside their
//! defaults. Loading collects every mistake and reports them all at once
//! ([`ConfigError::Invalid`]); `main` prints them and exits with code 64.

mod env;
pub mod inbound;
pub mod outbound;
pub mod server;

use std::fmt;

pub use env::{Env, ProcessEnv, Reader};
pub use inbound::InboundConfig;
pub use outbound::OutboundConfig;
pub use server::{LogFormat, ServerConfig};

/// The exit code for a configuration error (`EX_CONFIG` from sysexits.h is 78; we follow the
/// linkerd convention of `EX_USAGE`, 64, which the issue tracker asks for).
pub const EXIT_CONFIG: i32 = 64;

/// Everything the handler needs, parsed into domain types.
#[derive(Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub inbound: InboundConfig,
    pub outbound: OutboundConfig,
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

fn render(errors: &[SettingError]) -> String {
    errors
        .iter()
        .map(|error| format!("  - {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads and checks every setting, files included (CA bundles, CRLs, the PKCS#12 identity).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] with every problem found, each naming its setting.
    pub fn load(env: &dyn Env) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(env);
        let server = ServerConfig::read(&mut reader);
        let inbound = InboundConfig::read(&mut reader);
        let outbound = OutboundConfig::read(&mut reader);
        let errors = reader.into_errors();
        if errors.is_empty() {
            Ok(Self {
                server,
                inbound,
                outbound,
            })
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }
}
