//! The process lifecycle the host depends on: binding, configuration errors, shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::pki::{Issued, Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, HandlerProcess, Mode, free_port};

#[test]
fn a_port_in_use_exits_non_zero_with_a_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut handler = HandlerProcess::spawn(port, &[]);
    let status = handler.wait_exit(Duration::from_secs(10));
    assert!(
        !status.success(),
        "the host never restarts a handler that exits 0"
    );
    let output = handler.output();
    assert!(
        output.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{output}"
    );
}

#[test]
fn bad_settings_exit_64_naming_every_setting() {
    let mut handler = HandlerProcess::spawn(
        free_port(),
        &[
            ("FUNCTIONS_CUSTOMHANDLER_PORT", "not-a-port"),
            ("LOG_FORMAT", "xml"),
            ("SHUTDOWN_TIMEOUT_MS", "-5"),
            ("RUST_LOG", "info,[[["),
        ],
    );
    let status = handler.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(64), "configuration errors exit with 64");
    let output = handler.output();
    for setting in [
        "FUNCTIONS_CUSTOMHANDLER_PORT",
        "LOG_FORMAT",
        "SHUTDOWN_TIMEOUT_MS",
        "RUST_LOG",
    ] {
        assert!(
            output.contains(setting),
            "{setting} is not named:\n{output}"
        );
    }
}

#[test]
fn a_malformed_host_json_is_a_configuration_error() {
    let root = std::env::temp_dir().join(format!("mtls-handler-bad-host-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("temp dir");
    std::fs::write(root.join("host.json"), "{ not json").expect("write host.json");
    let root_text = root.to_string_lossy().into_owned();
    let mut handler =
        HandlerProcess::spawn(free_port(), &[("FUNCTIONS_APP_ROOT_PATH", &root_text)]);
    let status = handler.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(64));
    assert!(
        handler.output().contains("host.json"),
        "{}",
        handler.output()
    );
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn json_logs_carry_the_invocation_id() {
    let host = FunctionsHost::start(&[("LOG_FORMAT", "json")]).await;
    assert_eq!(
        host.send(Mode::Forwarding, ClientRequest::get("/api/cert-info"))
            .await
            .status,
        403
    );
    let output = host
        .process
        .wait_for_output("client certificate refused", Duration::from_secs(1));
    let line = output
        .lines()
        .filter(|line| line.contains("/api/cert-info"))
        .find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .unwrap_or_else(|| panic!("no JSON log line for the request:\n{output}"));
    let invocation_id = line["span"]["invocation_id"].as_str().unwrap_or_default();
    assert!(
        invocation_id.starts_with("5b0a6b8e-"),
        "span carries the invocation id: {line}"
    );
    assert!(
        !output.contains("\u{1b}["),
        "no ANSI colours when stdout is not a terminal"
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    let mut host = FunctionsHost::start(&[]).await;
    // A payload-mode request whose chunked body is still arriving when SIGTERM lands.
    let mut stream = TcpStream::connect(("127.0.0.1", host.process.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let envelope = r#"{"Data":{"req":{"Url":"https://app/api/health","Method":"GET","Headers":{}}},"Metadata":{}}"#;
    let (first, rest) = envelope.split_at(20);
    write!(
        stream,
        "POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n",
        first.len()
    )
    .expect("send the first chunk");
    stream.flush().expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;

    host.process.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        host.process.try_exit().is_none(),
        "exited with a request in flight"
    );

    write!(stream, "{:x}\r\n{rest}\r\n0\r\n\r\n", rest.len()).expect("send the rest");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"\"status\":\"ok\""#), "{response}");

    let status = host.process.wait_exit(Duration::from_secs(10));
    assert!(
        status.success(),
        "clean exit after draining, got {status}:\n{}",
        host.process.output()
    );
}

/// An identity whose one key derivation (PBKDF2, 1,000,000 iterations, the most a PKCS#12 key
/// bag may ask for) keeps a blocking thread busy for seconds in this debug build: written by
/// the `openssl` command, which derives it in a fraction of a second.
fn slow_pkcs12(pki: &TestPki, identity: &Issued, password: &str) -> String {
    let key = pki.write("slow-key.pem", &identity.key_pem);
    let cert = pki.write("slow-cert.pem", &identity.pem);
    let out = pki.path("slow.p12");
    let status = Command::new("openssl")
        .args(["pkcs12", "-export", "-inkey", &key, "-in", &cert])
        .args(["-iter", "1000000", "-nomaciter", "-certpbe", "NONE"])
        .arg("-passout")
        .arg(format!("pass:{password}"))
        .arg("-out")
        .arg(&out)
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl pkcs12 -export");
    out.to_string_lossy().into_owned()
}

#[tokio::test]
async fn sigterm_exits_within_the_shutdown_timeout_while_a_reload_is_busy() {
    let pki = TestPki::new("lifecycle-busy-reload");
    let identity = pki.issue(&Leaf::client("svc.example"));
    let path = pki.write(
        "identity.p12",
        pki.pkcs12(&identity.key_der, &[&identity], "pw"),
    );
    let slow = slow_pkcs12(&pki, &identity, "pw");
    let mut host = FunctionsHost::start(&[
        ("OUTBOUND_CLIENT_CERT_PATH", path.as_str()),
        ("OUTBOUND_CLIENT_CERT_PASSWORD", "pw"),
        ("OUTBOUND_CLIENT_CERT_RELOAD_SECONDS", "1"),
        ("REMOTE_API_URL", "https://127.0.0.1:9/"),
        ("SHUTDOWN_TIMEOUT_MS", "500"),
    ])
    .await;
    let loaded = host.process.output().matches("outbound").count();

    // A renewal lands whose load takes seconds; wait until the reloader has been at it for
    // 300 ms of CPU (an idle handler uses next to none).
    let idle = host.process.cpu_ticks();
    std::fs::rename(&slow, &path).expect("replace the identity");
    let deadline = Instant::now() + Duration::from_secs(20);
    while host.process.cpu_ticks() < idle + 30 {
        assert!(
            Instant::now() < deadline,
            "the identity reload never got busy:\n{}",
            host.process.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let signalled = Instant::now();
    host.process.terminate();
    let status = host.process.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();

    assert!(status.success(), "{status}:\n{}", host.process.output());
    assert!(
        took < Duration::from_millis(500 + 500),
        "exited {took:?} after SIGTERM; SHUTDOWN_TIMEOUT_MS is 500:\n{}",
        host.process.output()
    );
    assert_eq!(
        host.process.output().matches("outbound").count(),
        loaded,
        "the reload was still running when the process exited (no line about it):\n{}",
        host.process.output()
    );
}

#[test]
fn help_and_version_describe_the_binary() {
    let help = Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("serve"), "{text}");
    let version = Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("--version")
        .output()
        .expect("run --version");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("handler {}", env!("CARGO_PKG_VERSION"))
    );
}
