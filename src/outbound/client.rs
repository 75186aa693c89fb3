//! The one outbound HTTP client: reqwest on our rustls `ClientConfig`, built once at startup and
//! shared (its connection pool keeps the mutual-TLS session alive between calls), or, while the
//! identity cannot be loaded, the reason why ([`Unavailable`]); the reloader moves it from one
//! to the other (`reload.rs`).
//!
//! It owns the request policy: HTTPS only, HTTP/1.1 only, no redirects (a redirect would carry
//! our client identity to a host nobody configured), a connect timeout and a total timeout,
//! and a response size cap enforced while the body streams in. Calls are made with
//! [`OutboundClient::request`] (`request.rs`); the demo's `GET REMOTE_API_URL` is
//! [`OutboundClient::fetch`]. Errors carry a stable `code()` and log detail; turning them into
//! HTTP responses is `error.rs`'s job, not this module's.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use url::Url;

pub use super::settings::OutboundSettings;

use super::availability::Unavailable;
use super::error::error_chain;
pub use super::error::{BuildError, OutboundError};
use super::identity::Identity;
use super::identity_source::IdentitySource;
pub use super::reload::IdentityReload;
use super::reload::ReloadState;
use super::tls;

/// The outbound client. Cheap to clone: everything lives behind one `Arc`.
#[derive(Clone)]
pub struct OutboundClient {
    pub(super) inner: Arc<Inner>,
}

/// The identity a ready client presents, as `health` and `handler check` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityInfo {
    /// The leaf's subject.
    pub subject: String,
    /// The leaf's notAfter, RFC 3339.
    pub not_after: String,
}

/// What the demo's `GET REMOTE_API_URL` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// The body as text (invalid UTF-8 is replaced with U+FFFD).
    pub body: String,
    pub elapsed_ms: u64,
}

pub(super) struct Inner {
    /// Swapped whole by the reloader; a call clones the reqwest client first, so a call in
    /// flight finishes on the client it started with.
    pub(super) current: RwLock<Current>,
    pub(super) url: Option<Url>,
    pub(super) verifier: Option<Arc<dyn ServerCertVerifier>>,
    pub(super) provider: Arc<CryptoProvider>,
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    pub(super) max_response_bytes: u64,
    pub(super) reload: Option<ReloadState>,
}

/// Ready with a client and the identity it presents, or unavailable and why.
pub(super) enum Current {
    Ready {
        http: reqwest::Client,
        identity: IdentityInfo,
        /// The identity's notAfter (unix seconds): past it, the client is unavailable until a
        /// renewal is loaded (an upstream would refuse the certificate anyway).
        not_after: i64,
        setting: &'static str,
    },
    Unavailable(Unavailable),
}

impl Current {
    /// The identity and the client, or why not: an identity past its notAfter counts as gone.
    fn usable(&self) -> Result<(&IdentityInfo, &reqwest::Client), Unavailable> {
        match self {
            Self::Ready {
                identity,
                http,
                not_after,
                setting,
            } => {
                let now =
                    i64::try_from(rustls::pki_types::UnixTime::now().as_secs()).unwrap_or(i64::MAX);
                if now > *not_after {
                    return Err(Unavailable::new(
                        super::Reason::IdentityExpired,
                        setting,
                        format!(
                            "the identity in use, {}, expired at {}; no renewal has been loaded",
                            identity.subject, identity.not_after
                        ),
                        true,
                    ));
                }
                Ok((identity, http))
            }
            Self::Unavailable(why) => Err(why.clone()),
        }
    }
}

// === impl OutboundClient ===

impl OutboundClient {
    /// Builds the client once; call at startup, after telemetry is installed: it logs the
    /// identity and the trust decision, a warning if the identity expires within 30 days, and
    /// an error naming the setting when there is no identity to present (the client is then
    /// unavailable until the reloader loads one).
    ///
    /// # Errors
    /// [`BuildError`] if reqwest refuses the configuration.
    pub fn build(settings: &OutboundSettings) -> Result<Self, BuildError> {
        let settings = settings.clone();
        let expires_soon = settings.identity_expires_soon();
        let setting = settings
            .identity_reload
            .as_ref()
            .map_or("OUTBOUND_CLIENT_CERT_PATH", |reload| {
                reload.source.setting()
            });
        let (current, held) = match settings.identity {
            Ok(identity) => match ready(
                &identity,
                setting,
                &settings.verifier,
                &settings.provider,
                settings.connect_timeout,
                settings.timeout,
            )? {
                Ok(current) => (current, Some(identity)),
                Err(refused) => (Current::Unavailable(refused), None),
            },
            Err(unavailable) => (Current::Unavailable(unavailable), None),
        };
        let client = Self {
            inner: Arc::new(Inner {
                current: RwLock::new(current),
                url: settings.url,
                verifier: Some(settings.verifier),
                provider: settings.provider,
                connect_timeout: settings.connect_timeout,
                timeout: settings.timeout,
                max_response_bytes: settings.max_response_bytes,
                reload: settings
                    .identity_reload
                    .map(|reload| ReloadState::new(reload, held)),
            }),
        };
        client.log_startup(
            settings.trust_public_roots,
            settings.private_ca_count,
            expires_soon,
        );
        Ok(client)
    }

