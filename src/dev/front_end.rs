//! The App Service-like front end of `handler dev`: HTTPS on 127.0.0.1 that asks for a client
//! certificate, checks possession only (see [`tls::PossessionOnly`]), and forwards each request
//! to the handler the way the Functions host does, with the certificate in `X-ARR-ClientCert`.
//!
//! What is forwarded: the method, original path and query, the client's headers minus hop-by-hop
//! ones and minus any `X-ARR-ClientCert` the client sent itself (any case, every occurrence), the
//! original `Host`, and the host's own headers (`X-Azure-Functions-InvocationId`, a fresh GUID;
//! `X-Azure-Functions-HostVersion`; `X-Forwarded-Proto: https`; `X-Forwarded-For`). Redirects
//! are passed back, never followed. It does not judge certificates: that is the handler's job.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use base64::Engine;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use rustls::crypto::CryptoProvider;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::https::{self, Body, Handler, Peer, Shutdown};
use super::pki::DevPki;
use super::tls::{self, ClientCertMode, DevTlsError};

/// The header App Service forwards the client certificate in.
pub const CLIENT_CERT_HEADER: &str = "x-arr-clientcert";
/// The Functions host version the front end claims to be.
pub const HOST_VERSION: &str = "4.1036.1.23224";
/// The largest request body forwarded (App Service's own limit is larger; this is a dev tool).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

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
        let requested = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let bind_error = |source| FrontEndError::Bind {
            addr: requested,
            source,
        };
        let listener = TcpListener::bind(requested).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
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

    /// Forwards to the handler at `handler` until `shutdown` completes.
    pub async fn run(self, handler: SocketAddr, shutdown: Shutdown) {
        let forwarder = Arc::new(self.forwarder);
        let forward: Handler = Arc::new(move |request, peer| {
            let forwarder = forwarder.clone();
            async move { forwarder.forward(request, &peer, handler).await }.boxed()
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
        handler: SocketAddr,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let Ok(body) = Limited::new(body, MAX_BODY_BYTES).collect().await else {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        };
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let headers = forwarded_headers(&parts.headers, peer, &invocation_id(&self.provider));
        let sent = self
            .client
            .request(
                parts.method.clone(),
                format!("http://{handler}{path_and_query}"),
            )
            .headers(headers)
            .body(body.to_bytes())
            .send()
            .await;
        let response = match sent {
            Ok(response) => relay(response).await,
            Err(error) => {
                tracing::warn!(error = %error, "the handler did not answer");
                plain(StatusCode::BAD_GATEWAY, "the handler did not answer")
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

/// The headers the handler receives: the client's, cleaned, plus the front end's and the host's.
fn forwarded_headers(original: &HeaderMap, peer: &Peer, invocation_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(original.len() + 6);
    let replaced = [
        CLIENT_CERT_HEADER,
        "x-forwarded-for",
        "x-forwarded-proto",
        "content-length",
    ];
    for (name, value) in original {
        if !is_hop_by_hop(name) && !replaced.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(certificate) = &peer.certificate {
        let encoded = base64::engine::general_purpose::STANDARD.encode(certificate);
        let value = HeaderValue::try_from(encoded).expect("base64 is a valid header value");
        headers.insert(CLIENT_CERT_HEADER, value);
    }
    let mut forwarded_for: Vec<&str> = original
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let client_ip = peer.addr.ip().to_string();
    forwarded_for.push(&client_ip);
    if let Ok(value) = HeaderValue::try_from(forwarded_for.join(", ")) {
        headers.insert("x-forwarded-for", value);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    if let Ok(value) = HeaderValue::try_from(invocation_id) {
        headers.insert("x-azure-functions-invocationid", value);
    }
    headers.insert(
        "x-azure-functions-hostversion",
        HeaderValue::from_static(HOST_VERSION),
    );
    headers
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

/// Drops hop-by-hop headers and `content-length` (hyper sets it from the body).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP.iter().chain(&["content-length"]) {
        headers.remove(*name);
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
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

/// A version-4 GUID from the provider's random source (time-derived if that ever fails).
fn invocation_id(provider: &CryptoProvider) -> String {
    let mut bytes = [0u8; 16];
    if provider.secure_random.fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        bytes = nanos.to_be_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;

    fn peer(certificate: Option<&[u8]>) -> Peer {
        Peer {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 50_000)),
            certificate: certificate.map(|der| CertificateDer::from(der.to_vec())),
        }
    }

    fn client_headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_static(value),
            );
        }
        headers
    }

    #[test]
    fn dev_a_client_sent_certificate_header_is_dropped_in_any_case() {
        let original = client_headers(&[
            ("X-ARR-ClientCert", "spoofed-1"),
            ("x-arr-clientcert", "spoofed-2"),
            ("X-Arr-Clientcert", "spoofed-3"),
            ("accept", "*/*"),
        ]);
        let forwarded = forwarded_headers(&original, &peer(None), "id");
        assert!(
            forwarded
                .get_all(CLIENT_CERT_HEADER)
                .iter()
                .next()
                .is_none(),
            "no certificate presented: no header at all, got {forwarded:?}"
        );
        assert_eq!(forwarded["accept"], "*/*", "other headers pass through");
    }

    #[test]
    fn dev_the_presented_certificate_replaces_a_spoofed_one() {
        let original = client_headers(&[("X-ARR-ClientCert", "spoofed")]);
        let forwarded = forwarded_headers(&original, &peer(Some(b"der")), "id");
        let values: Vec<_> = forwarded.get_all(CLIENT_CERT_HEADER).iter().collect();
        assert_eq!(values, vec!["ZGVy"], "exactly one value: base64 of the DER");
    }

    #[test]
    fn dev_the_host_headers_are_set_and_hop_by_hop_ones_dropped() {
        let original = client_headers(&[
            ("host", "localhost:7071"),
            ("connection", "keep-alive"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-proto", "http"),
            ("x-azure-functions-invocationid", "client-chosen"),
        ]);
        let forwarded = forwarded_headers(&original, &peer(None), "the-id");
        assert_eq!(forwarded["host"], "localhost:7071", "the original Host");
        assert!(forwarded.get("connection").is_none());
        assert_eq!(forwarded["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(forwarded["x-forwarded-proto"], "https");
        assert_eq!(forwarded["x-azure-functions-invocationid"], "the-id");
        assert_eq!(forwarded["x-azure-functions-hostversion"], HOST_VERSION);
    }

    #[test]
    fn dev_invocation_ids_are_fresh_version_4_guids() {
        let provider = crate::outbound::tls::provider();
        let first = invocation_id(&provider);
        let second = invocation_id(&provider);
        assert_ne!(first, second);
        let groups: Vec<usize> = first.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12], "{first}");
        assert_eq!(&first[14..15], "4", "version nibble: {first}");
    }
}
