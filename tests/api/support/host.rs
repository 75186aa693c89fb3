//! A stand-in for the Azure Functions host (spec §11): starts the handler, waits for `GET /`,
//! routes client requests to functions and sends them in proxying mode (§6, `proxying.rs`),
//! forwarding mode (§4) or payload mode (§5), rendering payload replies the way the host renders
//! them (§5.4–5.5).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::app::{FunctionApp, FunctionDef};
use super::process::{HandlerProcess, free_port};

pub const HOST_VERSION: &str = "4.1036.1.23224";
pub const APP_HOST: &str = "mtls-handler-test.azurewebsites.net";

/// How the host hands a request to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `enableProxyingHttpRequest`: YARP streams the original request, `Host` replaced.
    Proxying,
    /// `enableForwardingHttpRequest` (legacy): the request rebuilt at its original path.
    Forwarding,
    /// `POST /<FunctionName>` with the JSON invocation envelope.
    Payload,
}

pub const MODES: [Mode; 3] = [Mode::Proxying, Mode::Forwarding, Mode::Payload];

/// The modes in which the handler sees the caller's own request at its original path.
pub const PASS_THROUGH_MODES: [Mode; 2] = [Mode::Proxying, Mode::Forwarding];

/// What a client sends to the app.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl ClientRequest {
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".into(),
            path: path.into(),
            query: Vec::new(),
            headers: vec![
                ("User-Agent".into(), "curl/8.5.0".into()),
                ("Accept".into(), "*/*".into()),
            ],
            body: None,
        }
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }
}

/// What the client gets back from the host.
#[derive(Debug, Clone)]
pub struct HostResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HostResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn host_error(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }
}

/// The emulated host with its handler process.
pub struct FunctionsHost {
    pub app: FunctionApp,
    pub process: HandlerProcess,
    client: reqwest::Client,
    invocations: AtomicU64,
}

