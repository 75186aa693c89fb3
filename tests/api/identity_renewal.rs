//! Outbound identities that follow renewals, end to end: the built handler calls a real
//! mutual-TLS upstream on loopback while its identity file is replaced, while a renewal lands in
//! the certificate folder, or with the identity in a setting (as a Key Vault reference gives
//! it). The upstream records the certificate each handshake presented.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use time::OffsetDateTime;

use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::upstream::{Reply, Upstream};
use crate::support::{ClientRequest, FunctionsHost, Mode, mtls_upstream};

const CALLER_CN: &str = "renewal-caller.example";
const IDENTITY_CN: &str = "svc.example";
const PASSWORD: &str = "renewal-p12-password";
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    pki: TestPki,
    caller: Issued,
}

impl Setup {
    fn new(name: &str) -> Self {
        let pki = TestPki::new(name);
        pki.write("ca.pem", &pki.root.cert.pem);
        let caller = pki.issue(&Leaf::client(CALLER_CN));
        Self { pki, caller }
    }

    /// An identity for `cn`, valid from `from_days` to `until_days` (from now).
    fn identity(&self, cn: &str, serial: u64, from_days: i64, until_days: i64) -> Issued {
        let now = OffsetDateTime::now_utc();
        self.pki.issue(&Leaf {
            serial,
            not_before: now + time::Duration::days(from_days),
            not_after: now + time::Duration::days(until_days),
            ..Leaf::client(cn)
        })
    }

    /// A certificate with `cn` that must never be chosen as the identity: `shape` says how it
    /// differs (valid for 500 days, longer than any renewal).
    fn decoy(&self, cn: &str, serial: u64, shape: &str) -> Issued {
        let now = OffsetDateTime::now_utc();
        let leaf = Leaf {
            serial,
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(500),
            server_auth_only: shape == "serverAuth only",
            ..Leaf::client(cn)
        };
        match shape {
            "a CA certificate" => self.pki.issue_as_ca(&leaf),
            "issued by another CA" => self.pki.issue_under_intermediate(&leaf),
            "self-signed" => self.pki.self_signed(&leaf),
            _ => self.pki.issue(&leaf),
        }
    }

    fn p12(&self, identity: &Issued, password: &str) -> Vec<u8> {
        self.pki.pkcs12(
            &identity.key_der,
            &[identity, &self.pki.root.cert],
            password,
        )
    }

    async fn start(&self, upstream: &Upstream, identity_env: &[(&str, &str)]) -> FunctionsHost {
        let ca = self.pki.path("ca.pem").to_string_lossy().into_owned();
        let url = upstream.url("/");
        let mut env = vec![
            ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
            ("OUTBOUND_TRUSTED_CA_PATHS", ca.as_str()),
            ("REMOTE_API_URL", url.as_str()),
            ("OUTBOUND_CLIENT_CERT_RELOAD_SECONDS", "1"),
        ];
        env.extend_from_slice(identity_env);
        FunctionsHost::start(&env).await
    }

    fn call(&self) -> ClientRequest {
        ClientRequest::get("/api/outbound-mtls").header("X-ARR-ClientCert", &self.caller.header())
    }
}

