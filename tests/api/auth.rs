//! Client-certificate authentication end to end: the built handler behind the host emulator, in
//! both host modes, with certificates made by rcgen at test time.

use rcgen::DnType;
use time::{Duration, OffsetDateTime};

use crate::support::inbound::{ALLOWED_CN, cert_info, start_trusting_root};
use crate::support::pki::{Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, HandlerProcess, MODES, Mode, free_port};

#[tokio::test]
async fn an_allowlisted_certificate_gets_its_identity_in_every_mode() {
    let pki = TestPki::new("auth-ok");
    let host = start_trusting_root(&pki, &[]).await;
    let client = pki.issue(&Leaf::client(ALLOWED_CN));
    for mode in MODES {
        let response = host.send(mode, cert_info(&client.header())).await;
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
        let body = response.json();
        assert_eq!(
            body["fingerprint"],
            client.sha1(),
            "{mode:?}: the reference's SHA-1 field"
        );
        assert_eq!(body["sha256"], client.sha256(), "{mode:?}");
        assert_eq!(body["commonName"], ALLOWED_CN, "{mode:?}");
        assert_eq!(body["matchedRule"], "common_name", "{mode:?}");
        assert_eq!(body["verifiedChain"], true, "{mode:?}");
        assert_eq!(body["issuer"], "CN=Test Root CA", "{mode:?}");
        assert!(
            body["pem"]
                .as_str()
                .unwrap_or_default()
                .starts_with("-----BEGIN CERTIFICATE-----\n"),
            "{mode:?}"
        );
        assert!(
            body["validTo"]
                .as_str()
                .unwrap_or_default()
                .ends_with(" GMT"),
            "{mode:?}: Node's date format"
        );
        assert!(
            body["notAfter"].as_str().unwrap_or_default().contains('T'),
            "{mode:?}: RFC 3339"
        );
    }
}

#[tokio::test]
async fn the_header_name_may_arrive_in_any_case_in_payload_mode() {
    let pki = TestPki::new("auth-case");
    let host = start_trusting_root(&pki, &[]).await;
    let client = pki.issue(&Leaf::client(ALLOWED_CN));
    for name in ["x-arr-clientcert", "X-ARR-CLIENTCERT", "X-Arr-ClientCert"] {
        let request = ClientRequest::get("/api/cert-info").header(name, &client.header());
        let response = host.send(Mode::Payload, request).await;
        assert_eq!(response.status, 200, "{name}: {}", response.body);
    }
}

#[tokio::test]
async fn refusals_carry_the_right_status_and_code_in_every_mode() {
    let pki = TestPki::new("auth-refusals");
    let crl = pki.write(
        "crl.pem",
        pki.root
            .crl(&[0xBAD], OffsetDateTime::now_utc() + Duration::days(7)),
    );
    let host = start_trusting_root(&pki, &[("CLIENT_CERT_CRL_PATHS", crl.as_str())]).await;
    let now = OffsetDateTime::now_utc();
    let allowed = pki.issue(&Leaf::client(ALLOWED_CN));
    let impostor_self_signed = pki.self_signed(&Leaf::client(ALLOWED_CN));
    let impostor_ou = pki.issue(&Leaf {
        subject: vec![
            (DnType::OrganizationalUnitName, format!("CN={ALLOWED_CN}")),
            (DnType::CommonName, "someone-else".into()),
        ],
        ..Leaf::client("unused")
    });
    let expired = pki.issue(&Leaf {
        not_before: now - Duration::days(30),
        not_after: now - Duration::days(1),
        ..Leaf::client(ALLOWED_CN)
    });
    let server_only = pki.issue(&Leaf {
        server_auth_only: true,
        ..Leaf::client(ALLOWED_CN)
    });
    let revoked = pki.issue(&Leaf {
        serial: 0xBAD,
        ..Leaf::client(ALLOWED_CN)
    });
    let truncated = &allowed.header()[..allowed.header().len() / 2];
    let cases: Vec<(ClientRequest, u16, &str, &str)> = vec![
        (
            ClientRequest::get("/api/cert-info"),
            403,
            "cert_missing",
            "no header",
        ),
        (cert_info(""), 403, "cert_missing", "empty header"),
        (
            cert_info("not base64 at all!"),
            400,
            "cert_malformed",
            "garbage",
        ),
        (cert_info(truncated), 400, "cert_malformed", "truncated DER"),
        (
            cert_info(&"A".repeat(20_000)),
            400,
            "cert_malformed",
            "oversized header",
        ),
        (
            cert_info(&impostor_self_signed.header()),
            403,
            "cert_untrusted",
            "self-signed with an allowed CN",
        ),
        (
            cert_info(&impostor_ou.header()),
            403,
            "cert_not_allowed",
            "an OU that reads CN=<allowed>",
        ),
        (cert_info(&expired.header()), 403, "cert_expired", "expired"),
        (
            cert_info(&server_only.header()),
            403,
            "cert_wrong_usage",
            "serverAuth-only EKU",
        ),
        (
            cert_info(&pki.root.cert.header()),
            403,
            "cert_wrong_usage",
            "the CA itself presented as a client",
        ),
        (
            cert_info(&revoked.header()),
            403,
            "cert_revoked",
            "a revoked serial",
        ),
        (
            cert_info(&allowed.header()).header("X-ARR-ClientCert", &allowed.header()),
            403,
            "cert_ambiguous",
            "a repeated header",
        ),
        (
            ClientRequest::get("/api/outbound-mtls"),
            403,
            "cert_missing",
            "outbound-mtls is protected by the same filter",
        ),
    ];
    for (request, status, code, reason) in cases {
        for mode in MODES {
            let response = host.send(mode, request.clone()).await;
            assert_eq!(
                response.status, status,
                "{reason} ({mode:?}): {}",
                response.body
            );
            let body = response.json();
            assert_eq!(body["code"], code, "{reason} ({mode:?})");
            let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
            assert_eq!(
                keys,
                ["code", "error"],
                "{reason} ({mode:?}): nothing but code and message"
            );
        }
    }
}

