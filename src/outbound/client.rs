//! The one outbound HTTP client: reqwest on our rustls `ClientConfig`, built once at startup and
//! shared (its connection pool keeps the mutual-TLS session alive between calls).
//!
//! It owns the request policy: HTTPS only, HTTP/1.1 only, no redirects (a redirect would carry
//! our client identity to a host nobody configured), a connect timeout and a total timeout,
//! and a response size cap enforced while the body streams in. Errors carry a stable `code()`
//! and log detail; turning them into HTTP responses is `error.rs`'s job, not this module's.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use url::Url;

pub use super::error::{BuildError, OutboundError};
use super::error::{classify, error_chain};
pub use super::reload::IdentityReload;
use super::reload::ReloadState;

/// Everything the client needs, already parsed and checked (see `config::outbound`).
#[derive(Clone)]
pub struct OutboundSettings {
    /// The upstream to call (`REMOTE_API_URL`), always `https`.
    pub url: Url,
    /// The rustls configuration: trusted roots and the client identity.
    pub tls: rustls::ClientConfig,
    /// TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// The whole call, from connect to the last byte of the body.
    pub timeout: Duration,
    /// The largest response body accepted.
    pub max_response_bytes: u64,
    /// The client identity's subject and notAfter (RFC 3339), for logs and `health`.
    pub identity_subject: String,
    pub identity_not_after: String,
    /// Whether notAfter falls within the warning window (30 days) at startup.
    pub identity_expires_soon: bool,
    /// The trust decision, for the startup log.
    pub trust_public_roots: bool,
    pub private_ca_count: usize,
    /// How to re-read the identity when its source changes (`None`: loaded once).
    pub identity_reload: Option<IdentityReload>,
}

/// The outbound client. Cheap to clone: everything lives behind one `Arc`.
#[derive(Clone)]
pub struct OutboundClient {
    pub(super) inner: Arc<Inner>,
}

/// What the upstream answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// The body as text (invalid UTF-8 is replaced with U+FFFD).
    pub body: String,
    pub elapsed_ms: u64,
}

pub(super) struct Inner {
    /// Swapped whole when the identity is renewed (`reload.rs`); a call clones it first, so a
    /// call in flight finishes on the client it started with.
    pub(super) http: RwLock<reqwest::Client>,
    url: Url,
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    max_response_bytes: u64,
    pub(super) identity_not_after: RwLock<String>,
    pub(super) reload: Option<ReloadState>,
}

// === impl OutboundClient ===

impl OutboundClient {
    /// Builds the client once; call at startup, after telemetry is installed: it logs the
    /// identity, the trust decision, and a warning if the identity expires soon.
    ///
    /// # Errors
    /// [`BuildError`] if reqwest refuses the configuration.
    pub fn build(config: &OutboundSettings) -> Result<Self, BuildError> {
        let http = http_client(config.tls.clone(), config.connect_timeout, config.timeout)?;
        log_startup(config);
        Ok(Self {
            inner: Arc::new(Inner {
                http: RwLock::new(http),
                url: config.url.clone(),
                connect_timeout: config.connect_timeout,
                timeout: config.timeout,
                max_response_bytes: config.max_response_bytes,
                identity_not_after: RwLock::new(config.identity_not_after.clone()),
                reload: config.identity_reload.clone().map(ReloadState::new),
            }),
        })
    }

    /// The client identity's notAfter, RFC 3339 (for `health`).
    pub fn identity_not_after(&self) -> String {
        self.inner
            .identity_not_after
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `GET`s the upstream URL and reads at most `max_response_bytes` of its body.
    ///
    /// Any status is a successful fetch; the caller decides what a 500 from upstream means.
    ///
    /// # Errors
    /// [`OutboundError::Timeout`], [`OutboundError::Tls`], [`OutboundError::Unreachable`] or
    /// [`OutboundError::BodyTooLarge`].
    #[tracing::instrument(skip_all, fields(url = %loggable(&self.inner.url)))]
    pub async fn fetch(&self) -> Result<Fetched, OutboundError> {
        let started = Instant::now();
        let http = self
            .inner
            .http
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut response = http
            .get(self.inner.url.clone())
            .send()
            .await
            .map_err(|error| classify(error, self.inner.timeout))?;
        let status = response.status().as_u16();
        let limit = self.inner.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(OutboundError::BodyTooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| classify(error, self.inner.timeout))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(OutboundError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(status, bytes = body.len(), elapsed_ms, "upstream answered");
        Ok(Fetched {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            elapsed_ms,
        })
    }
}

impl fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundClient")
            .field("url", &loggable(&self.inner.url))
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}

// === impl OutboundSettings ===

impl fmt::Debug for OutboundSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The rustls config holds the private key: never print it.
        f.debug_struct("OutboundSettings")
            .field("url", &loggable(&self.url))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("identity_subject", &self.identity_subject)
            .field("identity_not_after", &self.identity_not_after)
            .field("trust_public_roots", &self.trust_public_roots)
            .field("private_ca_count", &self.private_ca_count)
            .finish_non_exhaustive()
    }
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

fn log_startup(config: &OutboundSettings) {
    tracing::info!(
        url = %loggable(&config.url),
        identity = %config.identity_subject,
        not_after = %config.identity_not_after,
        trust_public_roots = config.trust_public_roots,
        private_cas = config.private_ca_count,
        source = %config.identity_reload.as_ref().map_or_else(String::new, |reload| reload.source.describe()),
        reload_seconds = config.identity_reload.as_ref().filter(|reload| reload.source.can_change())
            .map_or(0, |reload| reload.period.as_secs()),
        "outbound mutual TLS configured"
    );
    if config.identity_expires_soon {
        tracing::warn!(
            identity = %config.identity_subject,
            not_after = %config.identity_not_after,
            "the outbound client certificate expires within 30 days"
        );
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
        settings.tls =
            crate::outbound::tls::client_config(verifier, Some(&identity), &provider).unwrap();
        let client = OutboundClient::build(&settings).unwrap();

        assert_eq!(client.fetch().await.unwrap().body, "via platform verifier");
    }

    #[tokio::test]
    async fn without_an_identity_the_upstream_refuses_the_handshake() {
        let pki = TestPki::new("NoIdentity");
        let server = upstream(&pki, Reply::ok("secret")).await;
        let client = OutboundClient::build(&pki.settings(&server.url("/"), None)).unwrap();

        let error = client.fetch().await.unwrap_err();

        // TLS 1.3: the client's handshake completes, then the server's certificate_required
        // alert arrives on the first read: a TLS error, not a connection error.
        assert_eq!(error.code(), "upstream_tls", "{error}");
        assert!(error.to_string().contains("CertificateRequired"), "{error}");
        assert_eq!(server.handshakes(), 0);
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
