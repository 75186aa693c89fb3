//! [`OutboundSettings`]: everything the client is built from, as `config::outbound` reads it at
//! startup (the identity loaded then, or why not, and how to reload it), and what `handler check`
//! shows of it. It holds the private key, so its `Debug` never prints the identity itself.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use url::Url;

use super::availability::Unavailable;
use super::client::{IdentityInfo, info, loggable};
use super::identity::Identity;
use super::reload::IdentityReload;

/// Everything the client needs, already parsed and checked (see `config::outbound`).
#[derive(Clone)]
pub struct OutboundSettings {
    /// `REMOTE_API_URL`, always `https`: the demo's target, and the host a path is resolved on.
    pub url: Option<Url>,
    /// Which server certificates are trusted.
    pub verifier: Arc<dyn ServerCertVerifier>,
    pub provider: Arc<CryptoProvider>,
    /// The identity loaded at startup, or why there is none.
    pub identity: Result<Identity, Unavailable>,
    /// TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// The whole call, from connect to the last byte of the body.
    pub timeout: Duration,
    /// The largest response body accepted.
    pub max_response_bytes: u64,
    /// The trust decision, for the startup log.
    pub trust_public_roots: bool,
    pub private_ca_count: usize,
    /// How to re-read the identity when its source changes (`None`: loaded once).
    pub identity_reload: Option<IdentityReload>,
}

impl OutboundSettings {
    /// The startup identity's subject and notAfter, or why there is none.
    ///
    /// # Errors
    /// The [`Unavailable`] the identity failed with.
    pub fn identity_info(&self) -> Result<IdentityInfo, &Unavailable> {
        self.identity.as_ref().map(info)
    }

    /// Whether the startup identity expires within 30 days.
    pub fn identity_expires_soon(&self) -> bool {
        self.identity.as_ref().is_ok_and(|identity| {
            identity.not_after_secs() <= unix_now().saturating_add(EXPIRY_WARNING_SECS)
        })
    }
}

impl fmt::Debug for OutboundSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The identity holds the private key: never print it.
        f.debug_struct("OutboundSettings")
            .field("url", &self.url.as_ref().map(loggable))
            .field("identity", &self.identity_info())
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("trust_public_roots", &self.trust_public_roots)
            .field("private_ca_count", &self.private_ca_count)
            .finish_non_exhaustive()
    }
}

/// A warning is logged at startup when the identity expires within this window.
const EXPIRY_WARNING_SECS: i64 = 30 * 24 * 60 * 60;

fn unix_now() -> i64 {
    let now = rustls::pki_types::UnixTime::now().as_secs();
    i64::try_from(now).unwrap_or(i64::MAX)
}
