//! CRLs from the CAs' distribution points (`CLIENT_CERT_CRL_URLS`): fetched at startup (waiting
//! at most [`STARTUP_WAIT`]), then in the background at least every
//! `CLIENT_CERT_CRL_RELOAD_SECONDS` and at each held CRL's nextUpdate; never on the request path.
//!
//! Each URL keeps its last good CRL. A fetch that fails (refused, 5xx, timeout, a redirect,
//! too large) or brings a CRL that `check` refuses (garbage, a bad signature, not current, an
//! older CRL number) keeps it and logs a warning with the URL and the reason; a warning also
//! comes when the held CRL nears its nextUpdate, and once it is past, webpki counts the status
//! as unknown, which is refused. A new CRL is handed to the [`Authenticator`], which joins it to
//! the CRL files' set and clears the decision cache (a new cache generation).
//!
//! - `fetch`: the HTTP side (conditional requests, timeouts, size cap, no redirects).
//! - `check`: the CRL side (issuer, signature, cRLSign, dates, CRL number).
//!
//! CRL files stay with `client_cert::reload`; this module knows URLs only.

pub mod check;
pub mod fetch;

#[cfg(test)]
#[path = "../../tests/api/support/crl_point.rs"]
pub(crate) mod crl_point;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use url::Url;

use crate::client_cert::Authenticator;
use crate::client_cert::revocation::CrlSet;
use crate::outbound::client::loggable;
use check::{CheckedCrl, check};
use fetch::{FetchError, Fetched, Fetcher, Validators};

/// How long startup waits for the first fetch of every URL before it serves anyway.
pub const STARTUP_WAIT: Duration = Duration::from_secs(5);
/// A held CRL this close to its nextUpdate, with no newer one fetched, is warned about.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(60 * 60);

/// Every configured distribution point and what was last fetched from each.
#[derive(Debug)]
pub struct CrlUrls {
    sources: Vec<UrlSource>,
    /// The configured CAs (anchors and intermediates) a CRL may come from.
    issuers: Vec<CertificateDer<'static>>,
    period: Duration,
    fetcher: Fetcher,
    authenticator: Arc<Authenticator>,
}

/// One source as `handler check` and the startup log show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    /// Scheme, host and path (never a query).
    pub url: String,
    /// When the last fetch ended (unix seconds) and how.
    pub last_fetch: Option<i64>,
    pub outcome: String,
    /// The held CRL's thisUpdate and nextUpdate (unix seconds).
    pub this_update: Option<i64>,
    pub next_update: Option<i64>,
}

#[derive(Debug)]
struct UrlSource {
    url: Url,
    state: Mutex<SourceState>,
}

#[derive(Debug, Default)]
struct SourceState {
    held: Option<CheckedCrl>,
    validators: Validators,
    last_fetch: Option<i64>,
    outcome: String,
}

impl CrlUrls {
    /// The sources of `urls`, checked against `issuers`, fetched every `period`.
    pub fn new(
        urls: &[Url],
        issuers: Vec<CertificateDer<'static>>,
        period: Duration,
        fetcher: Fetcher,
        authenticator: Arc<Authenticator>,
    ) -> Self {
        Self {
            sources: urls
                .iter()
                .map(|url| UrlSource {
                    url: url.clone(),
                    state: Mutex::new(SourceState {
                        outcome: "not fetched yet".to_owned(),
                        ..SourceState::default()
                    }),
                })
                .collect(),
            issuers,
            period: period.max(Duration::from_secs(1)),
            fetcher,
            authenticator,
        }
    }

    /// Starts one background task per URL, waits up to [`STARTUP_WAIT`] for every first fetch,
    /// and logs each source as it stands. The tasks run until aborted.
    pub async fn start(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(self.sources.len().max(1));
        let tasks = (0..self.sources.len())
            .map(|index| {
                let this = Arc::clone(self);
                let done = done_tx.clone();
                tokio::spawn(async move {
                    this.refresh(index).await;
                    done.send(()).await.ok();
                    drop(done);
                    loop {
                        tokio::time::sleep(this.next_delay(index)).await;
                        this.refresh(index).await;
                    }
                })
            })
            .collect();
        drop(done_tx);
        let all_done = async {
            for _ in 0..self.sources.len() {
                done_rx.recv().await;
            }
        };
        if tokio::time::timeout(STARTUP_WAIT, all_done).await.is_err() {
            tracing::warn!(
                wait_seconds = STARTUP_WAIT.as_secs(),
                "crl distribution points did not all answer in time; serving anyway (covered certificates are refused as unknown until their crl arrives)"
            );
        }
        for report in self.report() {
            tracing::info!(
                url = %report.url,
                last_fetch = %at(report.last_fetch),
                outcome = %report.outcome,
                this_update = %at(report.this_update),
                next_update = %at(report.next_update),
                "crl source"
            );
        }
        tasks
    }

