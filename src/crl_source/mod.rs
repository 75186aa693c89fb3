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
//! - `source`: one URL's memory (last good CRL, validators, last outcome) and its warnings.
//!
//! CRL files stay with `client_cert::reload`; this module knows URLs only.

pub mod check;
pub mod fetch;
mod source;

#[cfg(test)]
#[path = "../../tests/api/support/crl_point.rs"]
pub(crate) mod crl_point;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use url::Url;

use crate::client_cert::Authenticator;
use crate::client_cert::crl::CrlIssuers;
use crate::client_cert::revocation::CrlSet;
use crate::outbound::client::loggable;
use check::check;
use fetch::{Fetched, Fetcher};
use source::{Outcome, UrlSource};

/// How long startup waits for the first fetch of every URL before it serves anyway.
pub const STARTUP_WAIT: Duration = Duration::from_secs(5);
/// A held CRL this close to its nextUpdate, with no newer one fetched, is warned about.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(60 * 60);

/// Every configured distribution point and what was last fetched from each.
#[derive(Debug)]
pub struct CrlUrls {
    sources: Arc<[UrlSource]>,
    /// Held across collecting, parsing and installing the held CRLs, so installs happen one
    /// at a time and the last one always holds every source's latest CRL (an install that
    /// collected earlier can never land after one that collected later).
    installing: Arc<Mutex<()>>,
    /// The configured CAs (anchors and intermediates) a CRL may come from.
    issuers: Arc<CrlIssuers>,
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
            sources: urls.iter().map(UrlSource::new).collect(),
            installing: Arc::default(),
            issuers: Arc::new(CrlIssuers::new(&issuers)),
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
        self.log_sources();
        tasks
    }

    /// Fetches every source once, concurrently, waiting at most [`STARTUP_WAIT`] as `start`
    /// does, and installs what arrived (for `handler check`, which must judge with the CRLs
    /// `serve` would hold when it starts serving).
    pub async fn fetch_once(&self) {
        let all = futures_util::future::join_all((0..self.sources.len()).map(|i| self.refresh(i)));
        if tokio::time::timeout(STARTUP_WAIT, all).await.is_err() {
            tracing::debug!("crl distribution points did not all answer in time");
        }
    }

    /// One line per source: URL, last fetch, outcome, the held CRL's dates.
    pub fn log_sources(&self) {
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
    }

    /// Every source, in setting order.
    pub fn report(&self) -> Vec<SourceReport> {
        self.sources.iter().map(UrlSource::report).collect()
    }

    /// Fetches source `index` once; installs the CRL set again when its CRL changed.
    async fn refresh(&self, index: usize) {
        let source = &self.sources[index];
        let (validators, served) = source.request();
        let fetched = self.fetcher.fetch(&source.url, &validators).await;
        let now = unix_now();
        let outcome = match fetched {
            Ok(Fetched::NotModified) => Outcome::NotModified,
            Ok(Fetched::Body { bytes, validators }) => {
                // Verifying and indexing up to 8 MiB is CPU work: off the async workers.
                let issuers = Arc::clone(&self.issuers);
                let checked =
                    tokio::task::spawn_blocking(move || check(bytes, &issuers, now, Some(&served)))
                        .await;
                match checked {
                    Ok(Ok(crl)) => Outcome::Fresh(crl, validators),
                    Ok(Err(refused)) => Outcome::Failed(refused.to_string()),
                    Err(error) => Outcome::Failed(format!("check task failed: {error}")),
                }
            }
            Err(error) => Outcome::Failed(error.to_string()),
        };
        if source.record(outcome, now, self.period) {
            self.install().await;
        }
    }

    /// Hands every held CRL to the authenticator (which joins them to the files' CRLs and
    /// clears the decision cache), on the blocking pool.
    async fn install(&self) {
        let sources = Arc::clone(&self.sources);
        let installing = Arc::clone(&self.installing);
        let authenticator = Arc::clone(&self.authenticator);
        let installed = tokio::task::spawn_blocking(move || {
            install_held(&sources, &installing, &authenticator);
        })
        .await;
        if let Err(error) = installed {
            tracing::error!(%error, "crl install task failed; the crls in force stay");
        }
    }

    /// Until the next fetch of source `index`.
    fn next_delay(&self, index: usize) -> Duration {
        self.sources[index].next_delay(unix_now(), self.period)
    }
}

