//! The front end's posture, end to end: the built handler gets a managed-identity token from a
//! loopback identity endpoint and reads its site from a loopback ARM over HTTPS (a test CA in
//! `CLIENT_CERT_POSTURE_ARM_CA_PATHS`), rechecking every second; the tests switch what ARM and
//! the identity endpoint answer and watch `health`, the protected functions and the log.
//! Waits poll `health` or the log with a deadline; no test sleeps for a fixed time.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::azure::{Arm, ArmAnswer, IDENTITY_HEADER_VALUE, IdentityEndpoint, TokenAnswer};
use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::upstream::Reply;
use crate::support::{
    ClientRequest, FunctionsHost, HandlerProcess, MODES, Mode, free_port, loopback_acceptor,
    mtls_upstream,
};

const SUBSCRIPTION: &str = "00000000-1111-2222-3333-444444444444";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const CALLER_CN: &str = "posture-caller.example";
const WAIT: Duration = Duration::from_secs(20);
const HOUR: Duration = Duration::from_secs(3600);

/// The resource id of the site `name`.
fn site(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-posture/providers/Microsoft.Web/sites/{name}"
    )
}

/// A test PKI, an identity endpoint, ARM, and an allowlisted caller.
struct Azure {
    pki: TestPki,
    identity: IdentityEndpoint,
    arm: Arm,
    caller: Issued,
}

impl Azure {
    async fn new(name: &str) -> Self {
        let pki = TestPki::new(name);
        pki.write("ca.pem", &pki.root.cert.pem);
        let identity = IdentityEndpoint::start(TokenAnswer::Token { valid_for: HOUR }).await;
        let arm = Arm::start(loopback_acceptor(&pki)).await;
        let caller = pki.issue(&Leaf::client(CALLER_CN));
        Self {
            pki,
            identity,
            arm,
            caller,
        }
    }