    /// A client that stays unavailable for `why` (settings that make no client possible).
    pub fn unavailable(why: Unavailable) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: RwLock::new(Current::Unavailable(why.without_retry())),
                url: None,
                verifier: None,
                provider: tls::provider(),
                connect_timeout: Duration::ZERO,
                timeout: Duration::ZERO,
                max_response_bytes: 0,
                reload: None,
            }),
        }
    }

    /// The identity presented now, or why the client cannot call anyone.
    ///
    /// # Errors
    /// [`Unavailable`] while no identity is loaded (or the settings make no client possible).
    pub fn status(&self) -> Result<IdentityInfo, Unavailable> {
        self.current()
            .usable()
            .map(|(identity, _)| identity.clone())
    }

    /// The client identity's notAfter, RFC 3339, while one is loaded.
    pub fn identity_not_after(&self) -> Option<String> {
        self.status().ok().map(|identity| identity.not_after)
    }

    /// `REMOTE_API_URL`: the demo's target, and the host paths are resolved on.
    pub fn remote_api_url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// The demo's call: `GET REMOTE_API_URL` (query included), the body as text.
    ///
    /// # Errors
    /// As [`OutboundRequest::send`](super::OutboundRequest::send);
    /// [`OutboundError::InvalidRequest`] without `REMOTE_API_URL`.
    pub async fn fetch(&self) -> Result<Fetched, OutboundError> {
        let url = self
            .inner
            .url
            .clone()
            .ok_or_else(|| OutboundError::InvalidRequest {
                detail: "REMOTE_API_URL is not set".to_owned(),
            })?;
        let response = self.request(http::Method::GET, url.as_str()).send().await?;
        Ok(Fetched {
            status: response.status().as_u16(),
            elapsed_ms: u64::try_from(response.elapsed().as_millis()).unwrap_or(u64::MAX),
            body: String::from_utf8_lossy(response.body()).into_owned(),
        })
    }

    /// The reqwest client to call with, or why there is none.
    pub(super) fn http(&self) -> Result<reqwest::Client, Unavailable> {
        self.current().usable().map(|(_, http)| http.clone())
    }

    pub(super) fn current(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_current(&self, current: Current) {
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = current;
    }

    fn log_startup(&self, trust_public_roots: bool, private_cas: usize, expires_soon: bool) {
        let url = self.inner.url.as_ref().map(loggable).unwrap_or_default();
        let reload = self.inner.reload.as_ref().map(ReloadState::settings);
        let source = reload
            .map(|reload| reload.source.describe())
            .unwrap_or_default();
        let reload_seconds = reload
            .filter(|reload| reload.source.can_change())
            .map_or(0, |reload| reload.period.as_secs());
        match self.status() {
            Ok(identity) => {
                tracing::info!(%url, identity = %identity.subject, not_after = %identity.not_after,
                    trust_public_roots, private_cas, %source, reload_seconds,
                    "outbound mutual TLS configured");
                if expires_soon {
                    tracing::warn!(identity = %identity.subject, not_after = %identity.not_after,
                        "the outbound client certificate expires within 30 days");
                }
            }
            Err(why) => {
                let retry = if why.retrying() && reload_seconds > 0 {
                    format!(
                        "its source is checked again every {reload_seconds} s, and outbound works once it loads"
                    )
                } else {
                    "fix the setting and restart the app".to_owned()
                };
                tracing::error!(setting = why.setting(), reason = %why.reason(), %source,
                    "outbound mutual TLS is unavailable (inbound functions are not affected; calls that need it answer 503 {}): {}; {retry}",
                    why.code(), why.message());
            }
        }
        if let Some(IdentitySource::CommonName {
            any_issuer: true, ..
        }) = reload.map(|reload| &reload.source)
        {
            tracing::warn!(
                "OUTBOUND_CLIENT_CERT_ALLOW_ANY_ISSUER=true weakens the CN choice: a certificate with the CN from any CA can replace the identity in use"
            );
        }
        if self.inner.url.is_none() {
            tracing::info!(
                "REMOTE_API_URL is not set: outbound-mtls answers 503 outbound_not_configured, and your own functions call with full https URLs"
            );
        }
    }
}

