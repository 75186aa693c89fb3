//! Building and running the server: state from `Config`, the route tree, our own listener on
//! 127.0.0.1 (port 0 is fine, for tests), and graceful shutdown. [`App::builder`] (in `app`)
//! collects the functions; `start` serves them.
//!
//! Route tree, in order: the readiness probe `GET /`, payload mode `POST /<Function>`, then the
//! function routes of proxying and forwarding modes; one rejection handler on top, over the
//! built-in functions and the added ones alike.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::filters::path::FullPath;
use warp::http::Method;
use warp::reply::Response;

use crate::app::builder::Registered;
use crate::app::{FunctionInfo, FunctionsError};
use crate::bounded_http::ClientBuildError;
use crate::check;
use crate::client_cert::Authenticator;
use crate::config::{Config, ProcessEnv};
use crate::crl_source::CrlUrls;
use crate::crl_source::fetch::{Fetcher, FetcherBuildError};
use crate::error::handle_rejection;
use crate::host::route::Route;
use crate::host::{self, HostSettings};
use crate::outbound::{BuildError, OutboundClient};
use crate::posture::{self, Checker, Posture};
use crate::state::AppState;
use crate::telemetry::summary::{self, RefusalLines};

/// A handler that has bound its port and is ready to run: [`App::builder`] makes one.
pub struct App {
    listener: tokio::net::TcpListener,
    routes: BoxedFilter<(Response,)>,
    functions: Arc<[FunctionInfo]>,
    route_prefix: Arc<str>,
    shutdown_timeout: Duration,
    /// Background tasks (CRL files reloading, CRL URLs fetching, the posture check), stopped
    /// when the server stops.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Refusal lines counted but not written, summarised when the server stops.
    refusal_lines: Arc<RefusalLines>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// An added function cannot be served (bad name or route, or two functions clash).
    #[error(transparent)]
    Functions(#[from] FunctionsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Outbound(#[from] BuildError),
    #[error(transparent)]
    CrlFetcher(#[from] FetcherBuildError),
    #[error("cannot build the front end posture check's HTTP client: {0}")]
    Posture(#[from] ClientBuildError),
}

/// Which optional routes are served.
#[derive(Debug, Clone, Copy)]
pub struct RouteOptions {
    /// `cert-info` (`CERT_INFO_ENABLED`).
    pub cert_info: bool,
    /// Payload mode's `POST /<FunctionName>` (see `HostSettings::serves_payload_mode`).
    pub payload_mode: bool,
    /// The outbound demo `outbound-mtls` (`OUTBOUND_MTLS_ENABLED`).
    pub outbound_mtls: bool,
}

impl RouteOptions {
    /// What `config` switches on.
    pub fn from_config(config: &Config) -> Self {
        Self {
            cert_info: config.inbound.cert_info_enabled,
            payload_mode: config.server.host.serves_payload_mode(),
            outbound_mtls: config.outbound.demo_enabled,
        }
    }
}

/// The built-in functions' route tree as `serve` builds it, with the one rejection handler on
/// top (for filter tests; an app's tree comes from [`App::builder`]). With
/// `options.payload_mode`, payload mode is served as with neither proxying nor forwarding on.
pub fn routes(state: AppState, options: RouteOptions) -> BoxedFilter<(Response,)> {
    let builtins = crate::functions::builtins(&options);
    let payload = options.payload_mode.then(|| HostSettings {
        route_prefix: state.route_prefix.to_string(),
        forwarding: false,
        proxying: false,
    });
    let (tree, _) = tree(
        &state,
        builtins.functions,
        &builtins.switched_off,
        payload.as_ref(),
    );
    tree
}

/// The route tree over `functions`: readiness, payload mode (when `payload` serves it, for
/// the names it serves it for), the functions; one rejection handler over all of them, and
/// the request span.
fn tree(
    state: &AppState,
    functions: Vec<Registered>,
    switched_off: &[String],
    payload: Option<&HostSettings>,
) -> (BoxedFilter<(Response,)>, Arc<[FunctionInfo]>) {
    let infos: Arc<[FunctionInfo]> = functions.iter().map(|f| f.info.clone()).collect();
    // Tried in the host's order (the most specific route first; stable, so registration order
    // otherwise), each only where no route before it claims the path and method.
    let mut functions = functions;
    functions.sort_by(|a, b| a.info.route().precedence(b.info.route()));
    let routes: Arc<[Route]> = functions.iter().map(|f| f.info.route().clone()).collect();
    let mut invocable = Vec::with_capacity(functions.len());
    let mut all: Option<BoxedFilter<(Response,)>> = None;
    for (index, function) in functions.into_iter().enumerate() {
        let filter = (function.make)(state);
        if payload.is_some_and(|host| host.serves_payload_mode_for(function.info.name())) {
            invocable.push(host::invocation::Invocable {
                info: function.info,
                route: filter.clone().recover(handle_rejection).unify().boxed(),
            });
        }
        let unclaimed = unclaimed_before(Arc::clone(&routes), index, &state.route_prefix);
        let filter = unclaimed.and(filter).boxed();
        all = Some(match all {
            None => filter,
            Some(earlier) => earlier.or(filter).unify().boxed(),
        });
    }
    let functions = all
        .unwrap_or_else(|| warp::any().and_then(not_found).boxed())
        .recover(handle_rejection)
        .unify()
        .boxed();
    let entry = match payload.filter(|host| host.serves_payload_mode()) {
        Some(host) => {
            let switched_off: Vec<String> = switched_off
                .iter()
                .filter(|name| host.serves_payload_mode_for(name))
                .cloned()
                .collect();
            let invocation = host::invocation::route(
                &state.route_prefix,
                Arc::from(invocable),
                Arc::from(switched_off),
            );
            host::readiness().or(invocation).unify().boxed()
        }
        None => host::readiness().boxed(),
    };
    let tree = entry
        .or(functions)
        .unify()
        .with(warp::trace(request_span))
        .map(warp::Reply::into_response)
        .boxed();
    (tree, infos)
}

async fn not_found() -> Result<Response, warp::Rejection> {
    Err(warp::reject::not_found())
}

/// Passes a request that none of `routes[..index]` claims (its path and method), and rejects
/// the rest as not found, the rejection every other one outranks: so the function a request
/// belongs to answers it, refusal included, and it never falls through to a less specific one.
fn unclaimed_before(routes: Arc<[Route]>, index: usize, route_prefix: &str) -> BoxedFilter<()> {
    let route_prefix: Arc<str> = route_prefix.into();
    warp::path::full()
        .and(warp::method())
        .and_then(move |path: FullPath, method: Method| {
            let claimed = routes[..index].iter().any(|route| {
                route.allows(&method) && route.matches(&route_prefix, path.as_str()).is_some()
            });
            std::future::ready(if claimed {
                Err(warp::reject::not_found())
            } else {
                Ok(())
            })
        })
        .untuple_one()
        .boxed()
}

/// One span per request: method, path (never the query, which may carry `code`), and the
/// host's invocation id (`X-Azure-Functions-InvocationId`; `ambiguous`, with the values seen in
/// `invocation_ids`, when it arrived more than once: see `host::invocation_id`).
fn request_span(info: warp::trace::Info<'_>) -> tracing::Span {
    let invocation_id = host::invocation_id::invocation_id(info.request_headers());
    let span = tracing::info_span!(
        "request",
        method = %info.method(),
        path = %info.path(),
        invocation_id = %invocation_id,
        invocation_ids = tracing::field::Empty,
    );
    if let Some(listed) = invocation_id.listed() {
        span.record("invocation_ids", listed.as_str());
    }
    span
}

/// Builds the state for `functions` (checked by the builder), starts the background tasks and
/// binds `127.0.0.1:<port>`; warns about every difference between the function folders on
/// disk and the functions served (`switched_off` ones excepted).
///
/// # Errors
/// [`StartupError::Bind`] when the port cannot be bound (in use, or not permitted).
pub(crate) async fn start(
    config: &Config,
    functions: Vec<Registered>,
    switched_off: &[String],
) -> Result<App, StartupError> {
    for look_alike in &config.look_alikes {
        tracing::warn!(setting = %look_alike.name, nearest = look_alike.nearest, "{look_alike}");
    }
    let authenticator = Arc::new(Authenticator::new(&config.inbound));
    authenticator.log_posture();
    check::daily::log_startup(&config.files);
    let mut background: Vec<_> = authenticator
        .spawn_crl_reloader()
        .into_iter()
        .chain([
            check::daily::spawn_recheck(config.files.clone()),
            summary::spawn_summaries(authenticator.refusal_lines()),
        ])
        .collect();
    if !config.inbound.crl_urls.is_empty() {
        let urls = Arc::new(CrlUrls::new(
            &config.inbound.crl_urls,
            config.inbound.crl_issuers.clone(),
            config.inbound.crl_reload,
            Fetcher::new()?,
            Arc::clone(&authenticator),
        ));
        background.extend(urls.start().await);
    }
    let outbound = outbound_client(config)?;
    background.extend(
        outbound
            .as_ref()
            .and_then(OutboundClient::spawn_identity_reloader),
    );
    let protected = crate::functions::protected_prefixes(
        functions.iter().map(|function| &function.info),
        &config.server.host.route_prefix,
    );
    let posture = start_posture(config, protected, &mut background)?;
    let state = AppState::new(
        &config.server.host.route_prefix,
        Arc::clone(&authenticator),
        outbound,
    )
    .with_posture(posture);
    let route_prefix = Arc::clone(&state.route_prefix);
    let (routes, functions) = tree(&state, functions, switched_off, Some(&config.server.host));
    host::function_folders::warn_about_differences(
        &config.server.app_root,
        &functions,
        switched_off,
    );
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.server.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    Ok(App {
        listener,
        routes,
        functions,
        route_prefix,
        background,
        shutdown_timeout: config.server.shutdown_timeout,
        refusal_lines: authenticator.refusal_lines(),
    })
}

/// The front end's posture, with its check running in the background when it is on: started
/// here, never awaited, so `GET /` and `health` answer while it runs. `protected` are the
/// protected functions' path prefixes as the front end sees them (`/api/cert-info`).
fn start_posture(
    config: &Config,
    protected: Vec<String>,
    background: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<Arc<Posture>, ClientBuildError> {
    for warning in config.posture.warnings() {
        tracing::warn!(%warning, "front end posture warning");
    }
    let settings = &config.posture.settings;
    posture::log_startup(settings, &ProcessEnv);
    let posture = Arc::new(Posture::new(settings.mode));
    if let Some(checker) = Checker::new(settings, protected, Arc::new(ProcessEnv))? {
        background.push(checker.spawn(Arc::clone(&posture)));
    }
    Ok(posture)
}

/// The outbound client, available or not; `None` when outbound is off. Outbound problems are
/// logged here as errors, each naming its setting; none of them stops the start.
fn outbound_client(config: &Config) -> Result<Option<OutboundClient>, StartupError> {
    let outbound = &config.outbound;
    if outbound.settings.is_none() {
        for problem in &outbound.problems {
            tracing::error!(
                setting = problem.setting,
                "outbound mutual TLS is unavailable (inbound functions are not affected; calls that need it answer 503): {}",
                problem.message
            );
        }
    }
    if let Some(settings) = &outbound.settings {
        return Ok(Some(OutboundClient::build(settings)?));
    }
    if let Some(why) = &outbound.unavailable {
        return Ok(Some(OutboundClient::unavailable(why.clone())));
    }
    tracing::info!("outbound mutual TLS is off: outbound-mtls answers 503 outbound_not_configured");
    Ok(None)
}

impl App {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Every function served, built-in ones first.
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.functions
    }

    /// `extensions.http.routePrefix` from host.json, without slashes (`api` by default).
    pub fn route_prefix(&self) -> &str {
        &self.route_prefix
    }

    /// The whole route tree, for driving the app in process (`warp::test::request()
    /// .reply(&app.routes())`): what the port serves.
    pub fn routes(&self) -> BoxedFilter<(Response,)> {
        self.routes.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish, for at most the configured shutdown timeout.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            started_tx.send(()).ok();
        };
        let server = crate::http_server::serve(self.listener, self.routes, signal);
        tokio::pin!(server);
        tokio::select! {
            () = &mut server => {}
            Ok(()) = started_rx => {
                tracing::info!("shutting down: draining in-flight requests");
                if tokio::time::timeout(self.shutdown_timeout, server).await.is_err() {
                    tracing::warn!(
                        timeout_ms = self.shutdown_timeout.as_millis() as u64,
                        "shutdown timeout reached with requests still in flight"
                    );
                }
            }
        }
        for task in self.background {
            task.abort();
        }
        self.refusal_lines.summarise(true);
    }
}

/// Completes on SIGTERM (what a platform sends to stop a process) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
