//! Inbound authentication by the client certificate the front end forwards in a header.
//!
//! Pure functions over bytes and values: header -> DER (`header`), strict DER (`der`), DER ->
//! [`ClientCert`] (`certificate`, `name`, `directory_string`, and `leaf_profile` for what RFC
//! 5280 requires of a client certificate), the leaf's key (`key_strength`),
//! chain/validity/usage/revocation (`trust`, `verified_path`, `ca_certificate`, `ca_warnings`,
//! `subtrees`, `webpki_view`, `email_constraints`, `revocation` over CRLs read by `crl`, with
//! files read by `crate::cert_file`, kept by `crl_files` and reloaded by `reload`), allowlist
//! (`policy`, `policy_file`, and `name_constraints` for the CN), a decision cache (`cache`),
//! the triage of a certificate the cache does not know, from a few structural reads
//! (`sketch`, `triage`), the bounded lanes cold decisions wait in (`gate`) and the line each
//! decision writes (`decision_line`). [`Authenticator`] ties them together for the warp filter. No HTTP types here: mapping [`Denied`] to a status is
//! `error.rs`'s job; `filter` is the only part that knows warp.

pub mod ca_certificate;
mod ca_warnings;
pub mod cache;
pub mod certificate;
pub mod crl;
pub mod crl_files;
mod decision_line;
mod denied;
pub mod der;
pub mod directory_string;
mod email_constraints;
pub mod filter;
pub mod gate;
pub mod header;
pub mod key_strength;
mod leaf_profile;
pub mod name;
pub mod name_constraints;
pub mod policy;
pub mod policy_file;
mod principal;
mod reload;
pub mod revocation;
pub mod settings;
pub mod sketch;
mod subtrees;
#[cfg(test)]
pub(crate) mod test_crl;
#[cfg(test)]
pub(crate) mod test_pki;
#[cfg(test)]
mod test_support;
pub mod triage;
pub mod trust;
mod verified_path;
mod webpki_view;
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
pub use principal::Principal;
pub use settings::Settings;

/// A request's certificate passed the checks and matched an allowlist rule: what a protected
/// function receives about its caller.
///
/// Reading the fields is part of the stable API; building one is not (fields may be added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The caller's certificate, parsed.
    pub cert: Arc<ClientCert>,
    /// Who the caller is: the value the matching rule named (a policy rule's name is the
    /// partner id). Use this, not the certificate's fields, to decide what the caller may do.
    pub principal: Principal,
    /// The kind of rule, as logged: `thumbprint:SHA1`, `thumbprint:SHA256`, `common_name`,
    /// `dns_name`, `uri`, `email`, `policy:<rule name>`.
    pub matched_rule: String,
    /// A configured CA vouched for the certificate (webpki verified the chain).
    pub verified_chain: bool,
    /// A name rule matched without a verified chain (`CLIENT_CERT_ALLOW_UNVERIFIED_NAMES`).
    pub unverified_name: bool,
}
