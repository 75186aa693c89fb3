//! Outbound mutual TLS end to end: the built handler calls a real mutual-TLS upstream on
//! loopback (in this test process) with its PKCS#12 identity.

use time::{Duration, OffsetDateTime};

use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::upstream::{Reply, Upstream};
use crate::support::{
    ClientRequest, FunctionsHost, HandlerProcess, MODES, Mode, free_port, mtls_upstream,
};

const CALLER_CN: &str = "caller.example";
const PASSWORD: &str = "p12-password-value";

struct Setup {
    pki: TestPki,
    caller: Issued,
    identity: Issued,
}

impl Setup {
    fn new(name: &str) -> Self {
        let pki = TestPki::new(name);
        let caller = pki.issue(&Leaf::client(CALLER_CN));
        let identity = pki.issue(&Leaf {
            serial: 0x2002,
            ..Leaf::client("outbound.example")
        });
        pki.write("ca.pem", &pki.root.cert.pem);
        let p12 = pki.pkcs12(&identity.key_der, &[&identity, &pki.root.cert], PASSWORD);
        pki.write("identity.p12", p12);
        Self {
            pki,
            caller,
            identity,
        }
    }

    /// An upstream that requires a client certificate from the test root CA.
    async fn upstream(&self, reply: Reply) -> Upstream {
        mtls_upstream(&self.pki, reply).await
    }

    fn env(&self, url: &str) -> Vec<(String, String)> {
        let path = |name: &str| self.pki.path(name).to_string_lossy().into_owned();
        vec![
            ("CLIENT_CERT_TRUSTED_CA_PATHS".into(), path("ca.pem")),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES".into(), CALLER_CN.into()),
            ("OUTBOUND_CLIENT_CERT_PATH".into(), path("identity.p12")),
            ("OUTBOUND_CLIENT_CERT_PASSWORD".into(), PASSWORD.into()),
            ("OUTBOUND_TRUSTED_CA_PATHS".into(), path("ca.pem")),
            ("REMOTE_API_URL".into(), url.into()),
            ("OUTBOUND_TIMEOUT_MS".into(), "800".into()),
            ("OUTBOUND_MAX_RESPONSE_BYTES".into(), "4096".into()),
        ]
    }

    async fn start(&self, url: &str, overrides: &[(&str, &str)]) -> FunctionsHost {
        let mut env = self.env(url);
        for (name, value) in overrides {
            env.retain(|(existing, _)| existing != name);
            env.push(((*name).into(), (*value).into()));
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionsHost::start(&pairs).await
    }

    fn call(&self) -> ClientRequest {
        ClientRequest::get("/api/outbound-mtls").header("X-ARR-ClientCert", &self.caller.header())
    }
}

#[tokio::test]
async fn the_right_identity_reaches_the_upstream_in_every_mode() {
    let setup = Setup::new("out-ok");
    let upstream = setup.upstream(Reply::ok("hello from upstream")).await;
    let host = setup
        .start(&upstream.url("/health?code=upstream-key-value"), &[])
        .await;
    for mode in MODES {
        let response = host.send(mode, setup.call()).await;
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
        let body = response.json();
        assert_eq!(body["statusCode"], 200, "{mode:?}");
        assert_eq!(body["body"], "hello from upstream", "{mode:?}");
        assert!(body["elapsedMs"].is_u64(), "{mode:?}: {body}");
    }
    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await
        .json();
    assert!(
        health["outboundIdentityNotAfter"]
            .as_str()
            .unwrap_or_default()
            .contains('T'),
        "{health}"
    );
    assert!(
        !host.process.output().contains(PASSWORD),
        "the password reached the log"
    );
}

#[tokio::test]
async fn one_tls_handshake_serves_many_sequential_calls() {
    let setup = Setup::new("out-reuse");
    let upstream = setup.upstream(Reply::ok("pong")).await;
    let host = setup.start(&upstream.url("/"), &[]).await;
    for i in 0..20 {
        let response = host.send(Mode::Forwarding, setup.call()).await;
        assert_eq!(response.status, 200, "call {i}: {}", response.body);
    }
    assert_eq!(
        upstream.handshakes(),
        1,
        "the client is built once and its connection reused"
    );
}

#[tokio::test]
async fn upstream_failures_map_to_codes_without_upstream_text() {
    let setup = Setup::new("out-failures");
    let slow = setup
        .upstream(Reply {
            delay: std::time::Duration::from_secs(3),
            ..Reply::ok("late")
        })
        .await;
    let big = setup
        .upstream(Reply {
            chunked: true,
            ..Reply::ok(vec![b'x'; 64 * 1024])
        })
        .await;
    let closed = format!("https://127.0.0.1:{}/?sig=upstream-key-value", free_port());
    let other_ca = TestPki::new("out-other-ca");
    let other_ca_path = other_ca.write("other-ca.pem", &other_ca.root.cert.pem);
    let trusted = setup.upstream(Reply::ok("never seen")).await;
    let cases = [
        (
            slow.url("/"),
            vec![],
            504,
            "upstream_timeout",
            "a stalled upstream",
        ),
        (
            big.url("/"),
            vec![],
            502,
            "upstream_body_too_large",
            "a body over the cap",
        ),
        (
            closed,
            vec![],
            502,
            "upstream_unreachable",
            "nothing listening",
        ),
        (
            trusted.url("/"),
            vec![("OUTBOUND_TRUSTED_CA_PATHS", other_ca_path.as_str())],
            502,
            "upstream_tls",
            "an upstream the client does not trust",
        ),
    ];
    for (url, overrides, status, code, reason) in cases {
        let host = setup.start(&url, &overrides).await;
        let started = std::time::Instant::now();
        let response = host.send(Mode::Forwarding, setup.call()).await;
        assert_eq!(response.status, status, "{reason}: {}", response.body);
        let body = response.json();
        assert_eq!(body["code"], code, "{reason}");
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(2),
            "{reason}: only code and message"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{reason}: within the timeout"
        );
    }
}

