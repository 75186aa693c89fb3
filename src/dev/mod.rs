//! Local development with real mutual TLS (`handler dev`): a development PKI, the handler on
//! the same code path as `serve`, an HTTPS front end that behaves like App Service's, and a local
//! mutual-TLS "remote API" for `outbound-mtls`.
//!
//! [`Dev::prepare`] makes or reuses the PKI, binds the remote API, loads [`Config`] from the
//! process environment overlaid with the dev settings ([`settings`]) and binds the front end;
//! [`Dev::run`] builds the handler with `startup::build`, prints what is running and the curl
//! commands that work, and serves until shutdown. These are development credentials and servers:
//! nothing here is used by `serve`.

mod banner;
pub mod front_end;
pub mod headers;
pub mod https;
pub mod pki;
pub mod remote_api;
pub mod tls;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use futures_util::FutureExt;

use crate::config::{self, Config, ConfigError, Env};
use crate::startup::{self, StartupError};
use front_end::{FrontEnd, FrontEndError};
use pki::{DevPki, PkiError};
use remote_api::{RemoteApi, RemoteApiError};
pub use tls::ClientCertMode;

/// Where the development PKI lives unless `--dir` says otherwise (git-ignored).
pub const DEFAULT_DIR: &str = ".dev";
/// The front end's port unless `--port` says otherwise (`func start`'s).
pub const DEFAULT_PORT: u16 = 7071;

/// The options of `handler dev`.
#[derive(Debug, Clone, clap::Args)]
pub struct DevOptions {
    /// Folder of the development PKI: created once, reused on later starts.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Port of the HTTPS front end on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Whether the front end requires a client certificate (App Service's clientCertMode).
    #[arg(long, value_enum, default_value_t = ClientCertMode::Required)]
    pub client_cert_mode: ClientCertMode,
}

