//! The three host modes (proxying, forwarding, payload), served by one set of function handlers.

use crate::support::{ClientRequest, FunctionsHost, MODES, Mode, PASS_THROUGH_MODES};

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
async fn health_answers_ok_with_the_version_in_every_mode() {
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
    for mode in PASS_THROUGH_MODES {
        let response = host.send(mode, ClientRequest::get("/API/Health")).await;
        assert_eq!(
            response.status, 200,
            "{mode:?}: the host matches routes case-insensitively and passes the original path"
        );
    }
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
    let requests =
        (0..200).map(|i| host.send(MODES[i % MODES.len()], ClientRequest::get("/api/health")));
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
        let request = ClientRequest::get("/api/cert-info")
            .query("code", secret)
            .header("x-functions-key", secret);
        assert_eq!(host.send(mode, request).await.status, 403, "{mode:?}");
    }
    let output = host.process.wait_for_count(
        "client certificate refused",
        MODES.len(),
        std::time::Duration::from_secs(1),
    );
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
async fn a_caller_sent_invocation_id_never_stands_for_the_hosts() {
    let host = FunctionsHost::start(&[("LOG_FORMAT", "json")]).await;
    let forged = "deadbeef-0000-4000-8000-00000000beef";
    let requests = [
        (Mode::Proxying, "x-ms-invocation-id", "the host's id"),
        (Mode::Forwarding, "x-ms-invocation-id", "the host's id"),
        (
            Mode::Proxying,
            "X-Azure-Functions-InvocationId",
            "the host's id",
        ),
        (
            Mode::Forwarding,
            "X-Azure-Functions-InvocationId",
            "ambiguous",
        ),
    ];

    for (mode, header, _) in requests {
        let request = ClientRequest::get("/api/cert-info").header(header, forged);
        assert_eq!(host.send(mode, request).await.status, 403, "{mode:?}");
    }

    let output = host.process.wait_for_count(
        "client certificate refused",
        requests.len(),
        std::time::Duration::from_secs(1),
    );
    let spans: Vec<serde_json::Value> = output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "client certificate refused")
        .map(|line| line["span"].clone())
        .collect();
    assert_eq!(
        spans.len(),
        requests.len(),
        "one line per request:\n{output}"
    );
    for ((mode, header, expected), span) in requests.iter().zip(&spans) {
        let id = span["invocation_id"].as_str().unwrap_or_default();
        let case = format!("{mode:?} with a caller's {header}: {span}");
        if *expected == "ambiguous" {
            assert_eq!(id, "ambiguous", "{case}");
            let listed = span["invocation_ids"].as_str().unwrap_or_default();
            assert!(
                listed.starts_with(&format!("{forged},5b0a6b8e-")),
                "both values are listed, the caller's first: {case}"
            );
        } else {
            assert!(id.starts_with("5b0a6b8e-"), "{case}");
            assert!(span.get("invocation_ids").is_none(), "{case}");
        }
    }
}

