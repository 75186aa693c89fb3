//! `scripts/verify-deployment.sh`, and the azd postdeploy hook that runs it, against `handler dev`
//! playing App Service's front end (real TLS on loopback, the dev PKI made at test time): it
//! passes against a front end that requires client certificates, and fails, saying why, for a
//! certificate the allowlist does not name, for a front end in `optional` mode (where the handler
//! still refuses the forged header), and for a front end that passes a forged header through to a
//! handler that then admits it.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use crate::process::{HandlerProcess, free_port};
use crate::temp::TempDir;

/// The dev client certificate's CN (`handler dev` allowlists it).
const DEV_CLIENT_CN: &str = "dev-client.mtls-handler.local";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `handler dev` on a free port, its PKI in `dir`.
struct DevFrontEnd {
    _process: HandlerProcess,
    url: String,
}

impl DevFrontEnd {
    fn start(dir: &TempDir, mode: &str) -> Self {
        let pki = dir.0.to_string_lossy().into_owned();
        let args = [
            "dev",
            "--port",
            "0",
            "--dir",
            &pki,
            "--client-cert-mode",
            mode,
        ];
        let mut process = HandlerProcess::spawn_with_args(free_port(), &args, &[]);
        let front_end = process.wait_for_line(front_end_addr, Duration::from_secs(10));
        Self {
            _process: process,
            url: format!("https://localhost:{}", front_end.port()),
        }
    }
}

/// The address in `handler dev`'s `front end:      https://127.0.0.1:PORT (...)` line.
fn front_end_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.trim_start().strip_prefix("front end:")?.trim_start();
    rest.strip_prefix("https://")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A script of `scripts/` run with `args`, the environment cleared to what it needs.
fn script(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(root().join("scripts").join(name))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("no_proxy", "*")
        .env("VERIFY_WAIT_SECONDS", "0")
        .env("VERIFY_TIMEOUT_SECONDS", "10")
        .envs(env.iter().copied())
        .output()
        .expect("run the script (needs sh and curl)")
}

/// `verify-deployment.sh` against `front_end` with the dev client certificate of `pki`.
fn verify_dev_client(front_end: &DevFrontEnd, pki: &TempDir, extra: &[&str]) -> Output {
    let (certificate, key) = (pki.file("client.pem"), pki.file("client.key"));
    verify(&front_end.url, pki, &certificate, &key, extra)
}

/// `verify-deployment.sh` against `url` with `certificate`/`key` and the dev CA of `pki`.
fn verify(url: &str, pki: &TempDir, certificate: &str, key: &str, extra: &[&str]) -> Output {
    let cacert = pki.file("ca.pem");
    let mut args = vec![
        "--url",
        url,
        "--cert",
        certificate,
        "--key",
        key,
        "--cacert",
        &cacert,
        "--function-key",
        "a-function-key",
    ];
    args.extend_from_slice(extra);
    script("verify-deployment.sh", &args, &[])
}

fn stdout(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The lines of a run that start with `FAIL`.
fn failures(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("FAIL"))
        .map(str::to_owned)
        .collect()
}

/// Health, cert-info and the forged header all passed; the posture line is the one that depends
/// on the handler: no posture reported (a note, exit 0), or one reported, which for `handler dev`
/// (no site to read) cannot be `verified` and is then the run's only failure.
fn assert_passes_but_for_posture(output: &Output, expect_identity: bool) {
    let text = stdout(output);
    assert!(
        text.contains("ok    health: 200 from https://localhost:"),
        "{text}"
    );
    assert!(
        text.contains("ok    cert-info: 200, commonName \"dev-client.mtls-handler.local\""),
        "{text}"
    );
    if expect_identity {
        assert!(text.contains(&format!("names {DEV_CLIENT_CN}")), "{text}");
    }
    assert!(
        text.contains("ok    forged header: refused by the front end: the TLS handshake needs a client certificate"),
        "{text}"
    );
    if text.contains("note  posture: health reports no posture") {
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(
            text.contains("verify-deployment: every check holds"),
            "{text}"
        );
    } else {
        let failed = failures(output);
        assert_eq!(failed.len(), 1, "{text}");
        assert!(failed[0].starts_with("FAIL  posture: "), "{text}");
        assert_eq!(output.status.code(), Some(1), "{text}");
    }
}

