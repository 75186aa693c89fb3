//! Test support: the Functions app's files, the handler process, and the host emulator.
//!
//! Shared by every test binary that drives a function app through the host emulator: this
//! crate's `tests/api`, and an app's own tests (`examples/orders-api/tests/api.rs` includes this
//! folder with `#[path]`). The including crate says which app is under test with a `const APP:
//! support::AppUnderTest` at its root.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod azure;
pub mod crl_point;
#[path = "../../../src/client_cert/test_crl.rs"]
pub mod crl_spec;
pub mod host;
pub mod inbound;
pub mod process;
pub mod proxying;

pub use app::FunctionApp;
pub use host::{ClientRequest, FunctionsHost, MODES, Mode, PASS_THROUGH_MODES};
pub use process::{HandlerProcess, free_port};
pub mod pki;
pub mod upstream;

/// The function app a test binary drives: its root folder (host.json, the function folders) and
/// the handler binary its host.json names.
#[derive(Debug, Clone, Copy)]
pub struct AppUnderTest {
    pub root: &'static str,
    pub binary: &'static str,
}

/// A TLS acceptor with a server certificate for 127.0.0.1 from `pki`'s root CA, no client
/// authentication (what ARM looks like to the handler, with the root in its extra roots).
pub fn loopback_acceptor(pki: &pki::TestPki) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let server = pki.server();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone()));
    let chain = vec![CertificateDer::from(server.der.clone())];
    let config = upstream::server_config(None, chain, key);
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

/// A mutual-TLS upstream on loopback with a server certificate for 127.0.0.1 from `pki`'s root
/// CA, admitting client certificates from that CA.
pub async fn mtls_upstream(pki: &pki::TestPki, reply: upstream::Reply) -> upstream::Upstream {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let server = pki.server();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone()));
    let client_ca = Some(CertificateDer::from(pki.root.cert.der.clone()));
    let chain = vec![CertificateDer::from(server.der.clone())];
    upstream::Upstream::start(client_ca, chain, key, reply).await
}
