//! Header value(s) -> the DER bytes of exactly one certificate.
//!
//! One [`HeaderFormat`] per deployment; we never guess between formats. Decoding is strict: one
//! header occurrence, one certificate, no trailing bytes, a size cap on the raw value. This
//! module does not parse the certificate (see `certificate.rs`) and knows no HTTP types.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::Denied;

/// The default cap on the raw header value, in bytes.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// The largest cap the setting allows: 256 KiB. The HTTP server answers 431 to a request head
/// over [`crate::http_server::MAX_REQUEST_HEAD_BYTES`] (417,792 bytes), so a larger cap would
/// promise what the server never lets through; this leaves the rest of the head more than
/// 150 KB.
pub const LARGEST_MAX_HEADER_BYTES: usize = 256 * 1024;

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// How the front end encodes the certificate in the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderFormat {
    /// Standard, padded base64 of the DER (App Service's `X-ARR-ClientCert`).
    #[default]
    Base64Der,
    /// PEM, with or without armour lines; line breaks may arrive as spaces.
    Pem,
    /// Percent-encoded PEM (`+` stays `+`): nginx `$ssl_client_escaped_cert`, Traefik.
    UrlPem,
    /// RFC 9440 `Client-Cert`: a structured-field byte sequence, `:<base64>:`.
    Rfc9440,
    /// Envoy `x-forwarded-client-cert`: the `Cert="<url-encoded PEM>"` of its single element.
    Xfcc,
}

impl HeaderFormat {
    /// Every format, for tests and fuzzing that must cover them all.
    pub const ALL: [Self; 5] = [
        Self::Base64Der,
        Self::Pem,
        Self::UrlPem,
        Self::Rfc9440,
        Self::Xfcc,
    ];
}

impl FromStr for HeaderFormat {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "base64-der" => Ok(Self::Base64Der),
            "pem" => Ok(Self::Pem),
            "url-pem" => Ok(Self::UrlPem),
            "rfc9440" => Ok(Self::Rfc9440),
            "xfcc" => Ok(Self::Xfcc),
            _ => Err("expected base64-der, pem, url-pem, rfc9440 or xfcc"),
        }
    }
}

impl fmt::Display for HeaderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Base64Der => "base64-der",
            Self::Pem => "pem",
            Self::UrlPem => "url-pem",
            Self::Rfc9440 => "rfc9440",
            Self::Xfcc => "xfcc",
        })
    }
}

/// Decodes every occurrence of the header (`values`; empty = missing) into one DER certificate.
///
/// # Errors
/// [`Denied::Missing`] for no (or blank) values, [`Denied::Ambiguous`] for a repeated header
/// (two values, or a comma-joined value), [`Denied::Malformed`] for anything else that is not
/// exactly one DER certificate within `max_bytes`.
pub fn decode(values: &[&[u8]], format: HeaderFormat, max_bytes: usize) -> Result<Vec<u8>, Denied> {
    let raw = match values {
        [] => return Err(Denied::Missing),
        [one] => *one,
        _ => return Err(Denied::ambiguous("header repeated")),
    };
    if raw.len() > max_bytes {
        return Err(Denied::malformed(format!(
            "header is {} bytes, over the {max_bytes}-byte cap",
            raw.len()
        )));
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| Denied::malformed("header is not ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(Denied::Missing);
    }
    if format != HeaderFormat::Xfcc && text.contains(',') {
        return Err(Denied::ambiguous("header repeated (comma-joined values)"));
    }
    let der = match format {
        HeaderFormat::Base64Der => base64(text)?,
        HeaderFormat::Pem => pem(text)?,
        HeaderFormat::UrlPem => pem(&percent_decode(text)?)?,
        HeaderFormat::Rfc9440 => rfc9440(text)?,
        HeaderFormat::Xfcc => pem(&percent_decode(&xfcc_cert(text)?)?)?,
    };
    check_single_der(&der)?;
    Ok(der)
}

fn base64(text: &str) -> Result<Vec<u8>, Denied> {
    STANDARD
        .decode(text)
        .map_err(|_| Denied::malformed("invalid base64"))
}

/// PEM body with or without armour; every kind of whitespace inside is dropped.
fn pem(text: &str) -> Result<Vec<u8>, Denied> {
    let text = text.trim();
    let body = match text.strip_prefix(PEM_BEGIN) {
        Some(rest) => rest
            .trim_end()
            .strip_suffix(PEM_END)
            .ok_or_else(|| Denied::malformed("pem without end line"))?,
        None if text.contains("-----") => {
            return Err(Denied::malformed("pem armour is not a single certificate"));
        }
        None => text,
    };
    if body.contains("-----") {
        return Err(Denied::ambiguous("more than one pem block"));
    }
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64(&compact)
}

/// RFC 3986 percent-decoding; `+` is kept as `+` (it is a base64 character, not a space).
/// An escape is `%` and exactly two hex digits (`u8::from_str_radix` alone would take `%+A`).
fn percent_decode(text: &str) -> Result<String, Denied> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .filter(|pair| pair.iter().all(u8::is_ascii_hexdigit))
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| Denied::malformed("invalid percent-encoding"))?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Denied::malformed("percent-decoded value is not text"))
}