#[test]
fn a_deployment_behind_a_front_end_that_requires_certificates_passes() {
    // Arrange
    let pki = TempDir::new("required");
    let front_end = DevFrontEnd::start(&pki, "required");

    // Act
    let output = verify_dev_client(&front_end, &pki, &["--expect-identity", DEV_CLIENT_CN]);

    // Assert
    assert_passes_but_for_posture(&output, true);
}

#[test]
fn a_certificate_the_allowlist_does_not_name_fails_with_the_handlers_reason() {
    // Arrange: a client certificate from the same (trusted) dev CA with another CN.
    let pki = TempDir::new("intruder");
    let front_end = DevFrontEnd::start(&pki, "required");
    let (certificate, key) = intruder_certificate(&pki);

    // Act
    let output = verify(&front_end.url, &pki, &certificate, &key, &[]);

    // Assert
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("ok    health: 200"), "{text}");
    assert!(
        text.contains(
            "FAIL  cert-info: 403: the handler refused the certificate: cert_not_allowed"
        ),
        "{text}"
    );
    assert!(
        text.contains("ok    forged header: refused by the front end"),
        "the forged copy of the intruder's certificate is refused too: {text}"
    );
}

#[test]
fn the_wrong_expected_identity_and_a_required_posture_fail() {
    let pki = TempDir::new("identity");
    let front_end = DevFrontEnd::start(&pki, "required");

    let output = verify_dev_client(
        &front_end,
        &pki,
        &[
            "--expect-identity",
            "partner-gateway.example",
            "--require-posture",
        ],
    );

    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  cert-info: 200, but it does not name partner-gateway.example (commonName \"dev-client.mtls-handler.local\")"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  posture: "),
        "handler dev has no site to verify, so a required posture fails: {text}"
    );
}

#[test]
fn a_front_end_in_optional_mode_fails_although_the_handler_refuses_the_forged_header() {
    // Arrange: the front end asks for a certificate but lets a client without one through
    // (clientCertMode Optional); it drops the forged header, so the handler sees none.
    let pki = TempDir::new("optional");
    let front_end = DevFrontEnd::start(&pki, "optional");

    // Act
    let output = verify_dev_client(&front_end, &pki, &[]);

    // Assert
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  forged header: 403 from the handler, cert_missing"),
        "the handler refused it, and the front end is named as the problem: {text}"
    );
    assert!(
        text.contains("the front end let a request without a client certificate through"),
        "{text}"
    );
    assert!(!text.contains("ADMITTED"), "{text}");
    assert!(
        text.contains("ok    cert-info: 200"),
        "a real certificate still works: {text}"
    );
}

#[test]
fn a_forged_header_that_reaches_a_handler_which_admits_it_is_reported_as_admitted() {
    // Arrange: the real handler (`serve`, trusting the dev CA and CN) behind a front end that
    // requests no certificate and passes the client's own X-ARR-ClientCert through, as a site
    // with client certificates off would if the platform left the header alone.
    let pki = TempDir::new("leaky");
    let _dev = DevFrontEnd::start(&pki, "required"); // makes the PKI
    let port = free_port();
    let ca = pki.file("ca.pem");
    let handler = HandlerProcess::spawn(
        port,
        &[
            ("CLIENT_CERT_TRUSTED_CA_PATHS", &ca),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", DEV_CLIENT_CN),
        ],
    );
    handler.wait_for_output("listening", Duration::from_secs(10));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let leaky = runtime.block_on(leaky_front_end(&pki.0, port));

    // Act
    let output = verify(
        &format!("https://localhost:{}", leaky.port()),
        &pki,
        &pki.file("client.pem"),
        &pki.file("client.key"),
        &[],
    );

    // Assert
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  forged header: ADMITTED (200): a caller without a certificate got in"),
        "{text}"
    );
}

