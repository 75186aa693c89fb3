//! Distinguished names as their RFC 4514 rendering (identity checks read attributes by OID from
//! the parsed certificate, never from this text).
//!
//! Rendering is for display and for exact `subject`/`issuer` policy matches; identity checks
//! never parse it back (the CN is read by OID in `certificate.rs`). A string value that starts
//! with `#` is written `\#`, so it cannot read as the `#<hex>` of a non-string value. NUL,
//! other control characters, line separators and bidi controls are written as `\XX` per UTF-8
//! byte (RFC 4514 2.4), so a rendered name is always one line of printable text.

use x509_parser::x509::X509Name;

use super::certificate::hex_upper;
use crate::telemetry::escape::is_unsafe;

/// A distinguished name, rendered for display and for exact `subject`/`issuer` policy matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// RFC 4514 order (last RDN first), `,` between RDNs, `+` inside one; e.g. `CN=a,O=b,C=DE`.
    pub rfc4514: String,
}

// === impl Name ===

impl Name {
    pub(crate) fn read(name: &X509Name<'_>) -> Self {
        // RDNs in reverse DER order; each value a string escaped, anything else `#<hex>`.
        let rdns: Vec<Vec<String>> = name
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|attr| {
                        let value = match attr.as_str() {
                            Ok(text) => escape(text),
                            Err(_) => format!("#{}", hex_upper(attr.as_slice())),
                        };
                        format!("{}={value}", short_name(&attr.attr_type().to_id_string()))
                    })
                    .collect()
            })
            .collect();
        let rfc4514 = rdns
            .iter()
            .rev()
            .map(|rdn| rdn.join("+"))
            .collect::<Vec<_>>()
            .join(",");
        Self { rfc4514 }
    }
}

/// The values of the emailAddress attributes (1.2.840.113549.1.9.1) of `name`: what rfc822Name
/// constraints apply to in a certificate without a subjectAltName. A value that is not text is
/// kept as its lossy reading, which no email constraint admits.
pub(crate) fn email_addresses(name: &X509Name<'_>) -> Vec<String> {
    name.iter_email()
        .map(|attr| match attr.as_str() {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(attr.as_slice()).into_owned(),
        })
        .collect()
}

fn short_name(oid: &str) -> &str {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    }
}

/// RFC 4514 section 2.4 escaping of a string value. A leading `#` is always escaped, so a
/// string never renders like a non-string value's `#<hex>`; unsafe characters become `\XX`.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (index == 0 && matches!(c, '#' | ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if is_unsafe(c) {
            // RFC 4514 2.4: NUL must be, and any other character may be, escaped as `\XX`
            // per UTF-8 byte; controls and line separators never reach a log line raw.
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("\\{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rcgen::string::TeletexString;
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    use crate::client_cert::ClientCert;

    fn subject_with_organization(value: DnValue) -> String {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "client.example");
        params
            .distinguished_name
            .push(DnType::OrganizationName, value);
        let key = KeyPair::generate().expect("key generation");
        let der = params
            .self_signed(&key)
            .expect("self-signed")
            .der()
            .to_vec();
        ClientCert::parse(der)
            .expect("test cert parses")
            .subject
            .rfc4514
    }

    #[test]
    fn a_string_value_that_looks_like_hex_never_renders_like_a_non_string_value() {
        let teletex = TeletexString::try_from("AB").expect("valid teletex");
        let cases = [
            (
                "a utf8 string starting with # is escaped (RFC 4514 2.4)",
                DnValue::Utf8String("#4142".into()),
                r"O=\#4142,CN=client.example",
            ),
            (
                "a non-string value (teletex 'AB') renders as #hex",
                DnValue::TeletexString(teletex),
                "O=#4142,CN=client.example",
            ),
            (
                "a lone # is escaped too",
                DnValue::Utf8String("#".into()),
                r"O=\#,CN=client.example",
            ),
        ];
        for (reason, value, rendered) in cases {
            assert_eq!(subject_with_organization(value), rendered, "{reason}");
        }
    }

    #[test]
    fn nul_controls_and_line_separators_are_escaped_as_hex_pairs() {
        let cases = [
            (
                "NUL (RFC 4514 requires \\00)",
                "a\0b",
                r"O=a\00b,CN=client.example",
            ),
            ("newline", "a\nb", r"O=a\0Ab,CN=client.example"),
            (
                "carriage return and ESC",
                "a\r\u{1b}b",
                r"O=a\0D\1Bb,CN=client.example",
            ),
            (
                "C1 next line, two UTF-8 bytes",
                "a\u{85}b",
                r"O=a\C2\85b,CN=client.example",
            ),
            (
                "line separator, three UTF-8 bytes",
                "a\u{2028}b",
                r"O=a\E2\80\A8b,CN=client.example",
            ),
            (
                "printable non-ASCII is kept",
                "Grüße",
                "O=Grüße,CN=client.example",
            ),
        ];
        for (reason, value, rendered) in cases {
            assert_eq!(
                subject_with_organization(DnValue::Utf8String(value.into())),
                rendered,
                "{reason}"
            );
        }
    }
}
