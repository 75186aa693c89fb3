//! The App Service-like front end of `handler dev`: HTTPS on 127.0.0.1 that asks for a client
//! certificate, checks possession only (see [`tls::PossessionOnly`]), and forwards each request
//! to the handler the way the Functions host does, with the certificate in `X-ARR-ClientCert`
//! (or, to a host already running, as App Service forwards to it: without the host's headers).
//!
//! What is forwarded: the method, original path and query, the client's headers minus hop-by-hop
//! ones and minus any `X-ARR-ClientCert` the client sent itself (any case, every occurrence), the
//! original `Host`, and the host's own headers (`X-Azure-Functions-InvocationId`, a fresh GUID;
//! `X-Azure-Functions-HostVersion`; `X-Forwarded-Proto: https`; `X-Forwarded-For`). Redirects
//! are passed back, never followed. The header rules themselves are in `headers.rs`. It does not
//! judge certificates: that is the handler's job.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use futures_util::FutureExt;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use rustls::crypto::CryptoProvider;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::headers::{forwarded_headers, invocation_id, strip_hop_by_hop};
use super::https::{self, Body, Handler, Peer, Shutdown};
use super::pki::DevPki;
use super::tls::{self, ClientCertMode, DevTlsError};

/// The largest request body forwarded (App Service's own limit is larger; this is a dev tool).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Why the front end could not start.
#[derive(Debug, thiserror::Error)]
pub enum FrontEndError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] DevTlsError),
    #[error("cannot build the forwarding client: {detail}")]
    Client { detail: String },
}

/// The front end, bound and ready to forward to a handler.
pub struct FrontEnd {
    listener: TcpListener,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    forwarder: Forwarder,
}

/// Where the front end forwards: the handler it started, or a host already running.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`, without a trailing slash.
    base: String,
    /// What the 502 says did not answer.
    unanswered: &'static str,
    /// Whether the front end also adds the Functions host's headers (a host upstream adds its
    /// own).
    plays_host: bool,
}

impl Target {
    /// The handler `handler dev` started.
    pub fn handler(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            unanswered: "the handler did not answer",
            plays_host: true,
        }
    }

    /// A Functions host at `url` (scheme, host and port are used).
    pub fn upstream(url: &url::Url) -> Self {
        Self {
            base: url.as_str().trim_end_matches('/').to_owned(),
            unanswered: "the upstream host did not answer",
            plays_host: false,
        }
    }
}

/// Everything a request needs to be forwarded.
struct Forwarder {
    client: reqwest::Client,
    provider: Arc<CryptoProvider>,
}

impl FrontEnd {
    /// Loads the TLS configuration, builds the forwarding client and binds `127.0.0.1:<port>`.
    ///
    /// # Errors
    /// [`FrontEndError`] when the PKI files are unusable or the port cannot be bound.
    pub async fn bind(
        port: u16,
        pki: &DevPki,
        mode: ClientCertMode,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Self, FrontEndError> {
        let config = tls::front_end_config(pki, mode, provider)?;
        let forwarder = Forwarder::build(provider)?;
        let (listener, addr) =
            https::bind_loopback(port)
                .await
                .map_err(|source| FrontEndError::Bind {
                    addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                    source,
                })?;
        Ok(Self {
            listener,
            addr,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            forwarder,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Forwards to `target` until `shutdown` completes.
    pub async fn run(self, target: Target, shutdown: Shutdown) {
        let forwarder = Arc::new(self.forwarder);
        let target = Arc::new(target);
        let forward: Handler = Arc::new(move |request, peer| {
            let forwarder = forwarder.clone();
            let target = target.clone();
            async move { forwarder.forward(request, &peer, &target).await }.boxed()
        });
        https::serve("front-end", self.listener, self.acceptor, forward, shutdown).await;
    }
}

// === impl Forwarder ===

impl Forwarder {
    fn build(provider: &Arc<CryptoProvider>) -> Result<Self, FrontEndError> {
        let client_error = |detail: String| FrontEndError::Client { detail };
        // The handler speaks plain HTTP; reqwest still wants a TLS configuration to be given.
        let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| client_error(error.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| client_error(error.to_string()))?;
        Ok(Self {
            client,
            provider: provider.clone(),
        })
    }

    async fn forward(
        &self,
        request: Request<Incoming>,
        peer: &Peer,
        target: &Target,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let Ok(body) = Limited::new(body, MAX_BODY_BYTES).collect().await else {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        };
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let invocation_id = target.plays_host.then(|| invocation_id(&self.provider));
        let headers = forwarded_headers(&parts.headers, peer, invocation_id.as_deref());
        let sent = self
            .client
            .request(
                parts.method.clone(),
                format!("{}{path_and_query}", target.base),
            )
            .headers(headers)
            .body(body.to_bytes())
            .send()
            .await;
        let response = match sent {
            Ok(response) => relay(response).await,
            Err(error) => {
                tracing::warn!(error = %error, "{}", target.unanswered);
                plain(StatusCode::BAD_GATEWAY, target.unanswered)
            }
        };
        tracing::info!(
            method = %parts.method,
            path = %parts.uri.path(),
            status = response.status().as_u16(),
            client_certificate = peer.certificate.is_some(),
            "forwarded"
        );
        response
    }
}

/// The handler's answer, as the client receives it: status, headers (minus hop-by-hop), body.
async fn relay(response: reqwest::Response) -> Response<Body> {
    let status = response.status();
    let mut headers = response.headers().clone();
    let Ok(body) = response.bytes().await else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "the handler's answer was cut short",
        );
    };
    strip_hop_by_hop(&mut headers);
    let mut relayed = Response::new(Body::from(body));
    *relayed.status_mut() = status;
    *relayed.headers_mut() = headers;
    relayed
}

fn plain(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(message));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