impl fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundClient")
            .field("url", &self.inner.url.as_ref().map(loggable))
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// The identity a ready client shows.
pub(super) fn info(identity: &Identity) -> IdentityInfo {
    IdentityInfo {
        subject: identity.subject().to_owned(),
        not_after: identity.not_after(),
    }
}

/// A ready client presenting `identity`; `Ok(Err(..))` when rustls refuses the identity.
pub(super) fn ready(
    identity: &Identity,
    setting: &'static str,
    verifier: &Arc<dyn ServerCertVerifier>,
    provider: &Arc<CryptoProvider>,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<Result<Current, Unavailable>, BuildError> {
    let config = match tls::client_config(Arc::clone(verifier), Some(identity), provider) {
        Ok(config) => config,
        Err(error) => {
            return Ok(Err(Unavailable::new(
                super::Reason::IdentityInvalid,
                setting,
                error.to_string(),
                true,
            )));
        }
    };
    Ok(Ok(Current::Ready {
        http: http_client(config, connect_timeout, timeout)?,
        identity: info(identity),
        not_after: identity.not_after_secs(),
        setting,
    }))
}

/// The reqwest client on `tls`: HTTPS and HTTP/1.1 only, no redirects, both timeouts.
pub(super) fn http_client(
    tls: rustls::ClientConfig,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|error| BuildError {
            detail: error_chain(&error),
        })
}

