//! `ApiError`, the only type that knows HTTP statuses, and `handle_rejection`, the one place
//! where failures become responses.
//!
//! Bodies are `{"error": "<public message>", "code": "<code>"}`; internal detail never reaches
//! them. Logging happens where a failure is detected, not here.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::{Rejection, Reply};

use crate::client_cert::Denied;
use crate::outbound::OutboundError;

/// Every failure a caller can see.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request too large")]
    PayloadTooLarge,
    #[error("bad request")]
    BadRequest,
    #[error("internal error")]
    Internal,
    /// The client certificate was refused; the variant's own text is for the log only.
    #[error("{}", .0.public_message())]
    Denied(Denied),
    #[error("outbound mutual TLS is not configured")]
    OutboundNotConfigured,
    /// The upstream call failed; the variant's own text is for the log only.
    #[error("{}", outbound_message(.0))]
    Outbound(OutboundError),
}

fn outbound_message(error: &OutboundError) -> &'static str {
    match error {
        OutboundError::Timeout { .. } => "upstream did not answer in time",
        OutboundError::Tls { .. } => "upstream TLS handshake failed",
        OutboundError::BodyTooLarge { .. } => "upstream response too large",
        OutboundError::Unreachable { .. } | OutboundError::Build { .. } => "upstream unreachable",
    }
}

impl Reject for ApiError {}

/// The JSON error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    pub code: &'a str,
}

impl ApiError {
    /// The HTTP status for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Denied(Denied::Malformed { .. }) => StatusCode::BAD_REQUEST,
            Self::Denied(_) => StatusCode::FORBIDDEN,
            Self::OutboundNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::Outbound(OutboundError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            Self::Outbound(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::BadRequest => "bad_request",
            Self::Internal => "internal_error",
            Self::Denied(denied) => denied.code(),
            Self::OutboundNotConfigured => "outbound_not_configured",
            Self::Outbound(error) => error.code(),
        }
    }

    /// The message a caller may see.
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// The JSON response for this failure.
    pub fn to_response(&self) -> warp::reply::Response {
        let message = self.public_message();
        let body = ErrorBody {
            error: &message,
            code: self.code(),
        };
        let json = warp::reply::json(&body);
        warp::reply::with_status(json, self.status()).into_response()
    }
}

/// Turns every rejection into a JSON response. Attached once, at the top of the route tree.
pub async fn handle_rejection(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    if let Some(error) = rejection.find::<ApiError>() {
        return Ok(error.to_response());
    }
    Ok(classify(&rejection).to_response())
}

/// Maps warp's own rejections; anything unknown is logged and becomes a generic 500.
fn classify(rejection: &Rejection) -> ApiError {
    if rejection.is_not_found() {
        return ApiError::NotFound;
    }
    if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        return ApiError::MethodNotAllowed;
    }
    if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        return ApiError::PayloadTooLarge;
    }
    if rejection.find::<warp::reject::InvalidHeader>().is_some()
        || rejection.find::<warp::reject::MissingHeader>().is_some()
        || rejection.find::<warp::reject::InvalidQuery>().is_some()
    {
        return ApiError::BadRequest;
    }
    tracing::error!(rejection = ?rejection, "unhandled rejection");
    ApiError::Internal
}
