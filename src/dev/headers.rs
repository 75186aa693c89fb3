//! What the front end of `handler dev` does to headers, as App Service and the Functions host
//! do: the request headers the handler receives (the client's, minus hop-by-hop ones and minus
//! any `X-ARR-ClientCert` the client sent, plus the presented certificate and the host's own
//! headers), the response headers passed back, and the invocation id.
//!
//! Pure functions over header maps; the server and the forwarding live in `front_end.rs`.

use base64::Engine;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use rustls::crypto::CryptoProvider;

use super::https::Peer;

/// The header App Service forwards the client certificate in.
pub const CLIENT_CERT_HEADER: &str = "x-arr-clientcert";
/// The Functions host version the front end claims to be.
pub const HOST_VERSION: &str = "4.1036.1.23224";

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The headers the handler receives: the client's, cleaned, plus the front end's and, with an
/// `invocation_id` (when the front end also plays the Functions host), the host's.
pub fn forwarded_headers(
    original: &HeaderMap,
    peer: &Peer,
    invocation_id: Option<&str>,
) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(original.len() + 6);
    let replaced = [
        CLIENT_CERT_HEADER,
        "x-forwarded-for",
        "x-forwarded-proto",
        "content-length",
    ];
    for (name, value) in original {
        if !is_hop_by_hop(name) && !replaced.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(certificate) = &peer.certificate {
        let encoded = base64::engine::general_purpose::STANDARD.encode(certificate);
        let value = HeaderValue::try_from(encoded).expect("base64 is a valid header value");
        headers.insert(CLIENT_CERT_HEADER, value);
    }
    let mut forwarded_for: Vec<&str> = original
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let client_ip = peer.addr.ip().to_string();
    forwarded_for.push(&client_ip);
    if let Ok(value) = HeaderValue::try_from(forwarded_for.join(", ")) {
        headers.insert("x-forwarded-for", value);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    let Some(invocation_id) = invocation_id else {
        return headers;
    };
    if let Ok(value) = HeaderValue::try_from(invocation_id) {
        headers.insert("x-azure-functions-invocationid", value);
    }
    headers.insert(
        "x-azure-functions-hostversion",
        HeaderValue::from_static(HOST_VERSION),
    );
    headers
}

/// Drops hop-by-hop headers and `content-length` (hyper sets it from the body).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP.iter().chain(&["content-length"]) {
        headers.remove(*name);
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// A version-4 GUID from the provider's random source (time-derived if that ever fails).
pub fn invocation_id(provider: &CryptoProvider) -> String {
    let mut bytes = [0u8; 16];
    if provider.secure_random.fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        bytes = nanos.to_be_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr};

    use rustls::pki_types::CertificateDer;

    fn peer(certificate: Option<&[u8]>) -> Peer {
        Peer {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 50_000)),
            certificate: certificate.map(|der| CertificateDer::from(der.to_vec())),
        }
    }

    fn client_headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_static(value),
            );
        }
        headers
    }

    #[test]
    fn dev_a_client_sent_certificate_header_is_dropped_in_any_case() {
        let original = client_headers(&[
            ("X-ARR-ClientCert", "spoofed-1"),
            ("x-arr-clientcert", "spoofed-2"),
            ("X-Arr-Clientcert", "spoofed-3"),
            ("accept", "*/*"),
        ]);
        let forwarded = forwarded_headers(&original, &peer(None), Some("id"));
        assert!(
            forwarded
                .get_all(CLIENT_CERT_HEADER)
                .iter()
                .next()
                .is_none(),
            "no certificate presented: no header at all, got {forwarded:?}"
        );
        assert_eq!(forwarded["accept"], "*/*", "other headers pass through");
    }

    #[test]
    fn dev_the_presented_certificate_replaces_a_spoofed_one() {
        let original = client_headers(&[("X-ARR-ClientCert", "spoofed")]);
        let forwarded = forwarded_headers(&original, &peer(Some(b"der")), Some("id"));
        let values: Vec<_> = forwarded.get_all(CLIENT_CERT_HEADER).iter().collect();
        assert_eq!(values, vec!["ZGVy"], "exactly one value: base64 of the DER");
    }

    #[test]
    fn dev_the_host_headers_are_set_and_hop_by_hop_ones_dropped() {
        let original = client_headers(&[
            ("host", "localhost:7071"),
            ("connection", "keep-alive"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-proto", "http"),
            ("x-azure-functions-invocationid", "client-chosen"),
        ]);
        let forwarded = forwarded_headers(&original, &peer(None), Some("the-id"));
        assert_eq!(forwarded["host"], "localhost:7071", "the original Host");
        assert!(forwarded.get("connection").is_none());
        assert_eq!(forwarded["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(forwarded["x-forwarded-proto"], "https");
        assert_eq!(forwarded["x-azure-functions-invocationid"], "the-id");
        assert_eq!(forwarded["x-azure-functions-hostversion"], HOST_VERSION);
    }

    #[test]
    fn dev_in_front_of_a_host_the_host_headers_are_left_to_it() {
        let original = client_headers(&[("host", "localhost:7071")]);
        let forwarded = forwarded_headers(&original, &peer(Some(b"der")), None);
        assert_eq!(
            forwarded[CLIENT_CERT_HEADER], "ZGVy",
            "the front end's own header"
        );
        assert_eq!(forwarded["x-forwarded-proto"], "https");
        assert!(forwarded.get("x-azure-functions-hostversion").is_none());
        assert!(forwarded.get("x-azure-functions-invocationid").is_none());
    }

    #[test]
    fn dev_invocation_ids_are_fresh_version_4_guids() {
        let provider = crate::outbound::tls::provider();
        let first = invocation_id(&provider);
        let second = invocation_id(&provider);
        assert_ne!(first, second);
        let groups: Vec<usize> = first.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12], "{first}");
        assert_eq!(&first[14..15], "4", "version nibble: {first}");
    }
}
