//! The `health` function: open to every caller (it is built without the client-certificate
//! filter), answers `{"status":"ok"}` as the reference does, plus the version, the front
//! end's posture (`verified`, `unverified`, `unsafe` or `off`: a word, never what was read)
//! and the state of outbound mutual TLS: `off`, `available` (with the identity's notAfter) or
//! `unavailable` (with the reason, the setting to fix and a general sentence; the details,
//! which may name files, are in the log). The process answers 200 either way: outbound is one
//! function's dependency. It reports no secrets and no configuration values.

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
    /// When the outbound client identity expires (RFC 3339); absent while none is loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    outbound_identity_not_after: Option<String>,
    outbound: Outbound,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outbound {
    /// `off`, `available` or `unavailable`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_not_after: Option<String>,
    /// Why it is unavailable: a stable word (`identity_missing`, `wrong_password`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// The setting to fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    setting: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
    /// Whether the source is checked again, so fixing it needs no restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    retrying: Option<bool>,
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
    let outbound = outbound(state);
    warp::reply::json(&Health {
        status: "ok",
        version: state.version,
        posture: state.posture.health(),
        outbound_identity_not_after: outbound.identity_not_after.clone(),
        outbound,
    })
    .into_response()
}

fn outbound(state: &AppState) -> Outbound {
    let off = Outbound {
        status: "off",
        identity_not_after: None,
        reason: None,
        setting: None,
        message: None,
        retrying: None,
    };
    let Some(client) = state.outbound_client() else {
        return off;
    };
    match client.status() {
        Ok(identity) => Outbound {
            status: "available",
            identity_not_after: Some(identity.not_after),
            ..off
        },
        Err(why) => Outbound {
            status: "unavailable",
            reason: Some(why.reason().as_str()),
            setting: Some(why.setting()),
            message: Some(why.reason().public_message()),
            retrying: Some(why.retrying()),
            ..off
        },
    }
}
