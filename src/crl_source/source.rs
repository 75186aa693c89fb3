//! One distribution point's memory: the last good CRL, the validators to send back, and how the
//! last fetch ended; and the decisions on each outcome (keep, replace, warn). No I/O here: the
//! fetching and the scheduling are `mod.rs`'s, the HTTP is `fetch.rs`'s.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use url::Url;

use super::check::CheckedCrl;
use super::fetch::Validators;
use super::{EXPIRY_WARNING, SourceReport, at};
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
    validators: Validators,
    last_fetch: Option<i64>,
    outcome: String,
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

    /// What the next request sends back, and the CRL number a new CRL must not be older than.
    pub(super) fn request(&self) -> (Validators, Option<Vec<u8>>) {
        let state = self.lock();
        let number = state.held.as_ref().and_then(|crl| crl.number.clone());
        (state.validators.clone(), number)
    }

    /// Records how a fetch ended at `now` and logs it; returns whether the held CRL changed.
    pub(super) fn record(&self, outcome: Outcome, now: i64, period: Duration) -> bool {
        let url = loggable(&self.url);
        let mut state = self.lock();
        state.last_fetch = Some(now);
        match outcome {
            Outcome::NotModified if state.held.is_some() => {
                state.outcome = "not modified".to_owned();
                tracing::debug!(%url, "crl not modified");
                false
            }
            Outcome::NotModified => {
                // Validators without a CRL cannot happen; forget them and fetch whole next time.
                state.validators = Validators::default();
                state.failed(&url, "304 without a crl held".to_owned(), now, period);
                false
            }
            Outcome::Fresh(crl, validators) => {
                let changed = state.held.as_ref().is_none_or(|held| held.der != crl.der);
                tracing::info!(%url, issuer = %crl.issuer, this_update = %at(Some(crl.this_update)),
                    next_update = %at(Some(crl.next_update)), changed, "crl fetched");
                state.outcome = "ok".to_owned();
                state.held = Some(crl);
                state.validators = validators;
                changed
            }
            Outcome::Failed(reason) => {
                state.failed(&url, reason, now, period);
                false
            }
        }
    }

    /// The held CRL's DER, if any.
    pub(super) fn held_der(&self) -> Option<Vec<u8>> {
        self.lock().held.as_ref().map(|crl| crl.der.clone())
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
    /// A failed fetch: the held CRL stays; warnings say for how long it still counts.
    fn failed(&mut self, url: &str, reason: String, now: i64, period: Duration) {
        let Some(held) = &self.held else {
            tracing::warn!(%url, %reason,
                "crl fetch failed and no crl has been fetched from this url yet: certificates it covers are refused as unknown");
            self.outcome = format!("failed: {reason}");
            return;
        };
        let next_update = at(Some(held.next_update));
        if held.next_update <= now {
            tracing::warn!(%url, %reason, %next_update,
                "crl fetch failed and the last good crl is past its nextUpdate: certificates it covers are refused as unknown");
        } else {
            tracing::warn!(%url, %reason, %next_update, "crl fetch failed; keeping the last good crl");
            let window = EXPIRY_WARNING.max(period.saturating_mul(2));
            let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
            if held.next_update.saturating_sub(now) <= window {
                tracing::warn!(%url, %next_update,
                    "the last good crl reaches its nextUpdate soon; after that, certificates it covers are refused as unknown");
            }
        }
        self.outcome = format!("failed: {reason}");
    }
}
