//! What one response from a CRL distribution point costs in memory, measured with a counting
//! allocator that keeps the peak: the whole path a fetched CRL takes (fetch, check, the URL's
//! memory, the install into the authenticator), driven by `CrlUrls::fetch_once` against a
//! distribution point on loopback. Whatever the response, the peak stays under twice the body
//! cap (`MAX_CRL_BYTES`), counted from before the body arrives.
//!
//! One test in its own binary, so that no other test allocates while it counts. The
//! distribution point is a plain thread that writes a response built before counting starts,
//! so that it allocates (almost) nothing itself.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use mtls_handler::client_cert::trust::TrustedCa;
use mtls_handler::client_cert::{Authenticator, Settings};
use mtls_handler::crl_source::CrlUrls;
use mtls_handler::crl_source::fetch::{Fetcher, MAX_CRL_BYTES};
use rustls_pki_types::CertificateDer;
use url::Url;

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn signed(size: usize) -> isize {
    isize::try_from(size).unwrap_or(isize::MAX)
}

fn grew(by: isize) {
    let now = ALLOCATED.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(signed(layout.size()));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(signed(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(signed(new_size) - signed(layout.size()));
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Starts counting the peak from now; returns the heap in use now.
fn start_counting() -> isize {
    let now = ALLOCATED.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

const MIB: f64 = 1024.0 * 1024.0;

/// A CA that may sign CRLs.
struct MemoryCa {
    der: Vec<u8>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl MemoryCa {
    fn new() -> Self {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Memory Root");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let der = params.self_signed(&key).expect("ca").der().to_vec();
        Self {
            der,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A CRL revoking `count` 3-byte serials (the review's shape: 22 bytes per entry, so
    /// 370,000 entries come to just under 8 MiB).
    fn crl(&self, count: u32) -> Vec<u8> {
        let now = time::OffsetDateTime::now_utc();
        let revoked_at = now - time::Duration::hours(1);
        rcgen::CertificateRevocationListParams {
            this_update: now - time::Duration::days(1),
            next_update: now + time::Duration::days(7),
            crl_number: 1u64.into(),
            issuing_distribution_point: None,
            revoked_certs: (0..count)
                .map(|n| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from_slice(
                        &(0x10_0000 + n).to_be_bytes()[1..],
                    ),
                    revocation_time: revoked_at,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer)
        .expect("crl")
        .der()
        .to_vec()
    }
}

/// A distribution point that answers every request with `response` (head and body), from a
/// thread of its own; returns its URL.
fn serve(response: Arc<Vec<u8>>) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}/root.crl", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = [0u8; 4096];
            let mut read = 0;
            while !head[..read].windows(4).any(|window| window == b"\r\n\r\n") {
                match stream.read(&mut head[read..]) {
                    Ok(0) | Err(_) => break,
                    Ok(more) => read += more,
                }
                if read == head.len() {
                    break;
                }
            }
            stream.write_all(&response).ok();
        }
    });
    Url::parse(&url).expect("url")
}

fn response(body: &[u8]) -> Arc<Vec<u8>> {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    Arc::new(response)
}

/// Fetches `body` once through the whole path; returns (peak over the heap before, heap kept
/// after, the source's outcome).
async fn one_fetch(ca: &[u8], body: &[u8]) -> (isize, isize, String) {
    let url = serve(response(body));
    let anchor = TrustedCa::from_der(&CertificateDer::from(ca.to_vec())).expect("anchor");
    let authenticator = Arc::new(Authenticator::new(&Settings {
        trusted_cas: vec![anchor],
        ..Settings::default()
    }));
    let urls = CrlUrls::new(
        std::slice::from_ref(&url),
        vec![CertificateDer::from(ca.to_vec())],
        Duration::from_secs(30),
        Fetcher::new().expect("fetcher"),
        Arc::clone(&authenticator),
    );
    let before = start_counting();
    urls.fetch_once().await;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let kept = ALLOCATED.load(Ordering::Relaxed) - before;
    let outcome = urls.report()[0].outcome.clone();
    (peak, kept, outcome)
}

fn pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = b"-----BEGIN X509 CRL-----\n".to_vec();
    for line in text.as_bytes().chunks(64) {
        pem.extend_from_slice(line);
        pem.push(b'\n');
    }
    pem.extend_from_slice(b"-----END X509 CRL-----\n");
    pem
}

/// A DER element: `tag`, the shortest length, `body`.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if body.len() < 0x80 {
        out.push(u8::try_from(body.len()).expect("short"));
    } else {
        let length: Vec<u8> = body
            .len()
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | u8::try_from(length.len()).expect("few octets"));
        out.extend(length);
    }
    out.extend_from_slice(body);
    out
}

