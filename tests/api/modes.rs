//! Both host modes, served by one set of function handlers.

use crate::support::{ClientRequest, FunctionsHost, MODES, Mode};

#[tokio::test]
async fn readiness_probe_answers_at_the_root() {
    let host = FunctionsHost::start(&[]).await;
    let response = host
        .client()
        .get(format!("{}/", host.base_url()))
        .send()
        .await
        .expect("GET /");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn health_answers_ok_with_the_version_in_both_modes() {
    let host = FunctionsHost::start(&[]).await;
    for mode in MODES {
        let response = host.send(mode, ClientRequest::get("/api/health")).await;
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
        assert!(
            response
                .header("content-type")
                .unwrap_or_default()
                .starts_with("application/json"),
            "{mode:?}: JSON content type, got {:?}",
            response.header("content-type")
        );
        let body = response.json();
        assert_eq!(body["status"], "ok", "{mode:?}");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"), "{mode:?}");
    }
}

#[tokio::test]
async fn the_host_spelling_of_the_path_does_not_matter() {
    let host = FunctionsHost::start(&[]).await;
    let response = host
        .send(Mode::Forwarding, ClientRequest::get("/API/Health"))
        .await;
    assert_eq!(
        response.status, 200,
        "the host matches routes case-insensitively and forwards the original path"
    );
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let host = FunctionsHost::start(&[]).await;
    let direct = host
        .client()
        .get(format!("{}/api/nope", host.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(direct.status(), 404);
    let body: serde_json::Value =
        serde_json::from_str(&direct.text().await.expect("body")).expect("JSON body");
    assert_eq!(body["code"], "not_found");

    let payload = host
        .client()
        .post(format!("{}/NoSuchFunction", host.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"Data":{"req":{"Method":"GET"}},"Metadata":{}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(payload.status(), 404, "an unknown function name");
}

#[tokio::test]
async fn a_malformed_envelope_gets_a_json_envelope_with_a_400() {
    let host = FunctionsHost::start(&[]).await;
    for (payload, reason) in [
        ("", "empty body"),
        ("not json", "not JSON"),
        ("{\"Data\":{}}", "no Data.req"),
        (
            "{\"Data\":{\"req\":{\"Method\":\"GET\",\"Headers\":{\"X\":[1]}}}}",
            "non-string header value",
        ),
        ("null", "JSON null"),
    ] {
        let response = host
            .client()
            .post(format!("{}/health", host.base_url()))
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            200,
            "{reason}: the host fails on any non-2xx"
        );
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{reason}: {content_type}"
        );
        let rendered = crate::support::host::render_invocation_result(response, "res").await;
        assert_eq!(rendered.status, 400, "{reason}: {}", rendered.body);
        assert_eq!(rendered.json()["code"], "invalid_invocation", "{reason}");
    }
}

#[tokio::test]
async fn an_oversized_envelope_gets_a_413_envelope() {
    let host = FunctionsHost::start(&[]).await;
    let big = format!(
        "{{\"Data\":{{\"req\":{{\"Method\":\"GET\",\"Body\":\"{}\"}}}}}}",
        "a".repeat(mtls_handler::host::invocation::MAX_ENVELOPE_BYTES)
    );
    let response = host
        .client()
        .post(format!("{}/health", host.base_url()))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("request");
    let rendered = crate::support::host::render_invocation_result(response, "res").await;
    assert_eq!(rendered.status, 413);
}

#[tokio::test]
async fn two_hundred_concurrent_requests_all_succeed() {
    let host = FunctionsHost::start(&[]).await;
    let requests = (0..200).map(|i| {
        let mode = if i % 2 == 0 {
            Mode::Forwarding
        } else {
            Mode::Payload
        };
        host.send(mode, ClientRequest::get("/api/health"))
    });
    let responses = futures_util::future::join_all(requests).await;
    let failures: Vec<_> = responses.iter().filter(|r| r.status != 200).collect();
    assert!(
        failures.is_empty(),
        "{} of 200 failed: {:?}",
        failures.len(),
        failures.first()
    );
}

#[tokio::test]
async fn function_keys_and_query_strings_are_never_logged() {
    let host = FunctionsHost::start(&[]).await;
    let secret = "s3cr3t-function-key-value";
    for mode in MODES {
        let request = ClientRequest::get("/api/health")
            .query("code", secret)
            .header("x-functions-key", secret);
        assert_eq!(host.send(mode, request).await.status, 200, "{mode:?}");
    }
    let output =
        host.process
            .wait_for_count("finished processing", 2, std::time::Duration::from_secs(1));
    assert!(
        output.contains("invocation_id"),
        "requests are logged with their invocation id:\n{output}"
    );
    assert!(
        !output.contains(secret),
        "a function key reached the log:\n{output}"
    );
}

#[tokio::test]
async fn an_envelope_with_tens_of_thousands_of_header_names_is_a_400_not_a_dropped_connection() {
    let host = FunctionsHost::start(&[]).await;
    // Just past what an http::HeaderMap holds (32,768), and under the 1 MiB envelope cap.
    let mut request = ClientRequest::get("/api/health");
    for index in 0..33_000 {
        request = request.header(&format!("h{index}"), "v");
    }

    let response = host.send(Mode::Payload, request).await;

    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.json()["code"], "invalid_invocation");
    let after = host
        .send(Mode::Payload, ClientRequest::get("/api/health"))
        .await;
    assert_eq!(
        after.status, 200,
        "the handler still answers: {}",
        after.body
    );
}
