//! The built-in functions, one module per function folder (`health/`, `cert-info/`,
//! `outbound-mtls/`). Each route matches its path and method first, then applies the filters it
//! needs, then calls its handler; `health` alone is built without the client-certificate filter.
//! [`builtins`] registers them with an app builder the way an app registers its own.

pub mod cert_info;
pub mod health;
pub mod outbound_mtls;

use warp::Filter;

use crate::app::builder::Registered;
use crate::host::route::Route;
use crate::startup::RouteOptions;

/// The built-in functions `options` switches on, and the names of those it switches off.
pub(crate) struct Builtins {
    pub(crate) functions: Vec<Registered>,
    /// Switched off by a setting: their folders may stay without a warning at startup.
    pub(crate) switched_off: Vec<String>,
}

/// `health` (open), `outbound-mtls` and `cert-info` (protected; `cert_info = false` leaves the
/// diagnostics route out, so it answers 404).
pub(crate) fn builtins(options: &RouteOptions) -> Builtins {
    let mut functions = vec![
        builtin(health::NAME, |state| health::route(state.clone()).boxed()),
        builtin(outbound_mtls::NAME, |state| {
            outbound_mtls::route(state.clone()).boxed()
        }),
    ];
    let mut switched_off = Vec::new();
    if options.cert_info {
        functions.push(builtin(cert_info::NAME, |state| {
            cert_info::route(state.clone()).boxed()
        }));
    } else {
        switched_off.push(cert_info::NAME.to_owned());
    }
    Builtins {
        functions,
        switched_off,
    }
}

/// A built-in function: `GET /<prefix>/<name>`.
fn builtin(
    name: &'static str,
    make: impl FnOnce(&crate::state::AppState) -> warp::filters::BoxedFilter<(warp::reply::Response,)>
    + Send
    + 'static,
) -> Registered {
    Registered {
        info: crate::app::FunctionInfo::new(name, Route::get(name)),
        make: Box::new(make),
    }
}
