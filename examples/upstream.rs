//! A local mutual-TLS upstream for `bench/load.sh`: the integration tests' server
//! (`tests/api/support/upstream.rs`: rustls, client certificate required, kept-alive HTTP/1.1
//! connections, one canned reply) on 127.0.0.1, until killed.
//!
//! Usage: `upstream <server-chain.pem> <server-key.pem> <client-ca.pem>`; prints
//! `listening 127.0.0.1:<port>` once it accepts connections.

#[path = "../tests/api/support/upstream.rs"]
mod upstream;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(chain), Some(key), Some(client_ca)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: upstream <server-chain.pem> <server-key.pem> <client-ca.pem>".into());
    };
    let chain = CertificateDer::pem_file_iter(chain)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let client_ca = CertificateDer::from_pem_file(client_ca)?;
    let reply = upstream::Reply::ok(r#"{"status":"ok"}"#);
    let server = upstream::Upstream::start(Some(client_ca), chain, key, reply).await;
    println!("listening {}", server.addr);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
