//! The `outbound-mtls` function (protected), the demo of outbound mutual TLS: GETs
//! `REMOTE_API_URL` with the outbound client identity and answers
//! `{"statusCode": n, "body": "...", "elapsedMs": n}` as the reference does (plus the time
//! taken). Failures carry a code, never the upstream's error text: 503
//! `outbound_identity_unavailable` while no identity is loaded, `outbound_not_configured`
//! without outbound settings or `REMOTE_API_URL`. `OUTBOUND_MTLS_ENABLED=false` removes the
//! route (404); calls of one's own use [`AppState::outbound`] instead.

use serde::Serialize;
use warp::Filter;
use warp::reply::Response;

use crate::app::protected;
use crate::client_cert::Authorized;
use crate::config::outbound::REMOTE_API_URL;
use crate::error::ApiError;
use crate::host::route;
use crate::outbound::{Reason, Unavailable};
use crate::state::{AppState, not_configured, with_state};

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
    let client = state
        .outbound_client()
        .ok_or_else(|| unavailable(not_configured()))?;
    client.status().map_err(unavailable)?;
    if client.remote_api_url().is_none() {
        return Err(unavailable(no_remote_api_url()));
    }
    let fetched = client.fetch().await.map_err(|error| {
        if let crate::outbound::OutboundError::Unavailable(why) = error {
            return unavailable(why);
        }
        tracing::warn!(
            code = error.code(),
            error = %error,
            caller_sha256 = %authorized.cert.sha256_thumbprint,
            "outbound call failed"
        );
        warp::reject::custom(ApiError::from(error))
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

/// An expected 503 (said once at startup, and again by every failed load): not worth a line
/// per request at info.
fn unavailable(why: Unavailable) -> warp::Rejection {
    tracing::debug!(status = 503, code = why.code(), reason = %why.reason(), "outbound mutual TLS is unavailable");
    warp::reject::custom(ApiError::from(why))
}

fn no_remote_api_url() -> Unavailable {
    Unavailable::new(
        Reason::NotConfigured,
        REMOTE_API_URL,
        format!("{REMOTE_API_URL} is not set: the demo has no upstream to call"),
        false,
    )
}
