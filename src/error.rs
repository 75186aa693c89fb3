//! `ApiError`, the only type that knows HTTP statuses, and `handle_rejection`, the one place
//! where failures become responses.
//!
//! Bodies are `{"error": "<public message>", "code": "<code>"}`; internal detail never reaches
//! them. Logging happens where a failure is detected, not here.

use std::convert::Infallible;

use serde::Serialize;
use warp::Rejection;
use warp::http::StatusCode;
use warp::reject::Reject;

use crate::client_cert::Denied;
use crate::host::envelope::EnvelopeError;
use crate::outbound::{OutboundError, Unavailable};
use crate::posture::Refusal;

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
    /// Too many client certificates are waiting for a cold check; retry shortly.
    #[error("too many client certificate checks in progress; retry shortly")]
    Busy,
    /// Payload mode: the host's envelope is not what the host sends (its message is safe).
    #[error("{0}")]
    InvalidInvocation(EnvelopeError),
    /// The client certificate was refused; the variant's own text is for the log only.
    #[error("{}", .0.public_message())]
    Denied(Denied),
    /// No outbound client can call now; the public message says why in general words.
    #[error("{}", .0.reason().public_message())]
    OutboundUnavailable(Unavailable),
    /// The upstream call failed; the variant's own text is for the log only.
    #[error("{}", outbound_message(.0))]
    Outbound(OutboundError),
    /// The front end's client-certificate settings are not verified yet (or no longer).
    #[error("the front end's client certificate settings are not verified yet; retry later")]
    PostureUnverified { retry_after: u64 },
    /// The front end does not require a client certificate on every protected route.
    #[error("the front end does not require a client certificate here, so none is trusted")]
    PostureUnsafe { retry_after: u64 },
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unverified { retry_after } => Self::PostureUnverified { retry_after },
            Refusal::Unsafe { retry_after } => Self::PostureUnsafe { retry_after },
        }
    }
}

fn outbound_message(error: &OutboundError) -> &'static str {
    match error {
        OutboundError::Timeout { .. } => "upstream did not answer in time",
        OutboundError::Tls { .. } => "upstream TLS handshake failed",
        OutboundError::BodyTooLarge { .. } => "upstream response too large",
        OutboundError::Unreachable { .. } => "upstream unreachable",
        OutboundError::Unavailable(why) => why.reason().public_message(),
        OutboundError::InvalidRequest { .. } => "internal error",
    }
}

impl Reject for ApiError {}

impl From<Unavailable> for ApiError {
    fn from(why: Unavailable) -> Self {
        Self::OutboundUnavailable(why)
    }
}

