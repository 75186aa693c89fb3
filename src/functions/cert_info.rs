//! The `cert-info` function (protected): the caller's identity as JSON. It keeps the reference
//! sample's fields (`fingerprint`, `commonName`, `validFrom`, `validTo`, `pem`) so existing
//! clients keep working, and adds the structured ones. `CERT_INFO_ENABLED=false` removes the
//! route (404), as the reference's clean-up advice asks of diagnostics.

use base64::Engine;
use serde::Serialize;
use warp::Filter;
use warp::reply::Response;

use crate::client_cert::{Authorized, ClientCert, client_cert};
use crate::host::route;
use crate::state::AppState;

/// The function folder's name.
pub const NAME: &str = "cert-info";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CertInfo<'a> {
    /// SHA-1 of the DER, upper-case hex (the reference's `fingerprint`).
    fingerprint: &'a str,
    common_name: Option<&'a str>,
    /// The reference's date format (Node's `X509Certificate.validFrom`).
    valid_from: String,
    valid_to: String,
    pem: String,
    sha256: &'a str,
    spki_sha256: &'a str,
    subject: &'a str,
    issuer: &'a str,
    serial_number: &'a str,
    subject_alt_names: SubjectAltNames<'a>,
    not_before: &'a str,
    not_after: &'a str,
    matched_rule: &'a str,
    verified_chain: bool,
}

#[derive(Debug, Serialize)]
struct SubjectAltNames<'a> {
    dns: &'a [String],
    uri: &'a [String],
    email: &'a [String],
    ip: Vec<String>,
}

/// `GET /<prefix>/cert-info`, behind the client-certificate filter.
pub fn route(
    state: AppState,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    route::function(&state.route_prefix, NAME)
        .and(warp::get())
        .and(client_cert(state.authenticator.clone()))
        .map(|authorized: Authorized| handle(&authorized))
}

fn handle(authorized: &Authorized) -> Response {
    use warp::Reply;
    let cert = &authorized.cert;
    let body = CertInfo {
        fingerprint: &cert.sha1_thumbprint,
        common_name: cert.common_name.as_deref(),
        valid_from: node_date(cert.not_before),
        valid_to: node_date(cert.not_after),
        pem: pem(cert),
        sha256: &cert.sha256_thumbprint,
        spki_sha256: &cert.spki_sha256_base64,
        subject: &cert.subject.rfc4514,
        issuer: &cert.issuer.rfc4514,
        serial_number: &cert.serial_hex,
        subject_alt_names: SubjectAltNames {
            dns: &cert.dns_names,
            uri: &cert.uris,
            email: &cert.emails,
            ip: cert.ip_addresses.iter().map(ToString::to_string).collect(),
        },
        not_before: &cert.not_before_rfc3339,
        not_after: &cert.not_after_rfc3339,
        matched_rule: &authorized.matched_rule,
        verified_chain: authorized.verified_chain,
    };
    warp::reply::with_header(warp::reply::json(&body), "cache-control", "no-store").into_response()
}

/// `Sep  3 20:36:04 2024 GMT`, the format Node's `X509Certificate` uses.
fn node_date(unix_seconds: u64) -> String {
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
    );
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|date| date.format(&format).ok())
        .unwrap_or_default()
}

fn pem(cert: &ClientCert) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(&cert.der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_use_the_reference_format() {
        assert_eq!(node_date(1_725_395_764), "Sep  3 20:36:04 2024 GMT");
        assert_eq!(node_date(1_735_689_600), "Jan  1 00:00:00 2025 GMT");
    }
}