#[test]
fn the_script_refuses_wrong_usage_with_status_2() {
    for (args, message) in [
        (
            vec!["--cert", "c.pem", "--key", "c.key"],
            "--url is required",
        ),
        (
            vec![
                "--url",
                "http://example.org",
                "--cert",
                "c.pem",
                "--key",
                "c.key",
            ],
            "--url must be https://",
        ),
        (
            vec!["--url", "https://example.org", "--bogus"],
            "unknown argument '--bogus'",
        ),
    ] {
        let output = script("verify-deployment.sh", &args, &[]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains(message), "{args:?}: {text}");
    }
}

#[test]
fn the_postdeploy_hook_is_off_until_given_a_certificate_then_runs_the_checks() {
    let off = script(
        "postdeploy.sh",
        &[],
        &[("AZURE_FUNCTION_APP_URL", "https://example.org")],
    );
    assert_eq!(off.status.code(), Some(0), "{}", stdout(&off));
    assert!(
        stdout(&off).contains("verification is off"),
        "{}",
        stdout(&off)
    );

    let pki = TempDir::new("postdeploy");
    let front_end = DevFrontEnd::start(&pki, "required");
    let (certificate, key, cacert) = (
        pki.file("client.pem"),
        pki.file("client.key"),
        pki.file("ca.pem"),
    );
    let output = script(
        "postdeploy.sh",
        &[],
        &[
            ("AZURE_FUNCTION_APP_URL", &front_end.url),
            ("MTLS_VERIFY_CERT", &certificate),
            ("MTLS_VERIFY_KEY", &key),
            ("MTLS_VERIFY_CACERT", &cacert),
            ("MTLS_VERIFY_FUNCTION_KEY", "a-function-key"),
            ("MTLS_VERIFY_EXPECT_IDENTITY", DEV_CLIENT_CN),
            ("MTLS_VERIFY_WAIT_SECONDS", "0"),
        ],
    );
    assert_passes_but_for_posture(&output, true);
}

/// A client certificate signed by the dev CA, for clientAuth, with a CN nobody allowlisted.
fn intruder_certificate(pki: &TempDir) -> (String, String) {
    let (certificate, key, request) = (
        pki.file("intruder.pem"),
        pki.file("intruder.key"),
        pki.file("intruder.csr"),
    );
    let extensions = pki.file("intruder.ext");
    std::fs::write(
        &extensions,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .expect("write the extensions");
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
    };
    run(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &request,
        "-subj",
        "/CN=intruder.example",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &request,
        "-CA",
        &pki.file("ca.pem"),
        "-CAkey",
        &pki.file("ca.key"),
        "-set_serial",
        "4242",
        "-days",
        "2",
        "-sha256",
        "-extfile",
        &extensions,
        "-out",
        &certificate,
    ]);
    (certificate, key)
}

/// HTTPS on 127.0.0.1 with the dev server certificate that asks for no client certificate and
/// forwards GETs to the handler on `handler_port` with the client's headers as they are.
async fn leaky_front_end(pki: &Path, handler_port: u16) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.join("server.pem"))
        .expect("server.pem")
        .collect::<Result<_, _>>()
        .expect("server certificates");
    let key = PrivateKeyDer::from_pem_file(pki.join("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server identity");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| async move {
                    Ok::<_, std::convert::Infallible>(pass_through(&request, handler_port))
                });
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await
                    .ok();
            });
        }
    });
    addr
}

/// The request as the handler would get it from a front end that leaves headers alone.
fn pass_through<B>(
    request: &hyper::Request<B>,
    handler_port: u16,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in request.headers() {
        if !["host", "connection"].contains(&name.as_str()) {
            head.push_str(&format!(
                "{name}: {}\r\n",
                value.to_str().unwrap_or_default()
            ));
        }
    }
    head.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", handler_port)).expect("handler");
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    stream.write_all(head.as_bytes()).expect("forward");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok();
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(502);
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .expect("response")
}
