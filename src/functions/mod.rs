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

/// `health` (open), `outbound-mtls` and `cert-info` (protected; `outbound_mtls = false` leaves
/// the outbound demo out and `cert_info = false` the diagnostics route, so each answers 404).
pub(crate) fn builtins(options: &RouteOptions) -> Builtins {
    let mut functions = vec![Registered {
        info: crate::app::FunctionInfo::open(health::NAME, Route::get(health::NAME)),
        make: Box::new(|state| health::route(state.clone()).boxed()),
    }];
    let mut switched_off = Vec::new();
    if options.outbound_mtls {
        functions.push(builtin(outbound_mtls::NAME, |state| {
            outbound_mtls::route(state.clone()).boxed()
        }));
    } else {
        switched_off.push(outbound_mtls::NAME.to_owned());
    }
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

/// The path prefixes of the protected ones among `functions` as the front end sees them under
/// `route_prefix` (`/api/cert-info`, `/api/orders/`): what the posture check holds against the
/// site's client-certificate exclusion paths.
pub(crate) fn protected_prefixes<'a>(
    functions: impl IntoIterator<Item = &'a crate::app::FunctionInfo>,
    route_prefix: &str,
) -> Vec<String> {
    functions
        .into_iter()
        .filter(|function| function.is_protected())
        .map(|function| function.route().path_prefix(route_prefix))
        .collect()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use warp::filters::BoxedFilter;
    use warp::reply::Response;

    use crate::client_cert::{Authenticator, Settings};
    use crate::posture::{Mode, Posture};
    use crate::startup::{RouteOptions, routes};
    use crate::state::AppState;

    fn routes_with(posture: Posture) -> BoxedFilter<(Response,)> {
        let authenticator = Arc::new(Authenticator::new(&Settings::default()));
        let state = AppState::new("api", authenticator, None).with_posture(Arc::new(posture));
        let options = RouteOptions {
            cert_info: true,
            payload_mode: true,
            outbound_mtls: true,
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
    fn the_posture_check_judges_every_protected_function_by_its_path_prefix() {
        async fn reply(_caller: crate::Authorized, _request: crate::FunctionRequest) -> String {
            String::new()
        }
        async fn open(_request: crate::FunctionRequest) -> String {
            String::new()
        }
        let env = std::collections::HashMap::<String, String>::new();
        let config = crate::Config::load(&env).expect("the defaults load");
        let app = crate::App::builder(config)
            .function("orders", crate::Route::post("orders/{id}"), reply)
            .open_function("status", crate::Route::get("status"), open);
        assert_eq!(
            super::protected_prefixes(app.functions(), "api"),
            vec!["/api/outbound-mtls", "/api/cert-info", "/api/orders/"],
            "health and open functions are left out; a template counts up to its first parameter"
        );
    }
}
