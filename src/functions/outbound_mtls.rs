//! The `outbound-mtls` function (protected): GETs `REMOTE_API_URL` with the outbound client
//! identity and answers `{"statusCode": n, "body": "...", "elapsedMs": n}` as the reference
//! does (plus the time taken). Failures carry a code, never the upstream's error text.

use serde::Serialize;
use warp::Filter;
use warp::reply::Response;

use crate::app::protected;
use crate::client_cert::Authorized;
use crate::error::ApiError;
use crate::host::route;
use crate::state::{AppState, with_state};

/// The function folder's name.
pub const NAME: &str = "outbound-mtls";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Upstream {
    status_code: u16,
    body: String,
    elapsed_ms: u64,
}

/// `GET /<prefix>/outbound-mtls`, behind the posture gate and the client-certificate filter.
pub fn route(
    state: AppState,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    route::function(&state.route_prefix, NAME)
        .and(warp::get())
        .and(protected(&state))
        .and(with_state(state))
        .and_then(handle)
}

async fn handle(authorized: Authorized, state: AppState) -> Result<Response, warp::Rejection> {
    use warp::Reply;
    let Some(client) = state.outbound.as_ref() else {
        // Expected when REMOTE_API_URL is unset (said once at startup): not an error.
        tracing::debug!(status = 503, "outbound mutual TLS is not configured");
        return Err(warp::reject::custom(ApiError::OutboundNotConfigured));
    };
    let fetched = client.fetch().await.map_err(|error| {
        tracing::warn!(
            code = error.code(),
            error = %error,
            caller_sha256 = %authorized.cert.sha256_thumbprint,
            "outbound call failed"
        );
        ApiError::Outbound(error)
    })?;
    let body = Upstream {
        status_code: fetched.status,
        body: fetched.body,
        elapsed_ms: fetched.elapsed_ms,
    };
    Ok(
        warp::reply::with_header(warp::reply::json(&body), "cache-control", "no-store")
            .into_response(),
    )
}
