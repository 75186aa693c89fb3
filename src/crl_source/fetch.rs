//! Fetching a CRL from its distribution point with a `bounded_http` client (public
//! roots, for the rare `https` distribution point), HTTP/1.1, a connect timeout and a total
//! timeout, a body cap enforced while the body streams in, and no redirects at all (a 3xx is a
//! failed fetch: the URL in the settings is the one fetched, and its scheme cannot change
//! under us).
//!
//! Conditional requests: the `ETag` and `Last-Modified` of the last good response are sent back
//! verbatim as `If-None-Match` and `If-Modified-Since`; a 304 means "what you hold is current".
//! Those values are stored only when short ([`MAX_VALIDATOR_BYTES`]) and visible ASCII; dates
//! are never parsed. This module does not judge the CRL (`check.rs` does).

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use url::Url;

use crate::bounded_http::{self, TransferError};

/// TCP connect (plus TLS for `https`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole fetch, body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest CRL body accepted (a private CA's CRL is kilobytes; this leaves room for years
/// of revocations). A response costs at most its body plus the CRL's compact form while it is
/// checked (under twice this, `tests/crl_memory.rs`); each URL then keeps the compact form only
/// (about a third of the DER's size).
pub const MAX_CRL_BYTES: u64 = 8 * 1024 * 1024;
/// The longest `ETag` or `Last-Modified` value kept for the next conditional request.
pub const MAX_VALIDATOR_BYTES: usize = 256;

/// The validators of the last good response, sent back on the next request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What the distribution point answered.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the CRL held is still the current one.
    NotModified,
    /// 200 with a body of at most the cap.
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("connection failed: {0}")]
    Unreachable(String),
    #[error("timed out")]
    Timeout,
    #[error("http status {0}")]
    Status(u16),
    #[error("redirect (http status {0}) not followed")]
    Redirect(u16),
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: u64 },
}

/// Why the fetcher could not be built (a startup error).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the crl fetcher: {detail}")]
pub struct FetcherBuildError {
    detail: String,
}

/// The HTTP client every CRL URL is fetched with.
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    max_bytes: u64,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// The fetcher with the default limits.
    ///
    /// # Errors
    /// [`FetcherBuildError`] when the platform roots or reqwest refuse.
    pub fn new() -> Result<Self, FetcherBuildError> {
        Self::with_limits(CONNECT_TIMEOUT, TOTAL_TIMEOUT, MAX_CRL_BYTES)
    }

    /// A fetcher with other limits (tests).
    ///
    /// # Errors
    /// As [`Fetcher::new`].
    pub fn with_limits(
        connect_timeout: Duration,
        timeout: Duration,
        max_bytes: u64,
    ) -> Result<Self, FetcherBuildError> {
        let limits = bounded_http::Limits {
            connect_timeout,
            timeout,
        };
        let http = bounded_http::client(limits, Vec::new(), bounded_http::Proxy::FromEnvironment)
            .map_err(|error| FetcherBuildError {
            detail: error.to_string(),
        })?;
        Ok(Self { http, max_bytes })
    }

    /// GETs `url`, conditionally on `validators`.
    ///
    /// # Errors
    /// [`FetchError`] for anything but a 200 within the cap or a 304.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let mut request = self.http.get(url.clone());
        if let Some(etag) = header_value(validators.etag.as_deref()) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(date) = header_value(validators.last_modified.as_deref()) {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
        let response = request.send().await.map_err(bounded_http::classify)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        let validators = Validators {
            etag: validator(response.headers(), ETAG),
            last_modified: validator(response.headers(), LAST_MODIFIED),
        };
        let bytes = bounded_http::read_body(response, self.max_bytes).await?;
        Ok(Fetched::Body { bytes, validators })
    }
}

/// A response header kept verbatim for the next request, if short and visible ASCII.
fn validator(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    (value.len() <= MAX_VALIDATOR_BYTES && !value.is_empty()).then(|| value.to_owned())
}

fn header_value(value: Option<&str>) -> Option<HeaderValue> {
    value.and_then(|value| HeaderValue::from_str(value).ok())
}

impl From<TransferError> for FetchError {
    fn from(error: TransferError) -> Self {
        match error {
            TransferError::Unreachable(detail) => Self::Unreachable(detail),
            TransferError::Timeout => Self::Timeout,
            TransferError::TooLarge { limit } => Self::TooLarge { limit },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crl_source::crl_point::{Answer, CrlPoint};

    #[tokio::test]
    async fn a_body_over_the_cap_is_refused_and_long_validators_are_not_kept() {
        let long_etag = format!("\"{}\"", "e".repeat(MAX_VALIDATOR_BYTES));
        let point = CrlPoint::start(Answer::Crl {
            body: vec![b'x'; 4096],
            etag: long_etag,
        })
        .await;
        let url = Url::parse(&point.url()).expect("point url");
        let small = Fetcher::with_limits(CONNECT_TIMEOUT, TOTAL_TIMEOUT, 4095).expect("fetcher");
        let exact = Fetcher::with_limits(CONNECT_TIMEOUT, TOTAL_TIMEOUT, 4096).expect("fetcher");

        let refused = small.fetch(&url, &Validators::default()).await;
        let fetched = exact.fetch(&url, &Validators::default()).await;

        assert!(
            matches!(refused, Err(FetchError::TooLarge { limit: 4095 })),
            "one byte over the cap: {refused:?}"
        );
        match fetched {
            Ok(Fetched::Body { bytes, validators }) => {
                assert_eq!(bytes.len(), 4096, "a body at the cap is read whole");
                assert_eq!(validators.etag, None, "an etag over 256 bytes is not kept");
            }
            other => panic!("a body at the cap is accepted: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_etag_goes_back_verbatim_and_a_304_is_not_modified() {
        let point = CrlPoint::start(Answer::Crl {
            body: b"crl bytes".to_vec(),
            etag: "W/\"v1\"".to_owned(),
        })
        .await;
        let url = Url::parse(&point.url()).expect("point url");
        let fetcher = Fetcher::new().expect("fetcher");

        let first = fetcher.fetch(&url, &Validators::default()).await;
        let Ok(Fetched::Body { validators, .. }) = first else {
            panic!("first fetch gets the body: {first:?}");
        };
        let second = fetcher.fetch(&url, &validators).await;

        assert_eq!(validators.etag.as_deref(), Some("W/\"v1\""));
        assert!(matches!(second, Ok(Fetched::NotModified)), "{second:?}");
        assert_eq!(point.not_modified(), 1);
    }
}