/// The URL as it may be logged: scheme, host, port and path; never userinfo or the query,
/// which may carry a function key or a SAS token.
pub fn loggable(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn logged_urls_carry_no_query_and_no_userinfo() {
        let url = Url::parse("https://user:pw@api.example:8443/v1/health?code=secret&sig=x")
            .expect("url");
        assert_eq!(loggable(&url), "https://api.example:8443/v1/health");
        let plain = Url::parse("https://api.example/?sig=x").expect("url");
        assert_eq!(loggable(&plain), "https://api.example/");
    }

    use std::time::Instant;

    use super::*;
    use crate::outbound::identity::Identity;
    use crate::outbound::test_pki::{KeyKind, PASSWORD, TestPki, provider};
    use crate::outbound::upstream::{Reply, Upstream};
    use secrecy::SecretString;

    fn identity(pki: &TestPki) -> Identity {
        let client = pki.client(KeyKind::Ec, None);
        let bytes = client.p12_with_key(&client.key_pkcs8, PASSWORD);
        Identity::from_pkcs12(&bytes, &SecretString::from(PASSWORD), &provider()).unwrap()
    }

    async fn upstream(pki: &TestPki, reply: Reply) -> Upstream {
        Upstream::start(
            Some(pki.root()),
            pki.server_chain.clone(),
            pki.server_key(),
            reply,
        )
        .await
    }

    #[tokio::test]
    async fn the_right_identity_gets_the_upstream_answer() {
        let pki = TestPki::new("Ok");
        let server = upstream(&pki, Reply::ok("hello over mTLS")).await;
        let client =
            OutboundClient::build(&pki.settings(&server.url("/health"), Some(&identity(&pki))))
                .unwrap();

        let fetched = client.fetch().await.unwrap();

        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.body, "hello over mTLS");
    }

    #[tokio::test]
    async fn the_platform_verifier_with_a_private_ca_reaches_the_private_upstream() {
        let pki = TestPki::new("Platform");
        let server = upstream(&pki, Reply::ok("via platform verifier")).await;
        let identity = identity(&pki);
        let provider = provider();
        let verifier = crate::outbound::tls::verifier(vec![pki.root()], true, &provider).unwrap();
        let mut settings = pki.settings(&server.url("/"), Some(&identity));
        settings.verifier = verifier;
        let client = OutboundClient::build(&settings).unwrap();

        assert_eq!(client.fetch().await.unwrap().body, "via platform verifier");
    }

    #[tokio::test]
    async fn without_an_identity_no_call_is_attempted() {
        let pki = TestPki::new("NoIdentity");
        let server = upstream(&pki, Reply::ok("secret")).await;
        let client = OutboundClient::build(&pki.settings(&server.url("/"), None)).unwrap();

        let error = client.fetch().await.unwrap_err();

        assert_eq!(error.code(), "outbound_identity_unavailable", "{error}");
        assert!(client.status().is_err());
        assert_eq!(server.requests(), 0, "nothing reached the upstream");
    }

    #[tokio::test]
    async fn an_identity_past_its_not_after_makes_the_client_unavailable() {
        let pki = TestPki::new("Expired in use");
        let server = upstream(&pki, Reply::ok("secret")).await;
        let old = pki.client(
            KeyKind::Ec,
            Some((
                rcgen::date_time_ymd(2020, 1, 1),
                rcgen::date_time_ymd(2021, 1, 1),
            )),
        );
        let bytes = old.p12_with_key(&old.key_pkcs8, PASSWORD);
        let expired =
            Identity::from_pkcs12(&bytes, &SecretString::from(PASSWORD), &provider()).unwrap();
        let client =
            OutboundClient::build(&pki.settings(&server.url("/"), Some(&expired))).unwrap();

        let error = client.fetch().await.unwrap_err();

        let why = client.status().unwrap_err();
        assert_eq!(why.reason(), crate::outbound::Reason::IdentityExpired);
        assert_eq!(error.code(), "outbound_identity_unavailable", "{error}");
        assert_eq!(
            server.handshakes(),
            0,
            "the expired certificate was not presented"
        );
    }

    #[tokio::test]
    async fn an_upstream_signed_by_an_unknown_ca_is_a_tls_error() {
        let pki = TestPki::new("Trusted");
        let stranger = TestPki::new("Stranger");
        let server = Upstream::start(
            Some(pki.root()),
            stranger.server_chain.clone(),
            stranger.server_key(),
            Reply::ok("x"),
        )
        .await;
        let client =
            OutboundClient::build(&pki.settings(&server.url("/"), Some(&identity(&pki)))).unwrap();

        let error = client.fetch().await.unwrap_err();

        assert_eq!(error.code(), "upstream_tls", "{error}");
    }

    #[tokio::test]
    async fn a_server_certificate_for_another_name_is_a_tls_error() {
        let pki = TestPki::new("Hostname");
        let server = upstream(&pki, Reply::ok("x")).await;
        // The certificate names 127.0.0.1 only; `localhost` reaches the same socket.
        let url = format!("https://localhost:{}/", server.addr.port());
        let client = OutboundClient::build(&pki.settings(&url, Some(&identity(&pki)))).unwrap();

        let error = client.fetch().await.unwrap_err();

        assert_eq!(error.code(), "upstream_tls", "{error}");
        assert!(error.to_string().contains("not valid for name"), "{error}");
    }

    #[tokio::test]
    async fn a_slow_upstream_times_out_within_the_configured_timeout() {
        let pki = TestPki::new("Slow");
        let reply = Reply {
            delay: Duration::from_secs(5),
            ..Reply::ok("late")
        };
        let server = upstream(&pki, reply).await;
        let mut settings = pki.settings(&server.url("/"), Some(&identity(&pki)));
        settings.timeout = Duration::from_millis(300);
        let client = OutboundClient::build(&settings).unwrap();
        let started = Instant::now();

        let error = client.fetch().await.unwrap_err();

        assert_eq!(error.code(), "upstream_timeout", "{error}");
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_with_or_without_content_length() {
        let pki = TestPki::new("Big");
        for chunked in [false, true] {
            let reply = Reply {
                chunked,
                ..Reply::ok(vec![b'x'; 64 * 1024])
            };
            let server = upstream(&pki, reply).await;
            let client =
                OutboundClient::build(&pki.settings(&server.url("/"), Some(&identity(&pki))))
                    .unwrap();

            let error = client.fetch().await.unwrap_err();

            assert_eq!(
                error.code(),
                "upstream_body_too_large",
                "chunked={chunked}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_at_the_limit_is_accepted() {
        let pki = TestPki::new("Limit");
        let reply = Reply {
            chunked: true,
            ..Reply::ok(vec![b'y'; 1024])
        };
        let server = upstream(&pki, reply).await;
        let client =
            OutboundClient::build(&pki.settings(&server.url("/"), Some(&identity(&pki)))).unwrap();

        assert_eq!(client.fetch().await.unwrap().body.len(), 1024);
    }

    #[tokio::test]
    async fn sequential_fetches_reuse_one_connection() {
        let pki = TestPki::new("Reuse");
        let server = upstream(&pki, Reply::ok("again")).await;
        let client =
            OutboundClient::build(&pki.settings(&server.url("/"), Some(&identity(&pki)))).unwrap();

        for _ in 0..10 {
            assert_eq!(client.clone().fetch().await.unwrap().status, 200);
        }

        assert_eq!(server.handshakes(), 1);
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let pki = TestPki::new("Closed");
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("https://127.0.0.1:{port}/");
        let client = OutboundClient::build(&pki.settings(&url, Some(&identity(&pki)))).unwrap();

        let error = client.fetch().await.unwrap_err();

        assert_eq!(error.code(), "upstream_unreachable", "{error}");
    }

    #[test]
    fn debug_output_never_shows_the_tls_config() {
        let pki = TestPki::new("Debug");
        let settings = pki.settings("https://127.0.0.1:1/", Some(&identity(&pki)));
        let debug = format!("{settings:?}");
        assert!(!debug.contains("key"), "{debug}");
    }
}
