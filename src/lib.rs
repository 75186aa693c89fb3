//! mtls-handler: an Azure Functions custom handler that admits callers by the TLS client
//! certificate the App Service front end forwards, and calls upstreams over mutual TLS.
//!
//! # As a library: a function app of your own
//!
//! Your functions go beside the built-in ones (`health`, `cert-info`, `outbound-mtls`) and
//! are served exactly as they are: one route tree under one rejection handler (a refused
//! caller gets the same 403 and code everywhere), every host mode (proxying, forwarding,
//! payload), the request span, the drain on shutdown, and the background tasks (CRL reloading
//! and fetching, the daily re-check).
//!
//! ```no_run
//! use mtls_handler::{Authorized, FunctionRequest, Route};
//!
//! async fn list_orders(caller: Authorized, _request: FunctionRequest) -> impl warp::Reply {
//!     warp::reply::json(&serde_json::json!({ "partner": caller.principal.value() }))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     mtls_handler::cli::main(|app| app.function("orders", Route::get("orders"), list_orders))
//! }
//! ```
//!
//! The items re-exported here, and the modules [`app`] and [`cli`], are the library's API.
//! What is **stable** (changed only with a new minor version while at 0.x, said in the
//! changelog): [`App`], [`AppBuilder`] and its methods, [`Route`], [`RouteParams`],
//! [`FunctionRequest`], [`ErrorReply`], [`protected`], reading [`Authorized`], [`Principal`]
//! and [`ClientCert`], [`Config::load`] with [`Env`] and [`ProcessEnv`], [`cli::main`],
//! [`shutdown_signal`], and the settings and response codes the README lists. Everything else
//! is internal: the modules hidden from these docs are public only so that the project's own
//! tests, benchmarks and fuzz targets can reach them, and may change at any commit.
//! [`outbound`] is the outbound client's module; [`AppState`] is a handle to pass to
//! [`protected`] and to read the outbound client from, its fields not yet stable.
//!
//! # Architecture, one line per module
//! - [`app`]: extending: the app builder, a function's request, error replies, `protected`.
//! - [`cli`]: the command line (`serve`, `dev`, `check`, `settings`) for any app's binary.
//! - `cert_file`: certificate, CRL, key and identity files (PEM, DER, PKCS#12) -> DER items.
//! - `check`: `handler check`: the posture with values, and any decision explained step by step.
//! - `client_cert`: inbound authentication: forwarded client certificate -> `Authorized` | `Denied`.
//! - `crl_source`: CRLs fetched from the CAs' distribution points in the background (reqwest).
//! - `config`: every setting, read from the environment and checked before the port is bound.
//! - `posture`: the front end's client-certificate settings read from ARM; protected routes wait on it.
//! - `bounded_http`: the background calls' HTTP client: timeouts, a body cap, no redirects.
//! - [`telemetry`]: logs: info to stdout, warnings and errors to stderr, caller text escaped, `RUST_LOG`.
//! - `startup`: the route tree, our own listener, graceful shutdown.
//! - `http_server`: hyper's HTTP/1.1 connections under the routes, with the request-head limit.
//! - `host`: the custom-handler contract: routes, readiness, invocation id, payload envelope,
//!   function folders on disk.
//! - `functions`: the built-in functions, one handler per function folder.
//! - [`outbound`]: outbound mutual TLS: the renewal-following client identity, trusted roots, one reqwest client, and its request API for functions of your own.
//! - `state`: the shared, read-only state handed to handlers.
//! - `error`: `ApiError`, the one place failures become HTTP responses.
//! - `dev`: `handler dev`, the whole flow on a laptop: PKI, App Service-like front end, upstream.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod app;
pub(crate) mod bounded_http;
pub(crate) mod cert_file;
pub(crate) mod check;
pub mod cli;
#[doc(hidden)]
pub mod client_cert;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod crl_source;
#[doc(hidden)]
pub mod dev;
pub(crate) mod error;
pub(crate) mod functions;
#[doc(hidden)]
pub mod host;
#[doc(hidden)]
pub mod http_server;
pub mod outbound;
pub(crate) mod posture;
#[doc(hidden)]
pub mod startup;
#[doc(hidden)]
pub mod state;
pub mod telemetry;

pub use app::{AppBuilder, ErrorReply, FunctionInfo, FunctionRequest, protected};
pub use client_cert::{Authorized, ClientCert, Principal};
pub use config::{Config, ConfigError, Env, ProcessEnv};
pub use host::route::{Route, RouteError, RouteParams};
pub use startup::{App, StartupError, shutdown_signal};
pub use state::AppState;