fn rfc9440(text: &str) -> Result<Vec<u8>, Denied> {
    let inner = text
        .strip_prefix(':')
        .and_then(|rest| rest.strip_suffix(':'))
        .ok_or_else(|| Denied::malformed("not a structured-field byte sequence"))?;
    base64(inner)
}

/// The `Cert="..."` value of the single XFCC element (quotes respected, `\"` escapes allowed).
fn xfcc_cert(text: &str) -> Result<String, Denied> {
    let elements = split_unquoted(text, ',')?;
    if elements.len() != 1 {
        return Err(Denied::ambiguous("xfcc has more than one element"));
    }
    let mut cert = None;
    for pair in split_unquoted(&elements[0], ';')? {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Denied::malformed("xfcc pair without '='"))?;
        if key.trim().eq_ignore_ascii_case("cert") {
            if cert.is_some() {
                return Err(Denied::ambiguous("xfcc element has more than one Cert"));
            }
            cert = Some(unquote(value.trim()));
        }
    }
    cert.ok_or(Denied::Missing)
}

fn split_unquoted(text: &str, separator: char) -> Result<Vec<String>, Denied> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        let current = parts
            .last_mut()
            .expect("parts starts non-empty and only grows");
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(String::new());
            continue;
        }
        current.push(c);
    }
    if quoted {
        return Err(Denied::malformed("xfcc has an unterminated quote"));
    }
    Ok(parts)
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => value.to_owned(),
    }
}

/// The buffer must be exactly one DER SEQUENCE: its length field covers the rest, no more.
pub(crate) fn check_single_der(der: &[u8]) -> Result<(), Denied> {
    crate::cert_file::check_single_der(der).map_err(|error| Denied::malformed(error.to_string()))
}

/// `der` as a front end would send it in `format`: the inverse of [`decode`] (`handler check
/// --cert` goes through the same decoding `serve` does).
pub fn encode(der: &[u8], format: HeaderFormat) -> String {
    let b64 = STANDARD.encode(der);
    let pem = format!("{PEM_BEGIN}\n{b64}\n{PEM_END}\n");
    match format {
        HeaderFormat::Base64Der => b64,
        HeaderFormat::Pem => pem.replace('\n', " ").trim_end().to_owned(),
        HeaderFormat::UrlPem => percent_encode(&pem),
        HeaderFormat::Rfc9440 => format!(":{b64}:"),
        HeaderFormat::Xfcc => format!("Cert=\"{}\"", percent_encode(&pem)),
    }
}

