//! The payload mode's JSON, as pure functions: the host's invocation envelope in, an
//! `http::Request` out; a function's `http::Response` in, the `Outputs.res` envelope out.
//!
//! Field names follow the host (spec §5.2–5.5): `Data.req.{Url,Method,Query,Headers,Body}` in,
//! `{"Outputs":{"res":{"statusCode","headers","body"}},"Logs","ReturnValue"}` out. Envelope keys
//! are matched case-insensitively, as the host's own JSON reader does.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};
use warp::http::{self, HeaderName, HeaderValue, Method, Request};

use super::route::RouteParams;

/// The name of the HTTP trigger binding in every function.json.
pub const TRIGGER_BINDING: &str = "req";

/// The most header fields (name-value pairs) a rebuilt request may carry: hyper's default
/// limit, which forwarding mode's requests meet on the way in, so both modes take the same
/// requests. (An `http::HeaderMap` panics past 32,768 entries; this keeps far below that.)
pub const MAX_HEADER_FIELDS: usize = 100;

/// Why an invocation envelope could not become a request. Messages are safe to show.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("invocation payload is not a JSON object")]
    NotAnObject,
    #[error("invocation payload has no Data.req object")]
    MissingRequest,
    #[error("invocation payload has an invalid Method")]
    InvalidMethod,
    #[error("invocation payload has an invalid Headers object")]
    InvalidHeaders,
    #[error("invocation payload has more than 100 header fields")]
    TooManyHeaders,
    #[error("invocation payload has an invalid Query")]
    InvalidQuery,
    #[error("invocation payload has an invalid Body")]
    InvalidBody,
    /// Neither `Url` nor `Params` gives a path of the function's route.
    #[error("invocation payload's Url and Params do not give a path of the function's route")]
    NoRoute,
}

/// Where an invocation was addressed, for choosing the rebuilt request's path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The path of `Url`, percent-encoded, when `Url` parses.
    pub url_path: Option<String>,
    /// `Params`: the route values (string ones; `null`, an unused optional one, is left out).
    pub params: RouteParams,
}

/// `Outputs.res`: what the host turns into the caller's response.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HttpOutput {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// The whole reply to the host.
#[derive(Debug, Serialize)]
pub struct InvocationResult {
    #[serde(rename = "Outputs")]
    pub outputs: BTreeMap<&'static str, HttpOutput>,
    #[serde(rename = "Logs")]
    pub logs: Vec<String>,
    #[serde(rename = "ReturnValue")]
    pub return_value: Option<()>,
}

impl InvocationResult {
    /// A reply whose `res` output is `output`.
    pub fn new(output: HttpOutput, log: String) -> Self {
        Self {
            outputs: BTreeMap::from([("res", output)]),
            logs: vec![log],
            return_value: None,
        }
    }
}

/// Rebuilds the caller's request from `Data.req`, addressed to `path` (the function's route).
///
/// # Errors
/// [`EnvelopeError`] when the envelope is not what the host sends.
pub fn to_request(payload: &[u8], path: &str) -> Result<Request<Bytes>, EnvelopeError> {
    to_request_with(payload, |_| Some(path.to_owned()))
}

/// Rebuilds the caller's request from `Data.req`, addressed to the path `path` chooses from
/// the envelope's [`Target`].
///
/// # Errors
/// [`EnvelopeError`] when the envelope is not what the host sends, [`EnvelopeError::NoRoute`]
/// when `path` finds no path in it.
pub fn to_request_with(
    payload: &[u8],
    path: impl FnOnce(&Target) -> Option<String>,
) -> Result<Request<Bytes>, EnvelopeError> {
    let root: Value = serde_json::from_slice(payload).map_err(|_| EnvelopeError::NotAnObject)?;
    let root = root.as_object().ok_or(EnvelopeError::NotAnObject)?;
    let req = field(root, "Data")
        .and_then(Value::as_object)
        .and_then(|data| field(data, TRIGGER_BINDING))
        .and_then(Value::as_object)
        .ok_or(EnvelopeError::MissingRequest)?;
    let method = field(req, "Method")
        .and_then(Value::as_str)
        .and_then(|method| Method::from_bytes(method.as_bytes()).ok())
        .ok_or(EnvelopeError::InvalidMethod)?;
    let headers = headers(field(req, "Headers"))?;
    let body = body(field(req, "Body"), &headers)?;
    let path = path(&target(req)).ok_or(EnvelopeError::NoRoute)?;
    let uri = match query(req)? {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path,
    };
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body)
        .map_err(|_| EnvelopeError::InvalidQuery)?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Renders a function's response as the host's `res` output: one string per header name.
