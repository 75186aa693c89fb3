//! Outbound identities that follow renewals: every `OUTBOUND_CLIENT_CERT_RELOAD_SECONDS` the
//! identity's source is stamped; when it changed, the identity is loaded and checked as at
//! startup, a new reqwest client is built on it, and the client is swapped whole. Calls in
//! flight finish on the client they cloned; new calls present the new certificate. A source
//! that no longer yields a usable identity is a warning naming the setting, and the identity in
//! use stays. The stamp of a failed attempt is kept, so one bad file is one warning, and the
//! next change is tried again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};

use super::OutboundClient;
use super::client::http_client;
use super::identity_source::{IdentitySource, Stamp};
use super::tls;

/// What the reloader needs, from the startup configuration.
#[derive(Clone)]
pub struct IdentityReload {
    pub source: IdentitySource,
    /// The source's stamp taken before the startup load.
    pub stamp: Stamp,
    /// The leaf loaded at startup.
    pub leaf: CertificateDer<'static>,
    pub verifier: Arc<dyn ServerCertVerifier>,
    pub provider: Arc<CryptoProvider>,
    pub period: Duration,
}

/// The reloader's memory: the last stamp looked at, and the leaf in use.
pub(super) struct ReloadState {
    settings: IdentityReload,
    last: Mutex<(Stamp, CertificateDer<'static>)>,
}

impl ReloadState {
    pub(super) fn new(settings: IdentityReload) -> Self {
        let last = Mutex::new((settings.stamp.clone(), settings.leaf.clone()));
        Self { settings, last }
    }
}

impl OutboundClient {
    /// Starts the identity reloader; `None` when the identity cannot change (an inline value)
    /// or the client was built without a source.
    pub fn spawn_identity_reloader(&self) -> Option<tokio::task::JoinHandle<()>> {
        let reload = self.inner.reload.as_ref()?;
        if !reload.settings.source.can_change() {
            return None;
        }
        let period = reload.settings.period.max(Duration::from_secs(1));
        let weak = Arc::downgrade(&self.inner);
        Some(tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.tick().await;
            loop {
                interval.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let client = OutboundClient { inner };
                if let Err(error) =
                    tokio::task::spawn_blocking(move || client.reload_identity_if_changed()).await
                {
                    tracing::error!(%error, "outbound identity reload task failed");
                }
            }
        }))
    }

    /// Loads the identity again if its source changed; swaps the client when it yields a new,
    /// valid identity. Returns whether the client was swapped.
    pub fn reload_identity_if_changed(&self) -> bool {
        let Some(reload) = &self.inner.reload else {
            return false;
        };
        let settings = &reload.settings;
        let stamp = settings.source.stamp();
        let mut last = reload.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.0 == stamp {
            return false;
        }
        last.0 = stamp;
        let setting = settings.source.setting();
        let identity = match settings.source.load(UnixTime::now(), &settings.provider) {
            Ok(identity) => identity,
            Err(error) => {
                tracing::warn!(setting, %error,
                    "the outbound identity changed but the new one cannot be used; the current identity stays");
                return false;
            }
        };
        if identity.chain().first() == Some(&last.1) {
            return false;
        }
        let built = tls::client_config(
            Arc::clone(&settings.verifier),
            Some(&identity),
            &settings.provider,
        )
        .map_err(|error| error.to_string())
        .and_then(|config| {
            http_client(config, self.inner.connect_timeout, self.inner.timeout)
                .map_err(|error| error.to_string())
        });
        let http = match built {
            Ok(http) => http,
            Err(error) => {
                tracing::warn!(setting, %error,
                    "the new outbound identity was refused by the TLS stack; the current identity stays");
                return false;
            }
        };
        *self
            .inner
            .http
            .write()
            .unwrap_or_else(PoisonError::into_inner) = http;
        *self
            .inner
            .identity_not_after
            .write()
            .unwrap_or_else(PoisonError::into_inner) = identity.not_after();
        if let Some(leaf) = identity.chain().first() {
            last.1 = leaf.clone();
        }
        tracing::info!(setting, source = %settings.source.describe(), identity = %identity.subject(),
            not_after = %identity.not_after(), "outbound identity reloaded: new calls present the new certificate");
        true
    }
}
