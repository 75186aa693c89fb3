//! `FunctionRequest`: what a function written with [`AppBuilder::function`] receives besides its
//! caller: the method, path, route parameters, query, headers, the body (read whole, at most
//! [`MAX_BODY_BYTES`]) and the app's shared state.
//!
//! The body is read after the client-certificate check, so an unknown caller never makes the
//! handler buffer anything.
//!
//! [`AppBuilder::function`]: super::AppBuilder::function

use std::borrow::Cow;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use warp::Filter;
use warp::filters::path::FullPath;
use warp::http::{HeaderMap, Method, StatusCode};

use super::ErrorReply;
use crate::host::invocation::read_capped;
use crate::host::invocation_id::{InvocationId, invocation_id};
use crate::host::route::RouteParams;
use crate::state::AppState;

/// The largest request body a function receives; a larger one is answered 413
/// `payload_too_large` before the function runs. (Payload mode's envelope is capped at the same
/// size, so every host mode takes the same bodies.)
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One request to a function, as the caller sent it (through whichever host mode).
#[derive(Debug, Clone)]
pub struct FunctionRequest {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    params: RouteParams,
    body: Bytes,
    state: AppState,
}

impl FunctionRequest {
    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path as received, percent-encoded, route prefix included (`/api/orders/42`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of route parameter `name` (`{id}` in `orders/{id}`), percent-decoded except
    /// `%2F`, which stays as sent, as in the host: a one-segment parameter never holds a `/`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// Every route parameter.
    pub fn params(&self) -> &RouteParams {
        &self.params
    }

    /// The raw query string, without `?` (it may carry the function key as `code`).
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The query's name-value pairs, decoded, in order; repeated names stay repeated.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
    }

    /// The request headers (the client-certificate header included).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name`, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The host's invocation id: the id Application Insights knows the invocation by, and the
    /// one on this request's log lines. `-` outside the host, and `ambiguous` when the header
    /// the host sets arrived more than once (a caller sent it too), as the log line says.
    pub fn invocation_id(&self) -> &str {
        match invocation_id(&self.headers) {
            InvocationId::One(id) => id,
            InvocationId::Absent => "-",
            InvocationId::Ambiguous(_) => "ambiguous",
        }
    }

    /// The whole body (at most [`MAX_BODY_BYTES`]).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// A 400 `invalid_json` [`ErrorReply`] naming where the JSON is wrong (serde's message, which
    /// describes the caller's own input), ready to return.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ErrorReply> {
        serde_json::from_slice(&self.body).map_err(|error| {
            ErrorReply::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not the JSON this function takes: {error}"),
            )
        })
    }

    /// The app's shared state (the outbound client lives there).
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// Everything but the route parameters, gathered after the route and the caller were accepted.
pub(crate) struct Parts {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    state: AppState,
}

impl Parts {
    pub(crate) fn with_params(self, params: RouteParams) -> FunctionRequest {
        FunctionRequest {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            params,
            body: self.body,
            state: self.state,
        }
    }
}

/// Method, path, query, headers and the body (capped: 413 past [`MAX_BODY_BYTES`]).
pub(crate) fn parts(
    state: AppState,
) -> impl Filter<Extract = (Parts,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and_then(
            move |method: Method, path: FullPath, query: Option<String>, headers, body| {
                let state = state.clone();
                async move {
                    let body = read_capped(body, MAX_BODY_BYTES)
                        .await
                        .map_err(warp::reject::custom)?;
                    Ok::<_, warp::Rejection>(Parts {
                        method,
                        path: path.as_str().to_owned(),
                        query,
                        headers,
                        body,
                        state,
                    })
                }
            },
        )
}