#[tokio::test]
async fn without_an_outbound_identity_the_function_answers_503() {
    let setup = Setup::new("out-off");
    let ca = setup.pki.path("ca.pem").to_string_lossy().into_owned();
    let host = FunctionsHost::start(&[
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
    ])
    .await;
    let response = host.send(Mode::Forwarding, setup.call()).await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.json()["code"], "outbound_not_configured");
}

/// The health answer's `outbound` object.
async fn outbound_health(host: &FunctionsHost) -> serde_json::Value {
    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await;
    assert_eq!(
        health.status, 200,
        "health answers 200 whatever outbound's state"
    );
    health.json()["outbound"].clone()
}

#[tokio::test]
async fn an_identity_that_cannot_load_degrades_outbound_only_and_names_the_fix() {
    // Arrange: one bad identity per case; the inbound settings are right.
    let setup = Setup::new("out-degraded");
    let pki = &setup.pki;
    let stranger = pki.issue(&Leaf::client("stranger.example"));
    let mismatched = pki.pkcs12(&stranger.key_der, &[&setup.identity], PASSWORD);
    let now = OffsetDateTime::now_utc();
    let old = pki.issue(&Leaf {
        not_before: now - Duration::days(60),
        not_after: now - Duration::days(1),
        ..Leaf::client("old.example")
    });
    let expired = pki.pkcs12(&old.key_der, &[&old], PASSWORD);
    let identity = pki.path("identity.p12").to_string_lossy().into_owned();
    let path = "OUTBOUND_CLIENT_CERT_PATH";
    let cases = [
        (
            Some(pki.path("missing.p12").to_string_lossy().into_owned()),
            PASSWORD,
            "identity_missing",
            path,
            "a missing file",
        ),
        (
            Some(pki.write("mismatch.p12", mismatched)),
            PASSWORD,
            "identity_invalid",
            path,
            "a key that does not match its certificate",
        ),
        (
            Some(pki.write("expired.p12", expired)),
            PASSWORD,
            "identity_expired",
            path,
            "an expired identity",
        ),
        (
            Some(identity),
            "wrong-password-value",
            "wrong_password",
            "OUTBOUND_CLIENT_CERT_PASSWORD",
            "a wrong password",
        ),
        (
            Some(pki.write("not-p12.p12", "garbage")),
            PASSWORD,
            "identity_invalid",
            path,
            "not a PKCS#12 file",
        ),
        (
            None,
            PASSWORD,
            "identity_not_configured",
            path,
            "REMOTE_API_URL without an identity",
        ),
    ];
    let upstream = setup.upstream(Reply::ok("never reached")).await;
    for (file, password, reason, setting, description) in cases {
        let mut env = setup.env(&upstream.url("/"));
        env.retain(|(name, _)| {
            name != "OUTBOUND_CLIENT_CERT_PATH" && name != "OUTBOUND_CLIENT_CERT_PASSWORD"
        });
        if let Some(file) = &file {
            env.push(("OUTBOUND_CLIENT_CERT_PATH".into(), file.clone()));
            env.push(("OUTBOUND_CLIENT_CERT_PASSWORD".into(), password.into()));
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

        // Act: the handler starts (FunctionsHost waits for readiness, or fails on an exit).
        let host = FunctionsHost::start(&pairs).await;
        let outbound = outbound_health(&host).await;
        let inbound = host
            .send(
                Mode::Forwarding,
                ClientRequest::get("/api/cert-info")
                    .header("X-ARR-ClientCert", &setup.caller.header()),
            )
            .await;
        let demo = host.send(Mode::Forwarding, setup.call()).await;

        // Assert
        assert_eq!(
            outbound["status"], "unavailable",
            "{description}: {outbound}"
        );
        assert_eq!(outbound["reason"], reason, "{description}: {outbound}");
        assert_eq!(outbound["setting"], setting, "{description}: {outbound}");
        assert_eq!(
            inbound.status, 200,
            "{description}: inbound works: {}",
            inbound.body
        );
        assert_eq!(demo.status, 503, "{description}: {}", demo.body);
        assert_eq!(
            demo.json()["code"],
            "outbound_identity_unavailable",
            "{description}"
        );
        let output = host.process.output();
        let error = output
            .lines()
            .find(|line| {
                line.contains("ERROR") && line.contains("outbound mutual TLS is unavailable")
            })
            .unwrap_or_else(|| panic!("{description}: no ERROR line:\n{output}"));
        assert!(
            error.contains(setting),
            "{description}: the setting is named: {error}"
        );
        assert!(
            !output.contains(password),
            "{description}: the password leaked:\n{output}"
        );
        assert!(
            !demo.body.contains(".p12"),
            "{description}: no path to callers: {}",
            demo.body
        );
        assert_eq!(
            upstream.handshakes(),
            0,
            "{description}: nothing was presented"
        );
    }
}

#[tokio::test]
async fn an_identity_that_appears_after_startup_is_used_within_one_reload_period() {
    // Arrange: the file is not there yet (a certificate still being provisioned).
    let setup = Setup::new("out-late");
    let upstream = setup.upstream(Reply::ok("late but there")).await;
    let late = setup.pki.path("late.p12").to_string_lossy().into_owned();
    let host = setup
        .start(
            &upstream.url("/"),
            &[
                ("OUTBOUND_CLIENT_CERT_PATH", late.as_str()),
                ("OUTBOUND_CLIENT_CERT_RELOAD_SECONDS", "1"),
            ],
        )
        .await;
    assert_eq!(host.send(Mode::Forwarding, setup.call()).await.status, 503);

    // Act: the file appears, written beside and renamed into place.
    let identity = std::fs::read(setup.pki.path("identity.p12")).expect("identity");
    let staged = setup.pki.write("late.p12.tmp", identity);
    std::fs::rename(&staged, &late).expect("rename into place");
    let appeared = std::time::Instant::now();
    let mut response = host.send(Mode::Forwarding, setup.call()).await;
    while response.status != 200 && appeared.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        response = host.send(Mode::Forwarding, setup.call()).await;
    }

    // Assert: within one period (1 s) plus a load (slack for a busy machine), no restart.
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["body"], "late but there");
    assert!(
        appeared.elapsed() < std::time::Duration::from_millis(3000),
        "took {:?}",
        appeared.elapsed()
    );
    assert_eq!(outbound_health(&host).await["status"], "available");
    let output = host.process.output();
    assert!(output.contains("outbound identity reloaded"), "{output}");
    assert!(
        host.process.output().contains("identity_missing"),
        "{output}"
    );
}