pub fn to_output(status: http::StatusCode, headers: &http::HeaderMap, body: &[u8]) -> HttpOutput {
    let mut rendered = BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        rendered
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    HttpOutput {
        status_code: status.as_u16(),
        headers: rendered,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

/// A `res` output with a JSON body (a failure before any function ran).
pub fn json_output(status: http::StatusCode, body: String) -> HttpOutput {
    HttpOutput {
        status_code: status.as_u16(),
        headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
        body,
    }
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// The path of `Url` and the string values of `Params` (at most [`MAX_HEADER_FIELDS`] of
/// them are looked at).
fn target(req: &Map<String, Value>) -> Target {
    let url_path = field(req, "Url")
        .and_then(Value::as_str)
        .and_then(|url| url::Url::parse(url).ok())
        .map(|url| url.path().to_owned());
    let params = field(req, "Params")
        .and_then(Value::as_object)
        .map(|params| {
            RouteParams::from_pairs(
                params
                    .iter()
                    .take(MAX_HEADER_FIELDS)
                    .filter_map(|(name, value)| Some((name.as_str(), value.as_str()?.to_owned()))),
            )
        })
        .unwrap_or_default();
    Target { url_path, params }
}

/// `Headers`: names in any case, values as arrays of strings (a lone string is tolerated); at
/// most [`MAX_HEADER_FIELDS`] values in all.
fn headers(value: Option<&Value>) -> Result<http::HeaderMap, EnvelopeError> {
    let mut map = http::HeaderMap::new();
    let Some(value) = value else { return Ok(map) };
    let object = value.as_object().ok_or(EnvelopeError::InvalidHeaders)?;
    let fields: usize = object
        .values()
        .map(|values| values.as_array().map_or(1, Vec::len))
        .sum();
    if fields > MAX_HEADER_FIELDS {
        return Err(EnvelopeError::TooManyHeaders);
    }
    for (name, values) in object {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| EnvelopeError::InvalidHeaders)?;
        let values: Vec<&Value> = match values {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            let text = value.as_str().ok_or(EnvelopeError::InvalidHeaders)?;
            let value = HeaderValue::from_str(text).map_err(|_| EnvelopeError::InvalidHeaders)?;
            map.try_append(name.clone(), value)
                .map_err(|_| EnvelopeError::TooManyHeaders)?;
        }
    }
    Ok(map)
}

/// The query string: the raw one from `Url` when it parses, else rebuilt from `Query`.
fn query(req: &Map<String, Value>) -> Result<Option<String>, EnvelopeError> {
    if let Some(url) = field(req, "Url").and_then(Value::as_str)
        && let Ok(url) = url::Url::parse(url)
    {
        return Ok(url.query().map(str::to_owned));
    }
    let Some(query) = field(req, "Query") else {
        return Ok(None);
    };
    let object = match query {
        Value::Null => return Ok(None),
        Value::Object(object) => object,
        _ => return Err(EnvelopeError::InvalidQuery),
    };
    let mut encoder = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in object {
        let value = value.as_str().ok_or(EnvelopeError::InvalidQuery)?;
        encoder.append_pair(key, value);
    }
    Ok(Some(encoder.finish()))
}

/// `Body`: absent for an empty body; base64 for `application/octet-stream` and `multipart/*`.
fn body(value: Option<&Value>, headers: &http::HeaderMap) -> Result<Bytes, EnvelopeError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(Bytes::new()),
        Some(Value::String(text)) => text,
        Some(_) => return Err(EnvelopeError::InvalidBody),
    };
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/octet-stream")
        || content_type.starts_with("multipart/")
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| EnvelopeError::InvalidBody)?;
        return Ok(Bytes::from(bytes));
    }
    Ok(Bytes::from(text.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(req: Value) -> Vec<u8> {
        serde_json::json!({ "Data": { "req": req }, "Metadata": {} })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn rebuilds_method_query_headers_and_body() {
        let payload = envelope(serde_json::json!({
            "Url": "https://app.example/api/cert-info?verbose=1&a=b",
            "Method": "POST",
            "Query": { "ignored": "because Url wins" },
            "Headers": { "x-arr-clientcert": ["abc"], "Content-Type": ["text/plain"], "Accept": "*/*" },
            "Body": "hello"
        }));
        let request = to_request(&payload, "/api/cert-info").expect("valid envelope");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "/api/cert-info?verbose=1&a=b");
        assert_eq!(
            request.headers()["X-ARR-ClientCert"],
            "abc",
            "header names in any case"
        );
        assert_eq!(
            request.headers()["accept"],
            "*/*",
            "a lone string value is tolerated"
        );
        assert_eq!(request.body().as_ref(), b"hello");
    }

    #[test]
    fn repeated_header_values_stay_separate() {
        let payload = envelope(serde_json::json!({
            "Method": "GET", "Headers": { "X-ARR-ClientCert": ["a", "b"] }
        }));
        let request = to_request(&payload, "/api/cert-info").expect("valid envelope");
        assert_eq!(
            request.headers().get_all("x-arr-clientcert").iter().count(),
            2
        );
    }

    #[test]
    fn query_is_rebuilt_from_query_when_url_is_absent() {
        let payload = envelope(serde_json::json!({ "Method": "GET", "Query": { "a": "1 2" } }));
        let request = to_request(&payload, "/api/health").expect("valid envelope");
        assert_eq!(request.uri(), "/api/health?a=1+2");
    }

    #[test]
    fn octet_stream_bodies_arrive_as_base64() {
        let payload = envelope(serde_json::json!({
            "Method": "POST", "Headers": { "Content-Type": ["application/octet-stream"] }, "Body": "AAEC"
        }));
        let request = to_request(&payload, "/api/health").expect("valid envelope");
        assert_eq!(request.body().as_ref(), &[0, 1, 2]);
    }

    #[test]
    fn malformed_envelopes_are_typed_errors() {
        for (payload, expected, reason) in [
            (b"not json".to_vec(), EnvelopeError::NotAnObject, "not JSON"),
            (b"[1,2]".to_vec(), EnvelopeError::NotAnObject, "an array"),
            (b"{}".to_vec(), EnvelopeError::MissingRequest, "no Data"),
            (
                br#"{"Data":{"other":{}}}"#.to_vec(),
                EnvelopeError::MissingRequest,
                "no req",
            ),
            (
                envelope(serde_json::json!({})),
                EnvelopeError::InvalidMethod,
                "no Method",
            ),
            (
                envelope(serde_json::json!({"Method": "G T"})),
                EnvelopeError::InvalidMethod,
                "bad Method",
            ),
            (
                envelope(serde_json::json!({"Method": "GET", "Headers": []})),
                EnvelopeError::InvalidHeaders,
                "Headers not an object",
            ),
            (
                envelope(serde_json::json!({"Method": "GET", "Headers": {"a b": ["x"]}})),
                EnvelopeError::InvalidHeaders,
                "bad header name",
            ),
            (
                envelope(serde_json::json!({"Method": "GET", "Headers": {"a": [1]}})),
                EnvelopeError::InvalidHeaders,
                "non-string value",
            ),
            (
                envelope(serde_json::json!({"Method": "GET", "Headers": {"a": ["x\ny"]}})),
                EnvelopeError::InvalidHeaders,
                "newline in value",
            ),
            (
                envelope(serde_json::json!({"Method": "GET", "Query": "a=1"})),
                EnvelopeError::InvalidQuery,
                "Query not an object",
            ),
            (
                envelope(serde_json::json!({"Method": "GET", "Body": 5})),
                EnvelopeError::InvalidBody,
                "Body not a string",
            ),
        ] {
            assert_eq!(
                to_request(&payload, "/api/health").unwrap_err(),
                expected,
                "{reason}"
            );
        }
    }

    #[test]
    fn header_fields_are_capped_by_count_before_any_header_map_grows() {
        let named = |count: usize| {
            let headers: Map<String, Value> = (0..count)
                .map(|index| (format!("x-h{index}"), Value::from(vec!["v"])))
                .collect();
            envelope(serde_json::json!({"Method": "GET", "Headers": headers}))
        };
        let many_values = envelope(serde_json::json!({
            "Method": "GET", "Headers": {"x-h": vec!["v"; MAX_HEADER_FIELDS + 1]}
        }));
        let at_cap = to_request(&named(MAX_HEADER_FIELDS), "/api/health");
        assert_eq!(
            at_cap.map(|request| request.headers().len()),
            Ok(MAX_HEADER_FIELDS),
            "the cap itself is accepted"
        );
        for (payload, reason) in [
            (named(MAX_HEADER_FIELDS + 1), "one name past the cap"),
            (named(40_000), "more names than a header map can hold"),
            (many_values, "many values of one name"),
        ] {
            assert_eq!(
                to_request(&payload, "/api/health").map(|_| ()),
                Err(EnvelopeError::TooManyHeaders),
                "{reason}"
            );
        }
    }

    #[test]
    fn output_joins_repeated_headers_into_one_string() {
        let mut headers = http::HeaderMap::new();
        headers.append("vary", HeaderValue::from_static("a"));
        headers.append("vary", HeaderValue::from_static("b"));
        let output = to_output(http::StatusCode::CREATED, &headers, b"{}");
        assert_eq!(output.status_code, 201);
        assert_eq!(output.headers["vary"], "a, b");
        assert_eq!(output.body, "{}");
    }
}
