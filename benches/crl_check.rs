//! What one fetched CRL costs before it joins the set: `crl_source::check` (PEM/DER, the
//! signature over the raw TBS, then the entries checked and indexed, dates, number) on CRLs of
//! 10, 1,000 and 50,000 revoked serials, from an ECDSA P-256 CA. Run:
//! `cargo bench --bench crl_check`.

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mtls_handler::client_cert::crl::CrlIssuers;
use mtls_handler::crl_source::check::check;
use rustls_pki_types::CertificateDer;

/// A CA certificate, and its CRL revoking `count` serials (DER).
fn ca_and_crl(count: u64) -> (Vec<u8>, Vec<u8>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Bench Root");
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
        crl_number: 1u64.into(),
        issuing_distribution_point: None,
        revoked_certs: (0..count)
            .map(|serial| rcgen::RevokedCertParams {
                serial_number: (0x1_0000_0000 + serial).into(),
                revocation_time: now - time::Duration::hours(1),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .expect("crl")
    .der()
    .to_vec();
    (ca, crl)
}

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("crl_check");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for count in [10u64, 1_000, 50_000] {
        let (ca, crl) = ca_and_crl(count);
        let issuers = CrlIssuers::new(&[CertificateDer::from(ca)]);
        let name = format!("{count} revoked ({} KiB)", crl.len() / 1024);
        group.bench_function(name, |b| {
            // The check takes the body (it drops it before indexing): a copy per run, untimed.
            b.iter_batched(
                || crl.clone(),
                |body| check(body, &issuers, now, None).expect("the crl passes"),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