/// Waits until the upstream's latest handshake presented `leaf`.
async fn wait_presented(upstream: &Upstream, leaf: &Issued) {
    let deadline = Instant::now() + WAIT;
    while upstream.client_leaves().last() != Some(&leaf.der) {
        assert!(
            Instant::now() < deadline,
            "the upstream never saw the expected certificate"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn wait_log(host: &FunctionsHost, needle: &str) -> String {
    let output = host.process.wait_for_output(needle, WAIT);
    assert!(
        output.contains(needle),
        "{needle:?} was not logged:\n{output}"
    );
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_file_replaced_under_load_is_swapped_with_no_failed_call() {
    let setup = Setup::new("renew-file");
    let old = setup.identity(IDENTITY_CN, 0x3001, -1, 10);
    let new = setup.identity(IDENTITY_CN, 0x3002, -1, 90);
    let path = setup.pki.write("identity.p12", setup.p12(&old, PASSWORD));
    let upstream = mtls_upstream(&setup.pki, Reply::ok("pong")).await;
    let host = Arc::new(
        setup
            .start(
                &upstream,
                &[
                    ("OUTBOUND_CLIENT_CERT_PATH", &path),
                    ("OUTBOUND_CLIENT_CERT_PASSWORD", PASSWORD),
                ],
            )
            .await,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (host, stop, call) = (host.clone(), stop.clone(), setup.call());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let response = host.send(Mode::Forwarding, call.clone()).await;
                    statuses.push((response.status, response.json()["statusCode"].clone()));
                }
                statuses
            })
        })
        .collect();
    wait_presented(&upstream, &old).await;

    // A bad replacement first: a warning naming the setting, and the old identity stays.
    let garbage = setup.pki.write("identity.p12.bad", b"not a pkcs#12 file");
    std::fs::rename(&garbage, &path).expect("rename garbage over the identity");
    let output = wait_log(&host, "the new one cannot be used");
    let warning = output
        .lines()
        .find(|line| line.contains("the new one cannot be used"))
        .unwrap_or_default();
    assert!(
        warning.contains("WARN") && warning.contains("OUTBOUND_CLIENT_CERT_PATH"),
        "{warning}"
    );

    // Replaced as a deployment or a platform sync does: written beside, then renamed over.
    let staged = setup
        .pki
        .write("identity.p12.new", setup.p12(&new, PASSWORD));
    std::fs::rename(&staged, &path).expect("rename over the identity");
    wait_log(&host, "outbound identity reloaded");
    wait_presented(&upstream, &new).await;
    let requests_after_swap = upstream.requests();
    while upstream.requests() < requests_after_swap + 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);

    let mut calls = 0;
    for caller in callers {
        for (status, upstream_status) in caller.await.expect("caller task") {
            calls += 1;
            assert_eq!(
                (status, upstream_status),
                (200, serde_json::json!(200)),
                "no call fails"
            );
        }
    }
    assert!(calls > 20, "calls ran during the swap: {calls}");
    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await
        .json();
    let new_not_after = (OffsetDateTime::now_utc() + time::Duration::days(90))
        .date()
        .to_string();
    assert!(
        health["outboundIdentityNotAfter"]
            .as_str()
            .is_some_and(|at| at.starts_with(&new_not_after)),
        "health reports the new identity's notAfter ({new_not_after}): {health}"
    );
    let leaves = upstream.client_leaves();
    assert_eq!(leaves.first(), Some(&old.der), "the old identity first");
    assert!(
        leaves
            .iter()
            .all(|leaf| *leaf == old.der || *leaf == new.der),
        "only the two identities were ever presented"
    );
    assert_eq!(
        leaves.last(),
        Some(&new.der),
        "the new identity after the swap"
    );
    assert!(
        !host.process.output().contains(PASSWORD),
        "the password reached the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_dropped_into_the_folder_is_chosen_by_common_name() {
    let setup = Setup::new("renew-cn");
    let dir = setup.pki.path("private");
    std::fs::create_dir_all(&dir).expect("certificate folder");
    let drop_in = |issued: &Issued| {
        let file = dir.join(format!("{}.p12", issued.sha1()));
        std::fs::write(file, setup.p12(issued, "")).expect("write a thumbprint-named file");
    };
    let current = setup.identity(IDENTITY_CN, 0x3101, -10, 20);
    drop_in(&current);
    let upstream = mtls_upstream(&setup.pki, Reply::ok("pong")).await;
    let dir_text = dir.to_string_lossy().into_owned();
    let host = setup
        .start(
            &upstream,
            &[
                ("OUTBOUND_CLIENT_CERT_COMMON_NAME", IDENTITY_CN),
                ("OUTBOUND_CLIENT_CERT_DIR", &dir_text),
            ],
        )
        .await;
    assert_eq!(host.send(Mode::Forwarding, setup.call()).await.status, 200);
    wait_presented(&upstream, &current).await;

    let renewal = setup.identity(IDENTITY_CN, 0x3102, -1, 90);
    let decoys = [
        ("expired", setup.identity(IDENTITY_CN, 0x3103, -400, -1)),
        (
            "not yet valid, latest notAfter",
            setup.identity(IDENTITY_CN, 0x3104, 2, 500),
        ),
        (
            "another cn, latest notAfter",
            setup.identity("other.example", 0x3105, -1, 600),
        ),
    ];
    // Same CN, later notAfter, each presentable or accepted by some upstream: never chosen,
    // each skipped with a warning that names its file.
    let refused = [
        "serverAuth only",
        "a CA certificate",
        "issued by another CA",
        "self-signed",
    ]
    .map(|shape| (shape, setup.decoy(IDENTITY_CN, 0x3110, shape)));
    for (_, decoy) in decoys.iter().chain(&refused) {
        drop_in(decoy);
    }
    drop_in(&renewal);
    let output = wait_log(&host, "outbound identity reloaded");
    let response = host.send(Mode::Forwarding, setup.call()).await;

    assert_eq!(response.status, 200, "{}", response.body);
    wait_presented(&upstream, &renewal).await;
    for (reason, decoy) in decoys.iter().chain(&refused) {
        assert!(
            !upstream.client_leaves().contains(&decoy.der),
            "{reason} is never chosen"
        );
    }
    for (shape, decoy) in &refused {
        let file = format!("{}.p12", decoy.sha1());
        let line = output
            .lines()
            .find(|line| line.contains(&file) && line.contains("candidate skipped"))
            .unwrap_or_else(|| panic!("{shape}: no line for {file}:\n{output}"));
        assert!(line.contains("WARN"), "{shape}: {line}");
    }
    let reloaded = output
        .lines()
        .find(|line| line.contains("outbound identity reloaded"))
        .unwrap_or_default();
    assert!(
        reloaded.contains("serial 3101 -> 3102"),
        "the change is logged: {reloaded}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_at_the_identity_path_does_not_stop_later_renewals() {
    // Arrange
    let setup = Setup::new("renew-fifo");
    let old = setup.identity(IDENTITY_CN, 0x3301, -1, 10);
    let new = setup.identity(IDENTITY_CN, 0x3302, -1, 90);
    let path = setup.pki.write("identity.p12", setup.p12(&old, PASSWORD));
    let upstream = mtls_upstream(&setup.pki, Reply::ok("pong")).await;
    let host = setup
        .start(
            &upstream,
            &[
                ("OUTBOUND_CLIENT_CERT_PATH", &path),
                ("OUTBOUND_CLIENT_CERT_PASSWORD", PASSWORD),
            ],
        )
        .await;
    assert_eq!(host.send(Mode::Forwarding, setup.call()).await.status, 200);

    // Act: the file becomes a FIFO with no writer for a while, then a renewal lands.
    std::fs::remove_file(&path).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    wait_log(&host, "not a regular file (a FIFO)");
    let staged = setup
        .pki
        .write("identity.p12.new", setup.p12(&new, PASSWORD));
    std::fs::rename(&staged, &path).expect("rename over the FIFO");
    wait_log(&host, "outbound identity reloaded");

    // Assert: the renewal is presented; calls kept working on the old identity meanwhile.
    let response = host.send(Mode::Forwarding, setup.call()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    wait_presented(&upstream, &new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pem_identity_completed_after_its_leaf_is_reloaded_and_the_change_logged() {
    // Arrange: a renewal issued by the intermediate, written without the intermediate first
    // (a non-atomic writer, or an operator fixing a missing intermediate).
    let setup = Setup::new("renew-chain");
    let old = setup.identity(IDENTITY_CN, 0x3401, -1, 10);
    let path = setup.pki.write(
        "identity.pem",
        format!("{}{}{}", old.pem, setup.pki.root.cert.pem, old.key_pem),
    );
    let upstream = mtls_upstream(&setup.pki, Reply::ok("pong")).await;
    let host = setup
        .start(&upstream, &[("OUTBOUND_CLIENT_CERT_PATH", &path)])
        .await;
    assert_eq!(host.send(Mode::Forwarding, setup.call()).await.status, 200);
    let now = OffsetDateTime::now_utc();
    let renewal = setup.pki.issue_under_intermediate(&Leaf {
        serial: 0x3402,
        not_before: now - time::Duration::days(1),
        not_after: now + time::Duration::days(90),
        ..Leaf::client(IDENTITY_CN)
    });
    let leaf_only = format!("{}{}", renewal.pem, renewal.key_pem);
    std::fs::write(setup.pki.path("identity.pem.new"), &leaf_only).expect("write");
    std::fs::rename(setup.pki.path("identity.pem.new"), &path).expect("rename");
    wait_log(&host, "serial 3401 -> 3402");
    let broken = host.send(Mode::Forwarding, setup.call()).await;

    // Act: the intermediate is appended; the leaf does not change.
    let completed = format!("{leaf_only}{}", setup.pki.intermediate.cert.pem);
    std::fs::write(setup.pki.path("identity.pem.new"), completed).expect("write");
    std::fs::rename(setup.pki.path("identity.pem.new"), &path).expect("rename");
    let output = wait_log(&host, "chain 1 -> 2 certificates");

    // Assert: the upstream (which trusts the root only) refused the leaf alone, and takes the
    // completed chain; the log line says what changed.
    assert_eq!(broken.json()["code"], "upstream_tls", "{}", broken.body);
    let response = host.send(Mode::Forwarding, setup.call()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    wait_presented(&upstream, &renewal).await;
    assert!(
        output.contains("Test Intermediate CA"),
        "the added issuer is named:\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkcs12_asking_for_too_much_key_derivation_is_refused_at_once() {
    // Arrange: the review's file, 300 key bags at 1,000,000 iterations each (about 30 s of
    // CPU if decoded), at the identity path.
    let setup = Setup::new("renew-kdf");
    let path = setup.pki.write(
        "identity.p12",
        crate::hostile_p12::many_key_bags(300, 1_000_000),
    );
    let upstream = mtls_upstream(&setup.pki, Reply::ok("pong")).await;
    let started = Instant::now();

    // Act
    let host = setup
        .start(&upstream, &[("OUTBOUND_CLIENT_CERT_PATH", &path)])
        .await;
    let ready_after = started.elapsed();
    let health = host
        .send(Mode::Forwarding, ClientRequest::get("/api/health"))
        .await
        .json();

    // Assert: started without doing the work, outbound unavailable, the cap in the log.
    assert!(
        ready_after < Duration::from_secs(5),
        "ready after {ready_after:?}"
    );
    assert_eq!(health["outbound"]["reason"], "identity_invalid", "{health}");
    let output = host.process.output();
    assert!(
        output.contains("more than the 10000000 accepted per file"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_in_the_setting_is_presented_as_base64_pkcs12_or_pem() {
    let setup = Setup::new("renew-inline");
    let identity = setup.identity(IDENTITY_CN, 0x3201, -1, 30);
    let base64_p12 = base64::engine::general_purpose::STANDARD.encode(setup.p12(&identity, ""));
    let pem = format!(
        "{}{}{}",
        identity.pem, setup.pki.root.cert.pem, identity.key_pem
    );
    for (reason, value, secret_part) in [
        (
            "base64 pkcs#12, empty password",
            base64_p12.as_str(),
            &base64_p12[..60],
        ),
        (
            "pem text",
            pem.as_str(),
            identity.key_pem.lines().nth(1).unwrap_or_default(),
        ),
    ] {
        let upstream = mtls_upstream(&setup.pki, Reply::ok("pong")).await;
        let host = setup
            .start(&upstream, &[("OUTBOUND_CLIENT_CERT_BASE64", value)])
            .await;

        let response = host.send(Mode::Forwarding, setup.call()).await;

        assert_eq!(response.status, 200, "{reason}: {}", response.body);
        assert_eq!(
            upstream.client_leaves().last(),
            Some(&identity.der),
            "{reason}"
        );
        let output = host.process.output();
        assert!(
            output.contains("the value of OUTBOUND_CLIENT_CERT_BASE64"),
            "{reason}:\n{output}"
        );
        assert!(
            !output.contains(secret_part),
            "{reason}: the value reached the log"
        );
    }
}

#[tokio::test]
async fn each_pair_of_identity_sources_leaves_outbound_unavailable_naming_both() {
    let sources = [
        ("OUTBOUND_CLIENT_CERT_PATH", "/nonexistent/identity.p12"),
        (
            "OUTBOUND_CLIENT_CERT_THUMBPRINT",
            "AB00000000000000000000000000000000000000",
        ),
        ("OUTBOUND_CLIENT_CERT_COMMON_NAME", IDENTITY_CN),
        (
            "OUTBOUND_CLIENT_CERT_BASE64",
            "c2VjcmV0LWlkZW50aXR5LXZhbHVl",
        ),
    ];
    let setup = Setup::new("renew-pairs");
    let ca = setup.pki.path("ca.pem").to_string_lossy().into_owned();
    for (index, first) in sources.iter().enumerate() {
        for second in &sources[index + 1..] {
            let host = FunctionsHost::start(&[
                ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
                ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
                *first,
                *second,
                ("REMOTE_API_URL", "https://127.0.0.1:9/"),
            ])
            .await;
            let demo = host.send(Mode::Forwarding, setup.call()).await;
            let output = host.process.output();
            assert!(
                output.contains(&format!("set only one of {} and {}", first.0, second.0)),
                "the error names both settings:\n{output}"
            );
            assert!(
                !output.contains("c2VjcmV0"),
                "the inline value reached the output"
            );
            assert_eq!(demo.status, 503, "{}", demo.body);
            assert_eq!(demo.json()["code"], "outbound_misconfigured");
        }
    }
}
