//! The local "remote API" of `handler dev`: a mutual-TLS server on 127.0.0.1 that requires a
//! client certificate from the development CA (the dev outbound identity is one) and answers
//! every request with a small JSON naming the caller, so `outbound-mtls` works end to end.
//!
//! It is a stand-in for an upstream, not a model of one: no routing, no methods, no bodies.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use futures_util::FutureExt;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use rustls::crypto::CryptoProvider;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::https::{self, Body, Handler, Peer, Shutdown};
use super::pki::DevPki;
use super::tls::{self, DevTlsError};
use crate::client_cert::ClientCert;

/// What the remote API says to every caller.
pub const MESSAGE: &str = "hello from the local remote API";

/// Why the remote API could not start.
#[derive(Debug, thiserror::Error)]
pub enum RemoteApiError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] DevTlsError),
}

/// The remote API, bound to an ephemeral port and ready to run.
pub struct RemoteApi {
    listener: TcpListener,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
}

#[derive(Debug, Serialize)]
struct Answer<'a> {
    message: &'a str,
    /// The CN of the caller's certificate.
    client: Option<String>,
}

impl RemoteApi {
    /// Loads the TLS configuration and binds `127.0.0.1:0`.
    ///
    /// # Errors
    /// [`RemoteApiError`] when the PKI files are unusable or the port cannot be bound.
    pub async fn bind(
        pki: &DevPki,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Self, RemoteApiError> {
        let config = tls::remote_api_config(pki, provider)?;
        let (listener, addr) =
            https::bind_loopback(0)
                .await
                .map_err(|source| RemoteApiError::Bind {
                    addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                    source,
                })?;
        Ok(Self {
            listener,
            addr,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: Shutdown) {
        let handler: Handler = Arc::new(|request, peer| answer(request, peer).boxed());
        https::serve(
            "remote-api",
            self.listener,
            self.acceptor,
            handler,
            shutdown,
        )
        .await;
    }
}

async fn answer<B>(_request: Request<B>, peer: Arc<Peer>) -> Response<Body> {
    let client = peer
        .certificate
        .as_ref()
        .and_then(|der| ClientCert::parse(der.to_vec()).ok())
        .and_then(|cert| cert.common_name);
    tracing::info!(client = ?client, "remote API called");
    let answer = Answer {
        message: MESSAGE,
        client,
    };
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