/// Why `handler dev` could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("development PKI: {0}")]
    Pki(#[from] PkiError),
    /// Main prints every problem and exits 64, as for `serve`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("remote API: {0}")]
    RemoteApi(#[from] RemoteApiError),
    #[error("front end: {0}")]
    FrontEnd(#[from] FrontEndError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("cannot read the handler's address: {0}")]
    Address(std::io::Error),
}

/// Everything `handler dev` runs, checked and bound, before the handler is built.
pub struct Dev {
    /// The handler's configuration (for telemetry, and for `startup::build`).
    pub config: Config,
    pki: DevPki,
    options: DevOptions,
    front_end: FrontEnd,
    remote_api: RemoteApi,
}

impl Dev {
    /// Makes or reuses the PKI, binds the remote API and the front end, and loads the config.
    ///
    /// # Errors
    /// [`DevError::Config`] with every configuration problem; the others when a file cannot be
    /// written or read, or a port cannot be bound.
    pub async fn prepare(options: &DevOptions, env: &dyn Env) -> Result<Self, DevError> {
        let pki = DevPki::load_or_create(&options.dir)?;
        let provider = crate::outbound::tls::provider();
        let remote_api = RemoteApi::bind(&pki, &provider).await?;
        let settings = settings(&pki, remote_api.local_addr().port());
        let config = Config::load(&Overlay {
            base: env,
            settings: &settings,
        })?;
        let front_end =
            FrontEnd::bind(options.port, &pki, options.client_cert_mode, &provider).await?;
        Ok(Self {
            config,
            pki,
            options: options.clone(),
            front_end,
            remote_api,
        })
    }

    /// Builds the handler, prints what runs where, and serves until `shutdown` completes.
    ///
    /// # Errors
    /// [`DevError::Startup`] when the handler cannot be built.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DevError> {
        let app = startup::build(&self.config).await?;
        let handler_addr = app.local_addr().map_err(DevError::Address)?;
        let addresses = banner::Addresses {
            front_end: self.front_end.local_addr(),
            handler: handler_addr,
            remote_api: self.remote_api.local_addr(),
        };
        println!(
            "{}",
            banner::render(
                &self.pki,
                &self.options,
                &addresses,
                &self.config.server.host.route_prefix
            )
        );
        let shutdown: https::Shutdown = shutdown.boxed().shared();
        tokio::join!(
            app.run(shutdown.clone()),
            self.front_end.run(handler_addr, shutdown.clone()),
            self.remote_api.run(shutdown),
        );
        Ok(())
    }
}

/// The settings `handler dev` puts over the process environment: the dev CA and client CN for
/// inbound, the dev outbound identity and the local remote API, an ephemeral handler port.
pub fn settings(pki: &DevPki, remote_api_port: u16) -> HashMap<String, String> {
    let path = |name: &str| pki.file(name).display().to_string();
    [
        (config::server::PORT, "0".to_owned()),
        (
            config::inbound::CLIENT_CERT_HEADER,
            config::inbound::DEFAULT_CLIENT_CERT_HEADER.to_owned(),
        ),
        (
            config::inbound::CLIENT_CERT_HEADER_FORMAT,
            "base64-der".to_owned(),
        ),
        (
            config::inbound::CLIENT_CERT_TRUSTED_CA_PATHS,
            path("ca.pem"),
        ),
        (
            config::inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES,
            pki::CLIENT_CN.to_owned(),
        ),
        (config::outbound::CLIENT_CERT_PATH, path("outbound.p12")),
        (
            config::outbound::CLIENT_CERT_PASSWORD,
            pki::OUTBOUND_PASSWORD.to_owned(),
        ),
        (config::outbound::TRUSTED_CA_PATHS, path("ca.pem")),
        (
            config::outbound::REMOTE_API_URL,
            format!("https://localhost:{remote_api_port}/"),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// An [`Env`] where `settings` win over `base`.
struct Overlay<'a> {
    base: &'a dyn Env,
    settings: &'a HashMap<String, String>,
}

impl Env for Overlay<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.settings
            .get(name)
            .cloned()
            .or_else(|| self.base.get(name))
    }
}

/// The address a front end printed by `handler dev` listens on, for tools that parse its output.
pub fn front_end_addr(output_line: &str) -> Option<SocketAddr> {
    banner::front_end_addr(output_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_settings_win_over_the_process_environment_and_the_rest_passes_through() {
        let pki = DevPki {
            dir: PathBuf::from("/tmp/dev-pki"),
            created: false,
        };
        let settings = settings(&pki, 4443);
        let base: HashMap<&str, &str> = [
            (config::server::PORT, "3000"),
            (config::server::RUST_LOG, "debug"),
        ]
        .into_iter()
        .collect();
        let overlay = Overlay {
            base: &base,
            settings: &settings,
        };
        assert_eq!(overlay.get(config::server::PORT).as_deref(), Some("0"));
        assert_eq!(
            overlay.get(config::server::RUST_LOG).as_deref(),
            Some("debug")
        );
        assert_eq!(
            overlay.get(config::outbound::REMOTE_API_URL).as_deref(),
            Some("https://localhost:4443/")
        );
        assert_eq!(
            overlay
                .get(config::inbound::CLIENT_CERT_TRUSTED_CA_PATHS)
                .as_deref(),
            Some("/tmp/dev-pki/ca.pem")
        );
    }

    #[test]
    fn dev_the_dev_settings_load_as_a_valid_config() {
        let dir = std::env::temp_dir().join(format!("mtls-handler-devcfg-{}", std::process::id()));
        let pki = DevPki::load_or_create(&dir).expect("dev PKI");
        let base: HashMap<&str, &str> = [(config::server::APP_ROOT, env!("CARGO_MANIFEST_DIR"))]
            .into_iter()
            .collect();
        let settings = settings(&pki, 4443);
        let loaded = Config::load(&Overlay {
            base: &base,
            settings: &settings,
        });
        std::fs::remove_dir_all(&dir).ok();
        let config = loaded.expect("the dev settings are a valid configuration");
        assert_eq!(config.server.port, 0);
        assert!(config.outbound.settings.is_some(), "outbound is configured");
    }
}
