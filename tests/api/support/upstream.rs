//! A mutual-TLS upstream for tests: a tokio-rustls server on 127.0.0.1:0 that requires a client
//! certificate from a given CA, answers every HTTP/1.1 request on a kept-alive connection with
//! one canned reply, counts completed TLS handshakes, and records each request it received.
//!
//! Self-contained (tokio, tokio-rustls, rustls only) so both the library's unit tests
//! (`src/outbound/mod.rs` includes it with `#[path]`) and integration tests can use it:
//! `#[path = "support/upstream.rs"] mod upstream;`. It is not a real HTTP server: it reads a
//! request's head up to the blank line and then `content-length` bytes of body (no chunked
//! request bodies), which is all our client sends.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What the upstream answers to every request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// Waits this long before answering (for timeout tests).
    pub delay: Duration,
    /// Sends the body chunked, without `content-length`, so only a streaming cap can catch it.
    pub chunked: bool,
    /// Closes the connection after this many bytes of the response (a reset mid-body).
    pub cut_after: Option<usize>,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

/// One request as the upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `GET /path?query HTTP/1.1`.
    pub request_line: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
            chunked: false,
            cut_after: None,
            headers: Vec::new(),
        }
    }
}

/// A running upstream; stops when dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    /// The leaf each completed handshake's client presented, in order.
    client_leaves: Arc<Mutex<Vec<Vec<u8>>>>,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// Starts the server. `client_ca`: the CA client certificates must chain to (`None`: no
    /// client authentication). `chain`/`key`: the server's own identity.
    pub async fn start(
        client_ca: Option<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        reply: Reply,
    ) -> Self {
        let config = server_config(client_ca, chain, key);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counter = handshakes.clone();
        let requests = Arc::new(AtomicUsize::new(0));
        let request_counter = requests.clone();
        let client_leaves = Arc::new(Mutex::new(Vec::new()));
        let leaves = client_leaves.clone();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counter = counter.clone();
                let request_counter = request_counter.clone();
                let leaves = leaves.clone();
                let log = log.clone();
                let reply = reply.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        if let Some(leaf) =
                            tls.get_ref().1.peer_certificates().and_then(|c| c.first())
                        {
                            leaves.lock().expect("leaves lock").push(leaf.to_vec());
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                        serve(tls, &reply, &request_counter, &log).await;
                    }
                });
            }
        });
        Self {
            addr,
            handshakes,
            requests,
            client_leaves,
            received,
            task,
        }
    }

    /// `https://127.0.0.1:<port>/<path>` (the server certificate must name IP 127.0.0.1).
    pub fn url(&self, path: &str) -> String {
        format!("https://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Requests received so far (counted before the reply's delay).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The client leaf (DER) of every completed handshake so far, in order.
    pub fn client_leaves(&self) -> Vec<Vec<u8>> {
        self.client_leaves.lock().expect("leaves lock").clone()
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received lock").clone()
    }

    /// Completed TLS handshakes so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// A rustls server config (ring, HTTP/1.1) with `chain`/`key` as the server's identity,
/// requiring a client certificate from `client_ca` when one is given.
pub fn server_config(
    client_ca: Option<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions");
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).expect("test CA is valid");
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("client verifier builds");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .expect("test server identity is valid");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers requests on one connection until the client closes it.
async fn serve<S>(mut stream: S, reply: &Reply, requests: &AtomicUsize, log: &Mutex<Vec<Received>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buffer = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let read = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        while let Some(end) = find_blank_line(&buffer) {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap_or_default().to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect();
            let length = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .and_then(|(_, value)| value.parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() < end + 4 + length {
                break;
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            log.lock().expect("received lock").push(Received {
                request_line,
                headers,
                body,
            });
            requests.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(reply.delay).await;
            let rendered = render(reply);
            let cut = reply
                .cut_after
                .unwrap_or(rendered.len())
                .min(rendered.len());
            if stream.write_all(&rendered[..cut]).await.is_err() || cut < rendered.len() {
                stream.shutdown().await.ok();
                return;
            }
        }
    }
}

fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    buffer.windows(4).position(|window| window == b"\r\n\r\n")
}

fn render(reply: &Reply) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} X\r\ncontent-type: text/plain\r\n",
        reply.status
    )
    .into_bytes();
    for (name, value) in &reply.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if reply.chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
        for piece in reply.body.chunks(8192) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", reply.body.len()).as_bytes());
        out.extend_from_slice(&reply.body);
    }
    out
}
