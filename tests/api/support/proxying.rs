//! The host's proxying mode (spec §6, `enableProxyingHttpRequest`): YARP forwards the client's
//! request to the handler with its original method, path and query; hop-by-hop headers are
//! removed, `Host` becomes the handler's address and `X-Forwarded-*` are set (YARP's default
//! transforms, action Set); the host adds its version and the invocation id twice
//! (`X-Azure-Functions-InvocationId` and `x-ms-invocation-id`); the body is streamed; connection
//! errors are retried 10 times, 50 ms doubling to at most 250 ms; any other failure is a 500.

use std::time::Duration;

use super::host::{APP_HOST, ClientRequest, HOST_VERSION, HostResponse};

/// Where the client's connection appears to come from (the front end's view of the caller).
pub const CLIENT_IP: &str = "203.0.113.7";

/// What YARP never forwards, in either direction (RFC 9110 §7.6.1, plus YARP's list).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What the host itself sets (and so overwrites when a client sent it).
const SET_BY_PROXY: [&str; 8] = [
    "host",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "x-azure-functions-hostversion",
    "x-azure-functions-invocationid",
    "x-ms-invocation-id",
];

/// Sends `request` to the handler at `base_url` as the host's proxying mode does.
pub async fn proxy(
    client: &reqwest::Client,
    base_url: &str,
    request: &ClientRequest,
    invocation_id: &str,
) -> HostResponse {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=10 {
        match send_once(client, base_url, request, invocation_id).await {
            Ok(response) => return response,
            Err(error) if error.is_connect() && attempt < 10 => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(250));
            }
            Err(_) => break,
        }
    }
    HostResponse::host_error(500)
}

async fn send_once(
    client: &reqwest::Client,
    base_url: &str,
    request: &ClientRequest,
    invocation_id: &str,
) -> Result<HostResponse, reqwest::Error> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
    let mut builder = client.request(method, original_url(base_url, request));
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if !HOP_BY_HOP.contains(&lower.as_str()) && !SET_BY_PROXY.contains(&lower.as_str()) {
            builder = builder.header(name, value);
        }
    }
    builder = builder
        .header("X-Forwarded-For", CLIENT_IP)
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", APP_HOST)
        .header("X-Azure-Functions-HostVersion", HOST_VERSION)
        .header("X-Azure-Functions-InvocationId", invocation_id)
        .header("x-ms-invocation-id", invocation_id);
    if let Some(body) = request.body.clone() {
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
        builder = builder.body(reqwest::Body::wrap_stream(stream));
    }
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.text().await?;
    Ok(HostResponse {
        status,
        headers,
        body,
    })
}

/// The original path and query: repeated keys stay repeated, nothing is joined.
fn original_url(base_url: &str, request: &ClientRequest) -> String {
    let mut url = format!("{base_url}{}", request.path);
    if !request.query.is_empty() {
        let mut encoder = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &request.query {
            encoder.append_pair(key, value);
        }
        url = format!("{url}?{}", encoder.finish());
    }
    url
}
