//! The Functions custom-handler contract: the route prefix the host uses, the readiness answer
//! at `GET /`, which header carries the invocation id (`invocation_id`), and (in `invocation`)
//! the payload mode's JSON envelope.
//!
//! Proxying and forwarding modes need nothing here beyond the prefix: the host sends the
//! original request to its original path, and the function routes answer it directly.

pub mod envelope;
pub mod function_folders;
pub mod invocation;
pub mod invocation_id;
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

/// What the handler takes from host.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    /// `extensions.http.routePrefix`, without slashes (`api` by default).
    pub route_prefix: String,
    /// `customHandler.enableForwardingHttpRequest` (false by default, as in the host).
    pub forwarding: bool,
    /// `customHandler.enableProxyingHttpRequest` (false by default, as in the host).
    pub proxying: bool,
}

impl HostSettings {
    /// Whether payload mode's `POST /<FunctionName>` may be served. With proxying or forwarding
    /// on and an empty route prefix, a caller's own request could arrive at that path, carrying
    /// any certificate header it likes inside an envelope; the host never uses payload mode for
    /// our functions then, so the route is left out.
    pub fn serves_payload_mode(&self) -> bool {
        !((self.forwarding || self.proxying) && self.route_prefix.is_empty())
    }

    /// Whether payload mode's `POST /<name>` may be served for the function `name`. Not when
    /// a caller's own request could arrive at that path: with proxying or forwarding on, the
    /// host passes a caller's `POST /<routePrefix>` on as is whenever a route of the app
    /// matches it (`{id?}`, `{*path}`), so a function named like a one-segment route prefix
    /// (ignoring case, as the host matches the prefix) would read that caller's body as an
    /// envelope, headers and certificate included. The host uses payload mode for none of our
    /// functions then (they have an HTTP trigger and output only), so the name is left out.
    pub fn serves_payload_mode_for(&self, name: &str) -> bool {
        self.serves_payload_mode()
            && !((self.forwarding || self.proxying) && self.route_prefix.eq_ignore_ascii_case(name))
    }
}

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            route_prefix: DEFAULT_ROUTE_PREFIX.to_owned(),
            forwarding: false,
            proxying: false,
        }
    }
}

/// Reads `<app_root>/host.json`, so that our routes and the host's never disagree. A missing
/// host.json (running by hand) means the defaults.
///
/// # Errors
/// An unreadable or malformed host.json, or a prefix that is not a string.
pub fn read_host_settings(app_root: &Path) -> Result<HostSettings, HostJsonError> {
    let path = app_root.join("host.json");
    let display = path.display().to_string();
    let text = match crate::cert_file::read_text(&path, crate::cert_file::FileKind::Text) {
        Ok(text) => text,
        Err(crate::cert_file::LoadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(HostSettings::default());
        }
        Err(crate::cert_file::LoadError::Io { source, .. }) => {
            return Err(HostJsonError::Read {
                path: display,
                source,
            });
        }
        Err(other) => {
            return Err(HostJsonError::Read {
                path: display,
                source: std::io::Error::other(other.to_string()),
            });
        }
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| HostJsonError::Json {
            path: display.clone(),
            source,
        })?;
    let route_prefix = match json.pointer("/extensions/http/routePrefix") {
        None => DEFAULT_ROUTE_PREFIX.to_owned(),
        Some(serde_json::Value::String(prefix)) => prefix.trim_matches('/').to_owned(),
        Some(_) => return Err(HostJsonError::PrefixType { path: display }),
    };
    let flag = |pointer: &str| {
        json.pointer(pointer)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    Ok(HostSettings {
        route_prefix,
        forwarding: flag("/customHandler/enableForwardingHttpRequest"),
        proxying: flag("/customHandler/enableProxyingHttpRequest"),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_mode_is_left_out_only_when_a_caller_could_reach_it() {
        for (prefix, forwarding, proxying, served, reason) in [
            (
                "api",
                true,
                false,
                true,
                "callers reach /api/*, never /<Function>",
            ),
            (
                "api",
                false,
                true,
                true,
                "callers reach /api/*, never /<Function>",
            ),
            ("api", false, false, true, "the host uses payload mode"),
            ("", false, false, true, "the host uses payload mode"),
            (
                "",
                true,
                false,
                false,
                "a caller's POST /cert-info would be forwarded as is",
            ),
            (
                "",
                false,
                true,
                false,
                "a caller's POST /cert-info would be proxied as is",
            ),
        ] {
            let settings = HostSettings {
                route_prefix: prefix.to_owned(),
                forwarding,
                proxying,
            };
            assert_eq!(settings.serves_payload_mode(), served, "{reason}");
        }
    }

    #[test]
    fn a_function_named_like_the_route_prefix_is_left_out_only_when_callers_reach_its_path() {
        for (forwarding, proxying, name, served, reason) in [
            (
                true,
                false,
                "orders",
                false,
                "a caller's POST /orders is forwarded as is",
            ),
            (
                false,
                true,
                "Orders",
                false,
                "the host matches the prefix ignoring case",
            ),
            (
                true,
                false,
                "order-update",
                true,
                "another name: callers reach /orders/...",
            ),
            (
                false,
                false,
                "orders",
                true,
                "payload mode alone: callers never reach the handler",
            ),
        ] {
            let settings = HostSettings {
                route_prefix: "orders".to_owned(),
                forwarding,
                proxying,
            };
            assert_eq!(settings.serves_payload_mode_for(name), served, "{reason}");
        }
    }
}
