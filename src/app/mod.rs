//! Extending the handler with functions of your own, served exactly as `serve` serves the
//! built-in ones: one route tree with one rejection handler, payload mode, the request span,
//! the drain on shutdown, and the background tasks (CRL reloading and fetching, the daily
//! re-check, look-alike setting warnings).
//!
//! ```no_run
//! use mtls_handler::{App, Authorized, FunctionRequest, Route};
//!
//! async fn list_orders(caller: Authorized, _request: FunctionRequest) -> impl warp::Reply {
//!     warp::reply::json(&serde_json::json!({ "caller": caller.principal, "orders": [] }))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     // `handler serve`, `dev`, `check` and `settings`, with the added function.
//!     mtls_handler::cli::main(|app| app.function("orders", Route::get("orders"), list_orders))
//! }
//! ```
//!
//! A function's name is its folder (the one holding its `function.json`), and its [`Route`](crate::Route) is
//! what that function.json declares (`route` and `methods`). At startup the handler compares
//! the function folders it finds with what it serves and warns about each difference.
//!
//! - `builder`: [`AppBuilder`], [`FunctionInfo`], [`FunctionsError`].
//! - `request`: [`FunctionRequest`], what a handler receives besides its caller.
//! - `reply`: [`ErrorReply`], an error in the handler's JSON shape.
//! - [`protected`]: the one filter every protected function takes its caller from.

pub(crate) mod builder;
mod reply;
mod request;

use std::sync::Arc;

use warp::Filter;

pub use builder::{AppBuilder, FunctionInfo, FunctionsError, MAX_FUNCTION_NAME_CHARS};
pub use reply::ErrorReply;
pub use request::{FunctionRequest, MAX_BODY_BYTES};

use crate::client_cert::{Authorized, client_cert};
use crate::error::ApiError;
use crate::state::AppState;

/// The caller of a protected function, or a rejection the rejection handler answers. Every
/// protected function, built-in or added, takes its [`Authorized`] from here and nowhere else,
/// so whatever must hold for every protected request is added in this one place. Put it after
/// the route's filter, so that an unknown path stays a 404:
///
/// ```text
/// route.filter(&state.route_prefix).and(protected(&state))
/// ```
///
/// First the front end's posture: under `CLIENT_CERT_POSTURE=enforce`, while the front end is
/// not verified to require a client certificate, this rejects with 503 `posture_unverified`
/// or `posture_unsafe` (with `Retry-After`) without reading the certificate header, which
/// proves nothing then. Then the client certificate: an [`Authorized`] caller, or a rejection
/// (403 `cert_*`, 400 `cert_malformed`, 503 `busy` under a flood). Every function registered
/// with the builder except [`AppBuilder::open_function`]s counts as protected for the posture
/// check, which compares their routes with the site's exclusion paths.
pub fn protected(
    state: &AppState,
) -> impl Filter<Extract = (Authorized,), Error = warp::Rejection> + Clone + use<> {
    let posture = Arc::clone(&state.posture);
    warp::any()
        .and_then(move || {
            let admitted = posture.admit().map_err(|refusal| {
                let error = ApiError::from(refusal);
                tracing::debug!(
                    code = error.code(),
                    status = 503,
                    "front end posture not verified: request refused"
                );
                warp::reject::custom(error)
            });
            std::future::ready(admitted)
        })
        .untuple_one()
        .and(client_cert(Arc::clone(&state.authenticator)))
}

#[cfg(test)]
mod tests;
