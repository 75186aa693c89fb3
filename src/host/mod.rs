//! The Functions custom-handler contract: the route prefix the host uses, the readiness answer
//! at `GET /`, and (in `invocation`) the payload mode's JSON envelope.
//!
//! Forwarding mode needs nothing here beyond the prefix: the host sends the original request to
//! its original path, and the function routes answer it directly.

pub mod envelope;
pub mod invocation;
pub mod route;

use std::path::Path;

use warp::Filter;
use warp::reply::Response;

/// `extensions.http.routePrefix` when host.json does not set it.
pub const DEFAULT_ROUTE_PREFIX: &str = "api";

/// Why host.json could not give us a route prefix.
#[derive(Debug, thiserror::Error)]
pub enum HostJsonError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: extensions.http.routePrefix must be a string")]
    PrefixType { path: String },
}

/// Reads `extensions.http.routePrefix` from `<app_root>/host.json`, so that our routes and the
/// host's never disagree. A missing host.json (running by hand) means the default prefix.
///
/// # Errors
/// An unreadable or malformed host.json, or a prefix that is not a string.
pub fn read_route_prefix(app_root: &Path) -> Result<String, HostJsonError> {
    let path = app_root.join("host.json");
    let display = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DEFAULT_ROUTE_PREFIX.to_owned());
        }
        Err(source) => {
            return Err(HostJsonError::Read {
                path: display,
                source,
            });
        }
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| HostJsonError::Json {
            path: display.clone(),
            source,
        })?;
    match json.pointer("/extensions/http/routePrefix") {
        None => Ok(DEFAULT_ROUTE_PREFIX.to_owned()),
        Some(serde_json::Value::String(prefix)) => Ok(prefix.trim_matches('/').to_owned()),
        Some(_) => Err(HostJsonError::PrefixType { path: display }),
    }
}

/// `GET /`: the host's readiness probe (and its later pings). Any answer means ready, so it
/// answers at once and touches nothing.
pub fn readiness() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path::end()
        .and(warp::get().or(warp::head()).unify())
        .map(|| {
            use warp::Reply;
            warp::reply::json(&serde_json::json!({ "status": "ready" })).into_response()
        })
}
