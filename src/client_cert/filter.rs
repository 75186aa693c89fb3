//! The warp filter shared by every protected function: every occurrence of the certificate
//! header in, an [`Authorized`] out, or a rejection carrying [`Denied`]. The only part of
//! `client_cert` that knows warp; the decision itself is [`Authenticator::authorize`].

use std::sync::Arc;

use rustls_pki_types::UnixTime;
use warp::Filter;
use warp::http::HeaderMap;
use warp::http::header::HeaderName;

use super::{Authenticator, Authorized};
use crate::error::ApiError;

/// Extracts the caller's [`Authorized`] identity, or rejects with [`ApiError::Denied`].
pub fn client_cert(
    authenticator: Arc<Authenticator>,
) -> impl Filter<Extract = (Authorized,), Error = warp::Rejection> + Clone {
    let header = HeaderName::from_bytes(authenticator.header_name().as_bytes())
        .expect("CLIENT_CERT_HEADER was validated as a header name at startup");
    warp::header::headers_cloned().and_then(move |headers: HeaderMap| {
        let result = authorize(&authenticator, &header, &headers);
        std::future::ready(result.map_err(warp::reject::custom))
    })
}

fn authorize(
    authenticator: &Authenticator,
    header: &HeaderName,
    headers: &HeaderMap,
) -> Result<Authorized, ApiError> {
    let values: Vec<&[u8]> = headers
        .get_all(header)
        .iter()
        .map(|value| value.as_bytes())
        .collect();
    authenticator
        .authorize(&values, UnixTime::now())
        .map_err(ApiError::Denied)
}
