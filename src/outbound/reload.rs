//! Outbound identities that follow renewals: every `OUTBOUND_CLIENT_CERT_RELOAD_SECONDS` the
//! identity's source is stamped; when it changed, the identity is loaded and checked as at
//! startup, a new reqwest client is built on it, and the client is swapped whole. Calls in
//! flight finish on the client they cloned; new calls present the new certificate. A source
//! that no longer yields a usable identity is a warning naming the setting, and the identity in
//! use stays. The stamp of a failed attempt is kept, so one bad file is one warning, and the
//! next change is tried again.
//!
//! A CN choice (`OUTBOUND_CLIENT_CERT_COMMON_NAME`) is also made again, with no file changed,
//! once the clock passes the held certificate's notAfter or the notBefore of a matching
//! certificate that was skipped as not yet valid: a renewal dropped in a few seconds before its
//! notBefore is taken when it becomes valid, not missed until the held one has expired. Only at
//! those moments, not on every tick, because a choice decrypts every `.p12` of the folder.

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

/// The reloader's memory.
pub(super) struct ReloadState {
    settings: IdentityReload,
    last: Mutex<Last>,
}

/// The last stamp looked at, the leaf in use, and when a CN choice is due again regardless of
/// the stamp (unix seconds).
struct Last {
    stamp: Stamp,
    leaf: CertificateDer<'static>,
    review_at: Option<i64>,
}

impl ReloadState {
    pub(super) fn new(settings: IdentityReload) -> Self {
        // The startup load did not record when its choice could change, so a CN choice is made
        // again on the first tick (which also catches a renewal pending at startup).
        let review_at =
            matches!(settings.source, IdentitySource::CommonName { .. }).then_some(i64::MIN);
        let last = Mutex::new(Last {
            stamp: settings.stamp.clone(),
            leaf: settings.leaf.clone(),
            review_at,
        });
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

    /// Loads the identity again if its source changed (or a CN choice is due, see the module
    /// doc); swaps the client when it yields a new, valid identity. Returns whether the client
    /// was swapped.
    pub fn reload_identity_if_changed(&self) -> bool {
        self.reload_identity_at(UnixTime::now())
    }

    /// [`OutboundClient::reload_identity_if_changed`] as of `now`.
    pub fn reload_identity_at(&self, now: UnixTime) -> bool {
        let Some(reload) = &self.inner.reload else {
            return false;
        };
        let settings = &reload.settings;
        let stamp = settings.source.stamp();
        let mut last = reload.last.lock().unwrap_or_else(PoisonError::into_inner);
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let review_due = last.review_at.is_some_and(|due| now_secs >= due);
        if last.stamp == stamp && !review_due {
            return false;
        }
        last.stamp = stamp;
        let loaded = settings.source.load_with_review(now, &settings.provider);
        last.review_at = loaded.review_at;
        let setting = settings.source.setting();
        let identity = match loaded.identity {
            Ok(identity) => identity,
            Err(error) => {
                tracing::warn!(setting, %error,
                    "the outbound identity was read again but the new one cannot be used; the current identity stays");
                return false;
            }
        };
        if identity.chain().first() == Some(&last.leaf) {
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
            last.leaf = leaf.clone();
        }
        tracing::info!(setting, source = %settings.source.describe(), identity = %identity.subject(),
            not_after = %identity.not_after(), "outbound identity reloaded: new calls present the new certificate");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::identity::Identity;
    use crate::outbound::test_pki::{ClientIdentity, KeyKind, TempDir, TestPki};
    use secrecy::SecretString;
    use time::{Duration as Span, OffsetDateTime};

    /// A client holding `held`, choosing by CN among the `.p12` files of `dir`.
    fn client_choosing_by_cn(pki: &TestPki, dir: &TempDir, held: &Identity) -> OutboundClient {
        let source = IdentitySource::CommonName {
            setting: "OUTBOUND_CLIENT_CERT_COMMON_NAME",
            common_name: "outbound-client".to_owned(),
            dir: dir.path().to_owned(),
            password: SecretString::from(String::new()),
        };
        let provider = tls::provider();
        let mut settings = pki.settings("https://127.0.0.1:1/", Some(held));
        settings.identity_reload = Some(IdentityReload {
            stamp: source.stamp(),
            source,
            leaf: held.chain()[0].clone(),
            verifier: tls::verifier(vec![pki.root()], false, &provider).expect("verifier"),
            provider,
            period: Duration::from_secs(1),
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
        let client = client_choosing_by_cn(&pki, &dir, &held_identity);

        // Act: ticks with no file changed, before and after the renewal's notBefore.
        let first_tick = client.reload_identity_at(at(now));
        let before_not_before = client.reload_identity_at(at(now + Span::seconds(30)));
        let after_not_before = client.reload_identity_at(at(now + Span::seconds(61)));
        let later = client.reload_identity_at(at(now + Span::seconds(62)));

        // Assert
        assert!(!first_tick, "the held identity is still the best valid one");
        assert!(!before_not_before, "the renewal is not valid yet");
        assert!(after_not_before, "the renewal is taken once it is valid");
        assert!(!later, "nothing is due until the renewal's notAfter");
        let renewal_not_after = (now + Span::days(90)).replace_nanosecond(0).expect("0 ns");
        assert_eq!(
            client.identity_not_after(),
            renewal_not_after
                .format(&time::format_description::well_known::Rfc3339)
                .expect("rfc 3339"),
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
        let client = client_choosing_by_cn(&pki, &dir, &held_identity);

        // Act
        client.reload_identity_at(at(now));
        let expired_nothing_valid = client.reload_identity_at(at(now + Span::seconds(75)));
        let next_valid = client.reload_identity_at(at(now + Span::seconds(95)));

        // Assert
        assert!(!expired_nothing_valid, "nothing valid to move to yet");
        assert!(next_valid, "the next certificate is taken once valid");
    }
}
