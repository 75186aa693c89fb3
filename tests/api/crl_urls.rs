//! CRLs from a distribution point (`CLIENT_CERT_CRL_URLS`), end to end: the built handler
//! fetches from a loopback point this test controls, in the background, and decides on what it
//! fetched. Reload period 1 s; tests wait for log lines or the point's counters, never a sleep.

use std::time::Duration;

use time::OffsetDateTime;

use crate::support::crl_point::{Answer, CrlPoint};
use crate::support::crl_spec::CrlSpec;
use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, Mode};

const CALLER_CN: &str = "crl-caller.example";
const CALLER_SERIAL: u64 = 0x4242;
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    pki: TestPki,
    caller: Issued,
}

impl Setup {
    fn new(name: &str) -> Self {
        let pki = TestPki::new(name);
        pki.write("ca.pem", &pki.root.cert.pem);
        let caller = pki.issue(&Leaf {
            serial: CALLER_SERIAL,
            ..Leaf::client(CALLER_CN)
        });
        Self { pki, caller }
    }

    /// The root's CRL revoking `serials`, numbered `number`, current for `valid_for`.
    fn crl(&self, serials: &[u64], number: u64, valid_for: time::Duration, etag: &str) -> Answer {
        let next_update = OffsetDateTime::now_utc() + valid_for;
        Answer::Crl {
            body: self
                .pki
                .root
                .crl_numbered(serials, number, next_update)
                .into_bytes(),
            etag: etag.to_owned(),
        }
    }

    async fn start(&self, point_url: &str) -> FunctionsHost {
        let ca = self.pki.path("ca.pem").to_string_lossy().into_owned();
        FunctionsHost::start(&[
            ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
            ("CLIENT_CERT_CRL_URLS", point_url),
            ("CLIENT_CERT_CRL_RELOAD_SECONDS", "1"),
        ])
        .await
    }

    async fn code(&self, host: &FunctionsHost) -> (u16, String) {
        let response = host
            .send(
                Mode::Forwarding,
                ClientRequest::get("/api/cert-info")
                    .header("X-ARR-ClientCert", &self.caller.header()),
            )
            .await;
        let code = response.json()["code"].as_str().unwrap_or("ok").to_owned();
        (response.status, code)
    }
}

