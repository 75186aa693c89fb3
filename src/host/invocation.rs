//! Payload mode: the host POSTs `/<FunctionName>` with a JSON envelope. The request inside it is
//! run through the very same function routes, in process, and the function's response goes back
//! as the `Outputs.res` envelope, always `200 application/json` (the host fails on anything else
//! and hangs on an empty body: spec §5.4).

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, Limited};
use tower_service::Service;
use tracing::Instrument;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::envelope::{self, HttpOutput, InvocationResult};
use super::route;
use crate::error::ApiError;

/// The largest envelope accepted; the functions take no request bodies of their own.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;
/// The largest function response rendered into an envelope: room for the largest upstream body
/// `outbound-mtls` may return (`OUTBOUND_MAX_RESPONSE_BYTES`, at most 4 MiB) after JSON escaping
/// (at most six bytes per byte).
const MAX_OUTPUT_BYTES: usize = 32 * 1024 * 1024;

/// `POST /<FunctionName>` for each name in `functions_names`; `functions` must already turn
/// every rejection into a response.
pub fn route(
    route_prefix: &str,
    function_names: &'static [&'static str],
    functions: BoxedFilter<(Response,)>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    let route_prefix: std::sync::Arc<str> = route_prefix.into();
    warp::post()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and_then(move |name: String| {
            let known = function_names.iter().find(|known| **known == name).copied();
            std::future::ready(known.ok_or_else(warp::reject::not_found))
        })
        .and(warp::body::stream())
        .then(move |function: &'static str, body| {
            let path = route::function_path(&route_prefix, function);
            invoke(functions.clone(), function, path, body)
        })
}

async fn invoke<S, B>(
    functions: BoxedFilter<(Response,)>,
    function: &'static str,
    path: String,
    body: S,
) -> Response
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: warp::Buf,
{
    let output = match read_capped(body, MAX_ENVELOPE_BYTES).await {
        Err(error) => failure(&error),
        Ok(payload) => match envelope::to_request(&payload, &path) {
            Err(error) => {
                tracing::warn!(function, error = %error, "malformed invocation payload");
                failure(&ApiError::InvalidInvocation(error))
            }
            Ok(request) => run(functions, request).await,
        },
    };
    let log = format!("{function}: {}", output.status_code);
    reply(&InvocationResult::new(output, log))
}

/// Runs the rebuilt request through the function routes. warp's route context is per task, so
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

/// Reads the whole body, refusing more than `limit` bytes.
async fn read_capped<S, B>(mut body: S, limit: usize) -> Result<Bytes, ApiError>
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
