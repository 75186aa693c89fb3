//! Inbound authentication by the client certificate the front end forwards in a header.
//!
//! Pure functions over bytes and values: header -> DER (`header`), strict DER (`der`), DER ->
//! [`ClientCert`] (`certificate`, `name`, `directory_string`), the leaf's key
//! (`key_strength`), chain/validity/usage/revocation (`trust`, `ca_certificate`, `revocation`,
//! with files read by `crate::cert_file` and reloaded by `reload`), allowlist (`policy`, `policy_file`,
//! and `name_constraints` for the CN), a decision cache (`cache`), the triage of a certificate
//! the cache does not know, from a few structural reads (`sketch`, `triage`), the bounded
//! lanes cold decisions wait in (`gate`) and the line each decision writes (`decision_line`).
//! [`Authenticator`] ties them together for the warp filter. No HTTP types here: mapping [`Denied`] to a status is
//! `error.rs`'s job; `filter` is the only part that knows warp.

pub mod ca_certificate;
pub mod cache;
pub mod certificate;
mod decision_line;
mod denied;
pub mod der;
pub mod directory_string;
pub mod filter;
pub mod gate;
pub mod header;
pub mod key_strength;
pub mod name;
pub mod name_constraints;
pub mod policy;
pub mod policy_file;
mod reload;
pub mod revocation;
pub mod settings;
pub mod sketch;
#[cfg(test)]
pub(crate) mod test_pki;
pub mod triage;
pub mod trust;
pub mod words;

mod authenticator;
#[cfg(test)]
mod judgement_tests;

use std::sync::Arc;

pub use authenticator::{Authenticator, ColdRequest, Lookup};
pub use certificate::ClientCert;
pub use denied::Denied;
pub use filter::client_cert;
pub use header::HeaderFormat;
pub use settings::Settings;

/// A request's certificate passed the checks and matched an allowlist rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub cert: Arc<ClientCert>,
    /// e.g. `thumbprint:SHA1`, `common_name`, `dns_name`, `uri`, `email`, `policy:<rule name>`.
    pub matched_rule: String,
    /// A configured CA vouched for the certificate (webpki verified the chain).
    pub verified_chain: bool,
    /// A name rule matched without a verified chain (`CLIENT_CERT_ALLOW_UNVERIFIED_NAMES`).
    pub unverified_name: bool,
}
