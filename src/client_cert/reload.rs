//! Background CRL reloading for [`Authenticator`]: a polling task over the files'
//! modification times. CRLs are never fetched on the request path. A replaced file that fails
//! to parse keeps the last good set, logs an error, and is retried on every tick until it
//! loads: the files' stamps are recorded only after a successful load, so a half-written file
//! is not mistaken for the finished one. A new set is installed first, then the decision cache
//! is cleared, which starts a new cache generation: a request that took the old set before the
//! clear cannot cache its decision after it.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

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
            interval.tick().await;
            loop {
                interval.tick().await;
                let Some(this) = weak.upgrade() else { return };
                if let Err(error) =
                    tokio::task::spawn_blocking(move || this.reload_crls_if_changed()).await
                {
                    tracing::error!(%error, "crl reload task failed");
                }
            }
        }))
    }

    /// Reloads every CRL if any file changed since the last successful load; a failed reload
    /// keeps the last good set and is retried (and logged) on every later call until it works.
    /// Returns whether a new set was installed (the decision cache is then cleared).
    pub fn reload_crls_if_changed(&self) -> bool {
        let (paths, stamps) = {
            let watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(stamps) = watcher.changed() else {
                return false;
            };
            (watcher.paths(), stamps)
        };
        match CrlSet::load(&paths) {
            Ok(set) => {
                let count = set.len();
                self.install_crls(|parts| parts.files = Arc::new(set));
                self.watcher
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .loaded(stamps);
                tracing::info!(crls = count, "client certificate crls reloaded");
                true
            }
            Err(errors) => {
                for error in errors {
                    tracing::error!(%error, "crl reload failed; keeping the last good crls");
                }
                false
            }
        }
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
        warn_shared_crl_issuers(&joined);
        *self.crls.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(joined);
        self.cache.clear();
    }

    fn crl_paths(&self) -> Vec<PathBuf> {
        self.watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .paths()
    }
}

/// Warns about every CRL set aside because a newer CRL of the same issuer name is held (webpki
/// uses one CRL per issuer name: the newest is kept).
pub(super) fn warn_shared_crl_issuers(crls: &CrlSet) {
    for aside in crls.set_aside() {
        tracing::warn!(
            issuer = %aside.issuer,
            kept = %aside.kept,
            set_aside = %aside.dropped,
            "a crl is set aside: another crl of the same issuer name is newer (higher crl number, then later thisUpdate) or equally new and held first; only one per issuer name is used, and certificates of a CA whose key did not sign it have an unknown revocation status"
        );
    }
}
