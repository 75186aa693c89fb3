//! Local development with real mutual TLS (`handler dev`): a development PKI, the handler on
//! the same code path as `serve`, an HTTPS front end that behaves like App Service's, and a local
//! mutual-TLS "remote API" for `outbound-mtls`. With `--upstream URL`, the front end alone, in
//! front of a Functions host already running (`func start --port 7072`), so the real host can
//! be tried with real client certificates.
//!
//! [`Dev::prepare`] makes or reuses the PKI, binds the front end and (without `--upstream`) the
//! remote API, and loads [`Config`] from the process environment with dev's settings added
//! (`settings`: the dev CA and client CN *added* to the user's lists, replacements warned);
//! [`Dev::run`] builds the app with [`App::builder`], prints what runs where, the effective
//! settings and the curl commands that work, and serves until shutdown. These are development
//! credentials and servers: nothing here is used by `serve`.

mod banner;
pub mod front_end;
pub mod headers;
pub mod https;
pub mod local_settings;
pub mod pki;
pub mod remote_api;
pub mod settings;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use futures_util::FutureExt;
use url::Url;

use crate::app::{AppBuilder, FunctionInfo};
use crate::config::{Config, ConfigError, Env, LogFormat, server};
use crate::host::route::Route;
use crate::startup::{App, StartupError};
use front_end::{FrontEnd, FrontEndError, Target};
use pki::{DevPki, PkiError};
use remote_api::{RemoteApi, RemoteApiError};
pub use settings::DevSettings;
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
    /// Forward to a Functions host already running at this http:// address (e.g. `func start
    /// --port 7072` and http://127.0.0.1:7072) instead of starting the handler.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<Url>,
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
    #[error("--upstream {url}: {reason}")]
    Upstream { url: String, reason: &'static str },
}

/// Everything `handler dev` runs, checked and bound, before the handler is built.
pub struct Dev {
    pki: DevPki,
    options: DevOptions,
    front_end: FrontEnd,
    settings: DevSettings,
    backend: Backend,
}

/// What the front end forwards to.
enum Backend {
    /// The handler, built here, and the remote API its `outbound-mtls` calls.
    Handler {
        config: Box<Config>,
        remote_api: RemoteApi,
    },
    /// A Functions host already running; its app root's files describe it.
    Upstream { url: Url, app: LocalApp },
}

/// The function app `func start` serves from the working directory.
struct LocalApp {
    route_prefix: String,
    functions: Vec<FunctionInfo>,
    local_settings: local_settings::LocalSettings,
}

impl Dev {
    /// Makes or reuses the PKI, binds the remote API and the front end, and loads the config
    /// (with `--upstream`: reads the app's host.json, function folders and local.settings.json
    /// instead, since the host runs the handler).
    ///
    /// # Errors
    /// [`DevError::Config`] with every configuration problem; the others when a file cannot be
    /// written or read, a port cannot be bound, or `--upstream` is not a host's address.
    pub async fn prepare(options: &DevOptions, env: &dyn Env) -> Result<Self, DevError> {
        let pki = DevPki::load_or_create(&options.dir)?;
        let provider = crate::outbound::tls::provider();
        let (settings, backend) = match &options.upstream {
            Some(url) => {
                check_upstream(url)?;
                let pki = pki.absolute();
                let app = LocalApp::read(&app_root(env));
                let settings = DevSettings::over(&app.local_settings.values, &pki, None);
                (
                    settings,
                    Backend::Upstream {
                        url: url.clone(),
                        app,
                    },
                )
            }
            None => {
                let remote_api = RemoteApi::bind(&pki, &provider).await?;
                let port = remote_api.local_addr().port();
                let settings = DevSettings::over(env, &pki, Some(port));
                let config = Config::load(&settings.overlay(env))?;
                let backend = Backend::Handler {
                    config: Box::new(config),
                    remote_api,
                };
                (settings, backend)
            }
        };
        let front_end =
            FrontEnd::bind(options.port, &pki, options.client_cert_mode, &provider).await?;
        Ok(Self {
            pki,
            options: options.clone(),
            front_end,
            settings,
            backend,
        })
    }

    /// The log format and filter to install: the configuration's, or the defaults when the
    /// handler is not run here (`--upstream`).
    /// How long the stop signal waits for in-flight work (`SHUTDOWN_TIMEOUT_MS`).
    pub fn shutdown_timeout(&self) -> std::time::Duration {
        match &self.backend {
            Backend::Handler { config, .. } => config.server.shutdown_timeout,
            Backend::Upstream { .. } => {
                std::time::Duration::from_millis(server::DEFAULT_SHUTDOWN_TIMEOUT_MS)
            }
        }
    }

    pub fn log_settings(&self) -> (LogFormat, String) {
        match &self.backend {
            Backend::Handler { config, .. } => {
                (config.server.log_format, config.server.log_filter.clone())
            }
            Backend::Upstream { .. } => (LogFormat::Plain, server::DEFAULT_LOG_FILTER.to_owned()),
        }
    }

