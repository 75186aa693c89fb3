//! The `cert-info` function (protected): the caller's identity as JSON. It keeps the reference
//! sample's fields (`fingerprint`, `commonName`, `validFrom`, `validTo`, `pem`) so existing
//! clients keep working, and adds the structured ones. `CERT_INFO_ENABLED=false` removes the
//! route (404), as the reference's clean-up advice asks of diagnostics.

use base64::Engine;
use serde::Serialize;
use warp::Filter;
use warp::http::HeaderValue;
use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use warp::reply::Response;

use crate::app::protected;
use crate::client_cert::{Authorized, Principal};
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
    /// Who the caller was admitted as: `{"kind": "dns_name", "value": "..."}`.
    principal: &'a Principal,
    verified_chain: bool,
}

#[derive(Debug, Serialize)]
struct SubjectAltNames<'a> {
    dns: &'a [String],
    uri: &'a [String],
    email: &'a [String],
    ip: Vec<String>,
}

/// `GET /<prefix>/cert-info`, behind the posture gate and the client-certificate filter.
pub fn route(
    state: AppState,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    route::function(&state.route_prefix, NAME)
        .and(warp::get())
        .and(protected(&state))
        .map(|authorized: Authorized| handle(&authorized))
}

fn handle(authorized: &Authorized) -> Response {
    let cert = &authorized.cert;
    let body = CertInfo {
        fingerprint: &cert.sha1_thumbprint,
        common_name: cert.common_name.as_deref(),
        valid_from: node_date(cert.not_before),
        valid_to: node_date(cert.not_after),
        pem: pem(&cert.der),
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
        principal: &authorized.principal,
        verified_chain: authorized.verified_chain,
    };
    // Serialised into a buffer sized for a typical answer (about 1.5 KB), not grown from empty.
    let mut json = Vec::with_capacity(2048);
    if let Err(error) = serde_json::to_writer(&mut json, &body) {
        tracing::error!(%error, "cannot serialise cert-info");
        return crate::error::ApiError::Internal.to_response();
    }
    let mut response = Response::new(json.into());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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

fn pem(der: &[u8]) -> String {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----\n";
    const END: &str = "-----END CERTIFICATE-----\n";
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem =
        String::with_capacity(BEGIN.len() + encoded.len() + encoded.len() / 64 + 1 + END.len());
    pem.push_str(BEGIN);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        // base64 is ASCII, so every split point is a character boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        pem.push_str(line);
        pem.push('\n');
        rest = tail;
    }
    pem.push_str(END);
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_lines_are_64_characters_between_the_armour() {
        let der: Vec<u8> = (0..=255u8).cycle().take(500).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = pem(&der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN CERTIFICATE-----"));
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        let body = &lines[1..lines.len() - 1];
        assert!(body[..body.len() - 1].iter().all(|line| line.len() == 64));
        assert_eq!(body.concat(), encoded);
    }

    #[test]
    fn dates_use_the_reference_format() {
        assert_eq!(node_date(1_725_395_764), "Sep  3 20:36:04 2024 GMT");
        assert_eq!(node_date(1_735_689_600), "Jan  1 00:00:00 2025 GMT");
    }
}
