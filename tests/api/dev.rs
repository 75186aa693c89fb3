//! `handler dev` end to end: the built binary started as a developer would, driven over real TLS
//! through its App Service-like front end, with and without the dev client certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use mtls_handler::dev::{front_end_addr, pki};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

use crate::support::{HandlerProcess, free_port};

/// `handler dev` running on a free front-end port, with its PKI in a temporary folder.
struct DevRun {
    process: HandlerProcess,
    front_end: SocketAddr,
}

/// A folder removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "mtls-handler-dev-{name}-{}-{n}",
            std::process::id()
        ));
        std::fs::remove_dir_all(&path).ok();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

impl DevRun {
    /// Starts `handler dev --port 0 --dir <dir>` and waits for the printed front-end address.
    fn start(dir: &Path, mode: &str) -> Self {
        let dir = dir.to_string_lossy().into_owned();
        let args = [
            "dev",
            "--port",
            "0",
            "--dir",
            &dir,
            "--client-cert-mode",
            mode,
        ];
        let mut process = HandlerProcess::spawn_with_args(free_port(), &args, &[]);
        let front_end = process.wait_for_line(front_end_addr, Duration::from_secs(5));
        std::net::TcpStream::connect_timeout(&front_end, Duration::from_secs(1))
            .expect("the front end accepts connections once its address is printed");
        Self { process, front_end }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.front_end.port())
    }

    /// A TLS client trusting the dev CA, presenting the dev client certificate if asked.
    fn client(&self, dir: &Path, with_certificate: bool) -> reqwest::Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(dir.join("ca.pem")).expect("ca.pem") {
            roots.add(ca.expect("CA certificate")).expect("usable CA");
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots);
        let mut config = if with_certificate {
            builder
                .with_client_auth_cert(client_chain(dir), client_key(dir))
                .expect("the dev client identity is usable")
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .no_proxy()
            .resolve("localhost", self.front_end)
            .timeout(Duration::from_secs(5))
            .build()
            .expect("TLS client")
    }
}

fn client_chain(dir: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(dir.join("client.pem"))
        .expect("client.pem")
        .collect::<Result<_, _>>()
        .expect("client certificate")
}

fn client_key(dir: &Path) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(dir.join("client.key")).expect("client.key")
}

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.expect("an HTTP answer");
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, json)
}

#[tokio::test]
async fn dev_with_the_client_certificate_cert_info_and_health_answer_200() {
    // Arrange
    let dir = TempDir::new("identity");
    let dev = DevRun::start(&dir.0, "required");
    let client = dev.client(&dir.0, true);

    // Act
    let (cert_info_status, cert_info) = get(&client, dev.url("/api/cert-info")).await;
    let (health_status, health) = get(&client, dev.url("/api/health")).await;

    // Assert
    assert_eq!(
        cert_info_status,
        200,
        "{cert_info}\n{}",
        dev.process.output()
    );
    assert_eq!(cert_info["commonName"], pki::CLIENT_CN);
    assert_eq!(cert_info["verifiedChain"], true);
    assert_eq!(health_status, 200, "{health}");
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn dev_outbound_mtls_reaches_the_local_remote_api() {
    let dir = TempDir::new("outbound");
    let dev = DevRun::start(&dir.0, "required");
    let client = dev.client(&dir.0, true);

    let (status, body) = get(&client, dev.url("/api/outbound-mtls")).await;

    assert_eq!(status, 200, "{body}\n{}", dev.process.output());
    assert_eq!(body["statusCode"], 200);
    let upstream: Value =
        serde_json::from_str(body["body"].as_str().expect("body is a string")).expect("JSON");
    assert_eq!(upstream["message"], "hello from the local remote API");
    assert_eq!(
        upstream["client"],
        pki::OUTBOUND_CN,
        "the dev outbound identity"
    );
}

#[tokio::test]
async fn dev_required_mode_refuses_the_handshake_without_a_certificate() {
    let dir = TempDir::new("required");
    let dev = DevRun::start(&dir.0, "required");
    let client = dev.client(&dir.0, false);

    let result = client.get(dev.url("/api/health")).send().await;

    assert!(
        result.is_err(),
        "no client certificate must fail the handshake, got {result:?}"
    );
}

#[tokio::test]
async fn dev_optional_mode_without_a_certificate_is_refused_even_with_a_spoofed_header() {
    // Arrange
    let dir = TempDir::new("optional");
    let dev = DevRun::start(&dir.0, "optional");
    let client = dev.client(&dir.0, false);
    let spoofed = base64::engine::general_purpose::STANDARD.encode(&client_chain(&dir.0)[0]);

    // Act
    let (plain_status, plain) = get(&client, dev.url("/api/cert-info")).await;
    let mut spoofed_answers = Vec::new();
    for names in [
        &["X-ARR-ClientCert"][..],
        &["x-arr-clientcert", "X-Arr-ClientCert"],
    ] {
        let mut request = client.get(dev.url("/api/cert-info"));
        for name in names {
            request = request.header(*name, &spoofed);
        }
        let response = request.send().await.expect("an HTTP answer");
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("JSON");
        spoofed_answers.push((names, status, body));
    }

    // Assert
    assert_eq!(plain_status, 403, "{plain}");
    assert_eq!(plain["code"], "cert_missing");
    for (names, status, body) in spoofed_answers {
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("cert_missing")),
            "the front end strips client-sent {names:?}: {body}"
        );
    }
}

#[tokio::test]
async fn dev_a_second_start_reuses_the_pki_and_sigterm_stops_cleanly() {
    // Arrange: a first start creates the PKI, then stops on SIGTERM.
    let dir = TempDir::new("reuse");
    let mut first = DevRun::start(&dir.0, "required");
    assert!(first.process.output().contains("PKI created"));
    first.process.terminate();
    let status = first.process.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "SIGTERM stops cleanly: {status}");
    let files = ["ca.pem", "client.pem", "client.key", "outbound.p12"];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|name| std::fs::read(dir.0.join(name)).expect("PKI file"))
        .collect();

    // Act
    let second = DevRun::start(&dir.0, "required");
    let (status, _) = get(&second.client(&dir.0, true), second.url("/api/cert-info")).await;

    // Assert
    assert!(
        second.process.output().contains("PKI reused"),
        "{}",
        second.process.output()
    );
    for (name, contents) in files.iter().zip(&before) {
        let now = std::fs::read(dir.0.join(name)).expect("PKI file");
        assert_eq!(&now, contents, "{name} is unchanged");
    }
    assert_eq!(status, 200, "the old client certificate still works");
}