    /// Builds the app (the built-in functions plus what `functions` adds), prints what runs
    /// where, and serves until `shutdown` completes; with `--upstream`, only the front end.
    ///
    /// # Errors
    /// [`DevError::Startup`] when the app cannot be built.
    pub async fn run(
        self,
        functions: impl FnOnce(AppBuilder) -> AppBuilder,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DevError> {
        let shutdown: https::Shutdown = shutdown.boxed().shared();
        let front_end_addr = self.front_end.local_addr();
        match self.backend {
            Backend::Handler { config, remote_api } => {
                for change in self.settings.replaced() {
                    if let settings::ChangeKind::Replaced { yours } = &change.kind {
                        tracing::warn!(setting = change.setting, yours = %yours, "handler dev replaces this setting of yours");
                    }
                }
                let app = functions(App::builder(*config)).build().await?;
                let handler_addr = app.local_addr().map_err(DevError::Address)?;
                let view = banner::View {
                    pki: &self.pki,
                    options: &self.options,
                    front_end: front_end_addr,
                    backend: banner::Backend::Handler {
                        handler: handler_addr,
                        remote_api: remote_api.local_addr(),
                    },
                    route_prefix: app.route_prefix(),
                    functions: app.functions(),
                    settings: &self.settings,
                };
                println!("{}", banner::render(&view));
                tokio::join!(
                    app.run(shutdown.clone()),
                    self.front_end
                        .run(Target::handler(handler_addr), shutdown.clone()),
                    remote_api.run(shutdown),
                );
            }
            Backend::Upstream { url, app } => {
                let view = banner::View {
                    pki: &self.pki,
                    options: &self.options,
                    front_end: front_end_addr,
                    backend: banner::Backend::Upstream {
                        url: &url,
                        local_settings: &app.local_settings,
                    },
                    route_prefix: &app.route_prefix,
                    functions: &app.functions,
                    settings: &self.settings,
                };
                println!("{}", banner::render(&view));
                self.front_end.run(Target::upstream(&url), shutdown).await;
            }
        }
        Ok(())
    }
}

/// The settings `handler check --dev` judges with: `env` with dev's inbound settings added
/// (its CA and client CN), as `handler dev` adds them, from the PKI in `dir`.
///
/// # Errors
/// [`PkiError::Missing`] when `dir` holds no development PKI yet.
pub fn check_settings(dir: &Path, env: &dyn Env) -> Result<DevSettings, PkiError> {
    let pki = DevPki::existing(dir)?;
    Ok(DevSettings::over(env, &pki, None))
}

/// The address a front end printed by `handler dev` listens on, for tools that parse its output.
pub fn front_end_addr(output_line: &str) -> Option<SocketAddr> {
    banner::front_end_addr(output_line)
}

fn app_root(env: &dyn Env) -> PathBuf {
    env.get(server::APP_ROOT)
        .filter(|root| !root.trim().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// `--upstream` must be where a Functions host listens: plain HTTP (the host's own port), no
/// path, query or credentials.
fn check_upstream(url: &Url) -> Result<(), DevError> {
    let fail = |reason| DevError::Upstream {
        url: url.to_string(),
        reason,
    };
    if url.scheme() != "http" {
        return Err(fail(
            "give the host's http:// address (func start serves plain HTTP; the front end adds the TLS)",
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(fail(
            "give the host's address only, e.g. http://127.0.0.1:7072 (the request's path is kept)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail("no credentials in the address"));
    }
    Ok(())
}

impl LocalApp {
    /// host.json's prefix, the function folders and local.settings.json of `root`; whatever is
    /// missing or unreadable is left at its default (the host will say more when it starts).
    fn read(root: &Path) -> Self {
        let route_prefix = crate::host::read_host_settings(root)
            .map(|settings| settings.route_prefix)
            .unwrap_or_else(|_| crate::host::DEFAULT_ROUTE_PREFIX.to_owned());
        let functions = crate::host::function_folders::discover(root)
            .map(|discovered| {
                discovered
                    .folders
                    .into_iter()
                    .map(|folder| {
                        let methods = folder
                            .methods
                            .iter()
                            .filter_map(|method| method.parse().ok());
                        FunctionInfo::new(&folder.name, Route::new(&folder.route).methods(methods))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            route_prefix,
            functions,
            local_settings: local_settings::LocalSettings::read(root),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config;

    #[test]
    fn dev_the_dev_settings_load_as_a_valid_config() {
        let dir = std::env::temp_dir().join(format!("mtls-handler-devcfg-{}", std::process::id()));
        let pki = DevPki::load_or_create(&dir).expect("dev PKI");
        let base: HashMap<&str, &str> = [(config::server::APP_ROOT, env!("CARGO_MANIFEST_DIR"))]
            .into_iter()
            .collect();
        let settings = DevSettings::over(&base, &pki, Some(4443));
        let loaded = Config::load(&settings.overlay(&base));
        std::fs::remove_dir_all(&dir).ok();
        let config = loaded.expect("the dev settings are a valid configuration");
        assert_eq!(config.server.port, 0);
        assert!(config.outbound.settings.is_some(), "outbound is configured");
    }

    #[test]
    fn dev_upstream_must_be_a_hosts_plain_address() {
        for (url, accepted) in [
            ("http://127.0.0.1:7072", true),
            ("http://localhost:7072/", true),
            ("https://127.0.0.1:7072", false),
            ("http://127.0.0.1:7072/api", false),
            ("http://127.0.0.1:7072/?code=x", false),
            ("http://user:pw@127.0.0.1:7072", false),
        ] {
            let url = Url::parse(url).expect("a URL");
            assert_eq!(check_upstream(&url).is_ok(), accepted, "{url}");
        }
    }
}