    /// Every source, in setting order.
    pub fn report(&self) -> Vec<SourceReport> {
        self.sources
            .iter()
            .map(|source| {
                let state = source.state.lock().unwrap_or_else(PoisonError::into_inner);
                SourceReport {
                    url: loggable(&source.url),
                    last_fetch: state.last_fetch,
                    outcome: state.outcome.clone(),
                    this_update: state.held.as_ref().map(|crl| crl.this_update),
                    next_update: state.held.as_ref().map(|crl| crl.next_update),
                }
            })
            .collect()
    }

    /// Fetches source `index` once; installs the CRL set again when its CRL changed.
    async fn refresh(&self, index: usize) {
        let source = &self.sources[index];
        let (validators, held_number) = {
            let state = source.state.lock().unwrap_or_else(PoisonError::into_inner);
            let number = state.held.as_ref().and_then(|crl| crl.number.clone());
            (state.validators.clone(), number)
        };
        let fetched = self.fetcher.fetch(&source.url, &validators).await;
        let now = unix_now();
        let url = loggable(&source.url);
        let outcome = match fetched {
            Ok(Fetched::NotModified) => Ok(None),
            Ok(Fetched::Body { bytes, validators }) => {
                match check(&bytes, &self.issuers, now, held_number.as_deref()) {
                    Ok(crl) => Ok(Some((crl, validators))),
                    Err(refused) => Err(refused.to_string()),
                }
            }
            Err(error) => Err(describe(&error)),
        };
        let changed = {
            let mut state = source.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.last_fetch = Some(now);
            match outcome {
                Ok(None) if state.held.is_some() => {
                    state.outcome = "not modified".to_owned();
                    tracing::debug!(%url, "crl not modified");
                    false
                }
                Ok(None) => {
                    state.outcome = "failed: 304 without a crl held".to_owned();
                    state.validators = Validators::default();
                    warn_failed(&url, "304 without a crl held", &state, now, self.period);
                    false
                }
                Ok(Some((crl, validators))) => {
                    let changed = state.held.as_ref().is_none_or(|held| held.der != crl.der);
                    tracing::info!(%url, issuer = %crl.issuer, this_update = %at(Some(crl.this_update)),
                        next_update = %at(Some(crl.next_update)), changed, "crl fetched");
                    state.outcome = "ok".to_owned();
                    state.held = Some(crl);
                    state.validators = validators;
                    changed
                }
                Err(reason) => {
                    warn_failed(&url, &reason, &state, now, self.period);
                    state.outcome = format!("failed: {reason}");
                    false
                }
            }
        };
        if changed {
            self.install();
        }
    }

    /// Hands every held CRL to the authenticator (which clears the decision cache).
    fn install(&self) {
        let ders: Vec<Vec<u8>> = self
            .sources
            .iter()
            .filter_map(|source| {
                let state = source.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.held.as_ref().map(|crl| crl.der.clone())
            })
            .collect();
        let slices: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
        match CrlSet::from_ders(&slices) {
            Ok(set) => self.authenticator.install_fetched_crls(set),
            // `check` parsed each with webpki already; this cannot happen, and if it did the
            // set in force stays.
            Err(detail) => tracing::error!(%detail, "fetched crls could not be installed"),
        }
    }

    /// Until the next fetch of source `index`: the period, or sooner at the held nextUpdate.
    fn next_delay(&self, index: usize) -> Duration {
        let state = self.sources[index]
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = unix_now();
        let until_next_update = state
            .held
            .as_ref()
            .map(|crl| crl.next_update.saturating_sub(now))
            .filter(|seconds| *seconds > 0)
            .map(|seconds| Duration::from_secs(seconds.unsigned_abs()));
        until_next_update
            .map_or(self.period, |until| until.min(self.period))
            .max(Duration::from_secs(1))
    }
}

fn warn_failed(url: &str, reason: &str, state: &SourceState, now: i64, period: Duration) {
    let Some(held) = &state.held else {
        tracing::warn!(%url, %reason,
            "crl fetch failed and no crl has been fetched from this url yet: certificates it covers are refused as unknown");
        return;
    };
    let next_update = at(Some(held.next_update));
    if held.next_update <= now {
        tracing::warn!(%url, %reason, %next_update,
            "crl fetch failed and the last good crl is past its nextUpdate: certificates it covers are refused as unknown");
        return;
    }
    tracing::warn!(%url, %reason, %next_update, "crl fetch failed; keeping the last good crl");
    let window = EXPIRY_WARNING.max(period.saturating_mul(2));
    let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
    if held.next_update.saturating_sub(now) <= window {
        tracing::warn!(%url, %next_update,
            "the last good crl reaches its nextUpdate soon; after that, certificates it covers are refused as unknown");
    }
}

fn describe(error: &FetchError) -> String {
    error.to_string()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Unix seconds as RFC 3339, or `-`.
fn at(secs: Option<i64>) -> String {
    use time::format_description::well_known::Rfc3339;
    secs.and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}
