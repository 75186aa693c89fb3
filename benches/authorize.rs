//! Header -> decision: what `Authenticator::authorize` costs per request, against a baseline
//! (base64-decoding the header, which every path does first) so figures can be read as ratios.
//!
//! Certificates are made with rcgen when the bench starts (ECDSA P-256, rcgen's default; ring
//! cannot generate RSA keys). "cold" builds a fresh `Authenticator` for every iteration, outside
//! the timed part, so the decision cache is always empty; "cached" asks one warmed-up
//! `Authenticator` about the same certificate again. The `cache` group times the decision
//! cache alone: inserting a refusal into a cache with room (emptied after each insert) and into
//! one whose refusals' budget is full, none expired (what a flood of distinct certificates
//! leaves behind). "stranger" is a certificate no configured CA issued: refused at the issuer
//! (`triage.rs`), never parsed, never cached.
//!
//! Run: `cargo bench --bench authorize -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mtls_handler::client_cert::cache::{Cached, DecisionCache, Refusal};
use mtls_handler::client_cert::trust::TrustedCa;
use mtls_handler::client_cert::{Authenticator, Denied};
use mtls_handler::config::InboundConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use sha1::Digest as _;
use time::{Duration, OffsetDateTime};

const CLIENT_CN: &str = "bench-client.mtls-handler.local";

/// The certificates and settings every case shares.
struct Fixture {
    /// `X-ARR-ClientCert` of a CA-signed client certificate allowlisted by CN.
    ca_signed_header: String,
    /// `X-ARR-ClientCert` of a self-signed client certificate allowlisted by SHA-1 thumbprint.
    pinned_header: String,
    /// `X-ARR-ClientCert` of a self-signed certificate with the allowlisted CN: refused at the
    /// issuer, before any parse (what a flood of strangers costs).
    stranger_header: String,
    ca_config: InboundConfig,
    pinned_config: InboundConfig,
}

fn fixture() -> Fixture {
    let (ca_params, ca_key) = authority();
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let client_key = KeyPair::generate().expect("client key");
    let client = client_params(CLIENT_CN)
        .signed_by(&client_key, &issuer)
        .expect("sign the client certificate");

    let pinned_key = KeyPair::generate().expect("pinned key");
    let pinned = client_params("bench-pinned.mtls-handler.local")
        .self_signed(&pinned_key)
        .expect("self-sign the pinned certificate");
    let pinned_sha1 = hex_upper(&sha1::Sha1::digest(pinned.der()));
    let stranger = client_params(CLIENT_CN)
        .self_signed(&pinned_key)
        .expect("self-sign the stranger's certificate");

    let anchor = TrustedCa::from_der(&CertificateDer::from(ca_cert.der().to_vec()))
        .expect("the CA is a usable anchor");
    Fixture {
        ca_signed_header: STANDARD.encode(client.der()),
        pinned_header: STANDARD.encode(pinned.der()),
        stranger_header: STANDARD.encode(stranger.der()),
        ca_config: InboundConfig {
            trusted_cas: vec![anchor],
            common_names: vec![CLIENT_CN.to_owned()],
            ..InboundConfig::default()
        },
        pinned_config: InboundConfig {
            thumbprints: vec![pinned_sha1.parse().expect("a SHA-1 thumbprint")],
            ..InboundConfig::default()
        },
    }
}

fn authority() -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params
        .distinguished_name
        .push(DnType::CommonName, "mtls-handler bench CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(30);
    (params, key)
}

fn client_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(30);
    params
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

fn bench_authorize(c: &mut Criterion) {
    let fixture = fixture();
    let now = UnixTime::now();
    let mut group = c.benchmark_group("authorize");

    let header = fixture.ca_signed_header.as_bytes();
    group.bench_function("baseline/base64-decode", |b| {
        b.iter(|| STANDARD.decode(black_box(header)).expect("valid base64"));
    });

    for (name, config, header) in [
        ("ca", &fixture.ca_config, &fixture.ca_signed_header),
        ("pinned", &fixture.pinned_config, &fixture.pinned_header),
    ] {
        let values = [header.as_bytes()];
        group.bench_function(format!("{name}/cold"), |b| {
            b.iter_batched(
                || Authenticator::new(config),
                |authenticator| {
                    let decision = authenticator.authorize(black_box(&values), now);
                    assert!(decision.is_ok(), "{name}: {decision:?}");
                    authenticator
                },
                BatchSize::SmallInput,
            );
        });
        let authenticator = Authenticator::new(config);
        authenticator
            .authorize(&values, now)
            .expect("the certificate is accepted");
        group.bench_function(format!("{name}/cached"), |b| {
            b.iter(|| authenticator.authorize(black_box(&values), now));
        });
    }
    // Not cached, so one authenticator serves every iteration.
    let values = [fixture.stranger_header.as_bytes()];
    let authenticator = Authenticator::new(&fixture.ca_config);
    group.bench_function("stranger/refused-at-issuer", |b| {
        b.iter(|| {
            let decision = authenticator.authorize(black_box(&values), now);
            assert!(decision.is_err(), "{decision:?}");
        });
    });
    group.finish();
}

fn bench_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache");
    let refusal = |n: u64| {
        Cached::Refused(Refusal {
            denied: Denied::Untrusted {
                reason: "no configured CA vouches for it".to_owned(),
            },
            sha1_thumbprint: Some(format!("{n:040X}").into()),
        })
    };
    // "full": the refusals' budget filled, so every insert evicts (what a flood leaves behind).
    for (name, prefill) in [("insert/not-full", 0), ("insert/full", 50_000)] {
        let cache = DecisionCache::default();
        let mut counter: u64 = 0;
        let mut next_key = || {
            counter += 1;
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&counter.to_le_bytes());
            (key, counter)
        };
        for _ in 0..prefill {
            let (key, n) = next_key();
            cache.insert(key, refusal(n), 1_000, 1_300, 0);
        }
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let (key, n) = next_key();
                    (key, refusal(n))
                },
                |(key, decision)| {
                    cache.insert(key, decision, 1_000, 1_300, cache.generation());
                    if prefill == 0 {
                        cache.clear();
                    }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_authorize, bench_cache);
criterion_main!(benches);
