//! A certificate as the front end would send it in each header format, so `handler check
//! --cert` goes through the same header decoding `serve` does.

use crate::client_cert::header::HeaderFormat;

/// `der` as the front end would send it in `format`.
pub fn encode(der: &[u8], format: HeaderFormat) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    match format {
        HeaderFormat::Base64Der => b64,
        HeaderFormat::Pem => pem.replace('\n', " ").trim_end().to_owned(),
        HeaderFormat::UrlPem => percent_encode(&pem),
        HeaderFormat::Rfc9440 => format!(":{b64}:"),
        HeaderFormat::Xfcc => format!("Cert=\"{}\"", percent_encode(&pem)),
    }
}

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
    use crate::client_cert::header;
    use crate::client_cert::test_pki::Leaf;

    #[test]
    fn every_format_decodes_back_to_the_same_der() {
        let der = Leaf::cn("encode-test").self_signed();
        for format in HeaderFormat::ALL {
            let value = encode(&der, format);
            let decoded = header::decode(&[value.as_bytes()], format, 1 << 20);
            assert_eq!(decoded.as_ref(), Ok(&der), "{format}");
        }
    }
}