#[tokio::test]
async fn the_reference_messages_are_kept_for_its_two_refusals() {
    let pki = TestPki::new("auth-messages");
    let host = start_trusting_root(&pki, &[]).await;
    let stranger = pki.issue(&Leaf::client("stranger.example"));
    let missing = host
        .send(Mode::Forwarding, ClientRequest::get("/api/cert-info"))
        .await;
    assert_eq!(missing.json()["error"], "client certificate header missing");
    let refused = host
        .send(Mode::Forwarding, cert_info(&stranger.header()))
        .await;
    assert_eq!(
        refused.json()["error"],
        "client certificate is not allowlisted"
    );
}

#[tokio::test]
async fn a_pinned_thumbprint_needs_no_ca_in_any_spelling() {
    let pki = TestPki::new("auth-pins");
    let pinned = pki.self_signed(&Leaf::client("pinned.example"));
    let sha1 = pinned.sha1();
    let spaced: String = sha1
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let coloned = spaced.replace(' ', ":");
    for spelling in [
        sha1.clone(),
        sha1.to_lowercase(),
        coloned,
        spaced,
        pinned.sha256(),
    ] {
        let host =
            FunctionsHost::start(&[("ALLOWED_CLIENT_CERT_THUMBPRINTS", spelling.as_str())]).await;
        let response = host
            .send(Mode::Forwarding, cert_info(&pinned.header()))
            .await;
        assert_eq!(
            response.status, 200,
            "pin spelled {spelling:?}: {}",
            response.body
        );
        assert!(
            response.json()["matchedRule"]
                .as_str()
                .unwrap_or_default()
                .starts_with("thumbprint:")
        );
    }
}

#[tokio::test]
async fn with_no_allowlist_every_protected_request_is_refused_and_the_log_says_so() {
    let pki = TestPki::new("auth-closed");
    let host = FunctionsHost::start(&[]).await;
    let client = pki.issue(&Leaf::client(ALLOWED_CN));
    let response = host
        .send(Mode::Forwarding, cert_info(&client.header()))
        .await;
    assert_eq!(response.status, 403, "fail closed: {}", response.body);
    assert!(
        host.process
            .output()
            .contains("every protected request is refused"),
        "{}",
        host.process.output()
    );
    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await;
    assert_eq!(health.status, 200, "health stays open");
}

#[test]
fn names_without_a_trusted_ca_stop_the_start_unless_explicitly_allowed() {
    let mut refused = HandlerProcess::spawn(
        free_port(),
        &[("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED_CN)],
    );
    let status = refused.wait_exit(std::time::Duration::from_secs(10));
    assert_eq!(status.code(), Some(64));
    assert!(
        refused
            .output()
            .contains("ALLOWED_CLIENT_CERT_COMMON_NAMES"),
        "{}",
        refused.output()
    );
}

#[tokio::test]
async fn the_migration_setting_admits_unverified_names_with_a_warning() {
    let pki = TestPki::new("auth-unverified");
    let host = FunctionsHost::start(&[
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED_CN),
        ("CLIENT_CERT_ALLOW_UNVERIFIED_NAMES", "true"),
    ])
    .await;
    let self_signed = pki.self_signed(&Leaf::client(ALLOWED_CN));
    let response = host
        .send(Mode::Forwarding, cert_info(&self_signed.header()))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["verifiedChain"], false);
    let output = host.process.wait_for_output(
        "accepted on an unverified name",
        std::time::Duration::from_secs(1),
    );
    assert!(
        output.contains("CLIENT_CERT_ALLOW_UNVERIFIED_NAMES=true"),
        "startup warning"
    );
    assert!(
        output.contains("accepted on an unverified name"),
        "a warning on the decision it affects:\n{output}"
    );
}

