//! CRL files (`CLIENT_CERT_CRL_PATHS`) changed under the running handler: one file briefly
//! replaced by a FIFO while another keeps changing. Reload period 1 s; the test waits for log
//! lines, never a sleep.

use std::time::Duration;

use time::OffsetDateTime;

use crate::support::pki::{Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, Mode};

const CALLER_CN: &str = "crl-file-caller.example";
const WAIT: Duration = Duration::from_secs(20);
const RELOADED: &str = "client certificate crls reloaded";

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_file_briefly_a_fifo_is_logged_once_and_every_later_change_is_loaded() {
    let pki = TestPki::new("crl-fifo");
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let week = OffsetDateTime::now_utc() + time::Duration::days(7);
    let root_crl = pki.write("root.crl", pki.root.crl(&[], week));
    let other_crl = pki.write(
        "intermediate.crl",
        pki.intermediate.crl_numbered(&[], 1, week),
    );
    let crl_paths = format!("{root_crl},{other_crl}");
    let host = FunctionsHost::start(&[
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", CALLER_CN),
        ("CLIENT_CERT_CRL_PATHS", crl_paths.as_str()),
        ("CLIENT_CERT_CRL_RELOAD_SECONDS", "1"),
    ])
    .await;
    let caller = pki.issue(&Leaf {
        serial: 0x7007,
        ..Leaf::client(CALLER_CN)
    });
    let code = || async {
        let response = host
            .send(
                Mode::Forwarding,
                ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", &caller.header()),
            )
            .await;
        (
            response.status,
            response.json()["code"].as_str().unwrap_or("ok").to_owned(),
        )
    };
    assert_eq!(code().await, (200, "ok".to_owned()));

    // The review's case: the CRL file is briefly a FIFO (put in place atomically, so that no
    // tick sees the file missing).
    let fifo = pki.path("root.crl.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|status| status.success()), "mkfifo");
    std::fs::rename(&fifo, &root_crl).expect("the fifo in place");
    host.process.wait_for_output("crl reload failed", WAIT);
    // The other file keeps changing, and each change is loaded: the reloader still ticks.
    for number in 2..=4 {
        std::fs::write(&other_crl, pki.intermediate.crl_numbered(&[], number, week))
            .expect("write");
        host.process
            .wait_for_count(RELOADED, usize::try_from(number - 1).expect("small"), WAIT);
    }
    // Then a revoking CRL is put in the FIFO's place, atomically.
    let staged = pki.write("root.crl.new", pki.root.crl(&[0x7007], week));
    std::fs::rename(&staged, &root_crl).expect("the crl in place of the fifo");
    let output = host.process.wait_for_count(RELOADED, 4, WAIT);

    assert_eq!(
        output.matches(RELOADED).count(),
        4,
        "three changes of the other file, then the fixed one:\n{output}"
    );
    assert_eq!(
        output.matches("crl reload failed").count(),
        1,
        "the FIFO is logged once, not on every tick:\n{output}"
    );
    assert!(output.contains("not a regular file (a FIFO)"), "{output}");
    assert_eq!(
        code().await,
        (403, "cert_revoked".to_owned()),
        "the revocation is in force"
    );
}
