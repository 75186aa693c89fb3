//! One distribution point's memory: the last good CRL, the validators to send back, and how the
//! last fetch ended; and the decisions on each outcome (keep, replace, warn). No I/O here: the
//! fetching and the scheduling are `mod.rs`'s, the HTTP is `fetch.rs`'s.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use url::Url;

use super::check::{CheckedCrl, Served};
use super::fetch::Validators;
use super::{EXPIRY_WARNING, SourceReport, at};
use crate::client_cert::crl::Crl;
use crate::outbound::client::loggable;

/// How one fetch ended.
pub(super) enum Outcome {
    /// 304: what is held is current.
    NotModified,
    /// A CRL that passed `check`, with the response's validators.
    Fresh(CheckedCrl, Validators),
    /// Anything else, in words (the last good CRL stays).
    Failed(String),
}

#[derive(Debug)]
pub(super) struct UrlSource {
    pub(super) url: Url,
    state: Mutex<SourceState>,
}

#[derive(Debug, Default)]
struct SourceState {
    held: Option<CheckedCrl>,
    /// The newest CRL number of each series this URL served (what a new CRL must not be
    /// older than).
    served: Served,
    validators: Validators,
    last_fetch: Option<i64>,
    outcome: String,
    /// How near the held CRL is to its nextUpdate, as last warned about.
    expiry: Expiry,
}

/// Where the held CRL stands against its nextUpdate.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// No CRL held, or its nextUpdate is further off than the warning window.
    #[default]
    Current,
    /// Within the window: [`EXPIRY_WARNING`] or two reload periods, whichever is longer.
    Near,
    /// Past its nextUpdate: what it covers is refused as unknown.
    Past,
}

impl UrlSource {
    pub(super) fn new(url: &Url) -> Self {
        Self {
            url: url.clone(),
            state: Mutex::new(SourceState {
                outcome: "not fetched yet".to_owned(),
                ..SourceState::default()
            }),
        }
    }

    /// What the next request sends back, and the CRL numbers a new CRL must not be older than
    /// (by series).
    pub(super) fn request(&self) -> (Validators, Served) {
        let state = self.lock();
        (state.validators.clone(), state.served.clone())
    }

    /// Records how a fetch ended at `now` and logs it; returns whether the held CRL changed.
    pub(super) fn record(&self, outcome: Outcome, now: i64, period: Duration) -> bool {
        let url = loggable(&self.url);
        let mut state = self.lock();
        state.last_fetch = Some(now);
        let changed = state.apply(&url, outcome);
        // Every outcome (a 304 and an unchanged CRL too): warned once per change of state.
        state.note_expiry(&url, now, period);
        changed
    }

    /// Where the held CRL stands against its nextUpdate, as last warned about (tests).
    #[cfg(test)]
    pub(super) fn expiry(&self) -> Expiry {
        self.lock().expiry
    }

    /// The held CRL, if any (shared, not copied).
    pub(super) fn held_crl(&self) -> Option<Arc<Crl>> {
        self.lock().held.as_ref().map(|held| Arc::clone(&held.crl))
    }

    pub(super) fn report(&self) -> SourceReport {
        let state = self.lock();
        SourceReport {
            url: loggable(&self.url),
            last_fetch: state.last_fetch,
            outcome: state.outcome.clone(),
            this_update: state.held.as_ref().map(|crl| crl.this_update),
            next_update: state.held.as_ref().map(|crl| crl.next_update),
        }
    }

