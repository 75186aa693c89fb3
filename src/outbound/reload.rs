//! Outbound identities that follow renewals, and appear late: every
//! `OUTBOUND_CLIENT_CERT_RELOAD_SECONDS` the identity's source is stamped; when it changed, the
//! identity is loaded and checked as at startup and compared with the one in use, chain and
//! key included; a different one gets a new reqwest client, swapped in whole. Calls in flight
//! finish on the client they cloned; new calls present the new certificate. The log line says
//! what changed (leaf, chain, key).
//!
//! While no identity is loaded (a file not there yet, a wrong password, an expired file), the
//! client is unavailable, and each change of the source is another attempt, logged as an error
//! naming the setting and the fix: a file that appears or is fixed is taken within one period.
//! Once an identity is in use, a source that no longer yields a usable one is a warning, and
//! the identity in use stays. The stamp of a failed attempt is kept, so one bad file is one
//! line, and the next change is tried again.
//!
//! A source is also loaded again, with no file changed, once the clock passes a moment that can
//! change the outcome: for a CN choice, the held certificate's notAfter or a skipped renewal's
//! notBefore; for a file not valid yet, its notBefore. Only then, not on every tick, because a
//! CN choice decrypts every `.p12` of the folder.
//!
//! One bad file cannot stop the reloader: loads run on the blocking pool, one at a time (a
//! flag, held for the whole load, even one still running after its deadline), never under a
//! lock that anything else waits on; a load that outlives [`LOAD_DEADLINE`] is left to finish
//! and the ticks go on; a panic in a load is logged and the next tick runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::UnixTime;

use super::OutboundClient;
use super::availability::Unavailable;
use super::change;
use super::client::{Current, ready};
use super::identity::Identity;
use super::identity_source::{IdentitySource, InFlight, SourceError, Stamp};

/// How long the reloader waits for one load before it goes on ticking.
pub const LOAD_DEADLINE: Duration = Duration::from_secs(60);

/// What the reloader needs, from the startup configuration.
#[derive(Clone)]
pub struct IdentityReload {
    pub source: IdentitySource,
    /// The source's stamp taken before the startup load; `None`: load at the first tick.
    pub stamp: Option<Stamp>,
    /// When to load again regardless of the stamp (unix seconds), from the startup load.
    pub review_at: Option<i64>,
    pub period: Duration,
    /// The setting to blame and the advice for a load that fails (`config::advice`).
    pub advise: fn(&IdentitySource, &SourceError) -> Unavailable,
    /// Held while a load runs (the startup load's thread included).
    pub in_flight: Arc<AtomicBool>,
}

/// What one reload attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// Nothing changed, or the new identity is the one in use.
    Unchanged,
    /// A new identity is in use.
    Swapped,
    /// The source changed but yields no usable identity.
    Refused,
    /// Another load is still running.
    Busy,
}

/// The reloader's memory.
pub(super) struct ReloadState {
    settings: IdentityReload,
    last: Mutex<Last>,
    /// Whether the busy warning was logged for the load in flight.
    warned_busy: AtomicBool,
}

/// The last stamp looked at, the identity in use, and when to load again regardless of the
/// stamp (unix seconds).
struct Last {
    stamp: Option<Stamp>,
    held: Option<Arc<Identity>>,
    review_at: Option<i64>,
}

impl ReloadState {
    pub(super) fn new(settings: IdentityReload, held: Option<Identity>) -> Self {
        let last = Mutex::new(Last {
            stamp: settings.stamp.clone(),
            held: held.map(Arc::new),
            review_at: settings.review_at,
        });
        Self {
            settings,
            last,
            warned_busy: AtomicBool::new(false),
        }
    }

    pub(super) fn settings(&self) -> &IdentityReload {
        &self.settings
    }

