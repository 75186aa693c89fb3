//! mtls-handler: an Azure Functions custom handler that admits callers by the TLS client
//! certificate the App Service front end forwards, and calls upstreams over mutual TLS.
//!
//! Architecture, one line per module:
//! - [`config`]: every setting, read from the environment and checked before the port is bound.
//! - [`host`]: the custom-handler contract: route prefix, readiness, payload-mode envelope.
//! - [`outbound`]: outbound mutual TLS: the client identity (PKCS#12), trusted roots, one reqwest client.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod config;
pub mod host;
pub mod outbound;
