//! `ErrorReply`: a failure a function answers with, in the same JSON shape as the handler's own
//! refusals (`{"error": "<message>", "code": "<code>"}`), so a caller sees one error format
//! whichever function answered.

use std::borrow::Cow;
use std::fmt;

use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::error::{ApiError, ErrorBody};
use crate::outbound::{OutboundError, Unavailable};

/// An error answer: a status, a stable machine-readable code and a message the caller may see.
///
/// Return it from a function (`Result<impl Reply, ErrorReply>` is a reply). Put nothing in the
/// message that the caller must not read: it is sent as is. Log the detail yourself, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
}

impl ErrorReply {
    /// `status` with `code` (e.g. `order_not_found`) and `message`.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 404 with `code` and `message`.
    pub fn not_found(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 400 with `code` and `message`.
    pub fn bad_request(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 403 with `code` and `message`: the caller is known but may not do this.
    pub fn forbidden(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message the caller sees.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ErrorReply {}

/// Outbound is not usable right now (503 with the reason's code, e.g.
/// `outbound_identity_unavailable`), the answer the built-in `outbound-mtls` gives.
impl From<Unavailable> for ErrorReply {
    fn from(why: Unavailable) -> Self {
        Self::from_api(&ApiError::from(why))
    }
}

/// An outbound call that failed (502 `upstream_unreachable`, `upstream_tls`,
/// `upstream_body_too_large`, 504 `upstream_timeout`, 503 while no identity is loaded), with
/// the built-in function's public message: never the upstream's text or a file path.
impl From<OutboundError> for ErrorReply {
    fn from(error: OutboundError) -> Self {
        Self::from_api(&ApiError::from(error))
    }
}

impl ErrorReply {
    fn from_api(error: &ApiError) -> Self {
        Self::new(error.status(), error.code(), error.public_message())
    }
}

impl warp::Reply for ErrorReply {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.message,
            code: &self.code,
        };
        let mut response = Response::new(serde_json::to_string(&body).unwrap_or_default().into());
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_error_reply_has_the_handlers_error_shape() {
        let response =
            warp::Reply::into_response(ErrorReply::not_found("order_not_found", "no order \"7\""));
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(
            json,
            serde_json::json!({"error": "no order \"7\"", "code": "order_not_found"})
        );
    }
}
