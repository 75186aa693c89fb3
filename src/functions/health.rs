//! The `health` function: open to every caller (it is built without the client-certificate
//! filter), answers `{"status":"ok"}` as the reference does, plus the version and the front
//! end's posture (`verified`, `unverified`, `unsafe` or `off`: a word, never what was read).
//! It reports no secrets and no configuration values.

use serde::Serialize;
use warp::Filter;
use warp::reply::Response;

use crate::host::route;
use crate::state::{AppState, with_state};

/// The function folder's name.
pub const NAME: &str = "health";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    status: &'static str,
    version: &'static str,
    /// The front end's posture: `verified`, `unverified`, `unsafe` or `off`.
    posture: &'static str,
    /// When the outbound client identity expires (RFC 3339); absent when outbound is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    outbound_identity_not_after: Option<String>,
}

/// `GET /<prefix>/health`.
pub fn route(
    state: AppState,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    route::function(&state.route_prefix, NAME)
        .and(warp::get())
        .and(with_state(state))
        .map(|state: AppState| handle(&state))
}

fn handle(state: &AppState) -> Response {
    use warp::Reply;
    warp::reply::json(&Health {
        status: "ok",
        version: state.version,
        posture: state.posture.health(),
        outbound_identity_not_after: state
            .outbound
            .as_ref()
            .map(|client| client.identity_not_after()),
    })
    .into_response()
}
