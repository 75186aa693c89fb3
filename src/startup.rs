//! Building and running the server: state from `Config`, the route tree, our own listener on
//! 127.0.0.1 (port 0 is fine, for tests), and graceful shutdown.
//!
//! Route tree, in order: the readiness probe `GET /`, payload mode `POST /<Function>`, then the
//! function routes of proxying and forwarding modes; one rejection handler on top.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::check;
use crate::client_cert::Authenticator;
use crate::config::Config;
use crate::crl_source::CrlUrls;
use crate::crl_source::fetch::{Fetcher, FetcherBuildError};
use crate::error::handle_rejection;
use crate::functions;
use crate::host;
use crate::outbound::{BuildError, OutboundClient};
use crate::state::AppState;
use crate::telemetry::summary::{self, RefusalLines};

/// A handler that has bound its port and is ready to run.
pub struct App {
    listener: tokio::net::TcpListener,
    routes: BoxedFilter<(Response,)>,
    shutdown_timeout: Duration,
    /// Background tasks (CRL files reloading, CRL URLs fetching), stopped when the server stops.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Refusal lines counted but not written, summarised when the server stops.
    refusal_lines: Arc<RefusalLines>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Outbound(#[from] BuildError),
    #[error(transparent)]
    CrlFetcher(#[from] FetcherBuildError),
}

/// Which optional routes are served.
#[derive(Debug, Clone, Copy)]
pub struct RouteOptions {
    /// `cert-info` (`CERT_INFO_ENABLED`).
    pub cert_info: bool,
    /// Payload mode's `POST /<FunctionName>` (see `HostSettings::serves_payload_mode`).
    pub payload_mode: bool,
}

/// Every route of the handler, with the one rejection handler on top.
pub fn routes(state: AppState, options: RouteOptions) -> BoxedFilter<(Response,)> {
    let functions = functions::routes(state.clone(), options.cert_info)
        .recover(handle_rejection)
        .unify()
        .boxed();
    let entry = if options.payload_mode {
        let invocation =
            host::invocation::route(&state.route_prefix, &functions::NAMES, functions.clone());
        host::readiness().or(invocation).unify().boxed()
    } else {
        host::readiness().boxed()
    };
    entry
        .or(functions)
        .unify()
        .with(warp::trace(request_span))
        .map(warp::Reply::into_response)
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

/// Builds the state and binds `127.0.0.1:<port>`.
///
/// # Errors
/// [`StartupError::Bind`] when the port cannot be bound (in use, or not permitted).
pub async fn build(config: &Config) -> Result<App, StartupError> {
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
    let outbound = match &config.outbound.settings {
        Some(settings) => {
            let client = OutboundClient::build(settings)?;
            background.extend(client.spawn_identity_reloader());
            Some(client)
        }
        None => {
            tracing::info!("outbound mutual TLS is off: outbound-mtls answers 503");
            None
        }
    };
    let state = AppState::new(
        &config.server.host.route_prefix,
        Arc::clone(&authenticator),
        outbound,
    );
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.server.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    Ok(App {
        listener,
        routes: routes(
            state,
            RouteOptions {
                cert_info: config.inbound.cert_info_enabled,
                payload_mode: config.server.host.serves_payload_mode(),
            },
        ),
        background,
        shutdown_timeout: config.server.shutdown_timeout,
        refusal_lines: authenticator.refusal_lines(),
    })
}

impl App {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
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
