//! Bounded HTTP GETs for the handler's own background calls (CRL distribution points, the
//! managed-identity endpoint, Azure Resource Manager): one reqwest client on our rustls
//! configuration (the platform's public roots plus any extra roots given, hostname checks on),
//! HTTP/1.1, a connect timeout and a total timeout, a body cap enforced while the body streams
//! in, and no redirects (a 3xx is the caller's to refuse: the URL configured is the URL read).
//!
//! What is fetched, and what a status means, is each caller's business; this module only moves
//! bytes within bounds and words transport failures without the URL (the caller names it once).

use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::outbound::tls;

/// Whether the client honours `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// As reqwest does by default (a proxy named in the environment is used).
    FromEnvironment,
    /// Never a proxy: for a link-local or loopback endpoint such as the identity endpoint.
    None,
}

/// The bounds of every request made with one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// TCP connect, plus the TLS handshake for `https`.
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub timeout: Duration,
}

/// Why a request moved no (or not all of its) bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("connection failed: {0}")]
    Unreachable(String),
    #[error("timed out")]
    Timeout,
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: u64 },
}

/// Why a client could not be built (a startup error).
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct ClientBuildError {
    detail: String,
}

/// A client that trusts the platform's public roots and `extra_roots`, speaks HTTP/1.1 and
/// follows no redirect.
///
/// # Errors
/// [`ClientBuildError`] when the platform roots, an extra root or reqwest refuse.
pub fn client(
    limits: Limits,
    extra_roots: Vec<CertificateDer<'static>>,
    proxy: Proxy,
) -> Result<reqwest::Client, ClientBuildError> {
    let error = |detail: String| ClientBuildError { detail };
    let provider = tls::provider();
    let verifier = tls::verifier(extra_roots, true, &provider).map_err(|e| error(e.to_string()))?;
    let config = tls::client_config(verifier, None, &provider).map_err(|e| error(e.to_string()))?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout);
    if proxy == Proxy::None {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| error(e.to_string()))
}

/// Reads the whole body of `response`, refusing more than `limit` bytes: at once when
/// `Content-Length` says so, otherwise as soon as the streamed bytes pass it.
///
/// # Errors
/// [`TransferError::TooLarge`] over the cap; a transport failure or the total timeout.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, TransferError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(TransferError::TooLarge { limit });
    }
    // Sized once when the length is announced (within the cap), so the body is held once.
    let announced = response.content_length().unwrap_or(0).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(TransferError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A reqwest failure in words, its cause chain included and its URL left out.
pub fn classify(error: reqwest::Error) -> TransferError {
    let error = error.without_url();
    if error.is_timeout() {
        return TransferError::Timeout;
    }
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    TransferError::Unreachable(detail)
}
