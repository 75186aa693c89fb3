//! `handler check`: the built binary, with the same settings as a running `serve`, must give the
//! same status and code for every kind of certificate, and say why.

use std::process::Command;

use time::{Duration, OffsetDateTime};

use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, Mode};

const ALLOWED_CN: &str = "client.example";
const REVOKED_SERIAL: u64 = 0x2002;

/// What `handler check` printed and its exit code.
pub(crate) struct Checked {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs the built `handler check` with `args`, from the app root, with only `env` set.
pub(crate) fn check(args: &[&str], env: &[(&str, &str)]) -> Checked {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("check")
        .args(args)
        .current_dir(root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("FUNCTIONS_APP_ROOT_PATH", root)
        .envs(env.iter().copied())
        .output()
        .expect("run handler check");
    Checked {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn settings(pki: &TestPki) -> Vec<(&'static str, String)> {
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let crl = pki.write(
        "ca.crl.pem",
        pki.root.crl(
            &[REVOKED_SERIAL],
            OffsetDateTime::now_utc() + Duration::days(7),
        ),
    );
    vec![
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca),
        ("CLIENT_CERT_CRL_PATHS", crl),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED_CN.to_owned()),
    ]
}

fn cases(pki: &TestPki) -> Vec<(&'static str, Issued)> {
    let now = OffsetDateTime::now_utc();
    vec![
        ("admitted", pki.issue(&Leaf::client(ALLOWED_CN))),
        ("untrusted", pki.self_signed(&Leaf::client(ALLOWED_CN))),
        (
            "expired",
            pki.issue(&Leaf {
                not_before: now - Duration::days(30),
                not_after: now - Duration::days(1),
                ..Leaf::client(ALLOWED_CN)
            }),
        ),
        (
            "revoked",
            pki.issue(&Leaf {
                serial: REVOKED_SERIAL,
                ..Leaf::client(ALLOWED_CN)
            }),
        ),
        (
            "wrong usage",
            pki.issue(&Leaf {
                client_auth: false,
                server_auth_only: true,
                ..Leaf::client(ALLOWED_CN)
            }),
        ),
        (
            "not allowlisted",
            pki.issue(&Leaf::client("stranger.example")),
        ),
    ]
}

#[tokio::test]
async fn check_and_serve_agree_on_status_and_code_for_every_kind_of_certificate() {
    let pki = TestPki::new("check-agree");
    let owned = settings(&pki);
    let env: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = FunctionsHost::start(&env).await;
    let mut codes = Vec::new();

    for (kind, cert) in cases(&pki) {
        let served = host
            .send(
                Mode::Forwarding,
                ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", &cert.header()),
            )
            .await;
        let checked = check(&["--header", &cert.header(), "--json"], &env);

        let trace: serde_json::Value = serde_json::from_str(&checked.stdout)
            .unwrap_or_else(|error| panic!("{kind}: not JSON ({error}): {}", checked.stdout));
        assert_eq!(trace["status"], served.status, "{kind}: status");
        let served_code = if served.status == 200 {
            serde_json::Value::Null
        } else {
            served.json()["code"].clone()
        };
        assert_eq!(trace["code"], served_code, "{kind}: code");
        assert_eq!(
            checked.code,
            Some(if served.status == 200 { 0 } else { 1 }),
            "{kind}: exit code"
        );
        assert!(
            trace["steps"]
                .as_array()
                .is_some_and(|steps| !steps.is_empty()),
            "{kind}: steps"
        );
        if kind == "revoked" {
            let revocation = trace["steps"]
                .as_array()
                .and_then(|steps| steps.iter().find(|step| step["step"] == "revocation"))
                .map(|step| step["detail"].to_string())
                .unwrap_or_default();
            assert!(
                revocation.contains("ca.crl.pem") && revocation.contains("nextUpdate"),
                "the CRL that decided, with its dates: {revocation}"
            );
        }
        codes.push(trace["code"].as_str().unwrap_or("admitted").to_owned());
    }

    assert_eq!(
        codes,
        [
            "admitted",
            "cert_untrusted",
            "cert_expired",
            "cert_revoked",
            "cert_wrong_usage",
            "cert_not_allowed"
        ],
        "each case is the refusal it stands for"
    );
}

#[test]
fn a_certificate_file_is_judged_as_the_front_end_would_send_it_and_the_refusal_says_what_to_change()
{
    let pki = TestPki::new("check-file");
    let owned = settings(&pki);
    let env: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stranger = pki.issue(&Leaf::client("stranger.example"));
    let file = pki.write("stranger.pem", &stranger.pem);

    let checked = check(&["--cert", &file], &env);

    assert_eq!(
        checked.code,
        Some(1),
        "{}{}",
        checked.stdout,
        checked.stderr
    );
    for expected in [
        "decoding",
        "parsing",
        "subject CN=stranger.example",
        &stranger.sha1(),
        "allowlist",
        "nearest rule: common name client.example (the certificate has stranger.example)",
        "answer: 403 cert_not_allowed",
        "to change:",
    ] {
        assert!(
            checked.stdout.contains(expected),
            "{expected}:\n{}",
            checked.stdout
        );
    }
}

#[test]
fn at_takes_rfc_3339_and_refuses_hostile_input_with_exit_64() {
    let pki = TestPki::new("check-at");
    let owned = settings(&pki);
    let env: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let client = pki.issue(&Leaf::client(ALLOWED_CN));
    let later = (OffsetDateTime::now_utc() + Duration::days(400))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");

    let expired_then = check(
        &["--header", &client.header(), "--json", "--at", &later],
        &env,
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&expired_then.stdout).expect("JSON")["code"],
        "cert_expired",
        "judged at --at: {}",
        expired_then.stdout
    );

    let huge = "9".repeat(100_000);
    let odd = "2026-13-45T25:61:61+99:99";
    let many_offsets = format!("2026-01-01T00:00:00{}", "+00:00".repeat(1_000));
    for hostile in [
        huge.as_str(),
        odd,
        many_offsets.as_str(),
        "",
        "now",
        "1e9",
        "2026-01-01",
    ] {
        let checked = check(&["--header", &client.header(), "--at", hostile], &env);
        assert_eq!(checked.code, Some(64), "--at {:.40}", hostile);
        assert!(
            checked.stderr.contains("--at") && checked.stderr.contains("RFC 3339"),
            "a clear message: {}",
            checked.stderr
        );
        assert!(!checked.stderr.contains("panicked"), "{}", checked.stderr);
    }
}

#[test]
fn the_posture_shows_values_and_warnings_and_strict_turns_warnings_into_exit_1() {
    let pki = TestPki::new("check-posture");
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let soon = pki.write(
        "soon.crl.pem",
        pki.root
            .crl(&[], OffsetDateTime::now_utc() + Duration::hours(2)),
    );
    let env = [
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("CLIENT_CERT_CRL_PATHS", soon.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED_CN),
        ("CLIENT_CERT_CRL_PATH", "/typo.pem"),
    ];

    let checked = check(&[], &env);

    assert_eq!(
        checked.code,
        Some(0),
        "serve would start:\n{}{}",
        checked.stdout,
        checked.stderr
    );
    for expected in [
        "anchor: CN=Test Root CA sha1 ",
        &pki.root.cert.sha256(),
        "crl: ",
        "nextUpdate 20",
        "name rule: common name = client.example",
        "reaches its nextUpdate within a day",
        "did you mean CLIENT_CERT_CRL_PATHS",
        "errors: 0",
    ] {
        assert!(
            checked.stdout.contains(expected),
            "{expected}:\n{}",
            checked.stdout
        );
    }
    assert_eq!(
        check(&["--strict"], &env).code,
        Some(1),
        "--strict with warnings"
    );

    let broken = check(
        &[],
        &[
            ("CLIENT_CERT_TRUSTED_CA_PATHS", "/nonexistent/ca.pem"),
            ("CLIENT_CERT_TRUSTED_CA_PATH", "/typo.pem"),
        ],
    );
    assert!(
        broken
            .stdout
            .contains("did you mean CLIENT_CERT_TRUSTED_CA_PATHS"),
        "look-alikes are shown even when the settings do not load:\n{}",
        broken.stdout
    );
    assert_eq!(broken.code, Some(64), "serve would not start");
    assert!(
        broken.stderr.contains("CLIENT_CERT_TRUSTED_CA_PATHS"),
        "{}",
        broken.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_crl_distribution_point_check_fetches_it_as_serve_does_and_shows_the_source() {
    use crate::support::crl_point::{Answer, CrlPoint};

    let pki = TestPki::new("check-crl-url");
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let revoked = pki.issue(&Leaf {
        serial: REVOKED_SERIAL,
        ..Leaf::client(ALLOWED_CN)
    });
    let admitted = pki.issue(&Leaf::client(ALLOWED_CN));
    let next_update = OffsetDateTime::now_utc() + Duration::days(1);
    let point = CrlPoint::start(Answer::Crl {
        body: pki
            .root
            .crl_numbered(&[REVOKED_SERIAL], 1, next_update)
            .into_bytes(),
        etag: "\"1\"".to_owned(),
    })
    .await;
    let env = vec![
        ("CLIENT_CERT_TRUSTED_CA_PATHS".to_owned(), ca),
        (
            "ALLOWED_CLIENT_CERT_COMMON_NAMES".to_owned(),
            ALLOWED_CN.to_owned(),
        ),
        ("CLIENT_CERT_CRL_URLS".to_owned(), point.url()),
    ];
    let files = [
        ("revoked", pki.write("revoked.pem", &revoked.pem)),
        ("admitted", pki.write("admitted.pem", &admitted.pem)),
    ];

    // `check` blocks while it fetches: off the runtime that serves the distribution point.
    let run = |args: Vec<String>| {
        let env = env.clone();
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            check(&args, &env)
        })
    };
    let posture = run(Vec::new()).await.expect("check ran");
    let mut decisions = Vec::new();
    for (name, file) in &files {
        let checked = run(vec!["--cert".to_owned(), file.clone(), "--json".to_owned()])
            .await
            .expect("check ran");
        let trace: serde_json::Value =
            serde_json::from_str(&checked.stdout).unwrap_or(serde_json::Value::Null);
        decisions.push((
            *name,
            checked.code,
            trace["status"].clone(),
            trace["code"].clone(),
        ));
    }

    assert_eq!(
        posture.code,
        Some(0),
        "{}{}",
        posture.stdout,
        posture.stderr
    );
    assert!(
        posture
            .stdout
            .contains(&format!("crl source: {}", point.url()))
            && posture.stdout.contains("nextUpdate 20"),
        "the posture shows the source and its CRL's dates:\n{}",
        posture.stdout
    );
    assert_eq!(
        decisions,
        vec![
            (
                "revoked",
                Some(1),
                serde_json::json!(403),
                serde_json::json!("cert_revoked")
            ),
            (
                "admitted",
                Some(0),
                serde_json::json!(200),
                serde_json::Value::Null
            ),
        ],
        "check judged with the fetched CRL, as serve would"
    );
}

#[tokio::test]
async fn a_certificate_no_configured_ca_issued_stops_at_the_issuer_in_check_as_in_serve() {
    let pki = TestPki::new("check-issuer");
    let owned = settings(&pki);
    let env: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let now = OffsetDateTime::now_utc();
    // Expired too: the issuer is checked first, so the answer is cert_untrusted, not expired.
    let stranger = pki.self_signed(&Leaf {
        not_before: now - Duration::days(30),
        not_after: now - Duration::days(1),
        ..Leaf::client(ALLOWED_CN)
    });
    let host = FunctionsHost::start(&env).await;

    let served = host
        .send(
            Mode::Forwarding,
            ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", &stranger.header()),
        )
        .await;
    let checked = check(&["--header", &stranger.header(), "--json"], &env);

    assert_eq!(served.status, 403);
    assert_eq!(served.json()["code"], "cert_untrusted");
    let trace: serde_json::Value = serde_json::from_str(&checked.stdout).expect("JSON");
    assert_eq!(trace["code"], "cert_untrusted");
    let steps: Vec<(String, String)> = trace["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|step| {
            let text = |key: &str| step[key].as_str().unwrap_or_default().to_owned();
            (text("step"), text("outcome"))
        })
        .collect();
    let outcome = |name: &str| {
        steps
            .iter()
            .find(|(step, _)| step == name)
            .map(|(_, outcome)| outcome.as_str())
    };
    assert_eq!(outcome("issuer"), Some("failed"), "{steps:?}");
    for later in ["usage and validity", "chain", "revocation", "allowlist"] {
        assert_eq!(outcome(later), Some("not reached"), "{later}: {steps:?}");
    }
}
