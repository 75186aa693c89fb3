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

#[tokio::test]
async fn a_shipment_is_asked_of_the_partners_api_over_mutual_tls_in_every_mode() {
    // Arrange: the partner's API on loopback, admitting only certificates from the test CA;
    // the app's outbound identity from that CA; the demo route switched off.
    let pki = TestPki::new("orders-shipment");
    let partner = pki.issue(&Leaf::client(PARTNER_CN));
    let identity = pki.issue(&Leaf {
        serial: 0x3003,
        ..Leaf::client("orders-api.example")
    });
    let password = "shipment-test";
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let p12 = pki.write(
        "identity.p12",
        pki.pkcs12(&identity.key_der, &[&identity, &pki.root.cert], password),
    );
    let upstream = support::mtls_upstream(
        &pki,
        support::upstream::Reply::ok(r#"{"carrier":"acme","state":"in transit"}"#),
    )
    .await;
    let host = FunctionsHost::start(&[
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", PARTNER_CN),
        ("OUTBOUND_CLIENT_CERT_PATH", p12.as_str()),
        ("OUTBOUND_CLIENT_CERT_PASSWORD", password),
        ("OUTBOUND_TRUSTED_CA_PATHS", ca.as_str()),
        ("REMOTE_API_URL", upstream.url("/").as_str()),
        ("OUTBOUND_MTLS_ENABLED", "false"),
    ])
    .await;
    let shipment = |id: &str| {
        with_certificate(
            ClientRequest::get(&format!("/api/orders/{id}/shipment")),
            Some(&partner),
        )
    };

    for mode in MODES {
        // Act
        let response = host.send(mode, shipment("ord-1")).await;
        let bad_id = host.send(mode, shipment("a%2F..%2Fadmin")).await;
        let demo = host
            .send(
                mode,
                with_certificate(ClientRequest::get("/api/outbound-mtls"), Some(&partner)),
            )
            .await;

        // Assert
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
        let body = response.json();
        assert_eq!(body["shipment"]["carrier"], "acme", "{mode:?}");
        assert_eq!(body["partnerStatus"], 200, "{mode:?}");
        assert_eq!(body["caller"]["value"], PARTNER_CN, "{mode:?}");
        assert_eq!(bad_id.status, 400, "{mode:?}: {}", bad_id.body);
        assert_eq!(bad_id.json()["code"], "invalid_order_id", "{mode:?}");
        assert_eq!(demo.status, 404, "{mode:?}: the demo route is off");
    }
    let received = upstream.received();
    assert!(!received.is_empty(), "the partner's API was called");
    assert!(
        received
            .iter()
            .all(|request| request.request_line.starts_with("GET /shipments/ord-1 ")),
        "only the safe id reached the partner: {received:?}"
    );
    assert_eq!(
        upstream.client_leaves()[0],
        identity.der,
        "the partner saw the app's outbound identity"
    );
}

#[tokio::test]
async fn without_an_outbound_identity_the_shipment_answers_503_and_says_why() {
    let pki = TestPki::new("orders-no-outbound");
    let partner = pki.issue(&Leaf::client(PARTNER_CN));
    let host = start(&pki).await;
    let response = host
        .send(
            MODES[0],
            with_certificate(
                ClientRequest::get("/api/orders/ord-1/shipment"),
                Some(&partner),
            ),
        )
        .await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.json()["code"], "outbound_not_configured");
}
