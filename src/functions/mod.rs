//! The function routes, one module per function folder (`health/`, `cert-info/`,
//! `outbound-mtls/`). Each route matches its path and method first, then applies the filters it
//! needs, then calls its handler; `health` alone is built without the client-certificate filter.

pub mod cert_info;
pub mod health;
pub mod outbound_mtls;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::state::AppState;

/// The names of the function folders, as the host uses them in payload mode.
pub const NAMES: [&str; 3] = [health::NAME, cert_info::NAME, outbound_mtls::NAME];

/// Every function route, unrecovered: a request that matches none is rejected.
/// `cert_info_enabled = false` leaves the diagnostics route out (404), and
/// `outbound_mtls_enabled = false` the outbound demo (404).
pub fn routes(
    state: AppState,
    cert_info_enabled: bool,
    outbound_mtls_enabled: bool,
) -> BoxedFilter<(Response,)> {
    let health = health::route(state.clone()).boxed();
    let always = if outbound_mtls_enabled {
        health
            .or(outbound_mtls::route(state.clone()))
            .unify()
            .boxed()
    } else {
        health
    };
    if cert_info_enabled {
        always.or(cert_info::route(state)).unify().boxed()
    } else {
        always
    }
}