impl From<OutboundError> for ApiError {
    fn from(error: OutboundError) -> Self {
        match error {
            OutboundError::Unavailable(why) => Self::OutboundUnavailable(why),
            other => Self::Outbound(other),
        }
    }
}

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
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidInvocation(_) => StatusCode::BAD_REQUEST,
            Self::Denied(Denied::Malformed { .. }) => StatusCode::BAD_REQUEST,
            // Every other refusal, `cert_weak_key` included, is a 403.
            Self::Denied(_) => StatusCode::FORBIDDEN,
            Self::OutboundUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Outbound(OutboundError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            Self::Outbound(OutboundError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Outbound(OutboundError::InvalidRequest { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Outbound(_) => StatusCode::BAD_GATEWAY,
            Self::PostureUnverified { .. } | Self::PostureUnsafe { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
            Self::Busy => "busy",
            Self::InvalidInvocation(_) => "invalid_invocation",
            Self::Denied(denied) => denied.code(),
            Self::OutboundUnavailable(why) => why.code(),
            Self::Outbound(error) => error.code(),
            Self::PostureUnverified { .. } => "posture_unverified",
            Self::PostureUnsafe { .. } => "posture_unsafe",
        }
    }

    /// The message a caller may see.
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// The JSON body, `{"error": "<public message>", "code": "<code>"}`.
    pub fn json_body(&self) -> String {
        let message = self.public_message();
        let body = ErrorBody {
            error: &message,
            code: self.code(),
        };
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// Seconds a caller should wait before trying again, for the failures that pass.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Busy => Some(1),
            Self::PostureUnverified { retry_after } | Self::PostureUnsafe { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The JSON response for this failure.
    pub fn to_response(&self) -> warp::reply::Response {
        let mut response = warp::reply::Response::new(self.json_body().into());
        *response.status_mut() = self.status();
        if let Some(seconds) = self.retry_after() {
            response.headers_mut().insert(
                warp::http::header::RETRY_AFTER,
                warp::http::HeaderValue::from(seconds),
            );
        }
        response.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static("application/json"),
        );
        response
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
    // Scanners probe unknown paths all day: a 404 or 405 is not worth a line at info.
    if rejection.is_not_found() {
        tracing::debug!(status = 404, "no function at this path");
        return ApiError::NotFound;
    }
    if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        tracing::debug!(status = 405, "method not allowed for this function");
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: warp::reply::Response) -> (u16, serde_json::Value) {
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("JSON body"))
    }

    #[tokio::test]
    async fn every_variant_has_a_status_a_code_and_a_safe_message() {
        let detail = || "internal detail: /secret/path parser said X".to_owned();
        let cases = [
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (ApiError::BadRequest, 400, "bad_request"),
            (ApiError::Internal, 500, "internal_error"),
            (
                ApiError::InvalidInvocation(EnvelopeError::MissingRequest),
                400,
                "invalid_invocation",
            ),
            (ApiError::Denied(Denied::Missing), 403, "cert_missing"),
            (
                ApiError::Denied(Denied::Malformed { reason: detail() }),
                400,
                "cert_malformed",
            ),
            (
                ApiError::Denied(Denied::Ambiguous { reason: detail() }),
                403,
                "cert_ambiguous",
            ),
            (
                ApiError::Denied(Denied::Untrusted { reason: detail() }),
                403,
                "cert_untrusted",
            ),
            (
                ApiError::Denied(Denied::Expired {
                    not_after: 1,
                    now: 2,
                }),
                403,
                "cert_expired",
            ),
            (
                ApiError::Denied(Denied::NotYetValid {
                    not_before: 2,
                    now: 1,
                }),
                403,
                "cert_not_yet_valid",
            ),
            (
                ApiError::Denied(Denied::WrongUsage { reason: detail() }),
                403,
                "cert_wrong_usage",
            ),
            (ApiError::Denied(Denied::Revoked), 403, "cert_revoked"),
            (
                ApiError::Denied(Denied::RevocationUnknown { reason: detail() }),
                403,
                "cert_revocation_unknown",
            ),
            (
                ApiError::Denied(Denied::WeakKey { reason: detail() }),
                403,
                "cert_weak_key",
            ),
            (
                ApiError::Denied(Denied::CnOutsideNameConstraints {
                    cn: detail(),
                    reason: detail(),
                }),
                403,
                "cert_not_allowed",
            ),
            (
                ApiError::Denied(Denied::NotAllowed {
                    cn: None,
                    thumbprint: detail(),
                }),
                403,
                "cert_not_allowed",
            ),
            (
                ApiError::OutboundUnavailable(crate::state::not_configured()),
                503,
                "outbound_not_configured",
            ),
            (
                ApiError::OutboundUnavailable(Unavailable::new(
                    crate::outbound::Reason::IdentityMissing,
                    "OUTBOUND_CLIENT_CERT_PATH",
                    detail(),
                    true,
                )),
                503,
                "outbound_identity_unavailable",
            ),
            (
                ApiError::OutboundUnavailable(Unavailable::new(
                    crate::outbound::Reason::SettingInvalid,
                    "OUTBOUND_TIMEOUT_MS",
                    detail(),
                    false,
                )),
                503,
                "outbound_misconfigured",
            ),
            (
                ApiError::Outbound(OutboundError::InvalidRequest { detail: detail() }),
                500,
                "outbound_invalid_request",
            ),
            (
                ApiError::Outbound(OutboundError::Unreachable { detail: detail() }),
                502,
                "upstream_unreachable",
            ),
            (
                ApiError::Outbound(OutboundError::Tls { detail: detail() }),
                502,
                "upstream_tls",
            ),
            (
                ApiError::Outbound(OutboundError::BodyTooLarge { limit: 1 }),
                502,
                "upstream_body_too_large",
            ),
            (
                ApiError::Outbound(OutboundError::Timeout {
                    timeout_ms: 1,
                    detail: detail(),
                }),
                504,
                "upstream_timeout",
            ),
            (
                ApiError::PostureUnverified { retry_after: 7 },
                503,
                "posture_unverified",
            ),
            (
                ApiError::PostureUnsafe { retry_after: 300 },
                503,
                "posture_unsafe",
            ),
        ];
        for (error, status, code) in cases {
            let (got_status, json) = body(error.to_response()).await;
            assert_eq!(got_status, status, "{code}");
            assert_eq!(json["code"], code);
            let message = json["error"].as_str().expect("message");
            assert!(
                !message.contains("internal detail"),
                "{code} leaks detail: {message}"
            );
            assert_eq!(
                json.as_object().map(|o| o.len()),
                Some(2),
                "{code}: only error and code"
            );
        }
    }

    #[test]
    fn failures_that_pass_say_when_to_retry() {
        for (error, retry_after) in [
            (ApiError::Busy, Some("1")),
            (ApiError::PostureUnverified { retry_after: 7 }, Some("7")),
            (ApiError::PostureUnsafe { retry_after: 300 }, Some("300")),
            (ApiError::Internal, None),
        ] {
            let response = error.to_response();
            let header = response
                .headers()
                .get(warp::http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok());
            assert_eq!(header, retry_after, "{}", error.code());
        }
    }

    #[tokio::test]
    async fn unknown_rejections_become_a_generic_500() {
        #[derive(Debug)]
        struct Strange;
        impl Reject for Strange {}
        let response = handle_rejection(warp::reject::custom(Strange))
            .await
            .expect("infallible");
        let (status, json) = body(response).await;
        assert_eq!(status, 500);
        assert_eq!(json["error"], "internal error");
    }
}