/// Percent-encodes all but unreserved characters and `+` (as nginx and Traefik do).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'+' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::test_pki::Leaf;

    fn der() -> Vec<u8> {
        Leaf::cn("header-test").self_signed()
    }

    fn pem_lines(der: &[u8]) -> String {
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ascii"))
            .collect();
        format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", lines.join("\n"))
    }

    #[test]
    fn every_format_decodes_back_what_encode_wrote() {
        let der = der();
        for format in HeaderFormat::ALL {
            let value = encode(&der, format);
            assert_eq!(
                decode(&[value.as_bytes()], format, 1 << 20),
                Ok(der.clone()),
                "{format}"
            );
        }
    }

    #[test]
    fn every_format_decodes_its_own_encoding() {
        let der = der();
        let b64 = STANDARD.encode(&der);
        let pem = pem_lines(&der);
        let cases: Vec<(&str, HeaderFormat, String)> = vec![
            ("app service base64", HeaderFormat::Base64Der, b64.clone()),
            (
                "base64 with whitespace around",
                HeaderFormat::Base64Der,
                format!("  {b64}\t"),
            ),
            (
                "pem with armour on one line",
                HeaderFormat::Pem,
                pem.replace('\n', " "),
            ),
            ("pem with newlines", HeaderFormat::Pem, pem.clone()),
            ("pem without armour", HeaderFormat::Pem, b64.clone()),
            (
                "nginx escaped pem (+ kept)",
                HeaderFormat::UrlPem,
                percent_encode(&pem),
            ),
            (
                "rfc9440 byte sequence",
                HeaderFormat::Rfc9440,
                format!(":{b64}:"),
            ),
            (
                "envoy xfcc with quoted subject containing commas",
                HeaderFormat::Xfcc,
                format!(
                    "By=spiffe://a/b;Hash=abc;Subject=\"CN=x,O=y\";Cert=\"{}\";URI=spiffe://c",
                    percent_encode(&pem)
                ),
            ),
        ];
        for (reason, format, value) in cases {
            let decoded = decode(&[value.as_bytes()], format, DEFAULT_MAX_HEADER_BYTES);
            assert_eq!(decoded.as_ref(), Ok(&der), "{reason}");
        }
    }

    #[test]
    fn bad_headers_are_refused_with_their_code() {
        let der = der();
        let b64 = STANDARD.encode(&der);
        let mut trailing = der.clone();
        trailing.extend_from_slice(&[0x05, 0x00]);
        let pem = pem_lines(&der);
        let xfcc = format!("Cert=\"{}\"", percent_encode(&pem));
        let cases: Vec<(&str, HeaderFormat, Vec<String>, &str)> = vec![
            (
                "no header at all",
                HeaderFormat::Base64Der,
                vec![],
                "cert_missing",
            ),
            (
                "blank header",
                HeaderFormat::Base64Der,
                vec!["  ".into()],
                "cert_missing",
            ),
            (
                "garbage",
                HeaderFormat::Base64Der,
                vec!["not base64!".into()],
                "cert_malformed",
            ),
            (
                "truncated der",
                HeaderFormat::Base64Der,
                vec![STANDARD.encode(&der[..der.len() - 10])],
                "cert_malformed",
            ),
            (
                "trailing bytes after the certificate",
                HeaderFormat::Base64Der,
                vec![STANDARD.encode(&trailing)],
                "cert_malformed",
            ),
            (
                "oversized value",
                HeaderFormat::Base64Der,
                vec!["A".repeat(DEFAULT_MAX_HEADER_BYTES + 4)],
                "cert_malformed",
            ),
            (
                "two header values",
                HeaderFormat::Base64Der,
                vec![b64.clone(), b64.clone()],
                "cert_ambiguous",
            ),
            (
                "comma-joined repeats (payload mode)",
                HeaderFormat::Base64Der,
                vec![format!("{b64},{b64}")],
                "cert_ambiguous",
            ),
            (
                "two pem blocks",
                HeaderFormat::Pem,
                vec![format!("{pem}{pem}").replace('\n', " ")],
                "cert_ambiguous",
            ),
            (
                "rfc9440 without colons",
                HeaderFormat::Rfc9440,
                vec![b64.clone()],
                "cert_malformed",
            ),
            (
                "url-pem with a broken escape",
                HeaderFormat::UrlPem,
                vec!["%ZZ".into()],
                "cert_malformed",
            ),
            (
                "url-pem with a sign in an escape (%+A would decode to a newline)",
                HeaderFormat::UrlPem,
                vec![format!("{}%+A{}", &b64[..10], &b64[10..])],
                "cert_malformed",
            ),
            (
                "xfcc with two elements",
                HeaderFormat::Xfcc,
                vec![format!("{xfcc},{xfcc}")],
                "cert_ambiguous",
            ),
            (
                "xfcc without Cert",
                HeaderFormat::Xfcc,
                vec!["Hash=abc".into()],
                "cert_missing",
            ),
            (
                "a different format than configured is not guessed",
                HeaderFormat::Rfc9440,
                vec![pem.replace('\n', " ")],
                "cert_malformed",
            ),
        ];
        for (reason, format, values, code) in cases {
            let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
            let result = decode(&values, format, DEFAULT_MAX_HEADER_BYTES);
            assert_eq!(result.map_err(|e| e.code()), Err(code), "{reason}");
        }
    }

    #[test]
    fn formats_parse_from_their_setting_values() {
        for (value, format) in [
            ("base64-der", HeaderFormat::Base64Der),
            ("pem", HeaderFormat::Pem),
            ("url-pem", HeaderFormat::UrlPem),
            ("rfc9440", HeaderFormat::Rfc9440),
            ("XFCC", HeaderFormat::Xfcc),
        ] {
            assert_eq!(value.parse(), Ok(format), "setting value {value}");
            assert!(
                format.to_string().eq_ignore_ascii_case(value),
                "display round-trips {value}"
            );
        }
        assert!(
            "der".parse::<HeaderFormat>().is_err(),
            "unknown formats are refused"
        );
    }
}
