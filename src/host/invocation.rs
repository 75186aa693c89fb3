//! Payload mode: the host POSTs `/<FunctionName>` with a JSON envelope. The request inside it is
//! run through that function's own route (the one the host invoked, never another whose route
//! also matches the path), in process, and the function's response goes back as the
//! `Outputs.res` envelope, always `200 application/json` (the host fails on anything else and
//! hangs on an empty body: spec §5.4). The rebuilt request carries the caller's headers from the
//! envelope, except the invocation id, which is the host's from its own POST.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, Limited};
use tower_service::Service;
use tracing::Instrument;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::envelope::{self, HttpOutput, InvocationResult, Target};
use super::invocation_id::HOST_HEADER;
use crate::app::FunctionInfo;
use crate::error::ApiError;

/// A function payload mode can invoke: what it is, and its own route with the rejection
/// handler over it.
#[derive(Clone)]
pub struct Invocable {
    pub info: FunctionInfo,
    pub route: BoxedFilter<(Response,)>,
}

/// The largest envelope accepted; the functions take no request bodies of their own.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;
/// The largest function response rendered into an envelope: room for the largest upstream body
/// `outbound-mtls` may return (`OUTBOUND_MAX_RESPONSE_BYTES`, at most 4 MiB) after JSON escaping
/// (at most six bytes per byte).
const MAX_OUTPUT_BYTES: usize = 32 * 1024 * 1024;

/// `POST /<FunctionName>` for each function in `functions`, each route already turning every
/// rejection into a response. A function in `switched_off` (its folder stays, a setting removed
/// it) answers 404 inside the envelope, as its route does in the other modes.
pub fn route(
    route_prefix: &str,
    functions: Arc<[Invocable]>,
    switched_off: Arc<[String]>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    let route_prefix: Arc<str> = route_prefix.into();
    warp::post()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and_then(move |name: String| {
            let served = functions.iter().position(|known| known.info.name() == name);
            let invoked = match served {
                Some(index) => Some(Invoked::Served(Arc::clone(&functions), index)),
                None if switched_off.contains(&name) => Some(Invoked::SwitchedOff(name)),
                None => None,
            };
            std::future::ready(invoked.ok_or_else(warp::reject::not_found))
        })
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            move |invoked: Invoked, headers: warp::http::HeaderMap, body| {
                let route_prefix = Arc::clone(&route_prefix);
                async move {
                    match invoked {
                        Invoked::Served(functions, index) => {
                            let host_ids = headers.get_all(HOST_HEADER).iter().cloned().collect();
                            invoke(&functions[index], &route_prefix, host_ids, body).await
                        }
                        Invoked::SwitchedOff(name) => {
                            let output = failure(&ApiError::NotFound);
                            let log = format!("{name}: {}", output.status_code);
                            reply(&InvocationResult::new(output, log))
                        }
                    }
                }
            },
        )
}

/// The function a payload-mode `POST /<FunctionName>` names.
enum Invoked {
    Served(Arc<[Invocable]>, usize),
    SwitchedOff(String),
}

/// Runs the envelope in `body` through `function`'s route; `host_ids` are the values of the
/// host's invocation-id header on its own POST, which replace any the caller sent.
async fn invoke<S, B>(
    function: &Invocable,
    route_prefix: &str,
    host_ids: Vec<warp::http::HeaderValue>,
    body: S,
) -> Response
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: warp::Buf,
{
    let name = function.info.name();
    let output = match read_capped(body, MAX_ENVELOPE_BYTES).await {
        Err(error) => failure(&error),
        Ok(payload) => {
            let path = |target: &Target| request_path(&function.info, route_prefix, target);
            match envelope::to_request_with(&payload, path) {
                Err(error) => {
                    tracing::warn!(function = name, error = %error, "malformed invocation payload");
                    failure(&ApiError::InvalidInvocation(error))
                }
                Ok(mut request) => {
                    let headers = request.headers_mut();
                    headers.remove(HOST_HEADER);
                    for id in host_ids {
                        headers.append(HOST_HEADER, id);
                    }
                    run(function.route.clone(), request).await
                }
            }
        }
    };
    let log = format!("{name}: {}", output.status_code);
    reply(&InvocationResult::new(output, log))
}

/// Where the rebuilt request goes: the original path from `Url` when it is this function's
/// route (parameters included), else the route filled in from `Params`; `None` when neither
/// gives a path of this function.
fn request_path(function: &FunctionInfo, route_prefix: &str, target: &Target) -> Option<String> {
    let route = function.route();
    if let Some(path) = &target.url_path
        && route.matches(route_prefix, path).is_some()
    {
        return Some(path.clone());
    }
    route.path_with(route_prefix, &target.params)
}

/// Runs the rebuilt request through the function's route. warp's route context is per task, so
/// the inner request runs on a task of its own rather than nested inside this one.
async fn run(
    functions: BoxedFilter<(Response,)>,
    request: warp::http::Request<Bytes>,
) -> HttpOutput {
    let request = request.map(Full::new);
    let task = tokio::spawn(
        async move {
            let mut service = warp::service(functions);
            let Ok(response) = service.call(request).await;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_OUTPUT_BYTES).collect().await;
            (parts, body.map(|collected| collected.to_bytes()))
        }
        .in_current_span(),
    );
    match task.await {
        Ok((parts, Ok(body))) => envelope::to_output(parts.status, &parts.headers, &body),
        Ok((_, Err(error))) => {
            tracing::error!(error = %error, "function response could not be read");
            failure(&ApiError::Internal)
        }
        Err(error) => {
            tracing::error!(error = %error, "function task failed");
            failure(&ApiError::Internal)
        }
    }
}

/// The `res` output for a failure, with the same status, code and body as `error.rs` gives.
fn failure(error: &ApiError) -> HttpOutput {
    envelope::json_output(error.status(), error.json_body())
}

/// Reads the whole body, refusing more than `limit` bytes (413).
pub(crate) async fn read_capped<S, B>(mut body: S, limit: usize) -> Result<Bytes, ApiError>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: warp::Buf,
{
    let mut collected = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|_| ApiError::BadRequest)?;
        if collected.len() + chunk.remaining() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            collected.extend_from_slice(piece);
            let advanced = piece.len();
            chunk.advance(advanced);
        }
    }
    Ok(collected.freeze())
}

fn reply(result: &InvocationResult) -> Response {
    use warp::Reply;
    warp::reply::json(result).into_response()
}
