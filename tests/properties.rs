//! Property tests over every parser that faces input: arbitrary bytes and mutations of valid
//! inputs never panic and always give a typed result.
//!
//! Parsers covered: the certificate header in each format, certificate parsing, the whole
//! authorization decision, the payload-mode envelope, the policy file, every setting, a CRL
//! fetched from a distribution point, and a CRL file (read whoever signed it).

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mtls_handler::client_cert::header::{self, HeaderFormat};
use mtls_handler::client_cert::{Authenticator, ClientCert, policy_file};
use mtls_handler::config::{Config, SETTINGS};
use mtls_handler::host::envelope;
use proptest::prelude::*;
use rustls_pki_types::UnixTime;

const FORMATS: [HeaderFormat; 5] = HeaderFormat::ALL;

/// One valid client certificate, DER.
static CERT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["client.example".to_owned()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "client.example");
    params
        .self_signed(&key)
        .expect("certificate")
        .der()
        .to_vec()
});

/// An authenticator that pins [`CERT`], so valid inputs travel the whole decision.
static PINNED: LazyLock<Authenticator> = LazyLock::new(|| {
    use sha2::Digest;
    let pin: String = sha2::Sha256::digest(&*CERT)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let env: HashMap<String, String> =
        HashMap::from([("ALLOWED_CLIENT_CERT_THUMBPRINTS".to_owned(), pin)]);
    let config = Config::load(&env).expect("pinned configuration loads");
    Authenticator::new(&config.inbound)
});