/// An unsigned CRL whose issuer Name is `issuer` (its content): what anyone on a distribution
/// point's plain-HTTP path can send. Its signature is never checked (no CA has that name).
fn crl_with_issuer(issuer: &[u8]) -> Vec<u8> {
    let algorithm = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let tbs = [
        tlv(0x02, &[0x01]),
        algorithm.clone(),
        tlv(0x30, issuer),
        tlv(0x17, b"250101000000Z"),
        tlv(0x17, b"991231235959Z"),
    ]
    .concat();
    tlv(
        0x30,
        &[tlv(0x30, &tbs), algorithm, tlv(0x03, &[0x00, 0x01])].concat(),
    )
}

/// Review: the issuer of a fetched CRL was rendered (x509-parser, then RFC 4514 text) before
/// its signature was looked at, whatever its size, and the text went into the refusal, which
/// the URL keeps and logs: an unsigned 8 MiB body whose issuer is one huge attribute, or
/// hundreds of thousands of tiny ones, cost far more than its own bytes, and its refusal was a
/// log line of megabytes.
fn hostile_issuers() -> [(&'static str, Vec<u8>); 2] {
    let budget = 7 * 1024 * 1024;
    let tiny_rdn = tlv(
        0x31,
        &tlv(
            0x30,
            &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, b"")].concat(),
        ),
    );
    let one_huge = tlv(
        0x31,
        &tlv(
            0x30,
            &[
                tlv(0x06, &[0x55, 0x04, 0x0a]),
                tlv(0x04, &vec![0xab; budget]),
            ]
            .concat(),
        ),
    );
    [
        (
            "review: an unsigned CRL whose issuer is 700,000 tiny RDNs",
            crl_with_issuer(&tiny_rdn.repeat(budget / tiny_rdn.len())),
        ),
        (
            "review: an unsigned CRL whose issuer is one 7 MiB attribute",
            crl_with_issuer(&one_huge),
        ),
    ]
}

#[tokio::test]
async fn one_crl_response_costs_less_than_twice_the_body_cap_whatever_it_holds() {
    let ca = MemoryCa::new();
    let signed_crl = ca.crl(370_000);
    let mut unsigned_crl = signed_crl.clone();
    let last = unsigned_crl.len() - 1;
    unsigned_crl[last] ^= 0x01;
    let pem_crl = pem(&ca.crl(270_000));
    let cap = isize::try_from(MAX_CRL_BYTES).expect("cap fits");
    let [(many_reason, many), (huge_reason, huge)] = hostile_issuers();
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "an 8 MiB CRL of 370,000 serials with a garbage signature",
            &unsigned_crl,
            "failed",
        ),
        ("the same CRL, signed by the CA", &signed_crl, "ok"),
        (
            "a PEM CRL of 270,000 serials, signed by the CA",
            &pem_crl,
            "ok",
        ),
        (many_reason, &many, "failed"),
        (huge_reason, &huge, "failed"),
    ];
    for (reason, body, outcome) in cases {
        assert!(
            body.len() as u64 <= MAX_CRL_BYTES,
            "{reason}: within the cap"
        );

        let (peak, kept, got) = one_fetch(&ca.der, body).await;

        println!(
            "{reason}: body {:.1} MiB, peak {:.1} MiB over the heap before, {:.1} MiB kept ({got})",
            body.len() as f64 / MIB,
            peak as f64 / MIB,
            kept as f64 / MIB,
        );
        assert!(
            got.starts_with(outcome),
            "{reason}: {}",
            &got[..got.len().min(300)]
        );
        assert!(
            got.len() <= 1024,
            "{reason}: the outcome (logged, and kept by the URL) is {} bytes",
            got.len()
        );
        assert!(
            peak < 2 * cap,
            "{reason}: the peak {peak} bytes is not under twice the {cap}-byte body cap"
        );
    }
}
