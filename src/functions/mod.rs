//! The function routes, one module per function folder (`health/`, `cert-info/`,
//! `outbound-mtls/`). Each route matches its path and method first, then applies the filters it
//! needs, then calls its handler; `health` alone is built without the client-certificate filter.
//! Every protected function gets its caller from [`authorized`], the one place that puts the
//! front end's posture in front of the certificate.

pub mod cert_info;
pub mod health;
pub mod outbound_mtls;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::client_cert::{Authorized, client_cert};
use crate::error::ApiError;
use crate::state::AppState;

/// The caller of a protected function: the front end's posture first, then the client
/// certificate. Every protected function, built in or added, takes its [`Authorized`] from
/// here, after its path and method filters:
///
/// ```text
/// route::function(&state.route_prefix, NAME).and(warp::get()).and(functions::authorized(&state))
/// ```
///
/// Under `CLIENT_CERT_POSTURE=enforce`, while the front end is not verified to require a
/// certificate this rejects with [`ApiError::PostureUnverified`] or [`ApiError::PostureUnsafe`]
/// (503, `Retry-After`) without reading the certificate header, which proves nothing then.
/// Otherwise it is [`client_cert`]: an [`Authorized`] caller, or a rejection carrying
/// [`ApiError::Denied`] ([`ApiError::Busy`] under a flood). A route served through it must
/// also be judged by the posture check: its path belongs in the check's protected routes.
pub fn authorized(
    state: &AppState,
) -> impl Filter<Extract = (Authorized,), Error = warp::Rejection> + Clone + use<> {
    let posture = state.posture.clone();
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
        .and(client_cert(state.authenticator.clone()))
}

/// The protected functions' paths as the front end sees them (`/api/cert-info`), which the
/// posture check compares with the site's exclusion paths.
pub fn protected_routes(route_prefix: &str, cert_info_enabled: bool) -> Vec<String> {
    let mut names = vec![outbound_mtls::NAME];
    if cert_info_enabled {
        names.push(cert_info::NAME);
    }
    names
        .into_iter()
        .map(|name| crate::host::route::function_path(route_prefix, name))
        .collect()
}

/// The names of the function folders, as the host uses them in payload mode.
pub const NAMES: [&str; 3] = [health::NAME, cert_info::NAME, outbound_mtls::NAME];

/// Every function route, unrecovered: a request that matches none is rejected.
/// `cert_info_enabled = false` leaves the diagnostics route out (404).
pub fn routes(state: AppState, cert_info_enabled: bool) -> BoxedFilter<(Response,)> {
    let always = health::route(state.clone())
        .or(outbound_mtls::route(state.clone()))
        .unify()
        .boxed();
    if cert_info_enabled {
        always.or(cert_info::route(state)).unify().boxed()
    } else {
        always
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::client_cert::{Authenticator, Settings};
    use crate::posture::{Mode, Posture};
    use crate::startup::{RouteOptions, routes};

    fn routes_with(posture: Posture) -> BoxedFilter<(Response,)> {
        let authenticator = Arc::new(Authenticator::new(&Settings::default()));
        let state = AppState::new("api", authenticator, None).with_posture(Arc::new(posture));
        let options = RouteOptions {
            cert_info: true,
            payload_mode: true,
        };
        routes(state, options)
    }

    async fn code(routes: &BoxedFilter<(Response,)>, path: &str) -> (u16, String) {
        let response = warp::test::request().path(path).reply(routes).await;
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON body");
        let code = body["code"]
            .as_str()
            .or(body["posture"].as_str())
            .unwrap_or_default();
        (response.status().as_u16(), code.to_owned())
    }

    #[tokio::test]
    async fn the_posture_gate_comes_after_routing_and_before_the_certificate() {
        let unverified = routes_with(Posture::new(Mode::Enforce));
        let off = routes_with(Posture::off());
        for (routes, path, expected, reason) in [
            (
                &unverified,
                "/api/cert-info",
                (503, "posture_unverified"),
                "the gate answers first",
            ),
            (
                &unverified,
                "/api/outbound-mtls",
                (503, "posture_unverified"),
                "every protected route",
            ),
            (
                &unverified,
                "/api/nope",
                (404, "not_found"),
                "an unknown path stays a 404",
            ),
            (
                &unverified,
                "/api/health",
                (200, "unverified"),
                "health is not gated",
            ),
            (
                &off,
                "/api/cert-info",
                (403, "cert_missing"),
                "off: the certificate is judged",
            ),
            (&off, "/api/health", (200, "off"), "health says off"),
        ] {
            let (status, code) = code(routes, path).await;
            assert_eq!((status, code.as_str()), expected, "{reason}");
        }
    }

    #[test]
    fn protected_routes_are_the_paths_the_front_end_sees() {
        assert_eq!(
            protected_routes("api", true),
            vec!["/api/outbound-mtls", "/api/cert-info"]
        );
        assert_eq!(protected_routes("", false), vec!["/outbound-mtls"]);
    }
}