/// A CA that signs [`CRL`], and that CRL (DER): what a distribution point serves.
static CRL_ISSUER: LazyLock<(Vec<u8>, Vec<u8>)> = LazyLock::new(|| {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Property Root");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = params.self_signed(&key).expect("ca").der().to_vec();
    let issuer = rcgen::Issuer::new(params, key);
    let now = time::OffsetDateTime::now_utc();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: now - time::Duration::days(1),
        next_update: now + time::Duration::days(7),
        crl_number: 7u64.into(),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: 42u64.into(),
            revocation_time: now - time::Duration::hours(1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .expect("crl")
    .der()
    .to_vec();
    (ca, crl)
});

/// A CRL with everything the reader knows (entries with reasons, a partition, freshestCRL) and
/// a delta, written by hand and signed by a CA of their own: what a CRL file may hold.
static CRL_FILES: LazyLock<[Vec<u8>; 2]> = LazyLock::new(|| {
    use rcgen::SigningKey;
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Property Files Root");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).expect("ca").der().to_vec();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sign = |message: &[u8]| key.sign(message).expect("sign");
    let base = test_crl::CrlSpec::new(10, now - 3_600, now + 86_400)
        .revoke(42)
        .revoke_as(7, test_crl::CERTIFICATE_HOLD)
        .partition("http://pki.example/s1.crl")
        .announcing_deltas("http://pki.example/delta.crl")
        .signed(&ca, &sign);
    let delta = test_crl::CrlSpec::new(11, now - 3_600, now + 86_400)
        .delta_of(10)
        .revoke_as(7, test_crl::REMOVE_FROM_CRL)
        .partition("http://pki.example/s1.crl")
        .signed(&ca, &sign);
    [base, delta]
});

#[path = "../src/client_cert/test_crl.rs"]
mod test_crl;

fn header_in(format: HeaderFormat, der: &[u8]) -> Vec<u8> {
    let b64 = STANDARD.encode(der);
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    let url_pem: String = pem
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    match format {
        HeaderFormat::Base64Der => b64.into_bytes(),
        HeaderFormat::Pem => pem.replace('\n', " ").into_bytes(),
        HeaderFormat::UrlPem => url_pem.into_bytes(),
        HeaderFormat::Rfc9440 => format!(":{b64}:").into_bytes(),
        HeaderFormat::Xfcc => format!("Hash=abc;Cert=\"{url_pem}\"").into_bytes(),
    }
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], truncate: Option<usize>) -> Vec<u8> {
    for (index, byte) in edits {
        if !bytes.is_empty() {
            let at = index % bytes.len();
            bytes[at] = *byte;
        }
    }
    if let Some(length) = truncate {
        bytes.truncate(length % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_header_bytes_never_panic_in_any_format(
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..3),
        format in 0..FORMATS.len(),
    ) {
        let slices: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let _typed = header::decode(&slices, FORMATS[format], 16_384);
    }

    #[test]
    fn a_valid_header_round_trips_in_every_format(format in 0..FORMATS.len()) {
        let value = header_in(FORMATS[format], &CERT);
        let der = header::decode(&[&value], FORMATS[format], 16_384);
        prop_assert_eq!(der.as_deref().ok(), Some(CERT.as_slice()), "{:?}", FORMATS[format]);
    }

    #[test]
    fn mutated_headers_never_panic_in_any_format(
        format in 0..FORMATS.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        truncate in prop::option::of(any::<usize>()),
    ) {
        let value = mutate(header_in(FORMATS[format], &CERT), &edits, truncate);
        let _typed = header::decode(&[&value], FORMATS[format], 16_384);
    }

    #[test]
    fn arbitrary_and_mutated_der_never_panics_the_parser(
        random in prop::collection::vec(any::<u8>(), 0..1200),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        truncate in prop::option::of(any::<usize>()),
    ) {
        let _typed = ClientCert::parse(random);
        let _typed = ClientCert::parse(mutate(CERT.clone(), &edits, truncate));
    }

    #[test]
    fn mutated_certificates_never_panic_the_decision_and_only_the_pinned_one_passes(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    ) {
        let header = STANDARD.encode(mutate(CERT.clone(), &edits, None));
        match PINNED.authorize(&[header.as_bytes()], UnixTime::now()) {
            Ok(authorized) => prop_assert_eq!(&authorized.cert.der, &*CERT, "only the pinned certificate is admitted"),
            Err(denied) => prop_assert!(denied.code().starts_with("cert_")),
        }
    }

    #[test]
    fn arbitrary_envelopes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..800)) {
        let _typed = envelope::to_request(&bytes, "/api/health");
    }

    #[test]
    fn mutated_envelopes_are_a_request_or_a_typed_error(
        method in "[A-Z]{0,8}|G T|\\PC{0,4}",
        header_name in "\\PC{0,12}",
        header_value in "\\PC{0,24}",
        query_key in "\\PC{0,8}",
        url in "\\PC{0,40}",
        body in prop::option::of("\\PC{0,40}"),
    ) {
        let mut req = serde_json::json!({
            "Url": url,
            "Method": method,
            "Query": { query_key: "v" },
            "Headers": { header_name: [header_value] },
        });
        if let Some(body) = body {
            req["Body"] = serde_json::Value::String(body);
        }
        let payload = serde_json::json!({ "Data": { "req": req }, "Metadata": {} }).to_string();
        let _typed = envelope::to_request(payload.as_bytes(), "/api/health");
    }

    #[test]
    fn fetched_crl_bodies_never_panic_and_only_the_signed_one_passes(
        random in prop::collection::vec(any::<u8>(), 0..1200),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        truncate in prop::option::of(any::<usize>()),
    ) {
        use mtls_handler::crl_source::check::check;
        let (ca, crl) = &*CRL_ISSUER;
        let issuers = mtls_handler::client_cert::crl::CrlIssuers::new(&[
            rustls_pki_types::CertificateDer::from(ca.clone()),
        ]);
        let now = i64::try_from(UnixTime::now().as_secs()).expect("now fits");
        let _typed = check(random, &issuers, now, None);
        let mutated = mutate(crl.clone(), &edits, truncate);
        let result = check(mutated.clone(), &issuers, now, None);
        if mutated != *crl {
            // An edit that keeps the signature valid can only be outside what it signs: whatever
            // is accepted still carries the signed CRL number.
            if let Ok(accepted) = result {
                prop_assert_eq!(accepted.number, Some(vec![7u8]));
            }
        } else {
            prop_assert!(result.is_ok(), "the signed crl passes: {:?}", result);
        }
    }

    #[test]
    fn crl_files_of_any_shape_never_panic_the_reader(
        which in 0usize..2,
        random in prop::collection::vec(any::<u8>(), 0..600),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        truncate in prop::option::of(any::<usize>()),
    ) {
        use mtls_handler::client_cert::crl::{Crl, CrlIssuers, SignatureRule};
        let issuers = CrlIssuers::default();
        let _typed = Crl::read(&random, &issuers, SignatureRule::Recorded);
        let crl = &CRL_FILES[which];
        let mutated = mutate(crl.clone(), &edits, truncate);
        match Crl::read(&mutated, &issuers, SignatureRule::Recorded) {
            Ok(read) => {
                for serial in [&[42u8][..], &[7], &[0x00, 0x80], &[]] {
                    let _listing = read.listing(serial);
                }
            }
            Err(problem) => prop_assert!(!problem.to_string().is_empty()),
        }
        if mutated == *crl {
            prop_assert!(Crl::read(&mutated, &issuers, SignatureRule::Recorded).is_ok());
        }
    }

    #[test]
    fn arbitrary_policy_files_never_panic(text in "\\PC{0,300}") {
        let _typed = policy_file::parse_policy_file(&text);
    }

    #[test]
    fn every_setting_with_an_arbitrary_value_loads_or_names_itself(
        setting in prop::sample::select(SETTINGS.to_vec()),
        value in "\\PC{0,60}",
    ) {
        let env: HashMap<String, String> = HashMap::from([(setting.to_owned(), value)]);
        if let Err(mtls_handler::config::ConfigError::Invalid(errors)) = Config::load(&env) {
            for error in errors {
                prop_assert!(
                    SETTINGS.contains(&error.setting),
                    "an error names an unknown setting: {}", error
                );
            }
        }
    }
}
