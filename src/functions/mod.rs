//! The function routes, one module per function folder (`health/`, `cert-info/`,
//! `outbound-mtls/`). Each route matches its path and method first, then applies the filters it
//! needs, then calls its handler; `health` alone is built without the client-certificate filter.

pub mod health;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::state::AppState;

/// The names of the function folders, as the host uses them in payload mode.
pub const NAMES: [&str; 1] = [health::NAME];

/// Every function route, unrecovered: a request that matches none is rejected.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    health::route(state).boxed()
}
