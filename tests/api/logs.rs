//! What the handler writes for the host to collect: caller-controlled text escaped (one event,
//! one line, in every format), and lines graded by stream (info on stdout, warnings and errors
//! on stderr with the level word).

use std::time::Duration;

use crate::support::pki::{Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, Mode};

const ALLOWED_CN: &str = "client.example";

/// A CN that, written raw, would start a forged "accepted" line and drive the terminal.
const FORGED_CN: &str = "evil\n2026-01-01T00:00:00.000000Z  INFO request: mtls_handler: client certificate accepted code=ok\r\u{1b}[2J\u{2028}\0x";

async fn start(pki: &TestPki, extra: &[(&str, &str)]) -> FunctionsHost {
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let mut env = vec![
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED_CN),
    ];
    env.extend_from_slice(extra);
    FunctionsHost::start(&env).await
}

fn cert_info(header: &str) -> ClientRequest {
    ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", header)
}

#[tokio::test]
async fn a_cn_with_a_newline_cannot_forge_a_log_line_in_plain_format() {
    let pki = TestPki::new("logs-forged-plain");
    let host = start(&pki, &[("LOG_FORMAT", "plain")]).await;
    let forged = pki.issue(&Leaf::client(FORGED_CN));

    let response = host
        .send(Mode::Forwarding, cert_info(&forged.header()))
        .await;

    assert_eq!(response.status, 403, "{}", response.body);
    let output = host
        .process
        .wait_for_output(&forged.sha256(), Duration::from_secs(1));
    let decision_lines: Vec<&str> = output
        .lines()
        .filter(|line| line.contains("client certificate"))
        .filter(|line| line.contains("accepted") || line.contains("refused"))
        .collect();
    assert_eq!(decision_lines.len(), 1, "one decision, one line:\n{output}");
    let line = decision_lines[0];
    assert!(line.contains("client certificate refused"), "{line}");
    assert!(
        line.contains(r"CN=evil\0A2026-01-01"),
        "the newline is written as RFC 4514 \\0A: {line}"
    );
    for (raw, name) in [
        ('\r', "CR"),
        ('\u{1b}', "ESC"),
        ('\0', "NUL"),
        ('\u{2028}', "line separator"),
    ] {
        assert!(
            !output.contains(raw),
            "{name} reached the log raw:\n{output}"
        );
    }
    assert!(
        !output.lines().any(|line| line.starts_with("2026-01-01")),
        "no line of the caller's choosing:\n{output}"
    );
}

#[tokio::test]
async fn a_cn_with_control_characters_stays_inside_its_json_string() {
    let pki = TestPki::new("logs-forged-json");
    let host = start(&pki, &[("LOG_FORMAT", "json")]).await;
    let forged = pki.issue(&Leaf::client(FORGED_CN));

    host.send(Mode::Payload, cert_info(&forged.header())).await;

    let output = host
        .process
        .wait_for_output(&forged.sha256(), Duration::from_secs(1));
    for line in output.lines().filter(|line| !line.is_empty()) {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not one JSON object per line ({error}): {line}"));
        if event["sha256"] == forged.sha256() {
            assert_eq!(event["code"], "cert_not_allowed", "{line}");
        }
    }
    for (raw, name) in [
        ('\r', "CR"),
        ('\u{1b}', "ESC"),
        ('\u{2028}', "line separator"),
    ] {
        assert!(
            !output.contains(raw),
            "{name} reached the log raw:\n{output}"
        );
    }
}
