//! Background CRL reloading for [`Authenticator`]: a polling task that reads every CRL file
//! again each `CLIENT_CERT_CRL_RELOAD_SECONDS` (`crl_files.rs` compares their content and keeps
//! each file's last good CRLs through any failure, logged once per change). CRLs are never
//! fetched on the request path. The task never stops ticking: each reload runs on the blocking
//! pool, and a tick that comes while the last reload is still running (a read waiting on a
//! stuck file, at most `cert_file::READ_TIMEOUT` per file) is skipped, not queued. A new set is
//! installed first, then the decision cache is cleared, which starts a new cache generation: a
//! request that took the old set before the clear cannot cache its decision after it.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::Authenticator;
use super::authenticator::CrlParts;
use super::revocation::CrlSet;

impl Authenticator {
    /// Starts the background CRL reloader; `None` when no CRL file is configured.
    pub fn spawn_crl_reloader(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if self.crl_paths().is_empty() {
            return None;
        }
        let weak = Arc::downgrade(self);
        let period = self.crl_reload.max(Duration::from_secs(1));
        Some(tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval.tick().await;
            let mut running: Option<tokio::task::JoinHandle<()>> = None;
            loop {
                interval.tick().await;
                if running.as_ref().is_some_and(|task| !task.is_finished()) {
                    tracing::debug!("the last crl reload is still running; this tick is skipped");
                    continue;
                }
                if let Some(task) = running.take()
                    && let Err(error) = task.await
                {
                    tracing::error!(%error, "crl reload task failed");
                }
                let Some(this) = weak.upgrade() else { return };
                running = Some(tokio::task::spawn_blocking(move || {
                    this.reload_crls_if_changed();
                }));
            }
        }))
    }

    /// Reads every CRL file again and installs the CRL set when any file's CRLs changed; a
    /// file that fails keeps its last good CRLs (logged once per change) and is read again on
    /// every later call. Returns whether a new set was installed (the decision cache is then
    /// cleared).
    pub fn reload_crls_if_changed(&self) -> bool {
        let mut files = self
            .crl_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !files.reload(&self.crl_issuers) {
            return false;
        }
        let set = files.set();
        let count = set.len();
        self.install_crls(|parts| parts.files = Arc::new(set));
        tracing::info!(crls = count, "client certificate crls reloaded");
        true
    }

    /// Installs CRLs fetched from distribution points (`crate::crl_source`) beside the files'
    /// CRLs, and clears the decision cache.
    pub fn install_fetched_crls(&self, set: CrlSet) {
        let count = set.len();
        self.install_crls(|parts| parts.fetched = Arc::new(set));
        tracing::info!(
            crls = count,
            "client certificate crls from distribution points installed"
        );
    }

    /// Replaces one part of the CRL set, installs the joined set, then clears the decision
    /// cache (a new generation: a decision made on the old set is never cached after this).
    fn install_crls(&self, replace: impl FnOnce(&mut CrlParts)) {
        let mut parts = self
            .crl_parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        replace(&mut parts);
        let joined = parts.files.joined(&parts.fetched);
        warn_about(&joined);
        *self.crls.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(joined);
        self.cache.clear();
    }

    fn crl_paths(&self) -> Vec<PathBuf> {
        self.crl_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .paths()
    }
}

/// Warns about every CRL set aside because a newer CRL of the same series is held (one per
/// issuer name, partition, kind and signing key is used), every CRL that vouches for no certificate (a
/// signature that does not verify, a signer without cRLSign), and every base CRL that
/// announces delta CRLs while none that applies to it is held (what it covers is unknown until
/// one is).
pub(super) fn warn_about(crls: &CrlSet) {
    for aside in crls.set_aside() {
        tracing::warn!(
            issuer = %aside.issuer,
            kept = %aside.kept,
            set_aside = %aside.dropped,
            "a crl is set aside: another crl of the same issuer name, partition, kind and signing key is newer (higher crl number, then later thisUpdate) or equally new and held first; only the newest is used"
        );
    }
    for unvouched in crls.unvouched() {
        tracing::warn!(
            issuer = %unvouched.issuer,
            source = %unvouched.source,
            reason = unvouched.reason,
            "a crl in force vouches for no certificate: it refuses those it lists, and the certificates of its issuer are refused as unknown until a crl signed by the issuer's key is loaded"
        );
    }
    for missing in crls.missing_deltas() {
        tracing::warn!(
            issuer = %missing.issuer,
            source = %missing.source,
            published_at = %missing.published_at.join(" "),
            "a crl announces delta crls (freshestCRL) and no delta crl that applies to it is held: the certificates it covers are refused as unknown until one is; add the delta crl's url to CLIENT_CERT_CRL_URLS"
        );
    }
}
