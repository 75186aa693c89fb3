//! A small HTTPS server for `handler dev`: accepts TCP connections on a bound listener,
//! completes the TLS handshake, and serves HTTP/1.1 with hyper (warp's server cannot take a TLS
//! acceptor). On shutdown it stops accepting, asks every connection to finish its request, and
//! waits a bounded time.
//!
//! It knows nothing of what is served: the front end and the remote API pass a [`Handler`],
//! which sees each request with the [`Peer`] (address and client certificate) it came from.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Binds `127.0.0.1:<port>` (0: any free port) and reports the address actually bound.
///
/// # Errors
/// The bind failure, or a failure to read the bound address.
pub async fn bind_loopback(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener =
        TcpListener::bind(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// A shutdown signal every server of `handler dev` can wait on.
pub type Shutdown = Shared<BoxFuture<'static, ()>>;

/// The body of every response the dev servers send.
pub type Body = Full<Bytes>;

/// Answers one request; never fails (failures are responses).
pub type Handler =
    Arc<dyn Fn(Request<Incoming>, Arc<Peer>) -> BoxFuture<'static, Response<Body>> + Send + Sync>;

/// Who is at the other end of a connection.
#[derive(Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The leaf certificate the client presented in the handshake, if any.
    pub certificate: Option<CertificateDer<'static>>,
}

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may run after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `listener` until `shutdown` completes, then drains (at most `DRAIN_TIMEOUT`, 5 s).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handler: Handler,
    shutdown: Shutdown,
) {
    let mut connections = JoinSet::new();
    let stop = shutdown.clone();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, addr)) => {
                    let acceptor = acceptor.clone();
                    let handler = handler.clone();
                    let shutdown = shutdown.clone();
                    connections.spawn(connection(name, tcp, addr, acceptor, handler, shutdown));
                }
                Err(error) => {
                    tracing::warn!(server = name, error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            server = name,
            "connections still open after the drain timeout"
        );
    }
}

/// One connection: handshake, then HTTP/1.1 until the client closes or shutdown.
async fn connection(
    name: &'static str,
    tcp: TcpStream,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    handler: Handler,
    shutdown: Shutdown,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            tracing::info!(server = name, peer = %addr, error = %error, "TLS handshake refused");
            return;
        }
        Err(_) => {
            tracing::info!(server = name, peer = %addr, "TLS handshake timed out");
            return;
        }
    };
    let certificate = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .cloned();
    let peer = Arc::new(Peer { addr, certificate });
    let service =
        service_fn(move |request| handler(request, peer.clone()).map(Ok::<_, Infallible>));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new());
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(server = name, peer = %addr, error = %error, "connection ended with an error");
    }
}