#[tokio::test]
async fn cert_info_can_be_removed_while_the_rest_stays_protected() {
    let pki = TestPki::new("auth-disabled");
    let host = start_trusting_root(&pki, &[("CERT_INFO_ENABLED", "false")]).await;
    let client = pki.issue(&Leaf::client(ALLOWED_CN));
    for mode in MODES {
        let response = host.send(mode, cert_info(&client.header())).await;
        assert_eq!(response.status, 404, "{mode:?}: {}", response.body);
    }
}

#[tokio::test]
async fn a_leaf_under_an_intermediate_needs_the_intermediate_configured() {
    let pki = TestPki::new("auth-intermediate");
    let client = pki.issue_under_intermediate(&Leaf::client(ALLOWED_CN));
    let without = start_trusting_root(&pki, &[]).await;
    let response = without
        .send(Mode::Forwarding, cert_info(&client.header()))
        .await;
    assert_eq!(
        response.json()["code"],
        "cert_untrusted",
        "the front end forwards the leaf only"
    );
    let intermediate = pki.write("intermediate.pem", &pki.intermediate.cert.pem);
    let with = start_trusting_root(
        &pki,
        &[("CLIENT_CERT_INTERMEDIATE_CA_PATHS", intermediate.as_str())],
    )
    .await;
    let response = with
        .send(Mode::Forwarding, cert_info(&client.header()))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn certificate_bodies_never_reach_the_log() {
    let pki = TestPki::new("auth-logs");
    let host = start_trusting_root(&pki, &[]).await;
    let client = pki.issue(&Leaf::client(ALLOWED_CN));
    let stranger = pki.issue(&Leaf::client("stranger.example"));
    host.send(Mode::Forwarding, cert_info(&client.header()))
        .await;
    host.send(Mode::Payload, cert_info(&stranger.header()))
        .await;
    let output = host
        .process
        .wait_for_output(&stranger.sha256(), std::time::Duration::from_secs(1));
    assert!(
        output.contains(&client.sha256()),
        "decisions are logged with the SHA-256:\n{output}"
    );
    for header in [client.header(), stranger.header()] {
        assert!(
            !output.contains(&header[..40]),
            "a certificate body reached the log"
        );
    }
}

/// Copies of `template` (whose serial is `SERIAL`) with the serial replaced by `n`: a new
/// certificate for the cache each time, at no signing cost, with a signature that no longer
/// verifies.
fn reserialed(template: &[u8], n: u64) -> String {
    use base64::Engine as _;
    const SERIAL: u64 = 0x1122_3344_5566_7788;
    let at = template
        .windows(8)
        .position(|window| window == SERIAL.to_be_bytes())
        .expect("the serial in the template");
    let mut der = template.to_vec();
    // 0x40 in the first byte keeps the INTEGER positive and minimal (DER).
    der[at..at + 8].copy_from_slice(&((n & (u64::MAX >> 2)) | (1 << 62)).to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[tokio::test]
async fn new_allowlisted_callers_are_served_through_a_flood_of_forgeries_naming_the_ca() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let pki = TestPki::new("auth-flood");
    let host = Arc::new(start_trusting_root(&pki, &[]).await);
    let template = pki.forge(&Leaf {
        serial: 0x1122_3344_5566_7788,
        ..Leaf::client("flood.invalid")
    });
    let (stop, counter) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(1)),
    );
    let flood: Vec<_> = (0..128)
        .map(|_| {
            let (host, stop, counter) =
                (Arc::clone(&host), Arc::clone(&stop), Arc::clone(&counter));
            let template = template.der.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let header = reserialed(&template, counter.fetch_add(1, Ordering::Relaxed));
                    statuses.push(host.send(Mode::Forwarding, cert_info(&header)).await.status);
                }
                statuses
            })
        })
        .collect();
    // The first wave fills the flood's lane at once (later refusals come after a pause).
    while counter.load(Ordering::Relaxed) < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let mut allowlisted = Vec::new();
    for serial in 0..20 {
        let fresh = pki.issue(&Leaf {
            serial: 0x5000 + serial,
            ..Leaf::client(ALLOWED_CN)
        });
        allowlisted.push(
            host.send(Mode::Forwarding, cert_info(&fresh.header()))
                .await
                .status,
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut flooded = Vec::new();
    for task in flood {
        flooded.extend(task.await.expect("flood task"));
    }

    assert!(
        flooded.contains(&503),
        "the flood filled its lane (else this shows nothing): {} requests, none shed",
        flooded.len()
    );
    assert!(
        flooded.iter().all(|status| [403, 503].contains(status)),
        "forgeries are refused or shed, never admitted: {:?}",
        flooded
            .iter()
            .filter(|status| ![403, 503].contains(*status))
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        allowlisted, [200; 20],
        "every new allowlisted caller is served"
    );
}
