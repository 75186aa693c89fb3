//! mtls-handler: an Azure Functions custom handler that admits callers by the TLS client
//! certificate the App Service front end forwards, and calls upstreams over mutual TLS.
//!
//! Architecture, one line per module:
//! - [`client_cert`]: inbound authentication: forwarded client certificate -> `Authorized` | `Denied`.
//! - [`config`]: every setting, read from the environment and checked before the port is bound.
//! - [`host`]: the custom-handler contract: route prefix, readiness, payload-mode envelope.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod client_cert;
pub mod config;
pub mod host;
