//! What `handler dev` prints when it is up: where the PKI is (made or reused), what listens
//! where, and the exact curl commands that work, plus one that shows a refusal.
//!
//! The front-end line has a fixed shape ([`FRONT_END_PREFIX`]) so tools can find the address.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

use super::pki::{CLIENT_CN, DevPki};
use super::tls::ClientCertMode;
use super::{DevOptions, remote_api};

/// The start of the line that names the front end's address.
pub const FRONT_END_PREFIX: &str = "front end:      https://";

/// Where each part of `handler dev` listens.
pub struct Addresses {
    pub front_end: SocketAddr,
    pub handler: SocketAddr,
    pub remote_api: SocketAddr,
}

/// The whole message, ready to print.
pub fn render(
    pki: &DevPki,
    options: &DevOptions,
    addresses: &Addresses,
    route_prefix: &str,
) -> String {
    let dir = pki.dir.display();
    let made = if pki.created { "created" } else { "reused" };
    let mode = match options.client_cert_mode {
        ClientCertMode::Required => "client certificate required",
        ClientCertMode::Optional => "client certificate optional",
    };
    let mut out = String::new();
    let _ = writeln!(out, "handler dev: development PKI {made} in {dir}");
    let _ = writeln!(
        out,
        "  {FRONT_END_PREFIX}{} (like App Service: {mode}, forwarded in X-ARR-ClientCert)",
        addresses.front_end
    );
    let _ = writeln!(out, "  handler:        http://{}", addresses.handler);
    let _ = writeln!(
        out,
        "  remote API:     https://localhost:{}/ (mutual TLS, dev CA; answers {:?})",
        addresses.remote_api.port(),
        remote_api::MESSAGE
    );
    let base = format!("https://localhost:{}", addresses.front_end.port());
    let prefix = if route_prefix.is_empty() {
        String::new()
    } else {
        format!("/{route_prefix}")
    };
    let file = |name: &str| quote(&pki.file(name));
    let identity = format!(
        "--cert {} --key {} --cacert {}",
        file("client.pem"),
        file("client.key"),
        file("ca.pem")
    );
    let _ = writeln!(out, "\nWith the dev client certificate (CN={CLIENT_CN}):");
    for function in ["health", "cert-info", "outbound-mtls"] {
        let _ = writeln!(out, "  curl {identity} {base}{prefix}/{function}");
    }
    let refused = format!("curl --cacert {} {base}{prefix}/cert-info", file("ca.pem"));
    let _ = match options.client_cert_mode {
        ClientCertMode::Optional => writeln!(
            out,
            "\nWithout one (refused by the handler: 403 cert_missing):\n  {refused}"
        ),
        ClientCertMode::Required => writeln!(
            out,
            "\nWithout one (refused by the front end: the TLS handshake fails):\n  {refused}"
        ),
    };
    let _ = write!(out, "\nCtrl-C stops everything.");
    out
}

/// The address in a front-end line of [`render`]'s output.
pub fn front_end_addr(line: &str) -> Option<SocketAddr> {
    let start = line.find(FRONT_END_PREFIX)? + FRONT_END_PREFIX.len();
    line[start..].split_whitespace().next()?.parse().ok()
}

/// A path as a shell word: as is when it is plain, single-quoted otherwise.
fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn rendered(mode: ClientCertMode, dir: &str) -> String {
        let pki = DevPki {
            dir: PathBuf::from(dir),
            created: true,
        };
        let options = DevOptions {
            dir: PathBuf::from(dir),
            port: 0,
            client_cert_mode: mode,
        };
        let addresses = Addresses {
            front_end: "127.0.0.1:7071".parse().expect("addr"),
            handler: "127.0.0.1:3000".parse().expect("addr"),
            remote_api: "127.0.0.1:4443".parse().expect("addr"),
        };
        render(&pki, &options, &addresses, "api")
    }

    #[test]
    fn dev_the_banner_names_the_front_end_and_one_curl_per_function() {
        let text = rendered(ClientCertMode::Required, ".dev");
        let addr = text.lines().find_map(front_end_addr);
        assert_eq!(
            addr,
            Some("127.0.0.1:7071".parse().expect("addr")),
            "{text}"
        );
        let expected = "curl --cert .dev/client.pem --key .dev/client.key --cacert .dev/ca.pem \
                        https://localhost:7071/api/outbound-mtls";
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("the TLS handshake fails"), "{text}");
        assert!(text.contains("created in .dev"), "{text}");
    }

    #[test]
    fn dev_optional_mode_shows_the_403_and_odd_paths_are_quoted() {
        let text = rendered(ClientCertMode::Optional, "/tmp/my dev");
        assert!(text.contains("403 cert_missing"), "{text}");
        assert!(text.contains("--cacert '/tmp/my dev/ca.pem'"), "{text}");
    }
}
