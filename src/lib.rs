//! mtls-handler: an Azure Functions custom handler that admits callers by the TLS client
//! certificate the App Service front end forwards, and calls upstreams over mutual TLS.
//!
//! Architecture, one line per module:
//! - [`cert_file`]: certificate, CRL, key and identity files (PEM, DER, PKCS#12) -> DER items.
//! - [`check`]: `handler check`: the posture with values, and any decision explained step by step.
//! - [`client_cert`]: inbound authentication: forwarded client certificate -> `Authorized` | `Denied`.
//! - [`crl_source`]: CRLs fetched from the CAs' distribution points in the background (reqwest).
//! - [`config`]: every setting, read from the environment and checked before the port is bound.
//! - [`telemetry`]: logs: info to stdout, warnings and errors to stderr, caller text escaped, `RUST_LOG`.
//! - [`startup`]: the route tree, our own listener, graceful shutdown.
//! - [`http_server`]: hyper's HTTP/1.1 connections under the routes, with the request-head limit.
//! - [`host`]: the custom-handler contract: route prefix, readiness, invocation id, payload-mode envelope.
//! - [`functions`]: one handler per function folder.
//! - [`outbound`]: outbound mutual TLS: the client identity (PKCS#12), trusted roots, one reqwest client.
//! - [`state`]: the shared, read-only state handed to handlers.
//! - [`error`]: `ApiError`, the one place failures become HTTP responses.
//! - [`dev`]: `handler dev`, the whole flow on a laptop: PKI, App Service-like front end, upstream.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod cert_file;
pub mod check;
pub mod client_cert;
pub mod config;
pub mod crl_source;
pub mod dev;
pub mod error;
pub mod functions;
pub mod host;
pub mod http_server;
pub mod outbound;
pub mod startup;
pub mod state;
pub mod telemetry;
