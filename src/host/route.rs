//! Matching a function's route the way the Functions host does: `/<routePrefix>/<function>`,
//! case-insensitively (the host forwards the caller's original spelling of the path).

use warp::Filter;
use warp::filters::path::FullPath;

/// The path a function is served at in forwarding mode, e.g. `/api/cert-info`.
pub fn function_path(route_prefix: &str, function: &str) -> String {
    if route_prefix.is_empty() {
        format!("/{function}")
    } else {
        format!("/{route_prefix}/{function}")
    }
}

/// A filter that matches exactly the function's path, ignoring ASCII case and one trailing
/// slash; anything else is a 404 rejection, so other routes may still match.
pub fn function(
    route_prefix: &str,
    function: &str,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone + use<> {
    let expected: std::sync::Arc<str> = function_path(route_prefix, function).into();
    warp::path::full()
        .and_then(move |path: FullPath| {
            let path = path.as_str();
            let path = path.strip_suffix('/').unwrap_or(path);
            let matches = path.eq_ignore_ascii_case(&expected);
            std::future::ready(if matches {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            })
        })
        .untuple_one()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn matches_the_function_path_in_any_case() {
        let filter = function("api", "cert-info");
        for (path, expected, reason) in [
            ("/api/cert-info", true, "exact path"),
            (
                "/API/Cert-Info",
                true,
                "the host matches routes case-insensitively",
            ),
            ("/api/cert-info/", true, "one trailing slash"),
            ("/api/cert-info/x", false, "a longer path is another route"),
            ("/cert-info", false, "the prefix is required"),
            ("/api/cert-infox", false, "no prefix matching"),
        ] {
            let matched = warp::test::request().path(path).matches(&filter).await;
            assert_eq!(matched, expected, "{reason}: {path}");
        }
    }

    #[tokio::test]
    async fn an_empty_prefix_serves_functions_at_the_root() {
        let filter = function("", "health");
        assert!(warp::test::request().path("/health").matches(&filter).await);
        assert_eq!(function_path("", "health"), "/health");
    }
}
