//! The HTTP/1.1 server under the route tree: each accepted connection is served by hyper with
//! the limits the handler states, the routes as its service, and a graceful shutdown that lets
//! requests in flight finish.
//!
//! warp's own server fixes hyper's settings, so a request head was refused only when hyper's
//! read buffer filled: somewhere between 450,000 and 520,000 bytes, depending on how the bytes
//! arrived. Here hyper counts the head itself ([`MAX_REQUEST_HEAD_BYTES`], exactly), the way
//! it counts header fields ([`MAX_HEADER_FIELDS`]). The host speaks HTTP/1.1 only (no h2c), so
//! only HTTP/1.1 is served. What runs per request (routes, rejections, the request span) is
//! `startup`'s; the accept loop and connection settings are this module's.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// The largest request head served: the request line and every header line, their line ends
/// and the blank line that ends the head. One byte more is answered `431` and the connection
/// closed. It leaves room for the largest certificate header cap (256 KiB) and 150 KB more.
pub const MAX_REQUEST_HEAD_BYTES: usize = 417_792;
/// The most header fields a request may have (hyper's default, stated): more is `431`.
pub const MAX_HEADER_FIELDS: usize = 100;

/// Serves `routes` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the connections' requests in flight to finish (the caller bounds that wait).
pub async fn serve(
    listener: tokio::net::TcpListener,
    routes: BoxedFilter<(Response,)>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(warp::service(routes.clone()));
        let connection = hyper::server::conn::http1::Builder::new()
            .max_header_size(MAX_REQUEST_HEAD_BYTES)
            .max_buf_size(MAX_REQUEST_HEAD_BYTES)
            .max_headers(MAX_HEADER_FIELDS)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client's malformed or oversized request, a reset: hyper has answered (400,
            // 431) or the peer is gone; nothing the operator must act on.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A connection reset before `accept` returned is the peer's business; anything else (out of
/// file descriptors, say) is logged and the loop pauses a second rather than spin.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
