//! A flood of distinct hostile client certificates, for `bench/flood.sh`: what an anonymous
//! caller can send, since the front end forwards any certificate whose key the caller holds.
//!
//! Two certificates are built once, each as large as `--max-header-bytes` allows in
//! `X-ARR-ClientCert` (base64 DER): `sans` carries thousands of tiny DNS SANs, `blob` a few SANs
//! and one large non-critical extension. Every request rewrites 8 bytes of the serial number
//! with a counter, so every request is a certificate the handler has never seen (its SHA-256
//! differs) at no signing cost; the signature no longer matches, which changes nothing for a
//! self-signed certificate that no configured CA vouches for. Requests alternate between the
//! two shapes.
//!
//! Usage: `flood <url> <seconds> <connections> <max-header-bytes>`. Only loopback URLs are
//! accepted. Prints one line: `FLOOD <requests> <status>=<count>...`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair, SanType, SerialNumber};

/// The serial every template carries; the counter overwrites its last 8 bytes.
const SERIAL: [u8; 20] = [
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0x12, 0x34,
    0x56, 0x78, 0x9A, 0xBC,
];

struct Template {
    der: Vec<u8>,
    serial_at: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, seconds, connections, max_header_bytes] = args.as_slice() else {
        return Err("usage: flood <url> <seconds> <connections> <max-header-bytes>".into());
    };
    let host = url::Url::parse(url)?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    if !(host == "127.0.0.1" || host == "localhost" || host == "[::1]") {
        return Err(format!("only loopback targets are allowed, not {host}").into());
    }
    let duration = Duration::from_secs(seconds.parse()?);
    let connections: usize = connections.parse()?;
    let max_der = max_header_bytes.parse::<usize>()? / 4 * 3;

    let key = KeyPair::generate()?;
    let templates = Arc::new([sans_template(&key, max_der)?, blob_template(&key, max_der)?]);
    for (name, template) in ["sans", "blob"].iter().zip(templates.iter()) {
        eprintln!(
            "flood: {name} certificate: {} bytes DER, {} bytes base64",
            template.der.len(),
            STANDARD.encode(&template.der).len()
        );
    }

    // reqwest is built without a crypto provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()?;
    let counter = Arc::new(AtomicU64::new(1));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, templates, counter) = (
            client.clone(),
            url.clone(),
            Arc::clone(&templates),
            Arc::clone(&counter),
        );
        tasks.push(tokio::spawn(async move {
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let template = &templates[usize::try_from(n % 2).unwrap_or(0)];
                let mut der = template.der.clone();
                der[template.serial_at + 12..template.serial_at + 20]
                    .copy_from_slice(&n.to_be_bytes());
                let header = STANDARD.encode(&der);
                let status = match client
                    .get(&url)
                    .header("X-ARR-ClientCert", header)
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status().as_u16().to_string();
                        drop(response.bytes().await);
                        status
                    }
                    Err(error) if error.is_timeout() => "timeout".to_owned(),
                    Err(_) => "error".to_owned(),
                };
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        for (status, count) in task.await? {
            *totals.entry(status).or_default() += count;
        }
    }
    let requests: u64 = totals.values().sum();
    let statuses: Vec<String> = totals
        .iter()
        .map(|(status, count)| format!("{status}={count}"))
        .collect();
    println!("FLOOD {requests} {}", statuses.join(" "));
    Ok(())
}

fn base_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "flood.invalid");
    params.serial_number = Some(SerialNumber::from_slice(&SERIAL));
    Ok(params)
}

/// As many short DNS SANs as fit under `max_der` bytes.
fn sans_template(key: &KeyPair, max_der: usize) -> Result<Template, Box<dyn std::error::Error>> {
    let build = |count: usize| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut params = base_params()?;
        params.subject_alt_names = (0..count)
            .map(|i| Ok(SanType::DnsName(format!("{i:x}").try_into()?)))
            .collect::<Result<_, rcgen::Error>>()?;
        Ok(params.self_signed(key)?.der().to_vec())
    };
    largest_under(max_der, build)
}

/// A few SANs and one large non-critical extension (a private OID) filling up to `max_der`.
fn blob_template(key: &KeyPair, max_der: usize) -> Result<Template, Box<dyn std::error::Error>> {
    let build = |size: usize| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut params = base_params()?;
        params.subject_alt_names = vec![SanType::DnsName("flood.invalid".try_into()?)];
        // OCTET STRING of `size` bytes (DER length form chosen by hand).
        let mut content = vec![0x04];
        content.extend(der_length(size));
        content.resize(content.len() + size, 0x5A);
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 55_555, 1],
            content,
        )];
        Ok(params.self_signed(key)?.der().to_vec())
    };
    largest_under(max_der, build)
}

/// The largest `build(n)` no longer than `max_der` bytes (binary search on `n`).
fn largest_under(
    max_der: usize,
    build: impl Fn(usize) -> Result<Vec<u8>, Box<dyn std::error::Error>>,
) -> Result<Template, Box<dyn std::error::Error>> {
    let (mut low, mut high) = (1, max_der);
    let mut best = build(low)?;
    while low < high {
        let mid = (low + high).div_ceil(2);
        let der = build(mid)?;
        if der.len() <= max_der {
            best = der;
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let serial_at = best
        .windows(SERIAL.len())
        .position(|window| window == SERIAL)
        .ok_or("serial not found in the certificate")?;
    Ok(Template {
        der: best,
        serial_at,
    })
}

fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![u8::try_from(len).unwrap_or(0)]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        let mut out = vec![0x80 | u8::try_from(bytes.len()).unwrap_or(0)];
        out.extend(bytes);
        out
    }
}