impl FunctionsHost {
    /// Starts the handler with `env` on a free port and waits until `GET /` answers.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let process = HandlerProcess::spawn(free_port(), env);
        // The test client speaks plain HTTP to the handler; reqwest still wants a provider.
        rustls::crypto::ring::default_provider()
            .install_default()
            .ok();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        let mut host = Self {
            app: FunctionApp::load(),
            process,
            client,
            invocations: AtomicU64::new(0),
        };
        host.wait_ready(Duration::from_secs(30)).await;
        host
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.process.port)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Polls `GET /` every 25 ms; any HTTP answer means ready, connection refused means wait.
    async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.try_exit() {
                panic!(
                    "handler exited with {status} before it was ready:\n{}",
                    self.process.output()
                );
            }
            match self
                .client
                .get(format!("{}/", self.base_url()))
                .send()
                .await
            {
                Ok(_) => return,
                Err(error) if error.is_connect() => {}
                Err(error) => panic!("readiness probe failed: {error}"),
            }
            assert!(
                Instant::now() < deadline,
                "handler not ready in {timeout:?}:\n{}",
                self.process.output()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn invocation_id(&self) -> String {
        let n = self.invocations.fetch_add(1, Ordering::Relaxed);
        format!(
            "5b0a6b8e-3f0e-4a57-9c8e-{:012x}",
            n + u64::from(self.process.port) * 1_000_000
        )
    }

    /// Sends every method of every function's route (with `1` for each parameter) in every
    /// mode, and asserts that the handler has a route for each: no 404, 405 or 500.
    pub async fn assert_every_route_reaches_the_handler(&self) {
        for function in &self.app.functions {
            let path = self.app.example_path(function);
            let methods = if function.methods.is_empty() {
                vec!["GET".to_owned()]
            } else {
                function.methods.clone()
            };
            for method in methods {
                for mode in MODES {
                    let response = self
                        .send(mode, ClientRequest::get(&path).method(&method))
                        .await;
                    assert!(
                        ![404, 405, 500].contains(&response.status),
                        "{mode:?} {method} {path}: {} {}",
                        response.status,
                        response.body
                    );
                }
            }
        }
    }

    /// Routes `request` as the host does and hands it to the handler in `mode`.
    pub async fn send(&self, mode: Mode, request: ClientRequest) -> HostResponse {
        let Some((function, params)) = self
            .app
            .route_for(&request.path, Some(&request.method))
            .map(|(function, params)| (function.clone(), params))
        else {
            return HostResponse::host_error(404);
        };
        match mode {
            Mode::Proxying => {
                let id = self.invocation_id();
                super::proxying::proxy(&self.client, &self.base_url(), &request, &id).await
            }
            Mode::Forwarding => self.forward(&request).await,
            Mode::Payload => self.invoke(&function, &request, &params).await,
        }
    }

    /// Forwarding mode (§4): original path, re-encoded query, client headers minus entity
    /// headers, the app's Host, and the host's three headers.
    async fn forward(&self, request: &ClientRequest) -> HostResponse {
        let mut url = format!("{}{}", self.base_url(), request.path);
        let query = joined_query(&request.query);
        if !query.is_empty() {
            let mut encoder = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in &query {
                encoder.append_pair(key, value);
            }
            url = format!("{url}?{}", encoder.finish());
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
        let mut builder = self.client.request(method, url).header("Host", APP_HOST);
        let mut user_agent = None;
        for (name, value) in &request.headers {
            if name.eq_ignore_ascii_case("user-agent") {
                user_agent = Some(value.clone());
            } else if !is_entity_header(name) && !name.eq_ignore_ascii_case("host") {
                builder = builder.header(name, value);
            }
        }
        let host_ua = format!("Azure-Functions-Host/{HOST_VERSION}");
        let user_agent = user_agent.map_or(host_ua.clone(), |ua| format!("{ua} {host_ua}"));
        builder = builder
            .header("User-Agent", user_agent)
            .header("X-Azure-Functions-HostVersion", HOST_VERSION)
            .header("X-Azure-Functions-InvocationId", self.invocation_id());
        if let Some(body) = request.body.clone().filter(|body| !body.is_empty()) {
            builder = builder.body(body);
        }
        match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let body = response.text().await.expect("forwarded response body");
                HostResponse {
                    status,
                    headers,
                    body,
                }
            }
            Err(_) => HostResponse::host_error(500),
        }
    }

    /// Payload mode (§5): `POST /<FunctionName>`, chunked JSON envelope, rendered per §5.4–5.5.
    async fn invoke(
        &self,
        function: &FunctionDef,
        request: &ClientRequest,
        params: &[(String, String)],
    ) -> HostResponse {
        let envelope = envelope_with_params(function, request, params);
        let body = serde_json::to_vec(&envelope).expect("serialize envelope");
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let response = self
            .client
            .post(format!("{}/{}", self.base_url(), function.name))
            .header("Content-Type", "application/json; charset=utf-8")
            .header("User-Agent", format!("Azure-Functions-Host/{HOST_VERSION}"))
            .header("X-Azure-Functions-HostVersion", HOST_VERSION)
            .header("X-Azure-Functions-InvocationId", self.invocation_id())
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await;
        let Ok(response) = response else {
            return HostResponse::host_error(500);
        };
        render_invocation_result(response, &function.output_name).await
    }
}

/// Repeated query keys are comma-joined (§4.2, §5.2).
fn joined_query(query: &[(String, String)]) -> Vec<(String, String)> {
    let mut joined: Vec<(String, String)> = Vec::new();
    for (key, value) in query {
        match joined.iter_mut().find(|(k, _)| k == key) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            None => joined.push((key.clone(), value.clone())),
        }
    }
    joined
}

fn is_entity_header(name: &str) -> bool {
    [
        "content-encoding",
        "content-language",
        "content-location",
        "content-md5",
        "content-range",
        "content-disposition",
        "expires",
        "last-modified",
        "allow",
        "content-type",
        "content-length",
    ]
    .iter()
    .any(|entity| name.eq_ignore_ascii_case(entity))
}

/// The `{"Data":{"req":…},"Metadata":…}` envelope with the host's field names and casing.
pub fn envelope(function: &FunctionDef, request: &ClientRequest) -> Value {
    envelope_with_params(function, request, &[])
}

