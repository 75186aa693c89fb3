//! Distinguished names as owned values: RDNs in DER order plus an RFC 4514 rendering.
//!
//! Rendering is for display and for exact `subject`/`issuer` policy matches; identity checks
//! never parse it back (the CN is read by OID in `certificate.rs`).

use x509_parser::x509::X509Name;

use super::certificate::hex_upper;

/// A distinguished name: its RDNs in DER order, and an RFC 4514 rendering for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub rdns: Vec<Vec<NameAttribute>>,
    /// RFC 4514 order (last RDN first), `,` between RDNs, `+` inside one; e.g. `CN=a,O=b,C=DE`.
    pub rfc4514: String,
}

/// One attribute of a name. `value` is the string, or `#<hex>` when it is not a string type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAttribute {
    /// Dotted OID, e.g. `2.5.4.3`.
    pub oid: String,
    pub value: String,
}

// === impl Name ===

impl Name {
    pub(crate) fn read(name: &X509Name<'_>) -> Self {
        let rdns: Vec<Vec<NameAttribute>> = name
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|attr| NameAttribute {
                        oid: attr.attr_type().to_id_string(),
                        value: match attr.as_str() {
                            Ok(text) => text.to_owned(),
                            Err(_) => format!("#{}", hex_upper(attr.as_slice())),
                        },
                    })
                    .collect()
            })
            .collect();
        let rfc4514 = rdns
            .iter()
            .rev()
            .map(|rdn| {
                rdn.iter()
                    .map(|attr| format!("{}={}", short_name(&attr.oid), escape(&attr.value)))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(",");
        Self { rdns, rfc4514 }
    }
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

/// RFC 4514 section 2.4 escaping (values already in `#hex` form are left alone).
fn escape(value: &str) -> String {
    if value.starts_with('#')
        && value.len() > 1
        && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return value.to_owned();
    }
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (index == 0 && matches!(c, '#' | ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