    /// The settings of a handler that checks `site`, with `overrides` replacing or adding.
    fn env(&self, site: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let ca = self.pki.path("ca.pem").to_string_lossy().into_owned();
        let mut env: Vec<(String, String)> = [
            ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
            ("CLIENT_CERT_POSTURE_SITE_ID", site),
            ("CLIENT_CERT_POSTURE_ARM_ENDPOINT", &self.arm.endpoint()),
            ("CLIENT_CERT_POSTURE_ARM_CA_PATHS", ca.as_str()),
            ("CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID", CLIENT_ID),
            ("CLIENT_CERT_POSTURE_RECHECK_SECONDS", "1"),
            ("CLIENT_CERT_POSTURE_TIMEOUT_MS", "1000"),
            ("IDENTITY_ENDPOINT", &self.identity.url()),
            ("IDENTITY_HEADER", IDENTITY_HEADER_VALUE),
            ("WEBSITE_INSTANCE_ID", "posture-test-instance"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        for (name, value) in overrides {
            env.retain(|(existing, _)| existing != name);
            env.push(((*name).to_owned(), (*value).to_owned()));
        }
        env
    }

    /// A handler checking `site`, which ARM answers with `answer`.
    async fn start(
        &self,
        site: &str,
        answer: ArmAnswer,
        overrides: &[(&str, &str)],
    ) -> FunctionsHost {
        self.arm.set(site, answer);
        let env = self.env(site, overrides);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionsHost::start(&pairs).await
    }

    /// A handler checking a safe `site` with the identity `client_id`.
    async fn start_as(&self, site: &str, client_id: &str) -> FunctionsHost {
        let overrides = [("CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID", client_id)];
        self.start(site, ArmAnswer::safe(), &overrides).await
    }

    /// `path` with the allowlisted caller's certificate.
    fn call(&self, path: &str) -> ClientRequest {
        ClientRequest::get(path).header("X-ARR-ClientCert", &self.caller.header())
    }
}

/// What `health` says of the posture.
async fn posture(host: &FunctionsHost) -> String {
    let response = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await;
    assert_eq!(response.status, 200, "health answers: {}", response.body);
    response.json()["posture"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Polls `health` until the posture is `expected`.
async fn wait_posture(host: &FunctionsHost, expected: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = posture(host).await;
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "posture stayed {now:?}, expected {expected:?}:\n{}",
            host.process.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the log until `needle` has been written `count` times; returns the output.
async fn wait_log(process: &HandlerProcess, needle: &str, count: usize) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let output = process.output();
        if output.matches(needle).count() >= count {
            return output;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} was not logged {count} time(s):\n{output}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until `condition` holds.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that `request` is refused with `code` (and `Retry-After`) in every host mode.
async fn assert_refused_everywhere(host: &FunctionsHost, request: &ClientRequest, code: &str) {
    for mode in MODES {
        let response = host.send(mode, request.clone()).await;
        assert_eq!(
            response.status, 503,
            "{mode:?} {}: {}",
            request.path, response.body
        );
        assert_eq!(response.json()["code"], code, "{mode:?} {}", request.path);
        let retry_after: u64 = response
            .header("retry-after")
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| {
                panic!("{mode:?}: a Retry-After in seconds: {:?}", response.headers)
            });
        assert!(
            (1..=2).contains(&retry_after),
            "{mode:?}: the next check is within a recheck: {retry_after}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safe_front_end_admits_in_every_mode_after_asking_as_the_platform_expects() {
    let azure = Azure::new("posture-safe").await;
    let site = site("safe-app");
    let host = azure.start(&site, ArmAnswer::safe(), &[]).await;

    wait_posture(&host, "verified").await;
    let startup = wait_log(&host.process, "front end posture verified", 1).await;

    for mode in MODES {
        let response = host.send(mode, azure.call("/api/cert-info")).await;
        assert_eq!(response.status, 200, "{mode:?}: {}", response.body);
    }
    let token = &azure.identity.requests()[0];
    assert_eq!(
        token.headers.get("x-identity-header").map(String::as_str),
        Some(IDENTITY_HEADER_VALUE)
    );
    assert_eq!(
        token.query("resource"),
        Some(azure.arm.endpoint().as_str()),
        "the ARM endpoint is the audience"
    );
    assert_eq!(token.query("api-version"), Some("2019-08-01"));
    assert_eq!(token.query("client_id"), Some(CLIENT_ID));
    let reads = azure.arm.requests();
    let paths: Vec<&str> = reads
        .iter()
        .take(2)
        .map(|seen| seen.path.as_str())
        .collect();
    assert_eq!(paths, vec![site.clone(), format!("{site}/config/web")]);
    for read in reads.iter().take(2) {
        assert_eq!(
            read.query("api-version"),
            Some("2024-04-01"),
            "{}",
            read.path
        );
        assert_eq!(
            read.headers.get("authorization").map(String::as_str),
            Some("Bearer token-1")
        );
    }
    for field in [
        "identity_endpoint=present",
        "identity_header=present",
        "front end posture verified",
    ] {
        assert!(startup.contains(field), "{field}:\n{startup}");
    }
    assert!(
        !startup.contains(IDENTITY_HEADER_VALUE),
        "the header's value is never logged"
    );
    assert!(!startup.contains("token-1"), "the token is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unsafe_front_end_is_refused_and_an_excluded_health_route_is_not() {
    let azure = Azure::new("posture-variants").await;
    let exclusion =
        |paths: &str| ArmAnswer::safe_with(&[("clientCertExclusionPaths", json!(paths))]);
    let cases: Vec<(&str, ArmAnswer, &str)> = vec![
        (
            "disabled",
            ArmAnswer::safe_with(&[("clientCertEnabled", json!(false))]),
            "unsafe",
        ),
        (
            "optional",
            ArmAnswer::safe_with(&[("clientCertMode", json!("Optional"))]),
            "unsafe",
        ),
        (
            "interactive",
            ArmAnswer::safe_with(&[("clientCertMode", json!("OptionalInteractiveUser"))]),
            "unsafe",
        ),
        (
            "mode-absent",
            ArmAnswer::safe_without("clientCertMode"),
            "unsafe",
        ),
        (
            "http-allowed",
            ArmAnswer::safe_with(&[("httpsOnly", json!(false))]),
            "unsafe",
        ),
        ("prefix", exclusion("/api"), "unsafe"),
        ("route-case", exclusion("/API/Cert-Info"), "unsafe"),
        (
            "second-entry",
            exclusion("/api/health;/api/cert-info"),
            "unsafe",
        ),
        ("root", exclusion("/"), "unsafe"),
        ("string-prefix", exclusion("/ap"), "unsafe"),
        ("health-only", exclusion("/api/health"), "verified"),
    ];
    let azure = &azure;
    let hosts = futures_util::future::join_all(cases.iter().map(|(name, answer, _)| async move {
        azure.start(&site(name), answer.clone(), &[]).await
    }))
    .await;

    for ((name, _, expected), host) in cases.iter().zip(&hosts) {
        let deadline = Instant::now() + WAIT;
        while posture(host).await == "unverified" {
            assert!(
                Instant::now() < deadline,
                "{name}: no verdict:\n{}",
                host.process.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            posture(host).await,
            *expected,
            "{name}:\n{}",
            host.process.output()
        );
        let response = host
            .send(Mode::Forwarding, azure.call("/api/cert-info"))
            .await;
        if *expected == "unsafe" {
            assert_eq!(response.status, 503, "{name}");
            assert_eq!(response.json()["code"], "posture_unsafe", "{name}");
            assert!(
                response.header("retry-after").is_some(),
                "{name}: Retry-After"
            );
            let output = wait_log(&host.process, "front end posture unsafe", 1).await;
            assert!(
                output.contains("az functionapp update --ids"),
                "{name}: the fix is named:\n{output}"
            );
        } else {
            assert_eq!(response.status, 200, "{name}: {}", response.body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_end_that_turns_unsafe_is_refused_from_the_next_check_and_logged_once_per_check() {
    let azure = Azure::new("posture-turns").await;
    let site = site("turning-app");
    let host = azure.start(&site, ArmAnswer::safe(), &[]).await;
    wait_posture(&host, "verified").await;

    let reads_before = azure.arm.site_reads(&site);
    azure.arm.set(
        &site,
        ArmAnswer::safe_with(&[("clientCertMode", json!("Optional"))]),
    );
    wait_posture(&host, "unsafe").await;
    let reads_at_verdict = azure.arm.site_reads(&site);
    for _ in 0..20 {
        host.send(Mode::Proxying, azure.call("/api/cert-info"))
            .await;
    }
    let output = wait_log(&host.process, "front end posture unsafe", 2).await;

    assert!(
        reads_at_verdict <= reads_before + 2,
        "the first check that read the change decided ({reads_before} reads before, {reads_at_verdict} at the verdict)"
    );
    assert_refused_everywhere(&host, &azure.call("/api/cert-info"), "posture_unsafe").await;
    let lines = output
        .lines()
        .filter(|line| line.contains("front end posture unsafe"));
    let error_lines: Vec<&str> = lines.collect();
    assert!(
        error_lines.len() <= azure.arm.site_reads(&site),
        "one ERROR line per check, not per request: {} lines",
        error_lines.len()
    );
    let line = error_lines[0];
    for part in [
        "ERROR",
        "clientCertMode is \\\"Optional\\\"",
        "clientCertMode=Required",
        &site,
    ] {
        assert!(line.contains(part), "{part}: {line}");
    }

    azure.arm.set(&site, ArmAnswer::safe());
    wait_posture(&host, "verified").await;
    let response = host.send(Mode::Payload, azure.call("/api/cert-info")).await;
    assert_eq!(response.status, 200, "fixed: {}", response.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_protected_functions_wait_and_recover_when_the_endpoint_does() {
    let azure = Azure::new("posture-token").await;
    azure.identity.set(TokenAnswer::Status(500));
    let host = azure
        .start(&site("token-app"), ArmAnswer::safe(), &[])
        .await;

    wait_log(&host.process, "front end posture not verified yet", 1).await;
    assert_refused_everywhere(&host, &azure.call("/api/cert-info"), "posture_unverified").await;
    let root = host
        .client()
        .get(format!("{}/", host.base_url()))
        .send()
        .await
        .expect("GET /");
    assert_eq!(root.status(), 200, "the readiness probe answers throughout");
    assert_eq!(posture(&host).await, "unverified");
    assert!(
        host.process
            .output()
            .contains("the identity endpoint is unavailable (http status 500)")
    );

    azure.identity.set(TokenAnswer::Token { valid_for: HOUR });
    wait_posture(&host, "verified").await;
    let response = host
        .send(Mode::Forwarding, azure.call("/api/cert-info"))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definite_failures_are_unverified_and_say_what_to_fix() {
    let azure = Azure::new("posture-definite").await;
    type Overrides<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, ArmAnswer, Overrides<'_>, Vec<&str>)> = vec![
        (
            "forbidden",
            ArmAnswer::Status(403),
            vec![],
            vec!["Reader role on the site", "up to 30 minutes"],
        ),
        (
            "missing",
            ArmAnswer::Status(404),
            vec![],
            vec!["ARM has no site", "CLIENT_CERT_POSTURE_SITE_ID"],
        ),
        (
            "wrong-id",
            ArmAnswer::WrongId,
            vec![],
            vec!["ARM answered for", "the answer is not used"],
        ),
        (
            "unassigned",
            ArmAnswer::safe(),
            vec![("IDENTITY_HEADER", "not-the-header")],
            vec![
                "identity endpoint answered 400",
                "CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID",
            ],
        ),
        (
            "no-identity",
            ArmAnswer::safe(),
            vec![("IDENTITY_ENDPOINT", "")],
            vec!["IDENTITY_ENDPOINT and IDENTITY_HEADER are not both set"],
        ),
        (
            "copied-setting",
            ArmAnswer::safe(),
            vec![("WEBSITE_SITE_NAME", "another-app")],
            vec!["another app's settings prove nothing"],
        ),
    ];
    let azure = &azure;
    let hosts = futures_util::future::join_all(cases.iter().map(
        |(name, answer, overrides, _)| async move {
            azure.start(&site(name), answer.clone(), overrides).await
        },
    ))
    .await;

    for ((name, _, _, words), host) in cases.iter().zip(&hosts) {
        let output = wait_log(&host.process, "front end posture unverified", 1).await;
        let line = output
            .lines()
            .find(|line| line.contains("front end posture unverified"))
            .unwrap_or_default();
        assert!(line.contains("ERROR"), "{name}: {line}");
        for word in words {
            assert!(line.contains(word), "{name}: {word:?} in {line}");
        }
        assert_eq!(posture(host).await, "unverified", "{name}");
        let response = host
            .send(Mode::Forwarding, azure.call("/api/cert-info"))
            .await;
        assert_eq!(response.json()["code"], "posture_unverified", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_failures_keep_the_last_verdict_and_a_recovery_is_taken_at_once() {
    let azure = Azure::new("posture-arm500").await;
    let site = site("flaky-app");
    let host = azure.start(&site, ArmAnswer::Status(500), &[]).await;
    wait_log(&host.process, "front end posture not verified yet", 1).await;
    assert_eq!(posture(&host).await, "unverified", "no verdict to keep yet");

    azure.arm.set(&site, ArmAnswer::safe());
    wait_posture(&host, "verified").await;
    azure.arm.set(&site, ArmAnswer::Status(503));
    let output = wait_log(
        &host.process,
        "keeping the last verdict for the grace period",
        1,
    )
    .await;

    assert!(
        output.contains("ARM is unavailable (http status 503)"),
        "{output}"
    );
    assert_eq!(
        posture(&host).await,
        "verified",
        "kept through the grace period"
    );
    let response = host
        .send(Mode::Proxying, azure.call("/api/cert-info"))
        .await;
    assert_eq!(response.status, 200, "still served: {}", response.body);
    azure
        .arm
        .set(&site, ArmAnswer::safe_with(&[("httpsOnly", json!(false))]));
    wait_posture(&host, "unsafe").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_arm_times_out_while_the_probe_and_health_answer() {
    let azure = Azure::new("posture-slow").await;
    let site = site("slow-app");
    let host = azure
        .start(
            &site,
            ArmAnswer::Stall,
            &[("CLIENT_CERT_POSTURE_TIMEOUT_MS", "300")],
        )
        .await;
    wait_until("ARM to be asked", || azure.arm.site_reads(&site) >= 1).await;

    let root = host
        .client()
        .get(format!("{}/", host.base_url()))
        .send()
        .await
        .expect("GET /");
    let health = posture(&host).await;
    let output = wait_log(&host.process, "ARM: timed out", 1).await;

    assert_eq!(root.status(), 200, "GET / answers while ARM stalls");
    assert_eq!(health, "unverified", "health answers while ARM stalls");
    let line = output
        .lines()
        .find(|line| line.contains("ARM: timed out"))
        .unwrap_or_default();
    assert!(
        line.contains("WARN"),
        "a timeout is transient, a warning: {line}"
    );
    assert_refused_everywhere(&host, &azure.call("/api/cert-info"), "posture_unverified").await;
    azure.arm.set(&site, ArmAnswer::safe());
    wait_posture(&host, "verified").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_garbled_or_redirected_arm_answer_is_not_believed() {
    let azure = Azure::new("posture-garbage").await;
    let cases = [
        (
            "huge",
            ArmAnswer::Huge(4 * 1024 * 1024),
            "response larger than 1048576 bytes",
        ),
        (
            "garbage",
            ArmAnswer::Garbage,
            "ARM's answer is not a resource",
        ),
        (
            "redirect",
            ArmAnswer::Status(307),
            "ARM answered with a redirect (http status 307), not followed",
        ),
    ];
    let azure = &azure;
    let hosts = futures_util::future::join_all(cases.iter().map(|(name, answer, _)| async move {
        azure.start(&site(name), answer.clone(), &[]).await
    }))
    .await;

    for ((name, _, words), host) in cases.iter().zip(&hosts) {
        let output = wait_log(&host.process, words, 1).await;
        assert!(
            output.contains("front end posture not verified yet"),
            "{name}: {output}"
        );
        assert_eq!(posture(host).await, "unverified", "{name}");
        let response = host.send(Mode::Payload, azure.call("/api/cert-info")).await;
        assert_eq!(response.json()["code"], "posture_unverified", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reaches_a_protected_function_while_unverified_or_unsafe_in_any_mode() {
    let azure = Azure::new("posture-gate").await;
    let identity = azure.pki.issue(&Leaf {
        serial: 0x3003,
        ..Leaf::client("outbound.example")
    });
    let p12 = azure
        .pki
        .pkcs12(&identity.key_der, &[&identity, &azure.pki.root.cert], "");
    let p12_path = azure.pki.write("identity.p12", p12);
    let ca = azure.pki.path("ca.pem").to_string_lossy().into_owned();
    let upstream = mtls_upstream(&azure.pki, Reply::ok("from upstream")).await;
    let url = upstream.url("/hello");
    let site = site("gated-app");
    let outbound = [
        ("OUTBOUND_CLIENT_CERT_PATH", p12_path.as_str()),
        ("OUTBOUND_TRUSTED_CA_PATHS", ca.as_str()),
        ("REMOTE_API_URL", url.as_str()),
    ];
    let host = azure.start(&site, ArmAnswer::Status(403), &outbound).await;
    wait_log(&host.process, "front end posture unverified", 1).await;

    let requests = [
        azure.call("/api/cert-info"),
        azure.call("/api/outbound-mtls"),
        ClientRequest::get("/api/outbound-mtls"),
        ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", "forged"),
    ];
    for request in &requests {
        assert_refused_everywhere(&host, request, "posture_unverified").await;
    }
    azure.arm.set(
        &site,
        ArmAnswer::safe_with(&[("clientCertExclusionPaths", json!("/api/out"))]),
    );
    wait_posture(&host, "unsafe").await;
    for request in &requests {
        assert_refused_everywhere(&host, request, "posture_unsafe").await;
    }
    let not_accepted = host
        .process
        .output()
        .matches("client certificate accepted")
        .count();
    assert_eq!(upstream.requests(), 0, "the upstream was never called");
    assert_eq!(not_accepted, 0, "no certificate was judged");

    azure.arm.set(&site, ArmAnswer::safe());
    wait_posture(&host, "verified").await;
    let response = host
        .send(Mode::Forwarding, azure.call("/api/outbound-mtls"))
        .await;
    assert_eq!(response.status, 200, "verified: {}", response.body);
    assert_eq!(upstream.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_mode_serves_an_unsafe_front_end_and_says_so() {
    let azure = Azure::new("posture-warn").await;
    let unsafe_site = ArmAnswer::safe_with(&[("clientCertEnabled", json!(false))]);
    let host = azure
        .start(
            &site("warned-app"),
            unsafe_site,
            &[("CLIENT_CERT_POSTURE", "warn")],
        )
        .await;

    wait_posture(&host, "unsafe").await;
    let output = wait_log(&host.process, "front end posture unsafe", 1).await;

    let response = host
        .send(Mode::Forwarding, azure.call("/api/cert-info"))
        .await;
    assert_eq!(response.status, 200, "warn serves: {}", response.body);
    assert!(
        host.process
            .stderr()
            .contains("CLIENT_CERT_POSTURE=warn: an unsafe"),
        "a startup warning:\n{output}"
    );
    assert!(
        output.contains("protected functions are served anyway"),
        "{output}"
    );
}

#[tokio::test]
async fn off_in_azure_is_a_startup_warning_naming_the_settings() {
    let host = FunctionsHost::start(&[("WEBSITE_INSTANCE_ID", "posture-test-instance")]).await;

    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await;
    let stderr = host
        .process
        .wait_for_output("CLIENT_CERT_POSTURE is off in Azure", WAIT);

    assert_eq!(health.json()["posture"], "off");
    for setting in [
        "CLIENT_CERT_POSTURE_SITE_ID",
        "CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID",
    ] {
        assert!(stderr.contains(setting), "{setting}:\n{stderr}");
    }
    assert!(
        host.process.stderr().contains("WARN"),
        "on stderr, graded a warning"
    );
}

#[test]
fn enforcing_without_a_site_id_stops_the_start_naming_the_setting() {
    let mut process = HandlerProcess::spawn(free_port(), &[("CLIENT_CERT_POSTURE", "enforce")]);
    let status = process.wait_exit(WAIT);
    assert_eq!(status.code(), Some(64));
    assert!(
        process
            .stderr()
            .contains("CLIENT_CERT_POSTURE_SITE_ID: CLIENT_CERT_POSTURE=enforce needs"),
        "{}",
        process.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_reused_until_shortly_before_it_expires() {
    let azure = Azure::new("posture-refresh").await;
    let (long, short) = (site("long-token-app"), site("short-token-app"));
    let long_id = "22222222-2222-3333-4444-555555555555";
    let short_id = "33333333-2222-3333-4444-555555555555";
    let long_host = azure.start_as(&long, long_id).await;
    wait_until("three checks", || azure.arm.site_reads(&long) >= 3).await;
    azure.identity.set(TokenAnswer::Token {
        valid_for: Duration::from_secs(120),
    });
    let short_host = azure.start_as(&short, short_id).await;
    wait_until("three checks", || azure.arm.site_reads(&short) >= 3).await;

    let asked = |id: &str| {
        azure
            .identity
            .requests()
            .iter()
            .filter(|seen| seen.query("client_id") == Some(id))
            .count()
    };
    assert_eq!(asked(long_id), 1, "a token good for an hour is held");
    assert!(
        asked(short_id) >= 3,
        "a token within 5 minutes of expiry is replaced at each check"
    );
    drop((long_host, short_host));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_check_reads_the_front_end_once_and_prints_the_verdict_with_the_values() {
    let azure = Azure::new("posture-check").await;
    let cases = [
        (
            "check-safe",
            ArmAnswer::safe(),
            Some(0),
            vec![
                "front end settings read: clientCertEnabled=true clientCertMode=\"Required\" clientCertExclusionPaths=(absent) httpsOnly=true http20Enabled=false minTlsVersion=\"1.2\"",
                "front end verdict: verified",
            ],
        ),
        (
            "check-excluded",
            ArmAnswer::safe_with(&[("clientCertExclusionPaths", json!("/api"))]),
            Some(1),
            vec![
                "front end verdict: unsafe",
                "clientCertExclusionPaths entry \"/api\" covers the protected route",
                "to fix: remove \"/api\"",
            ],
        ),
        (
            "check-forbidden",
            ArmAnswer::Status(403),
            Some(1),
            vec!["front end verdict: unverified", "Reader role on the site"],
        ),
    ];
    for (name, answer, strict_code, words) in cases {
        let site = site(name);
        azure.arm.set(&site, answer);
        let env = azure.env(&site, &[]);

        let checked = tokio::task::spawn_blocking(move || {
            let pairs: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            crate::check::check(&["--strict"], &pairs)
        })
        .await
        .expect("handler check ran");

        assert_eq!(
            checked.code, strict_code,
            "{name}:\n{}{}",
            checked.stdout, checked.stderr
        );
        for word in words {
            assert!(
                checked.stdout.contains(word),
                "{name}: {word:?} in\n{}",
                checked.stdout
            );
        }
    }
}
