//! Test support: the Functions app's files, the handler process, and the host emulator.
#![allow(dead_code)]

pub mod app;
pub mod crl_point;
pub mod host;
pub mod inbound;
pub mod process;
pub mod proxying;

pub use app::FunctionApp;
pub use host::{ClientRequest, FunctionsHost, MODES, Mode, PASS_THROUGH_MODES};
pub use process::{HandlerProcess, free_port};
pub mod pki;
pub mod upstream;

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