#[tokio::test]
async fn outbound_mtls_enabled_false_removes_the_demo_route_and_keeps_the_identity() {
    let setup = Setup::new("out-demo-off");
    let upstream = setup.upstream(Reply::ok("not for the demo")).await;
    let host = setup
        .start(&upstream.url("/"), &[("OUTBOUND_MTLS_ENABLED", "false")])
        .await;

    for mode in MODES {
        let response = host.send(mode, setup.call()).await;
        assert_eq!(response.status, 404, "{mode:?}: {}", response.body);
    }
    let outbound = outbound_health(&host).await;
    assert_eq!(outbound["status"], "available", "{outbound}");
    assert_eq!(upstream.requests(), 0);
}

#[tokio::test]
async fn an_identity_without_remote_api_url_starts_and_the_demo_says_what_is_missing() {
    let setup = Setup::new("out-no-url");
    let mut env = setup.env("https://127.0.0.1:1/");
    env.retain(|(name, _)| name != "REMOTE_API_URL");
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let host = FunctionsHost::start(&pairs).await;

    let demo = host.send(Mode::Forwarding, setup.call()).await;

    assert_eq!(demo.status, 503, "{}", demo.body);
    assert_eq!(demo.json()["code"], "outbound_not_configured");
    assert_eq!(outbound_health(&host).await["status"], "available");
    assert!(
        !host.process.output().contains("ERROR"),
        "not an error: {}",
        host.process.output()
    );
}

#[test]
fn inbound_mistakes_still_stop_the_start_with_64_whatever_outbound_is() {
    // A missing CA file makes inbound judgement impossible: fatal, even beside an outbound slip.
    let setup = Setup::new("out-inbound-fatal");
    let mut env = setup.env("https://127.0.0.1:1/");
    env.retain(|(name, _)| {
        name != "CLIENT_CERT_TRUSTED_CA_PATHS" && name != "OUTBOUND_CLIENT_CERT_PATH"
    });
    env.push((
        "CLIENT_CERT_TRUSTED_CA_PATHS".into(),
        "/nonexistent/ca.pem".into(),
    ));
    env.push((
        "OUTBOUND_CLIENT_CERT_PATH".into(),
        "/nonexistent/identity.p12".into(),
    ));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let mut handler = HandlerProcess::spawn(free_port(), &pairs);
    let status = handler.wait_exit(std::time::Duration::from_secs(10));

    let output = handler.output();
    assert_eq!(status.code(), Some(64), "{output}");
    assert!(output.contains("CLIENT_CERT_TRUSTED_CA_PATHS"), "{output}");
    assert!(!output.contains(PASSWORD), "{output}");
}
