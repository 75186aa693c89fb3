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
    // Self-signed: the subject is also the issuer, so each byte of padding counts twice. An
    // ECDSA signature is 70 to 72 bytes, so aim at the middle of the three DER lengths that
    // give this base64 length, and try again when the signature lands outside.
    let target_der = i64::try_from(length / 4 * 3 - 1).expect("small");
    let mut padding = target_der / 2 - 500;
    let mut issued = shaped(usize::try_from(padding).expect("positive"));
    for _ in 0..32 {
        if issued.header().len() == length {
            break;
        }
        padding += (target_der - i64::try_from(issued.der.len()).expect("small")) / 2;
        issued = shaped(usize::try_from(padding).expect("positive"));
    }
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

#[tokio::test]
async fn an_expired_trust_anchor_is_a_loud_startup_warning_and_vouches_for_nobody() {
    let pki = TestPki::new("hostile-expired-anchor");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "Expired Root CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(400);
    params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let expired = params.self_signed(&key).expect("self-signed");
    let ca = pki.write("expired.pem", expired.pem());
    let issuer = rcgen::Issuer::new(params, key);
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf.distinguished_name
        .push(DnType::CommonName, "client.example");
    let leaf = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    let header = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, leaf.der());
    let host = FunctionsHost::start(&[
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", "client.example"),
    ])
    .await;

    let warning = host
        .process
        .wait_for_output("expired or not yet valid", Duration::from_secs(1));
    let response = host
        .send(
            crate::support::Mode::Forwarding,
            ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", &header),
        )
        .await;

    assert!(
        warning.contains("CLIENT_CERT_TRUSTED_CA_PATHS") && warning.contains("CN=Expired Root CA"),
        "the warning names the setting and the subject:\n{warning}"
    );
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(response.json()["code"], "cert_untrusted");
}
