//! The builder's functions through the whole route tree, in process: an added function gets the
//! same refusals as the built-in ones, its route parameters in every host mode, and the builder
//! refuses what the host would not serve.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use warp::http::{Method, StatusCode};

use super::*;
use crate::client_cert::test_pki::{BASE, Ca, DAY, Leaf};
use crate::config::Config;
use crate::host::route::Route;
use crate::startup::{App, StartupError};

const ALLOWED: &str = "client.example";

/// A root CA written to a temporary app root with no host.json (prefix `api`, payload mode on).
struct Fixture {
    root: Ca,
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mtls-app-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let root = Ca::root("Test Root CA");
        std::fs::write(dir.join("ca.der"), &root.der).expect("write the CA");
        Self { root, dir }
    }

    /// The same, with `host_json` as the app root's host.json.
    fn with_host_json(name: &str, host_json: &Value) -> Self {
        let fixture = Self::new(name);
        std::fs::write(fixture.dir.join("host.json"), host_json.to_string())
            .expect("write host.json");
        fixture
    }

    fn config(&self) -> Config {
        let ca = self.dir.join("ca.der").display().to_string();
        let app_root = self.dir.display().to_string();
        let env: HashMap<&str, &str> = HashMap::from([
            ("FUNCTIONS_CUSTOMHANDLER_PORT", "0"),
            ("FUNCTIONS_APP_ROOT_PATH", app_root.as_str()),
            ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED),
        ]);
        Config::load(&env).expect("the test settings load")
    }

    /// A header value for a leaf with `cn`, valid now (the filter uses the real clock).
    fn header(&self, cn: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let offset = i64::try_from(now - BASE).expect("small offset");
        STANDARD.encode(
            self.root
                .issue(&Leaf::cn(cn).valid(offset - DAY, offset + DAY)),
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn orders(caller: Authorized, request: FunctionRequest) -> impl warp::Reply {
    warp::reply::json(&json!({
        "principal": caller.principal,
        "id": request.param("id"),
        "method": request.method().as_str(),
    }))
}

async fn update(
    _caller: Authorized,
    request: FunctionRequest,
) -> Result<warp::reply::Json, ErrorReply> {
    let body: Value = request.json()?;
    if request.param("id") == Some("0") {
        return Err(ErrorReply::not_found("order_not_found", "no such order"));
    }
    Ok(warp::reply::json(
        &json!({ "id": request.param("id"), "body": body }),
    ))
}

async fn app(fixture: &Fixture) -> App {
    App::builder(fixture.config())
        .function("orders", Route::get("orders"), orders)
        .function("order-update", Route::post("orders/{id}"), update)
        .open_function("ping", Route::new("ping"), |_request| async { "pong" })
        .build()
        .await
        .expect("the app builds")
}

async fn answer(app: &App, request: warp::test::RequestBuilder) -> (StatusCode, Value) {
    let response = request.reply(&app.routes()).await;
    let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (response.status(), body)
}

#[tokio::test]
async fn an_added_function_refuses_as_cert_info_does_and_admits_with_the_principal() {
    // Arrange
    let fixture = Fixture::new("refusals");
    let app = app(&fixture).await;
    let stranger = fixture.header("stranger.example");
    let allowed = fixture.header(ALLOWED);

    // Act & Assert: every refusal is the built-in one, status, code and body.
    for (header, reason) in [
        (None, "no header"),
        (Some(stranger.as_str()), "not allowlisted"),
    ] {
        let request = |path: &str| {
            let request = warp::test::request().path(path);
            match header {
                Some(value) => request.header("X-ARR-ClientCert", value),
                None => request,
            }
        };
        let added = answer(&app, request("/api/orders")).await;
        let builtin = answer(&app, request("/api/cert-info")).await;
        assert_eq!(added.0, StatusCode::FORBIDDEN, "{reason}: {added:?}");
        assert_eq!(added, builtin, "{reason}: the same refusal");
    }
    let (status, body) = answer(
        &app,
        warp::test::request()
            .path("/API/Orders")
            .header("X-ARR-ClientCert", &allowed),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["principal"],
        json!({"kind": "common_name", "value": ALLOWED})
    );
}

#[tokio::test]
async fn an_unknown_path_is_404_a_wrong_method_405_and_an_open_function_needs_no_certificate() {
    let fixture = Fixture::new("routing");
    let app = app(&fixture).await;

    let unknown = answer(&app, warp::test::request().path("/api/orders/1/x")).await;
    let wrong_method = answer(
        &app,
        warp::test::request().method("DELETE").path("/api/orders"),
    )
    .await;
    let open = warp::test::request()
        .method("PATCH")
        .path("/api/ping")
        .reply(&app.routes())
        .await;

    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{unknown:?}");
    assert_eq!(unknown.1["code"], "not_found");
    assert_eq!(
        wrong_method.0,
        StatusCode::METHOD_NOT_ALLOWED,
        "{wrong_method:?}"
    );
    assert_eq!(
        (open.status(), open.body().as_ref()),
        (StatusCode::OK, &b"pong"[..])
    );
}

#[tokio::test]
async fn a_handler_gets_route_parameters_and_the_json_body_and_answers_errors_in_shape() {
    let fixture = Fixture::new("params");
    let app = app(&fixture).await;
    let allowed = fixture.header(ALLOWED);
    let post = |path: &str, body: &str| {
        warp::test::request()
            .method("POST")
            .path(path)
            .header("X-ARR-ClientCert", &allowed)
            .body(body)
    };

    let updated = answer(&app, post("/api/orders/a%20b", r#"{"status":"shipped"}"#)).await;
    let missing = answer(&app, post("/api/orders/0", "{}")).await;
    let not_json = answer(&app, post("/api/orders/1", "{")).await;
    let too_large = answer(&app, post("/api/orders/1", &" ".repeat(MAX_BODY_BYTES + 1))).await;

    assert_eq!(updated.0, StatusCode::OK, "{updated:?}");
    assert_eq!(
        updated.1,
        json!({"id": "a b", "body": {"status": "shipped"}})
    );
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.1,
        json!({"error": "no such order", "code": "order_not_found"})
    );
    assert_eq!(
        (not_json.0, not_json.1["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_json"))
    );
    assert_eq!(too_large.0, StatusCode::PAYLOAD_TOO_LARGE, "{too_large:?}");
}

#[tokio::test]
async fn payload_mode_addresses_a_parameterised_route_from_url_or_params() {
    let fixture = Fixture::new("payload");
    let app = app(&fixture).await;
    let header = fixture.header(ALLOWED);
    let invoke = |req: Value| {
        warp::test::request()
            .method("POST")
            .path("/order-update")
            .json(&json!({ "Data": { "req": req }, "Metadata": {} }))
    };
    let request = |extra: Value| {
        let mut req = json!({
            "Method": "POST",
            "Headers": { "X-ARR-ClientCert": [header.clone()], "Content-Type": ["application/json"] },
            "Body": "{\"n\":1}",
        });
        req.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        req
    };
    let output = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::OK, "payload mode always answers 200");
        let res = &body["Outputs"]["res"];
        let inner: Value =
            serde_json::from_str(res["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        (res["statusCode"].clone(), inner)
    };

    let by_url = output(
        answer(
            &app,
            invoke(request(
                json!({"Url": "https://app.example/api/orders/7?x=1"}),
            )),
        )
        .await,
    );
    let by_params = output(answer(&app, invoke(request(json!({"Params": {"id": "8"}})))).await);
    let neither = output(answer(&app, invoke(request(json!({"Params": {}})))).await);
    let foreign_url = output(
        answer(
            &app,
            invoke(request(
                json!({"Url": "https://app.example/api/cert-info", "Params": {"id": "9"}}),
            )),
        )
        .await,
    );

    assert_eq!(by_url, (json!(200), json!({"id": "7", "body": {"n": 1}})));
    assert_eq!(
        by_params,
        (json!(200), json!({"id": "8", "body": {"n": 1}}))
    );
    assert_eq!(neither.0, json!(400), "{neither:?}");
    assert_eq!(neither.1["code"], "invalid_invocation");
    assert_eq!(
        foreign_url,
        (json!(200), json!({"id": "9", "body": {"n": 1}})),
        "a Url that is not this function's route is not followed"
    );
}

#[tokio::test]
async fn the_builder_refuses_what_the_host_would_not_serve_listing_every_problem() {
    let fixture = Fixture::new("refused");
    let handler = |_caller: Authorized, _request: FunctionRequest| async { "" };

    let built = App::builder(fixture.config())
        .function("orders", Route::get("orders/{id:int}"), handler)
        .function("9lives", Route::get("lives"), handler)
        .function("Health", Route::get("other"), handler)
        .function("list", Route::new("cert-info").method(Method::GET), handler)
        .function("post-list", Route::post("cert-info"), handler)
        .build()
        .await;

    let Err(StartupError::Functions(error)) = built else {
        panic!("the builder must refuse these functions");
    };
    let problems = error.problems();
    for needle in [
        "function orders: route \"orders/{id:int}\": parameter {id:int}: constraints",
        "function \"9lives\": a function name is a letter",
        "function Health: added twice",
        "functions cert-info and list both serve GET /cert-info",
    ] {
        assert!(
            problems.iter().any(|problem| problem.starts_with(needle)),
            "{needle}\n{problems:#?}"
        );
    }
    assert_eq!(
        problems.len(),
        4,
        "post-list uses another method: {problems:#?}"
    );
}

/// The `res` output of a payload-mode reply: its status and its body as JSON.
fn payload_output((status, body): (StatusCode, Value)) -> (Value, Value) {
    assert_eq!(
        status,
        StatusCode::OK,
        "payload mode always answers 200: {body}"
    );
    let res = &body["Outputs"]["res"];
    let inner = serde_json::from_str(res["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (res["statusCode"].clone(), inner)
}

#[tokio::test]
async fn review_a_callers_own_post_to_the_route_prefix_is_never_read_as_an_envelope() {
    // Forwarding mode with the route prefix `orders` and a function named `orders` serving
    // `orders/{id?}`: the host forwards a caller's `POST /orders` to the handler as is. The
    // caller presents a certificate of its own (the front end requires one, of any issuer) and
    // writes, in the body, an envelope whose headers carry an allowlisted partner's certificate
    // (public: no key is needed to copy it).
    let fixture = Fixture::with_host_json(
        "prefix-name",
        &json!({
            "extensions": { "http": { "routePrefix": "orders" } },
            "customHandler": { "enableForwardingHttpRequest": true }
        }),
    );
    let app = App::builder(fixture.config())
        .function("orders", Route::new("{id?}"), orders)
        .build()
        .await
        .expect("the app builds");
    let partner = fixture.header(ALLOWED);
    let own = fixture.header("stranger.example");
    let envelope = json!({ "Data": { "req": {
        "Url": "https://app.example/orders",
        "Method": "GET",
        "Headers": { "X-ARR-ClientCert": [partner] },
    } }, "Metadata": {} });

    let (status, body) = answer(
        &app,
        warp::test::request()
            .method("POST")
            .path("/orders")
            .header("X-ARR-ClientCert", &own)
            .json(&envelope),
    )
    .await;

    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("cert_not_allowed")),
        "the caller's own certificate is judged, never one written in its body: {body}"
    );
}

/// `lookup` (open, `items/{id}`, registered first) and `special` (protected, `items/special`):
/// two functions whose routes both match `/api/items/special`.
async fn lookup_and_special(fixture: &Fixture) -> App {
    App::builder(fixture.config())
        .open_function("lookup", Route::get("items/{id}"), |_request| async {
            "lookup"
        })
        .function("special", Route::get("items/special"), orders)
        .build()
        .await
        .expect("the app builds")
}

#[tokio::test]
async fn review_an_envelope_runs_the_function_the_host_invoked() {
    // `lookup` (open, first) and `special` (protected) both match /api/items/special; the host
    // invoked `special`, so `special` answers: 403 without a certificate, never `lookup`'s 200.
    let fixture = Fixture::new("envelope-target");
    let app = lookup_and_special(&fixture).await;
    let envelope = json!({ "Data": { "req": {
        "Url": "https://app.example/api/items/special",
        "Method": "GET",
        "Headers": {},
    } }, "Metadata": {} });

    let (status, body) = payload_output(
        answer(
            &app,
            warp::test::request()
                .method("POST")
                .path("/special")
                .json(&envelope),
        )
        .await,
    );

    assert_eq!(
        (status, body["code"].clone()),
        (json!(403), json!("cert_missing")),
        "{body}"
    );
}

#[tokio::test]
async fn review_in_payload_mode_a_function_sees_the_hosts_invocation_id_not_the_callers() {
    const HOST_ID: &str = "5b0a6b8e-3f0e-4a57-9c8e-0d6f1c7e2a11";
    const CALLERS: &str = "deadbeef-0000-4000-8000-00000000beef";
    let fixture = Fixture::new("payload-invocation-id");
    let app = App::builder(fixture.config())
        .open_function(
            "whoami",
            Route::get("whoami"),
            |request: FunctionRequest| async move {
                warp::reply::json(&json!({ "invocationId": request.invocation_id() }))
            },
        )
        .build()
        .await
        .expect("the app builds");
    let invoke = |caller_headers: Value| {
        let envelope = json!({ "Data": { "req": {
            "Url": "https://app.example/api/whoami",
            "Method": "GET",
            "Headers": caller_headers,
        } }, "Metadata": {} });
        warp::test::request()
            .method("POST")
            .path("/whoami")
            .header("X-Azure-Functions-InvocationId", HOST_ID)
            .json(&envelope)
    };

    let honest = payload_output(answer(&app, invoke(json!({}))).await);
    let forged = payload_output(
        answer(
            &app,
            invoke(json!({ "X-Azure-Functions-InvocationId": [CALLERS] })),
        )
        .await,
    );

    assert_eq!(honest.1["invocationId"], HOST_ID, "{honest:?}");
    assert_eq!(
        forged.1["invocationId"], HOST_ID,
        "the caller's header inside the envelope is not the host's id: {forged:?}"
    );
}

#[tokio::test]
async fn review_overlapping_routes_are_matched_most_specific_first_as_the_host_orders_them() {
    // The host orders its routes by specificity (a literal segment before a parameter, a
    // longer template before its prefix), whatever the registration order, and forwards
    // `/api/items/special` as an invocation of `special`; the handler must run `special` too,
    // not `lookup`, which was registered first and whose `items/{id}` also matches.
    let fixture = Fixture::new("precedence");
    let app = App::builder(fixture.config())
        .function("lookup", Route::get("items/{id}"), orders)
        .open_function("special", Route::get("items/special"), |_request| async {
            "special"
        })
        .open_function("any", Route::get("things/{*rest}"), |_request| async {
            "any"
        })
        .open_function("deep", Route::get("things/a/b"), |_request| async {
            "deep"
        })
        .build()
        .await
        .expect("the app builds");

    let allowed = fixture.header(ALLOWED);
    for (path, expected) in [
        ("/api/items/special", "special"),
        ("/api/things/a/b", "deep"),
        ("/api/things/a", "any"),
    ] {
        let response = warp::test::request()
            .path(path)
            .header("X-ARR-ClientCert", &allowed)
            .reply(&app.routes())
            .await;
        assert_eq!(
            (response.status(), response.body().as_ref()),
            (StatusCode::OK, expected.as_bytes()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn review_a_refused_caller_gets_the_refusal_not_a_less_specific_functions_answer() {
    // The host invokes `special` (protected) for /api/items/special. A caller it refuses must
    // get its 403, not fall through to `lookup` (open, `items/{id}`) and that function's 200.
    let fixture = Fixture::new("fall-through");
    let app = lookup_and_special(&fixture).await;

    let (status, body) = answer(&app, warp::test::request().path("/api/items/special")).await;
    let other = warp::test::request()
        .path("/api/items/other")
        .reply(&app.routes())
        .await;

    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("cert_missing")),
        "{body}"
    );
    assert_eq!(
        (other.status(), other.body().as_ref()),
        (StatusCode::OK, &b"lookup"[..])
    );
}