/// Collects every source's held CRL and installs them, all under `installing`: what is
/// installed last was collected last.
fn install_held(sources: &[UrlSource], installing: &Mutex<()>, authenticator: &Authenticator) {
    let _one_at_a_time = installing.lock().unwrap_or_else(PoisonError::into_inner);
    let set = CrlSet::from_crls(
        sources
            .iter()
            .filter_map(|source| Some((loggable(&source.url), source.held_crl()?))),
    );
    authenticator.install_fetched_crls(set);
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Unix seconds as RFC 3339, or `-`.
pub(crate) fn at(secs: Option<i64>) -> String {
    use time::format_description::well_known::Rfc3339;
    secs.and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::Settings;
    use crate::client_cert::test_pki::{BASE, Ca, DAY};
    use fetch::Validators;

    fn fresh(ca: &Ca, number: u64) -> Outcome {
        let now = i64::try_from(BASE).expect("base fits");
        let der = ca.crl_numbered(number, &[], -DAY, 7 * DAY);
        let issuers = CrlIssuers::new(&[CertificateDer::from(ca.der.clone())]);
        let crl = check::check(der, &issuers, now, None).expect("test crl passes the check");
        Outcome::Fresh(crl, Validators::default())
    }

    /// Review: a URL's CRL was compared with the number of whatever the URL last served,
    /// whatever its series. A distribution point is plain HTTP, so one answer swapped on the
    /// path (another configured CA's CRL, another partition's, a delta) with a higher number
    /// made the URL refuse its own CA's CRLs as "older" until that CA's numbers caught up:
    /// its certificates were refused as unknown once the last good CRL ran out, for as long
    /// as the process lived.
    #[tokio::test]
    async fn one_swapped_answer_does_not_lock_a_url_out_of_its_own_crls() {
        use crate::client_cert::test_crl::CrlSpec;
        use crl_point::{Answer, CrlPoint};
        let (a, b) = (Ca::root("Root A"), Ca::root("Root B"));
        let now = unix_now();
        let crl = |ca: &Ca, number: u64| Answer::Crl {
            body: ca.crl_from(&CrlSpec::new(number, now - DAY, now + 7 * DAY)),
            etag: format!("\"{number}\""),
        };
        let point = CrlPoint::start(crl(&a, 10)).await;
        let authenticator = Arc::new(Authenticator::new(&Settings::default()));
        let urls = CrlUrls::new(
            &[Url::parse(&point.url()).expect("point url")],
            vec![a.der.clone().into(), b.der.clone().into()],
            Duration::from_secs(30),
            Fetcher::new().expect("fetcher"),
            Arc::clone(&authenticator),
        );
        urls.fetch_once().await;
        point.set(crl(&b, 1000));
        urls.fetch_once().await;

        point.set(crl(&a, 11));
        urls.fetch_once().await;

        assert_eq!(urls.report()[0].outcome, "ok", "A's next CRL is taken");
        assert_eq!(
            authenticator.crls_in_force().numbers(),
            vec![Some(vec![11])]
        );
        // And the swap cannot take the URL back to one of A's older CRLs either.
        point.set(crl(&a, 10));
        urls.fetch_once().await;
        assert!(
            urls.report()[0].outcome.contains("older"),
            "{}",
            urls.report()[0].outcome
        );
    }

    #[test]
    fn an_install_collects_under_the_lock_so_the_last_one_holds_every_latest_crl() {
        let (a, b) = (Ca::root("Root A"), Ca::root("Root B"));
        let urls: Vec<Url> = ["http://127.0.0.1/a.crl", "http://127.0.0.1/b.crl"]
            .iter()
            .map(|url| Url::parse(url).expect("url"))
            .collect();
        let sources: Arc<[UrlSource]> = urls.iter().map(UrlSource::new).collect();
        let installing = Arc::new(Mutex::new(()));
        let authenticator = Arc::new(Authenticator::new(&Settings::default()));
        let now = i64::try_from(BASE).expect("base fits");
        let period = Duration::from_secs(30);
        sources[0].record(fresh(&a, 1), now, period);
        sources[1].record(fresh(&b, 1), now, period);

        // A's install is under way (holds the lock) when B's CRL changes and B installs: B
        // waits, and installs what is held when it gets the lock, B's new CRL included.
        let held = installing.lock().expect("not poisoned");
        let waiting = {
            let (sources, installing, authenticator) = (
                Arc::clone(&sources),
                Arc::clone(&installing),
                Arc::clone(&authenticator),
            );
            std::thread::spawn(move || install_held(&sources, &installing, &authenticator))
        };
        sources[1].record(fresh(&b, 2), now, period);
        drop(held);
        waiting.join().expect("install thread");

        let in_force = authenticator.crls_in_force();
        assert_eq!(
            in_force.sources(),
            vec![loggable(&urls[0]), loggable(&urls[1])]
        );
        assert_eq!(
            in_force.numbers(),
            vec![Some(vec![1]), Some(vec![2])],
            "b's crl number 2 is in force"
        );
    }
}