#[tokio::test]
async fn proxying_mode_sends_what_the_host_sends() {
    // Arrange: a loopback server that records the raw request and answers 200.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let recorder = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut raw = Vec::new();
        let mut buffer = [0_u8; 4096];
        while !raw.ends_with(b"0\r\n\r\n") {
            let read = socket.read(&mut buffer).await.expect("read");
            assert_ne!(read, 0, "connection closed before the chunked body ended");
            raw.extend_from_slice(&buffer[..read]);
        }
        let reply = b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\nconnection: close\r\nkeep-alive: timeout=5\r\n\r\nok";
        socket.write_all(reply).await.expect("write");
        String::from_utf8(raw).expect("ASCII request")
    });
    let request = ClientRequest::get("/api/Echo")
        .method("POST")
        .query("a", "1")
        .query("a", "2")
        .header("Host", "spoofed.example")
        .header("X-Forwarded-For", "198.51.100.1")
        .header("Proxy-Authorization", "Basic c2VjcmV0")
        .header("TE", "trailers")
        .header("X-ARR-ClientCert", "MIIB");
    let request = ClientRequest {
        body: Some("streamed body".into()),
        ..request
    };
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let client = reqwest::Client::new();

    // Act
    let response = crate::support::proxying::proxy(
        &client,
        &format!("http://127.0.0.1:{port}"),
        &request,
        "11111111-2222-3333-4444-555555555555",
    )
    .await;
    let raw = recorder.await.expect("recorder");

    // Assert: §6, as the handler sees it.
    let lower = raw.to_ascii_lowercase();
    assert!(
        raw.starts_with("POST /api/Echo?a=1&a=2 HTTP/1.1\r\n"),
        "original method, path and query:\n{raw}"
    );
    for (expected, reason) in [
        (
            format!("host: 127.0.0.1:{port}\r\n"),
            "Host is the handler's",
        ),
        (
            "x-forwarded-host: mtls-handler-test.azurewebsites.net\r\n".into(),
            "the original Host moves to X-Forwarded-Host",
        ),
        ("x-forwarded-proto: https\r\n".into(), "X-Forwarded-Proto"),
        (
            format!(
                "x-forwarded-for: {}\r\n",
                crate::support::proxying::CLIENT_IP
            ),
            "X-Forwarded-For is set, not appended",
        ),
        (
            "x-ms-invocation-id: 11111111-2222-3333-4444-555555555555\r\n".into(),
            "x-ms-invocation-id",
        ),
        (
            "x-azure-functions-invocationid: 11111111-2222-3333-4444-555555555555\r\n".into(),
            "X-Azure-Functions-InvocationId",
        ),
        (
            "x-arr-clientcert: MIIB\r\n".to_ascii_lowercase(),
            "other headers pass",
        ),
        (
            "transfer-encoding: chunked\r\n".into(),
            "the body is streamed",
        ),
    ] {
        assert!(lower.contains(&expected), "{reason}:\n{raw}");
    }
    for absent in [
        "spoofed.example",
        "198.51.100.1",
        "proxy-authorization",
        "\r\nte:",
    ] {
        assert!(
            !lower.contains(absent),
            "{absent} must not reach the handler:\n{raw}"
        );
    }
    assert!(raw.contains("streamed body"), "the body arrives:\n{raw}");
    assert_eq!(response.status, 201, "the status passes through");
    assert_eq!(response.body, "ok");
    assert!(
        response.header("keep-alive").is_none(),
        "hop-by-hop response headers are dropped"
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

/// `GET /api/health` whose head (request line, headers, blank line) is exactly `total` bytes,
/// written in pieces of `piece` bytes; the status line of the answer.
fn status_of_a_head(port: u16, total: usize, piece: usize) -> String {
    use std::io::{Read, Write};
    let start = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ";
    let end = b"\r\n\r\n";
    let mut head = start.to_vec();
    head.resize(total - end.len(), b'a');
    head.extend_from_slice(end);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    for chunk in head.chunks(piece) {
        if stream.write_all(chunk).is_err() {
            break; // refused before the whole head arrived; the answer is waiting
        }
    }
    let mut answer = [0u8; 64];
    let read = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_request_head_over_the_stated_limit_is_431_however_it_arrives() {
    let host = FunctionsHost::start(&[]).await;
    let limit = mtls_handler::http_server::MAX_REQUEST_HEAD_BYTES;
    for piece in [usize::MAX, 1000, 16 * 1024, 64 * 1024] {
        let served = status_of_a_head(host.process.port, limit, piece);
        let refused = status_of_a_head(host.process.port, limit + 1, piece);
        assert_eq!(
            served, "HTTP/1.1 200 OK",
            "{limit} bytes in {piece}-byte writes"
        );
        assert_eq!(
            refused,
            "HTTP/1.1 431 Request Header Fields Too Large",
            "{} bytes in {piece}-byte writes",
            limit + 1
        );
    }
}
