//! Faults while running: an upstream that resets mid-body, a CRL file replaced with garbage,
//! and SIGTERM with many requests in flight.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::support::pki::{Leaf, TestPki};
use crate::support::upstream::Reply;
use crate::support::{ClientRequest, FunctionsHost, MODES, Mode, mtls_upstream};

const CALLER_CN: &str = "caller.example";

/// A handler that trusts the test CA, admits [`CALLER_CN`] and calls `url`.
async fn start(pki: &TestPki, url: &str, extra: &[(&str, &str)]) -> FunctionsHost {
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let identity = pki.issue(&Leaf {
        serial: 0x3003,
        ..Leaf::client("outbound.example")
    });
    let p12 = pki.write(
        "identity.p12",
        pki.pkcs12(&identity.key_der, &[&identity], "pw"),
    );
    let mut env = vec![
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
        ("OUTBOUND_CLIENT_CERT_PATH", p12.as_str()),
        ("OUTBOUND_CLIENT_CERT_PASSWORD", "pw"),
        ("OUTBOUND_TRUSTED_CA_PATHS", ca.as_str()),
        ("REMOTE_API_URL", url),
        ("OUTBOUND_TIMEOUT_MS", "5000"),
    ];
    env.extend_from_slice(extra);
    FunctionsHost::start(&env).await
}

#[tokio::test]
async fn an_upstream_that_resets_mid_body_is_a_502_and_the_next_call_works() {
    let pki = TestPki::new("fault-reset");
    let caller = pki.issue(&Leaf::client(CALLER_CN));
    let body = vec![b'x'; 2048];
    let cut = mtls_upstream(
        &pki,
        Reply {
            cut_after: Some(200),
            ..Reply::ok(body)
        },
    )
    .await;
    let host = start(&pki, &cut.url("/"), &[]).await;
    let request =
        ClientRequest::get("/api/outbound-mtls").header("X-ARR-ClientCert", &caller.header());
    for attempt in 0..3 {
        let response = host.send(Mode::Forwarding, request.clone()).await;
        assert_eq!(response.status, 502, "attempt {attempt}: {}", response.body);
        assert_eq!(
            response.json()["code"],
            "upstream_unreachable",
            "attempt {attempt}"
        );
    }
    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await;
    assert_eq!(health.status, 200, "the handler is unharmed");
}

#[tokio::test]
async fn a_crl_replaced_with_garbage_keeps_the_last_good_one_in_force() {
    let pki = TestPki::new("fault-crl");
    let crl_text = pki.root.crl(
        &[0xDEAD],
        OffsetDateTime::now_utc() + time::Duration::days(7),
    );
    let crl = pki.write("root.crl.pem", crl_text);
    let host = start(
        &pki,
        "https://127.0.0.1:9/",
        &[
            ("CLIENT_CERT_CRL_PATHS", crl.as_str()),
            ("CLIENT_CERT_CRL_RELOAD_SECONDS", "1"),
        ],
    )
    .await;
    let revoked = pki.issue(&Leaf {
        serial: 0xDEAD,
        ..Leaf::client(CALLER_CN)
    });
    let good = pki.issue(&Leaf {
        serial: 0xBEEF,
        ..Leaf::client(CALLER_CN)
    });
    let cert_info = |issued: &crate::support::pki::Issued| {
        ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", &issued.header())
    };
    assert_eq!(
        host.send(Mode::Forwarding, cert_info(&revoked))
            .await
            .json()["code"],
        "cert_revoked"
    );

    std::fs::write(
        &crl,
        "-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n",
    )
    .expect("overwrite");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !host.process.output().contains("crl reload failed") {
        assert!(
            Instant::now() < deadline,
            "the failed reload is logged:\n{}",
            host.process.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let still_revoked = host.send(Mode::Forwarding, cert_info(&revoked)).await;
    assert_eq!(
        still_revoked.json()["code"],
        "cert_revoked",
        "the last good CRL stays in force"
    );
    let still_good = host.send(Mode::Forwarding, cert_info(&good)).await;
    assert_eq!(still_good.status, 200, "{}", still_good.body);
}

#[tokio::test]
async fn sigterm_under_load_loses_no_accepted_request() {
    let pki = TestPki::new("fault-sigterm");
    let caller = pki.issue(&Leaf::client(CALLER_CN));
    let slow = mtls_upstream(
        &pki,
        Reply {
            delay: Duration::from_millis(400),
            ..Reply::ok("slow but fine")
        },
    )
    .await;
    let mut host = start(&pki, &slow.url("/"), &[]).await;
    let request =
        ClientRequest::get("/api/outbound-mtls").header("X-ARR-ClientCert", &caller.header());
    let in_flight: Vec<_> = (0..40)
        .map(|i| host.send(MODES[i % MODES.len()], request.clone()))
        .collect();
    let load = futures_util::future::join_all(in_flight);
    // SIGTERM once every request is inside the handler, waiting on the upstream.
    let signal = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while slow.requests() < 40 {
            assert!(
                Instant::now() < deadline,
                "only {} requests reached the upstream",
                slow.requests()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        host.process.terminate();
    };
    let (responses, ()) = tokio::join!(load, signal);
    let failed: Vec<_> = responses.iter().filter(|r| r.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of 40 in-flight requests failed: {:?}",
        failed.len(),
        failed.first()
    );
    let status = host.process.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "clean exit after draining: {status}");
}
