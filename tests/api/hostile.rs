//! Hostile input end to end (issue 9): what the HTTP layer and the handler's own caps let
//! through must agree, and no envelope or header takes a worker down.

use std::time::Duration;

use rcgen::DnType;

use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, HandlerProcess, MODES, free_port};

/// The largest `CLIENT_CERT_MAX_HEADER_BYTES` the handler accepts.
const LARGEST_CAP: usize = 256 * 1024;

/// A self-signed client certificate whose base64 header is exactly `length` bytes (a multiple
/// of 4), padded with an organizational unit.
fn certificate_with_header_length(pki: &TestPki, length: usize) -> Issued {
    let shaped = |padding: usize| {
        pki.self_signed(&Leaf {
            subject: vec![
                (DnType::CommonName, "big.example".into()),
                (DnType::OrganizationalUnitName, "x".repeat(padding)),
            ],
            ..Leaf::client("unused")
        })
    };
    // Self-signed: the subject is also the issuer, so each byte of padding counts twice.
    let target_der = i64::try_from(length / 4 * 3).expect("small");
    let mut padding = target_der / 2 - 500;
    for _ in 0..4 {
        let issued = shaped(usize::try_from(padding).expect("positive"));
        if issued.header().len() == length {
            return issued;
        }
        padding += (target_der - i64::try_from(issued.der.len()).expect("small")) / 2;
    }
    let issued = shaped(usize::try_from(padding).expect("positive"));
    assert_eq!(issued.header().len(), length, "the test certificate's size");
    issued
}

#[tokio::test]
async fn a_header_at_the_largest_cap_reaches_the_handler_and_one_byte_more_is_a_400() {
    let pki = TestPki::new("hostile-cap");
    let pinned = certificate_with_header_length(&pki, LARGEST_CAP);
    let cap = LARGEST_CAP.to_string();
    let host = FunctionsHost::start(&[
        ("CLIENT_CERT_MAX_HEADER_BYTES", cap.as_str()),
        ("ALLOWED_CLIENT_CERT_THUMBPRINTS", pinned.sha256().as_str()),
    ])
    .await;
    for mode in MODES {
        let at_cap =
            ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", &pinned.header());
        let over_cap = ClientRequest::get("/api/cert-info")
            .header("X-ARR-ClientCert", &format!("A{}", pinned.header()));

        let accepted = host.send(mode, at_cap).await;
        let refused = host.send(mode, over_cap).await;

        assert_eq!(accepted.status, 200, "{mode:?}: {}", accepted.body);
        assert_eq!(accepted.json()["commonName"], "big.example", "{mode:?}");
        assert_eq!(refused.status, 400, "{mode:?}: not 431: {}", refused.body);
        assert_eq!(refused.json()["code"], "cert_malformed", "{mode:?}");
    }
    host.process
        .wait_for_output("over the 262144-byte cap", Duration::from_secs(1));
}

#[test]
fn a_header_cap_the_http_layer_could_never_let_through_is_a_startup_error() {
    let over = (LARGEST_CAP + 1).to_string();
    let mut handler = HandlerProcess::spawn(
        free_port(),
        &[("CLIENT_CERT_MAX_HEADER_BYTES", over.as_str())],
    );

    let status = handler.wait_exit(Duration::from_secs(10));

    assert_eq!(status.code(), Some(64), "configuration errors exit with 64");
    let output = handler.output();
    assert!(
        output.contains("CLIENT_CERT_MAX_HEADER_BYTES") && output.contains("262144"),
        "the setting and its largest value are named:\n{output}"
    );
}