    /// Until the next fetch: `period`, or sooner when the held CRL's nextUpdate comes first.
    pub(super) fn next_delay(&self, now: i64, period: Duration) -> Duration {
        let until_next_update = self
            .lock()
            .held
            .as_ref()
            .map(|crl| crl.next_update.saturating_sub(now))
            .filter(|seconds| *seconds > 0)
            .map(|seconds| Duration::from_secs(seconds.unsigned_abs()));
        until_next_update
            .map_or(period, |until| until.min(period))
            .max(Duration::from_secs(1))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SourceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SourceState {
    /// Applies how a fetch ended; returns whether the held CRL changed.
    fn apply(&mut self, url: &str, outcome: Outcome) -> bool {
        match outcome {
            Outcome::NotModified if self.held.is_some() => {
                self.outcome = "not modified".to_owned();
                tracing::debug!(%url, "crl not modified");
                false
            }
            Outcome::NotModified => {
                // Validators without a CRL cannot happen; forget them and fetch whole next time.
                self.validators = Validators::default();
                self.failed(url, "304 without a crl held".to_owned());
                false
            }
            Outcome::Fresh(crl, validators) => {
                let changed = self
                    .held
                    .as_ref()
                    .is_none_or(|held| held.digest != crl.digest);
                tracing::info!(%url, issuer = %crl.issuer, this_update = %at(Some(crl.this_update)),
                    next_update = %at(Some(crl.next_update)), changed, "crl fetched");
                self.outcome = "ok".to_owned();
                self.served.note(&crl.crl);
                self.held = Some(crl);
                self.validators = validators;
                changed
            }
            Outcome::Failed(reason) => {
                self.failed(url, reason);
                false
            }
        }
    }

    /// A failed fetch: the held CRL stays (how near its nextUpdate is, `note_expiry` says).
    fn failed(&mut self, url: &str, reason: String) {
        match &self.held {
            None => tracing::warn!(%url, %reason,
                "crl fetch failed and no crl has been fetched from this url yet: certificates it covers are refused as unknown"),
            Some(held) => tracing::warn!(%url, %reason, next_update = %at(Some(held.next_update)),
                "crl fetch failed; keeping the last good crl"),
        }
        self.outcome = format!("failed: {reason}");
    }

    /// Where the held CRL stands against its nextUpdate at `now`; warns when that changed to
    /// near or past (once per change, not on every fetch). Returns the new state when it
    /// changed.
    fn note_expiry(&mut self, url: &str, now: i64, period: Duration) -> Option<Expiry> {
        let window = EXPIRY_WARNING.max(period.saturating_mul(2));
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        let expiry = match &self.held {
            Some(held) if held.next_update <= now => Expiry::Past,
            Some(held) if held.next_update.saturating_sub(now) <= window => Expiry::Near,
            _ => Expiry::Current,
        };
        if expiry == self.expiry {
            return None;
        }
        self.expiry = expiry;
        let next_update = at(self.held.as_ref().map(|held| held.next_update));
        match expiry {
            Expiry::Near => tracing::warn!(%url, %next_update, outcome = %self.outcome,
                "the crl held for this url reaches its nextUpdate soon and no newer one has arrived; after that, certificates it covers are refused as unknown"),
            Expiry::Past => tracing::warn!(%url, %next_update, outcome = %self.outcome,
                "the crl held for this url is past its nextUpdate and no newer one has arrived: certificates it covers are refused as unknown"),
            Expiry::Current => {}
        }
        Some(expiry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::crl::CrlIssuers;
    use crate::client_cert::test_pki::{BASE, Ca, DAY};
    use rustls_pki_types::CertificateDer;

    #[test]
    fn nearing_and_passing_next_update_is_noted_once_whatever_the_fetches_bring() {
        let root = Ca::root("Expiry Root");
        let start = i64::try_from(BASE).expect("base fits");
        let issuers = CrlIssuers::new(&[CertificateDer::from(root.der.clone())]);
        let crl = super::super::check::check(root.crl(&[], -DAY, DAY), &issuers, start, None)
            .expect("test crl passes");
        let next_update = crl.next_update;
        let source = UrlSource::new(&Url::parse("http://127.0.0.1/root.crl").expect("url"));
        let period = Duration::from_secs(30);
        let hour = 60 * 60;
        let failed = || Outcome::Failed("connection refused".to_owned());

        assert!(source.record(
            Outcome::Fresh(crl.clone(), Validators::default()),
            start,
            period
        ));
        assert_eq!(source.expiry(), Expiry::Current);
        // 304s while nextUpdate nears: noted (warned) once, not on every tick.
        source.record(Outcome::NotModified, next_update - 2 * hour, period);
        assert_eq!(source.expiry(), Expiry::Current, "not yet in the window");
        source.record(Outcome::NotModified, next_update - hour / 2, period);
        assert_eq!(source.expiry(), Expiry::Near, "a 304 nearing nextUpdate");
        let mut state = source.lock();
        assert_eq!(
            state.note_expiry("u", next_update - hour / 4, period),
            None,
            "no second warning while still near"
        );
        drop(state);
        source.record(failed(), next_update, period);
        assert_eq!(source.expiry(), Expiry::Past, "a failure past nextUpdate");
        state = source.lock();
        assert_eq!(state.note_expiry("u", next_update + hour, period), None);
        drop(state);
        // The same CRL again (a 200 with unchanged bytes) does not end the state.
        source.record(
            Outcome::Fresh(crl.clone(), Validators::default()),
            next_update + 2 * hour,
            period,
        );
        assert_eq!(source.expiry(), Expiry::Past);
        // A newer CRL does; the next nearing is warned about again.
        let newer = super::super::check::check(
            root.crl_numbered(2, &[], DAY, 3 * DAY),
            &issuers,
            next_update + 2 * hour,
            None,
        )
        .expect("newer crl passes");
        let newer_next = newer.next_update;
        source.record(
            Outcome::Fresh(newer, Validators::default()),
            next_update + 2 * hour,
            period,
        );
        assert_eq!(source.expiry(), Expiry::Current);
        let mut state = source.lock();
        assert_eq!(
            state.note_expiry("u", newer_next - hour / 2, period),
            Some(Expiry::Near)
        );
    }
}
