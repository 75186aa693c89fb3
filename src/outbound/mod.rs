//! Outbound mutual TLS: calling an upstream with our client certificate.
//!
//! - [`identity`]: PKCS#12 (or PEM) file -> private key + ordered chain, checked at startup.
//! - `chain`: which certificate is the leaf, and the issuers after it in order.
//! - [`tls`]: trusted roots + identity -> rustls `ClientConfig` (ring provider, HTTP/1.1 ALPN).
//! - [`identity_source`]: where the identity comes from (file, CN in a folder, the setting's
//!   value), loaded at startup and on every change.
//! - `reload`: re-reads a changed identity and swaps the client atomically.
//! - [`client`]: the one reqwest client, its timeouts and size cap.
//! - `error`: [`OutboundError`], its public codes, and how reqwest errors are classified.
//!
//! Reading settings lives in `config::outbound`; mapping errors to HTTP lives in `error.rs`.
//! Only this module knows reqwest.

mod chain;
pub mod client;
mod error;
pub mod identity;
pub mod identity_source;
mod pkcs12_work;
mod reload;
pub mod tls;

pub use client::{
    BuildError, Fetched, IdentityReload, OutboundClient, OutboundError, OutboundSettings,
};
pub use identity::{Identity, IdentityError};
pub use tls::TlsConfigError;

#[cfg(test)]
pub(crate) mod test_pki;
#[cfg(test)]
#[path = "../../tests/api/support/upstream.rs"]
pub(crate) mod upstream;