    fn last(&self) -> std::sync::MutexGuard<'_, Last> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
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
                let job =
                    tokio::task::spawn_blocking(move || client.reload_identity_at(UnixTime::now()));
                match tokio::time::timeout(LOAD_DEADLINE, job).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::error!(%error, "the outbound identity load failed; the next check runs as usual");
                    }
                    Err(_) => {
                        tracing::warn!(
                            deadline_s = LOAD_DEADLINE.as_secs(),
                            "the outbound identity load has not finished in time; it goes on in the background and no other load starts until it ends"
                        );
                    }
                }
            }
        }))
    }

    /// Loads the identity again, as of `now`, if its source changed (or a review is due, see
    /// the module doc); swaps the client when it yields a new, valid identity.
    pub(crate) fn reload_identity_at(&self, now: UnixTime) -> ReloadOutcome {
        let Some(reload) = &self.inner.reload else {
            return ReloadOutcome::Unchanged;
        };
        let Some(_in_flight) = InFlight::acquire(Arc::clone(&reload.settings.in_flight)) else {
            if !reload.warned_busy.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    setting = reload.settings.source.setting(),
                    "an earlier load of the outbound identity has not finished; this check is skipped"
                );
            }
            return ReloadOutcome::Busy;
        };
        reload.warned_busy.store(false, Ordering::Relaxed);
        let source = &reload.settings.source;
        let stamp = source.stamp();
        // The lock is held only to read and to write down; never across the load.
        let held = {
            let last = reload.last();
            let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            let review_due = last.review_at.is_some_and(|due| now_secs >= due);
            if last.stamp.as_ref() == Some(&stamp) && !review_due {
                return ReloadOutcome::Unchanged;
            }
            last.held.clone()
        };
        let loaded = source.load_with_review(now, &self.inner.provider, held.as_deref());
        {
            let mut last = reload.last();
            last.stamp = Some(stamp);
            last.review_at = loaded.review_at;
        }
        match loaded.identity {
            Ok(identity) => self.install(reload, held.as_deref(), identity),
            Err(error) => {
                // An identity in use past its notAfter is no identity to keep.
                let holding = held
                    .as_ref()
                    .is_some_and(|held| held.check_validity(now).is_ok());
                self.refuse(reload, holding, &error);
                ReloadOutcome::Refused
            }
        }
    }

    /// Puts `identity` in use, unless it is the one in use already.
    fn install(
        &self,
        reload: &ReloadState,
        held: Option<&Identity>,
        identity: Identity,
    ) -> ReloadOutcome {
        let source = &reload.settings.source;
        let setting = source.setting();
        let changed = match held {
            Some(held) => match change::describe(held, &identity) {
                Some(changed) => changed,
                None => return ReloadOutcome::Unchanged,
            },
            None => "loaded (none was in use)".to_owned(),
        };
        let Some(verifier) = &self.inner.verifier else {
            return ReloadOutcome::Unchanged;
        };
        let current = match ready(
            &identity,
            setting,
            verifier,
            &self.inner.provider,
            self.inner.connect_timeout,
            self.inner.timeout,
        ) {
            Ok(Ok(current)) => current,
            Ok(Err(refused)) => {
                tracing::warn!(setting, error = %refused.message(),
                    "the new outbound identity was refused by the TLS stack; nothing changes");
                return ReloadOutcome::Refused;
            }
            Err(error) => {
                tracing::warn!(setting, %error, "cannot build a client on the new outbound identity; nothing changes");
                return ReloadOutcome::Refused;
            }
        };
        self.set_current(current);
        tracing::info!(setting, source = %source.describe(), identity = %identity.subject(),
            not_after = %identity.not_after(), %changed,
            "outbound identity reloaded: new calls present the new certificate");
        reload.last().held = Some(Arc::new(identity));
        ReloadOutcome::Swapped
    }

    /// A source that yields nothing usable: while an identity is in use it stays (a warning);
    /// otherwise the client stays unavailable with the new reason (an error).
    fn refuse(&self, reload: &ReloadState, holding: bool, error: &SourceError) {
        let why = (reload.settings.advise)(&reload.settings.source, error);
        if holding {
            tracing::warn!(setting = why.setting(), error = %why.message(),
                "the outbound identity was read again but the new one cannot be used; the current identity stays");
        } else {
            tracing::error!(setting = why.setting(), reason = %why.reason(),
                "the outbound identity still cannot be loaded (calls that need it answer 503 {}): {}",
                why.code(), why.message());
            self.set_current(Current::Unavailable(why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::identity::Identity;
    use crate::outbound::test_pki::{ClientIdentity, KeyKind, TempDir, TestPki};
    use crate::outbound::tls;
    use secrecy::SecretString;
    use time::{Duration as Span, OffsetDateTime};

    fn common_name_source(dir: &TempDir) -> IdentitySource {
        IdentitySource::CommonName {
            setting: "OUTBOUND_CLIENT_CERT_COMMON_NAME",
            common_name: "outbound-client".to_owned(),
            dir: dir.path().to_owned(),
            password: SecretString::from(String::new()),
            any_issuer: false,
        }
    }

    /// A client holding `held` (or none), reloading from `source` as startup would leave it at
    /// `now`.
    fn client_reloading(
        pki: &TestPki,
        source: IdentitySource,
        held: Option<&Identity>,
        now: OffsetDateTime,
    ) -> OutboundClient {
        let provider = tls::provider();
        let review_at = source.load_with_review(at(now), &provider, None).review_at;
        let mut settings = pki.settings("https://127.0.0.1:1/", held);
        settings.identity_reload = Some(IdentityReload {
            stamp: Some(source.stamp()),
            review_at,
            source,
            period: Duration::from_secs(1),
            advise: crate::config::advice::identity_problem,
            in_flight: Arc::new(AtomicBool::new(false)),
        });
        OutboundClient::build(&settings).expect("client")
    }

    fn at(moment: OffsetDateTime) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(
            u64::try_from(moment.unix_timestamp()).expect("after 1970"),
        ))
    }

    /// Writes `held` and `other` into `dir` as thumbprint-named `.p12` files (empty
    /// password) and returns `held` loaded as the identity in use.
    fn thumbprint_named_folder(
        dir: &TempDir,
        held: &ClientIdentity,
        other: &ClientIdentity,
    ) -> Identity {
        for (name, client) in [("AA", held), ("BB", other)] {
            let file = dir.file(&format!("{}.p12", name.repeat(20)));
            std::fs::write(file, client.p12_with_key(&client.key_pkcs8, "")).expect("write");
        }
        Identity::load(
            &dir.file(&format!("{}.p12", "AA".repeat(20))),
            &SecretString::from(String::new()),
            &tls::provider(),
        )
        .expect("held identity")
    }

    #[test]
    fn a_renewal_dropped_in_before_its_not_before_is_taken_once_it_becomes_valid() {
        // Arrange: the held identity and, in the same folder, a renewal valid from a minute on.
        let pki = TestPki::new("Pending renewal");
        let dir = TempDir::new();
        let now = OffsetDateTime::now_utc();
        let held = pki.client(
            KeyKind::Ec,
            Some((now - Span::days(10), now + Span::days(1))),
        );
        let renewal = pki.client(
            KeyKind::Ec,
            Some((now + Span::minutes(1), now + Span::days(90))),
        );
        let held_identity = thumbprint_named_folder(&dir, &held, &renewal);
        let client = client_reloading(&pki, common_name_source(&dir), Some(&held_identity), now);

        // Act: ticks with no file changed, before and after the renewal's notBefore.
        let first_tick = client.reload_identity_at(at(now));
        let before_not_before = client.reload_identity_at(at(now + Span::seconds(30)));
        let after_not_before = client.reload_identity_at(at(now + Span::seconds(61)));
        let later = client.reload_identity_at(at(now + Span::seconds(62)));

        // Assert
        assert_eq!(first_tick, ReloadOutcome::Unchanged, "nothing changed");
        assert_eq!(before_not_before, ReloadOutcome::Unchanged, "not valid yet");
        assert_eq!(after_not_before, ReloadOutcome::Swapped, "taken once valid");
        assert_eq!(
            later,
            ReloadOutcome::Unchanged,
            "nothing due until notAfter"
        );
        let renewal_not_after = (now + Span::days(90)).replace_nanosecond(0).expect("0 ns");
        assert_eq!(
            client.identity_not_after(),
            renewal_not_after
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
            "the client now presents the renewal"
        );
    }

    #[test]
    fn a_held_identity_past_its_not_after_is_replaced_without_a_file_change() {
        // Arrange: the held identity expires in a minute; the folder also holds another
        // certificate, not yet valid when the folder was last looked at.
        let pki = TestPki::new("Expiring identity");
        let dir = TempDir::new();
        let now = OffsetDateTime::now_utc();
        let held = pki.client(
            KeyKind::Ec,
            Some((now - Span::days(10), now + Span::minutes(1))),
        );
        let next = pki.client(
            KeyKind::Ec,
            Some((now + Span::seconds(90), now + Span::days(90))),
        );
        let held_identity = thumbprint_named_folder(&dir, &held, &next);
        let client = client_reloading(&pki, common_name_source(&dir), Some(&held_identity), now);

        // Act
        let expired_nothing_valid = client.reload_identity_at(at(now + Span::seconds(75)));
        let next_valid = client.reload_identity_at(at(now + Span::seconds(95)));

        // Assert
        assert_eq!(
            expired_nothing_valid,
            ReloadOutcome::Refused,
            "nothing valid to move to yet; the held identity stays"
        );
        assert_eq!(next_valid, ReloadOutcome::Swapped, "taken once valid");
    }

    #[test]
    fn a_pem_identity_whose_chain_is_completed_after_its_leaf_is_reloaded() {
        // Arrange: a PEM file with the leaf and key only, as a non-atomic writer leaves it.
        let pki = TestPki::new("Chain completed");
        let dir = TempDir::new();
        let client_identity = pki.client(KeyKind::Ec, None);
        let path = dir.file("identity.pem");
        let leaf_and_key = [
            crate::outbound::test_pki::pem("CERTIFICATE", &client_identity.leaf),
            crate::outbound::test_pki::pem("PRIVATE KEY", &client_identity.key_pkcs8),
        ]
        .concat();
        std::fs::write(&path, &leaf_and_key).expect("write");
        let source = IdentitySource::File {
            setting: "OUTBOUND_CLIENT_CERT_PATH",
            path: path.clone(),
            password: SecretString::from(String::new()),
        };
        let now = OffsetDateTime::now_utc();
        let held = source.load(at(now), &tls::provider()).expect("leaf only");
        let client = client_reloading(&pki, source, Some(&held), now);

        // Act: the intermediate is appended; the leaf is unchanged.
        let intermediate = crate::outbound::test_pki::pem("CERTIFICATE", &client_identity.cas[0]);
        std::fs::write(&path, [leaf_and_key, intermediate].concat()).expect("append");
        let outcome = client.reload_identity_at(at(now));

        // Assert
        assert_eq!(
            outcome,
            ReloadOutcome::Swapped,
            "the completed chain is taken"
        );
        let reload = client.inner.reload.as_ref().expect("reloading");
        let last = reload.last();
        let in_use = last.held.as_ref().expect("an identity in use");
        assert_eq!(in_use.chain().len(), 2, "leaf and intermediate");
        assert_eq!(in_use.chain()[0], held.chain()[0], "the same leaf");
    }

    #[test]
    fn an_identity_that_appears_after_startup_makes_the_client_available() {
        // Arrange: started with the file missing.
        let pki = TestPki::new("Late identity");
        let dir = TempDir::new();
        let path = dir.file("identity.p12");
        let source = IdentitySource::File {
            setting: "OUTBOUND_CLIENT_CERT_PATH",
            path: path.clone(),
            password: SecretString::from(String::new()),
        };
        let now = OffsetDateTime::now_utc();
        let client = client_reloading(&pki, source, None, now);
        assert!(client.status().is_err(), "unavailable at first");

        // Act
        let still_missing = client.reload_identity_at(at(now));
        let identity = pki.client(KeyKind::Ec, None);
        std::fs::write(&path, identity.p12_with_key(&identity.key_pkcs8, "")).expect("write");
        let appeared = client.reload_identity_at(at(now));

        // Assert
        assert_eq!(
            still_missing,
            ReloadOutcome::Unchanged,
            "no change, no attempt"
        );
        assert_eq!(appeared, ReloadOutcome::Swapped);
        assert_eq!(
            client
                .status()
                .map(|identity| identity.subject)
                .ok()
                .as_deref(),
            Some("CN=outbound-client")
        );
    }

    #[test]
    fn a_second_reload_during_a_load_is_skipped_at_once_and_the_state_stays_readable() {
        // Arrange: a folder whose choice takes a while (each file near the per-file work
        // budget), so a load is surely still running when the second one comes.
        let pki = TestPki::new("Single flight");
        let dir = TempDir::new();
        let now = OffsetDateTime::now_utc();
        let held = pki.client(KeyKind::Ec, None);
        let held_identity = thumbprint_named_folder(&dir, &held, &held);
        // 9 bags x 1,000,000 iterations: within the budget, about half a second of work.
        let slow = crate::outbound::hostile_p12::many_key_bags(9, 1_000_000);
        std::fs::write(dir.file(&format!("{:040}.p12", 0)), &slow).expect("write");
        let client = client_reloading(&pki, common_name_source(&dir), Some(&held_identity), now);
        std::fs::write(dir.file(&format!("{}.p12", "CC".repeat(20))), &slow).expect("change");

        // Act: one load on another thread; the second call and a status read meanwhile.
        let loading = client.clone();
        let first = std::thread::spawn(move || loading.reload_identity_at(at(now)));
        let reload = client.inner.reload.as_ref().expect("reloading");
        while !reload.settings.in_flight.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        let started = std::time::Instant::now();
        let second = client.reload_identity_at(at(now));
        let status = client.status();
        let waited = started.elapsed();

        // Assert
        assert_eq!(second, ReloadOutcome::Busy, "skipped, not queued");
        assert!(status.is_ok(), "the identity in use is still served");
        assert!(
            waited < Duration::from_millis(100),
            "neither waited for the load: {waited:?}"
        );
        assert_ne!(first.join().expect("first load"), ReloadOutcome::Busy);
    }
}
