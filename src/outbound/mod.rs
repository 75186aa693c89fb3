//! Outbound mutual TLS: calling upstreams with our client certificate, one renewal-following
//! client for the demo `outbound-mtls` and for one's own functions.
//!
//! The public surface, for code that adds functions: [`OutboundClient`] (reached with
//! `AppState::outbound()`), [`OutboundClient::request`] building an [`OutboundRequest`], its
//! [`OutboundResponse`], [`OutboundError`] with stable codes, and [`Unavailable`] with its
//! [`Reason`] when no identity is loaded. The rest is for the handler itself.
//!
//! - [`identity`]: PKCS#12 (or PEM) bytes -> private key + ordered chain, checked.
//! - `pkcs12_work`: a PKCS#12 file's key-derivation work, counted and bounded before decoding.
//! - `chain`: which certificate is the leaf, the issuers after it, what the leaf says.
//! - [`tls`]: trusted roots + identity -> rustls `ClientConfig` (ring provider, HTTP/1.1 ALPN).
//! - [`identity_source`]: where the identity comes from (file, CN in a folder, the setting's
//!   value), loaded at startup and on every change; `common_name` makes the CN choice;
//!   `stamp` tells whether the files changed.
//! - `availability`: [`Unavailable`], why there is no identity to present.
//! - `reload`: re-reads a changed identity off the async workers and swaps the client;
//!   `change` says what changed.
//! - `settings`: [`OutboundSettings`], what the client is built from.
//! - [`client`]: the one reqwest client (or why there is none), timeouts and size cap;
//!   `request`: calls of one's own.
//! - `error`: [`OutboundError`], its public codes, and how reqwest errors are classified.
//!
//! Reading settings lives in `config::outbound`; mapping errors to HTTP lives in `error.rs`.
//! Only this module knows reqwest.

mod availability;
mod chain;
mod change;
pub mod client;
mod common_name;
mod error;
pub mod identity;
pub mod identity_source;
#[doc(hidden)]
pub mod pkcs12_work;
mod reload;
mod request;
mod settings;
mod stamp;
pub mod tls;

pub use availability::{Reason, Unavailable};
pub use client::{
    BuildError, Fetched, IdentityInfo, IdentityReload, OutboundClient, OutboundError,
};
/// The `http` crate's types the request API takes and gives (the same crate warp uses).
pub use http;
pub use identity::{Identity, IdentityError};
pub use pkcs12_work::{MAX_WORK as MAX_PKCS12_WORK, WorkError};
pub use request::{OutboundRequest, OutboundResponse};
pub use settings::OutboundSettings;
pub use tls::TlsConfigError;

#[cfg(test)]
#[path = "../../tests/api/hostile_p12.rs"]
pub(crate) mod hostile_p12;
#[cfg(test)]
pub(crate) mod test_pki;
#[cfg(test)]
#[path = "../../tests/api/support/upstream.rs"]
pub(crate) mod upstream;
