//! The function routes, one module per function folder (`health/`, `cert-info/`,
//! `outbound-mtls/`). Each route matches its path and method first, then applies the filters it
//! needs, then calls its handler; `health` alone is built without the client-certificate filter.

pub mod cert_info;
pub mod health;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::state::AppState;

/// The names of the function folders, as the host uses them in payload mode.
pub const NAMES: [&str; 2] = [health::NAME, cert_info::NAME];

/// Every function route, unrecovered: a request that matches none is rejected.
/// `cert_info_enabled = false` leaves the diagnostics route out (404).
pub fn routes(state: AppState, cert_info_enabled: bool) -> BoxedFilter<(Response,)> {
    let health = health::route(state.clone()).boxed();
    if cert_info_enabled {
        health.or(cert_info::route(state)).unify().boxed()
    } else {
        health
    }
}
