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

use crate::support::pki::{Leaf, TestPki};
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
        Self::start_with(dir, mode, &[], &[])
    }

    /// Like [`DevRun::start`], with more arguments and environment variables.
    fn start_with(dir: &Path, mode: &str, more: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = dir.to_string_lossy().into_owned();
        let mut args = vec![
            "dev",
            "--port",
            "0",
            "--dir",
            &dir,
            "--client-cert-mode",
            mode,
        ];
        args.extend_from_slice(more);
        let mut process = HandlerProcess::spawn_with_args(free_port(), &args, env);
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
        let identity = with_certificate.then(|| (client_chain(dir), client_key(dir)));
        self.client_with(dir, identity)
    }

    /// A TLS client trusting the dev CA, presenting `identity` (a chain and its key) if given.
    fn client_with(
        &self,
        dir: &Path,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> reqwest::Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(dir.join("ca.pem")).expect("ca.pem") {
            roots.add(ca.expect("CA certificate")).expect("usable CA");
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots);
        let mut config = match identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .expect("the client identity is usable"),
            None => builder.with_no_client_auth(),
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

#[tokio::test]
async fn dev_adds_its_ca_and_client_to_the_users_allowlist_so_the_users_partner_is_still_admitted()
{
    // Arrange: the user allowlists a partner under the partner's own CA, and has a REMOTE_API_URL.
    let dir = TempDir::new("merge");
    let partner_pki = TestPki::new("dev-merge");
    let partner_ca = partner_pki.write("partner-ca.pem", &partner_pki.root.cert.pem);
    let partner = partner_pki.issue(&Leaf::client("partner-gw.example"));
    let dev = DevRun::start_with(
        &dir.0,
        "required",
        &[],
        &[
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", "partner-gw.example"),
            ("CLIENT_CERT_TRUSTED_CA_PATHS", &partner_ca),
            ("REMOTE_API_URL", "https://partner.example/api?sig=secret"),
        ],
    );
    let partner_identity = (
        vec![CertificateDer::from(partner.der.clone())],
        PrivateKeyDer::try_from(partner.key_der.clone()).expect("partner key"),
    );

    // Act
    let (partner_status, partner_body) = get(
        &dev.client_with(&dir.0, Some(partner_identity)),
        dev.url("/api/cert-info"),
    )
    .await;
    let (dev_status, _) = get(&dev.client(&dir.0, true), dev.url("/api/cert-info")).await;
    let output = dev
        .process
        .wait_for_output("replaces this setting", Duration::from_secs(2));

    // Assert
    assert_eq!(partner_status, 200, "{partner_body}\n{output}");
    assert_eq!(partner_body["principal"]["value"], "partner-gw.example");
    assert_eq!(dev_status, 200, "the dev client too");
    assert!(
        output.contains(
            "ALLOWED_CLIENT_CERT_COMMON_NAMES=partner-gw.example,dev-client.mtls-handler.local"
        ),
        "the effective settings are printed:\n{output}"
    );
    let warning = output
        .lines()
        .find(|line| line.contains("replaces this setting") && line.contains("REMOTE_API_URL"))
        .unwrap_or_else(|| panic!("no warning for REMOTE_API_URL:\n{output}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        !output.contains("sig=secret"),
        "no query printed:\n{output}"
    );
}

#[tokio::test]
async fn dev_upstream_puts_the_front_end_before_a_running_host_with_the_client_certificate() {
    // Arrange: a loopback server plays the host `func start` runs, echoing what it received.
    let dir = TempDir::new("upstream");
    let (host_addr, seen) = echo_host().await;
    let upstream = format!("http://{host_addr}");
    let dev = DevRun::start_with(&dir.0, "required", &["--upstream", &upstream], &[]);

    // Act
    let response = dev
        .client(&dir.0, true)
        .post(dev.url("/api/orders/7?verbose=1"))
        .header("X-ARR-ClientCert", "spoofed")
        .body("{}")
        .send()
        .await
        .expect("an answer through the front end");
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");

    // Assert
    assert_eq!((status, body.as_str()), (200, "from the host"));
    let seen = seen
        .lock()
        .expect("lock")
        .clone()
        .expect("the host got a request");
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path_and_query, "/api/orders/7?verbose=1");
    let dev_client = base64::engine::general_purpose::STANDARD.encode(&client_chain(&dir.0)[0]);
    assert_eq!(
        seen.client_cert,
        vec![dev_client],
        "exactly the presented certificate, the spoofed one dropped"
    );
    assert!(
        seen.invocation_id.is_none(),
        "the host adds its own invocation id"
    );
    let output = dev.process.output();
    let upstream_line = format!("upstream:       {upstream}");
    for expected in [
        upstream_line.as_str(),
        "\"ALLOWED_CLIENT_CERT_COMMON_NAMES\": \"dev-client.mtls-handler.local\"",
        "\"CLIENT_CERT_TRUSTED_CA_PATHS\": ",
        "https://localhost:",
    ] {
        assert!(output.contains(expected), "{expected}\n{output}");
    }
    assert!(
        !output.contains("handler:        http://"),
        "no handler of its own:\n{output}"
    );
}

#[test]
fn check_dev_judges_with_the_settings_dev_adds() {
    // Arrange: a dev PKI, made by a first start of handler dev.
    let dir = TempDir::new("check");
    let mut first = DevRun::start(&dir.0, "required");
    first.process.terminate();
    first.process.wait_exit(Duration::from_secs(5));
    let client = dir.0.join("client.pem").to_string_lossy().into_owned();
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let check = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
            .arg("check")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ALLOWED_CLIENT_CERT_COMMON_NAMES", "partner-gw.example")
            .output()
            .expect("run handler check")
    };

    // Act
    let with_dev = check(&["--dev", "--dir", &dir_arg, "--cert", &client]);
    let plain = check(&["--cert", &client]);

    // Assert
    let with_dev_out = String::from_utf8_lossy(&with_dev.stdout);
    assert_eq!(with_dev.status.code(), Some(0), "{with_dev_out}");
    assert!(
        with_dev_out.contains("answer: 200 admitted by rule common_name"),
        "{with_dev_out}"
    );
    assert!(
        with_dev_out.contains("partner-gw.example,dev-client.mtls-handler.local"),
        "the settings it judged with:\n{with_dev_out}"
    );
    let plain_out = String::from_utf8_lossy(&plain.stdout);
    let plain_err = String::from_utf8_lossy(&plain.stderr);
    assert_eq!(plain.status.code(), Some(64), "{plain_out}{plain_err}");
    assert!(
        plain_err.contains("CLIENT_CERT_TRUSTED_CA_PATHS"),
        "a CN rule without a CA is a configuration error:\n{plain_err}"
    );
}

