//! orders-api end to end: its built binary started as the Functions host starts it, driven by
//! the same host emulator as mtls-handler's own tests (its `tests/api/support`, included by
//! path), in every host mode, with certificates made at test time.

#[path = "../../../tests/api/support/mod.rs"]
mod support;

use mtls_handler::App;
use serde_json::{Value, json};

use support::pki::{Issued, Leaf, TestPki};
use support::{ClientRequest, FunctionApp, FunctionsHost, MODES};

/// The app under test: this example's folder and its `orders-api` binary.
const APP: support::AppUnderTest = support::AppUnderTest {
    root: env!("CARGO_MANIFEST_DIR"),
    binary: env!("CARGO_BIN_EXE_orders-api"),
};

const PARTNER_CN: &str = "partner-gw.example";

/// orders-api trusting `pki`'s CA and allowlisting the partner's CN.
async fn start(pki: &TestPki) -> FunctionsHost {
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    FunctionsHost::start(&[
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", PARTNER_CN),
    ])
    .await
}

fn orders(client: Option<&Issued>) -> ClientRequest {
    with_certificate(ClientRequest::get("/api/orders"), client)
}

fn update(id: &str, body: &str, client: Option<&Issued>) -> ClientRequest {
    let mut request = ClientRequest::get(&format!("/api/orders/{id}"))
        .method("POST")
        .header("Content-Type", "application/json");
    request.body = Some(body.to_owned());
    with_certificate(request, client)
}

fn with_certificate(request: ClientRequest, client: Option<&Issued>) -> ClientRequest {
    match client {
        Some(client) => request.header("X-ARR-ClientCert", &client.header()),
        None => request,
    }
}

#[test]
fn the_function_folders_declare_what_the_app_serves() {
    let app = FunctionApp::load();
    let builder = orders_api::functions(App::builder(app.config()));
    let served: Vec<_> = builder.functions().cloned().collect();
    app.assert_serves_what_folders_declare(&served);
    assert_eq!(
        app.executable, "orders-api",
        "host.json names this app's binary"
    );
}

#[tokio::test]
async fn get_orders_answers_with_the_callers_principal_in_every_mode() {
    let pki = TestPki::new("orders-get");
    let host = start(&pki).await;
    let partner = pki.issue(&Leaf::client(PARTNER_CN));
    for mode in MODES {
        let response = host.send(mode, orders(Some(&partner))).await;
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
        let body = response.json();
        assert_eq!(
            body["caller"],
            json!({"kind": "common_name", "value": PARTNER_CN}),
            "{mode:?}"
        );
        assert_eq!(
            body["orders"][0]["id"],
            format!("{PARTNER_CN}-1"),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn post_orders_id_gets_the_id_and_the_body_in_every_mode() {
    let pki = TestPki::new("orders-post");
    let host = start(&pki).await;
    let partner = pki.issue(&Leaf::client(PARTNER_CN));
    for mode in MODES {
        let response = host
            .send(
                mode,
                update("A-42", r#"{"status":"cancelled"}"#, Some(&partner)),
            )
            .await;
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
        assert_eq!(
            response.json(),
            json!({
                "caller": {"kind": "common_name", "value": PARTNER_CN},
                "order": {"id": "A-42", "status": "cancelled"},
            }),
            "{mode:?}"
        );
        let bad = host
            .send(mode, update("A-42", r#"{"state":"x"}"#, Some(&partner)))
            .await;
        assert_eq!(
            (bad.status, bad.json()["code"].clone()),
            (400, json!("invalid_json")),
            "{mode:?}: {}",
            bad.body
        );
    }
}

#[tokio::test]
async fn a_refused_caller_of_an_added_route_gets_the_same_403_as_cert_info() {
    // Arrange: no certificate; a trusted one no rule admits; an impostor with the partner's CN.
    let pki = TestPki::new("orders-refused");
    let host = start(&pki).await;
    let stranger = pki.issue(&Leaf::client("stranger.example"));
    let impostor = pki.self_signed(&Leaf::client(PARTNER_CN));
    let callers = [
        (None, "cert_missing"),
        (Some(&stranger), "cert_not_allowed"),
        (Some(&impostor), "cert_untrusted"),
    ];
    for mode in MODES {
        for (client, code) in callers {
            // Act
            let cert_info = host
                .send(
                    mode,
                    with_certificate(ClientRequest::get("/api/cert-info"), client),
                )
                .await;
            let listed = host.send(mode, orders(client)).await;
            let updated = host
                .send(mode, update("1", r#"{"status":"x"}"#, client))
                .await;

            // Assert
            for response in [&listed, &updated] {
                assert_eq!(response.status, 403, "{mode:?} {code}: {}", response.body);
                let body: Value = response.json();
                assert_eq!(body["code"], code, "{mode:?}");
                assert_eq!(
                    body,
                    cert_info.json(),
                    "{mode:?}: the same answer as cert-info"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_function_route_reaches_the_app_in_every_mode() {
    let host = FunctionsHost::start(&[]).await;
    host.assert_every_route_reaches_the_handler().await;
}