/// [`envelope`] with the route values in `Params` (and in `Metadata`, as the host puts them).
pub fn envelope_with_params(
    function: &FunctionDef,
    request: &ClientRequest,
    params: &[(String, String)],
) -> Value {
    let query = joined_query(&request.query);
    let mut url = format!("https://{APP_HOST}{}", request.path);
    if !query.is_empty() {
        let raw: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        url = format!("{url}?{}", raw.join("&"));
    }
    let query_object: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut headers = Map::new();
    let mut metadata_headers = Map::new();
    for (name, value) in request
        .headers
        .iter()
        .chain([("Host".to_owned(), APP_HOST.to_owned())].iter())
    {
        let entry = headers
            .entry(name.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        entry
            .as_array_mut()
            .expect("array")
            .push(Value::String(value.clone()));
        let joined = metadata_headers
            .entry(name.clone())
            .or_insert_with(|| Value::String(String::new()));
        let text = joined.as_str().expect("string").to_owned();
        *joined = Value::String(if text.is_empty() {
            value.clone()
        } else {
            format!("{text},{value}")
        });
    }
    let params_object: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut req = json!({
        "Url": url,
        "Method": request.method,
        "Query": query_object,
        "Headers": headers,
        "Params": params_object,
        "Identities": [{
            "AuthenticationType": null, "IsAuthenticated": false, "Actor": null,
            "BootstrapContext": null, "Claims": [], "Label": null, "Name": null,
            "NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            "RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
        }]
    });
    if let Some(body) = request.body.clone().filter(|body| !body.is_empty()) {
        req["Body"] = Value::String(body);
    }
    let mut metadata = Map::new();
    for (key, value) in &query {
        if key != "code" {
            metadata.insert(
                key.clone(),
                Value::String(serde_json::to_string(value).expect("json")),
            );
        }
    }
    for (key, value) in params {
        metadata.insert(key.clone(), Value::String(value.clone()));
    }
    metadata.insert(
        "Query".into(),
        Value::Object(query_object_last(&request.query)),
    );
    metadata.insert("Headers".into(), Value::Object(metadata_headers));
    metadata.insert(
        "sys".into(),
        json!({"MethodName": function.name, "UtcNow": "2026-11-29T12:00:00.1234567Z", "RandGuid": "0f6a0000-0000-0000-0000-000000000000"}),
    );
    let mut data = Map::new();
    data.insert(function.trigger_name.clone(), req);
    json!({ "Data": data, "Metadata": metadata })
}

fn query_object_last(query: &[(String, String)]) -> Map<String, Value> {
    query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// §5.4: 2xx, a JSON content type and a non-null JSON body are required; §5.5A renders
/// `Outputs.<name>` into the client's response.
pub async fn render_invocation_result(
    response: reqwest::Response,
    output_name: &str,
) -> HostResponse {
    if !response.status().is_success() {
        return HostResponse::host_error(500);
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_ascii_lowercase();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !["application/json", "text/json"].contains(&media.as_str()) {
        return HostResponse::host_error(500);
    }
    let text = response.text().await.expect("invocation result body");
    let result: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(_) => return HostResponse::host_error(500),
    };
    assert!(
        !result.is_null(),
        "an empty or null invocation result makes the real host hang (§5.4)"
    );
    let outputs = field_ci(&result, "Outputs");
    let Some(output) = outputs.and_then(|outputs| outputs.get(output_name)) else {
        return HostResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: "{}".into(),
        };
    };
    render_output(output)
}

fn field_ci<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn render_output(output: &Value) -> HostResponse {
    let output = match output {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => value,
            _ => return HostResponse::host_error(500),
        },
        Value::Object(_) => output.clone(),
        _ => return HostResponse::host_error(500),
    };
    let status = match field_ci(&output, "statusCode") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(200),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(200),
        _ => 200,
    };
    let mut headers = Vec::new();
    let mut content_type = None;
    if let Some(Value::Object(map)) = field_ci(&output, "headers") {
        for (name, value) in map {
            let rendered = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(true) => "True".into(),
                Value::Bool(false) => "False".into(),
                _ => return HostResponse::host_error(500),
            };
            if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(rendered);
            } else {
                headers.push((name.clone(), rendered));
            }
        }
    }
    let body = match field_ci(&output, "body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(value @ (Value::Object(_) | Value::Array(_))) => {
            serde_json::to_string_pretty(value).expect("json")
        }
        Some(Value::Bool(b)) => {
            if *b {
                "True".into()
            } else {
                "False".into()
            }
        }
        Some(Value::Number(n)) => n.to_string(),
    };
    let content_type = match content_type {
        None => "text/plain; charset=utf-8".to_owned(),
        Some(ct) => {
            let media = ct.split(';').next().unwrap_or_default().trim().to_owned();
            format!("{media}; charset=utf-8")
        }
    };
    headers.push(("Content-Type".into(), content_type));
    HostResponse {
        status,
        headers,
        body,
    }
}