/// What the host stand-in received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path_and_query: String,
    client_cert: Vec<String>,
    invocation_id: Option<String>,
}

/// A plain-HTTP server on loopback answering `from the host` and keeping the last request.
async fn echo_host() -> (SocketAddr, Arc<std::sync::Mutex<Option<Seen>>>) {
    use warp::Filter;
    let seen = Arc::new(std::sync::Mutex::new(None));
    let record = Arc::clone(&seen);
    let route = warp::method()
        .and(warp::filters::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .map(
            move |method: warp::http::Method,
                  path: warp::filters::path::FullPath,
                  query: String,
                  headers: warp::http::HeaderMap| {
                let text =
                    |value: &warp::http::HeaderValue| value.to_str().unwrap_or_default().to_owned();
                let path_and_query = if query.is_empty() {
                    path.as_str().to_owned()
                } else {
                    format!("{}?{query}", path.as_str())
                };
                *record.lock().expect("lock") = Some(Seen {
                    method: method.to_string(),
                    path_and_query,
                    client_cert: headers
                        .get_all("x-arr-clientcert")
                        .iter()
                        .map(text)
                        .collect(),
                    invocation_id: headers.get("x-azure-functions-invocationid").map(text),
                });
                "from the host"
            },
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(warp::serve(route).incoming(listener).run());
    (addr, seen)
}
