//! Local development with real mutual TLS (`handler dev`): a development PKI, the handler on
//! the same code path as `serve`, an HTTPS front end that behaves like App Service's, and a local
//! mutual-TLS "remote API" for `outbound-mtls`.

pub mod front_end;
pub mod https;
pub mod pki;
pub mod remote_api;
pub mod tls;