/// Waits until `needle` has been logged `count` times; panics with the output otherwise.
fn wait_log(host: &FunctionsHost, needle: &str, count: usize) {
    let output = host.process.wait_for_count(needle, count, WAIT);
    assert!(
        output.matches(needle).count() >= count,
        "{needle:?} was not logged {count} time(s):\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_fetches_keep_the_last_good_crl_and_a_published_revocation_is_enforced() {
    let setup = Setup::new("crl-url-refresh");
    let point = CrlPoint::start(setup.crl(&[], 1, time::Duration::days(7), "\"v1\"")).await;
    let host = setup.start(&point.url()).await;
    assert_eq!(
        setup.code(&host).await,
        (200, "ok".into()),
        "admitted on the first crl"
    );
    let output = host.process.output();
    assert!(
        output.contains("crl source"),
        "the startup log shows the source:\n{output}"
    );
    assert!(output.contains("outcome=ok"), "{output}");

    // The conditional request path: the ETag goes back and the point answers 304.
    let deadline = std::time::Instant::now() + WAIT;
    while point.not_modified() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no conditional request was answered 304"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let impostor = TestPki::new("crl-url-impostor");
    let bad_signature = Answer::Crl {
        body: impostor
            .root
            .crl_numbered(
                &[CALLER_SERIAL],
                9,
                OffsetDateTime::now_utc() + time::Duration::days(7),
            )
            .into_bytes(),
        etag: "\"forged\"".into(),
    };
    let failures = [
        ("a 5xx", Answer::Status(503), "http status 503"),
        ("garbage", Answer::Garbage, "not a crl"),
        (
            "a same-named ca's signature",
            bad_signature,
            "signature does not verify",
        ),
        (
            "a redirect",
            Answer::Status(302),
            "redirect (http status 302) not followed",
        ),
        (
            "an older crl number",
            setup.crl(&[CALLER_SERIAL], 0, time::Duration::days(7), "\"v0\""),
            "older than",
        ),
    ];
    for (reason, answer, logged) in failures {
        point.set(answer);
        wait_log(&host, logged, 1);
        assert_eq!(
            setup.code(&host).await,
            (200, "ok".into()),
            "{reason} keeps the last good crl"
        );
    }
    let installed = host
        .process
        .output()
        .matches("distribution points installed")
        .count();

    let addr = point.stop().await;
    wait_log(&host, "connection failed", 1);
    assert_eq!(
        setup.code(&host).await,
        (200, "ok".into()),
        "a refused connection keeps it too"
    );

    let _point = CrlPoint::start_on(
        addr,
        setup.crl(&[CALLER_SERIAL], 2, time::Duration::days(7), "\"v2\""),
    )
    .await;
    wait_log(&host, "distribution points installed", installed + 1);
    assert_eq!(
        setup.code(&host).await,
        (403, "cert_revoked".into()),
        "the revocation published at the point is enforced"
    );
    let output = host.process.output();
    for line in output
        .lines()
        .filter(|line| line.contains("crl fetch failed"))
    {
        assert!(line.contains("WARN"), "failures are warnings: {line}");
        assert!(
            line.contains(&format!("127.0.0.1:{}/root.crl", addr.port())),
            "with the url: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_next_update_with_the_point_gone_the_status_is_unknown_and_refused() {
    let setup = Setup::new("crl-url-expiry");
    let point = CrlPoint::start(setup.crl(&[], 1, time::Duration::seconds(4), "\"short\"")).await;
    let host = setup.start(&point.url()).await;
    assert_eq!(
        setup.code(&host).await,
        (200, "ok".into()),
        "admitted while the crl is current"
    );

    point.stop().await;
    wait_log(&host, "reaches its nextUpdate soon", 1);
    wait_log(&host, "past its nextUpdate", 1);

    assert_eq!(
        setup.code(&host).await,
        (403, "cert_revocation_unknown".into()),
        "an expired crl is no crl"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_that_does_not_answer_at_startup_delays_serving_a_bounded_time_then_recovers() {
    let setup = Setup::new("crl-url-startup");
    let point = CrlPoint::start(Answer::Stall).await;
    let host = setup.start(&point.url()).await;
    wait_log(&host, "did not all answer in time; serving anyway", 1);
    assert_eq!(
        setup.code(&host).await,
        (403, "cert_revocation_unknown".into()),
        "with no crl yet, covered certificates are refused as unknown"
    );

    point.set(setup.crl(&[], 1, time::Duration::days(7), "\"late\""));
    wait_log(&host, "distribution points installed", 1);
    assert_eq!(
        setup.code(&host).await,
        (200, "ok".into()),
        "admitted as soon as the crl arrives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_crl_is_applied_on_its_base_and_a_base_that_announces_one_is_not_enough_alone() {
    let setup = Setup::new("crl-url-delta");
    let delta_point = CrlPoint::start(Answer::Status(404)).await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (hour, week) = (3_600, 7 * 86_400);
    let spec = |number| CrlSpec::new(number, now - hour, now + week);
    let signed = |spec: CrlSpec, etag: &str| Answer::Crl {
        body: setup.pki.root.crl_from(&spec),
        etag: etag.to_owned(),
    };
    // AD CS by default: a base CRL that points to its delta (freshestCRL).
    let base_point = CrlPoint::start(signed(
        spec(10).announcing_deltas(&delta_point.url()),
        "\"base-10\"",
    ))
    .await;
    let host = setup
        .start(&format!("{},{}", base_point.url(), delta_point.url()))
        .await;

    let base_alone = setup.code(&host).await;
    wait_log(&host, "announces delta crls", 1);
    delta_point.set(signed(spec(11).delta_of(10), "\"delta-11\""));
    wait_log(&host, "distribution points installed", 2);
    let with_its_delta = setup.code(&host).await;
    delta_point.set(signed(
        spec(12).delta_of(10).revoke(CALLER_SERIAL),
        "\"delta-12\"",
    ));
    wait_log(&host, "distribution points installed", 3);
    let revoked_in_the_delta = setup.code(&host).await;

    assert_eq!(
        base_alone,
        (403, "cert_revocation_unknown".into()),
        "a base that announces deltas is not enough on its own"
    );
    let output = host.process.output();
    assert!(
        output.contains(&delta_point.url()),
        "the warning names where the deltas are published:\n{output}"
    );
    assert_eq!(
        with_its_delta,
        (200, "ok".into()),
        "the base and its delta cover it"
    );
    assert_eq!(
        revoked_in_the_delta,
        (403, "cert_revoked".into()),
        "a revocation published in the delta is enforced"
    );
}
