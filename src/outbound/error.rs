//! Outbound failures: what went wrong on a call (`OutboundError`), its stable public code, and
//! how a reqwest error is classified (timeout, TLS, or unreachable) by walking its causes.
//! It does not map codes to HTTP statuses (`error.rs` does) and never logs.

use std::time::Duration;

use super::availability::Unavailable;

/// Why the client could not be built (at startup, never on a call).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the outbound HTTP client: {detail}")]
pub struct BuildError {
    pub detail: String,
}

/// Why a call failed. `Display` is log detail (it may quote the upstream or the TLS stack);
/// public responses use [`OutboundError::code`] only.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("upstream unreachable: {detail}")]
    Unreachable { detail: String },
    #[error("upstream TLS failure: {detail}")]
    Tls { detail: String },
    #[error("upstream response body exceeds {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("upstream did not answer within {timeout_ms} ms: {detail}")]
    Timeout { timeout_ms: u64, detail: String },
    /// No identity is loaded (the call was not attempted).
    #[error("outbound mutual TLS is unavailable: {0}")]
    Unavailable(Unavailable),
    /// The call itself is malformed: its URL, a header (a mistake in the calling code).
    #[error("invalid outbound request: {detail}")]
    InvalidRequest { detail: String },
}

/// Classifies a failed call. The URL is stripped first: it may carry a key in its query.
pub(super) fn classify(error: reqwest::Error, timeout: Duration) -> OutboundError {
    let error = error.without_url();
    let detail = error_chain(&error);
    if error.is_timeout() {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        OutboundError::Timeout { timeout_ms, detail }
    } else if is_tls_error(&error) {
        OutboundError::Tls { detail }
    } else {
        OutboundError::Unreachable { detail }
    }
}

// === impl OutboundError ===

impl OutboundError {
    /// The stable, public code of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "upstream_unreachable",
            Self::Tls { .. } => "upstream_tls",
            Self::BodyTooLarge { .. } => "upstream_body_too_large",
            Self::Timeout { .. } => "upstream_timeout",
            Self::Unavailable(why) => why.code(),
            Self::InvalidRequest { .. } => "outbound_invalid_request",
        }
    }
}

/// Whether the failure came from TLS: a `rustls::Error` somewhere in the source chain, or the
/// `InvalidData` I/O error that tokio-rustls wraps it in. reqwest wraps that I/O error in
/// another one, and `io::Error::source()` skips the wrapped error, so I/O errors are opened
/// with `get_ref()` instead.
fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<rustls::Error>() {
            return true;
        }
        current = match error.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::InvalidData => return true,
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    false
}

/// The error and its causes, `: `-separated, for logs.
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        current = cause.source();
    }
    text
}
