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

#[test]
fn identity_problems_stop_the_start_with_64_naming_the_setting() {
    let setup = Setup::new("out-startup");
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
    let cases = [
        ("missing.p12".to_owned(), PASSWORD, "a missing file"),
        (
            pki.write("mismatch.p12", mismatched),
            PASSWORD,
            "a key that does not match its certificate",
        ),
        (
            pki.write("expired.p12", expired),
            PASSWORD,
            "an expired identity",
        ),
        (
            pki.path("identity.p12").to_string_lossy().into_owned(),
            "wrong-password-value",
            "a wrong password",
        ),
        (
            pki.write("not-p12.p12", "garbage"),
            PASSWORD,
            "not a PKCS#12 file",
        ),
    ];
    for (path, password, reason) in cases {
        let mut env = setup.env("https://127.0.0.1:1/");
        env.retain(|(name, _)| {
            name != "OUTBOUND_CLIENT_CERT_PATH" && name != "OUTBOUND_CLIENT_CERT_PASSWORD"
        });
        env.push(("OUTBOUND_CLIENT_CERT_PATH".into(), path));
        env.push(("OUTBOUND_CLIENT_CERT_PASSWORD".into(), password.into()));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut handler = HandlerProcess::spawn(free_port(), &pairs);
        let status = handler.wait_exit(std::time::Duration::from_secs(10));
        let output = handler.output();
        assert_eq!(status.code(), Some(64), "{reason}:\n{output}");
        // A wrong password is blamed on the password setting, everything else on the file.
        let setting = if password == PASSWORD {
            "OUTBOUND_CLIENT_CERT_PATH"
        } else {
            "OUTBOUND_CLIENT_CERT_PASSWORD"
        };
        assert!(
            output.contains(setting),
            "{reason}: {setting} is named:\n{output}"
        );
        assert!(
            !output.contains(password),
            "{reason}: the password leaked:\n{output}"
        );
    }
}
