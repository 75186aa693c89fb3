//! The setup most inbound tests share: a handler that trusts the test root CA and allowlists
//! one common name, and the request that reaches a protected function with a certificate.

use super::host::{ClientRequest, FunctionsHost};
use super::pki::TestPki;

/// The common name the handler allowlists.
pub const ALLOWED_CN: &str = "client.example";

/// A handler that trusts `pki`'s root CA and allowlists [`ALLOWED_CN`], plus `extra` settings.
pub async fn start_trusting_root(pki: &TestPki, extra: &[(&str, &str)]) -> FunctionsHost {
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let mut env = vec![
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", ALLOWED_CN),
    ];
    env.extend_from_slice(extra);
    FunctionsHost::start(&env).await
}

/// `GET /api/cert-info` with `header` as the certificate header.
pub fn cert_info(header: &str) -> ClientRequest {
    ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", header)
}
