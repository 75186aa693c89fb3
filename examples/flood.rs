//! The traffic `bench/flood.sh` sends: a flood of distinct hostile client certificates, and a
//! probe that plays the callers who must still be served through it. Only loopback URLs are
//! accepted.
//!
//! `flood send`: every request is a certificate the handler has never seen, at no signing cost
//! (8 bytes of the serial are rewritten with a counter, so the SHA-256 differs and the
//! signature no longer verifies). `--template <der>` sends copies of a certificate that names
//! a configured CA as its issuer (`bench_pki`'s `forged.der`: what anyone can make without the
//! CA's key); `--oversize <max-header-bytes>` sends self-signed certificates as large as the
//! header cap allows (thousands of SANs, or one large extension), alternately. Prints one line:
//! `FLOOD <requests> <status>=<count>...`.
//!
//! `flood probe`: for `--seconds`, one never-seen allowlisted certificate (the next line of
//! `--cold`) every `--cold-every-ms`, one at a time, and the cached certificate (`--cached`)
//! from `--cached-workers` workers at `--cached-every-ms` each, paced: a request's latency is
//! counted from when it was due, so a stall is not hidden by requests not sent during it.
//! Prints `PROBE cold <sent> <503 busy> <other non-200> cached <sent> <p50 us> <p99 us>
//! <non-200>`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Parser, Subcommand};
use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair, SanType, SerialNumber};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Distinct hostile certificates, as fast as `--connections` allow.
    Send(SendOptions),
    /// The callers who must still be served: cold allowlisted ones, and a cached one, paced.
    Probe(ProbeOptions),
}

#[derive(Args)]
struct SendOptions {
    #[arg(long)]
    url: String,
    #[arg(long)]
    seconds: u64,
    #[arg(long, default_value_t = 300)]
    connections: usize,
    /// A DER certificate to send copies of (its serial must be at least 8 bytes).
    #[arg(long, conflicts_with = "oversize")]
    template: Option<std::path::PathBuf>,
    /// Self-signed certificates as large as this header cap allows.
    #[arg(long)]
    oversize: Option<usize>,
}

#[derive(Args)]
struct ProbeOptions {
    #[arg(long)]
    url: String,
    #[arg(long)]
    seconds: u64,
    /// One header value per line, each sent once.
    #[arg(long)]
    cold: std::path::PathBuf,
    #[arg(long, default_value_t = 50)]
    cold_every_ms: u64,
    /// A file holding the cached certificate's header value.
    #[arg(long)]
    cached: std::path::PathBuf,
    #[arg(long, default_value_t = 4)]
    cached_workers: usize,
    #[arg(long, default_value_t = 10)]
    cached_every_ms: u64,
}

/// The serial every oversize template carries; the counter overwrites its last 8 bytes.
const SERIAL: [u8; 20] = [
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0x12, 0x34,
    0x56, 0x78, 0x9A, 0xBC,
];

struct Template {
    der: Vec<u8>,
    /// Where the 8 bytes the counter overwrites start.
    counter_at: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // reqwest is built without a crypto provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Send(options) => send(options).await,
        Command::Probe(options) => probe(options).await,
    }
}

fn loopback(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let host = url::Url::parse(url)?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    if host == "127.0.0.1" || host == "localhost" || host == "[::1]" {
        Ok(())
    } else {
        Err(format!("only loopback targets are allowed, not {host}").into())
    }
}

fn client(connections: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()
}

/// The status of one request, as `FLOOD` and `PROBE` count it.
async fn status(client: &reqwest::Client, url: &str, header: String) -> String {
    match client
        .get(url)
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
    }
}

async fn send(options: SendOptions) -> Result<(), Box<dyn std::error::Error>> {
    loopback(&options.url)?;
    let templates = match (&options.template, options.oversize) {
        (Some(path), _) => {
            let der = std::fs::read(path)?;
            let counter_at = serial_counter_at(&der).ok_or("no 8-byte serial in the template")?;
            vec![Template { der, counter_at }]
        }
        (None, Some(max_header_bytes)) => {
            let max_der = max_header_bytes / 4 * 3;
            let key = KeyPair::generate()?;
            vec![sans_template(&key, max_der)?, blob_template(&key, max_der)?]
        }
        (None, None) => return Err("--template or --oversize".into()),
    };
    for template in &templates {
        eprintln!(
            "flood: certificate of {} bytes DER, {} bytes base64",
            template.der.len(),
            STANDARD.encode(&template.der).len()
        );
    }
    let templates = Arc::new(templates);
    let client = client(options.connections)?;
    let counter = Arc::new(AtomicU64::new(1));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let mut tasks = Vec::new();
    for _ in 0..options.connections {
        let (client, url, templates, counter) = (
            client.clone(),
            options.url.clone(),
            Arc::clone(&templates),
            Arc::clone(&counter),
        );
        tasks.push(tokio::spawn(async move {
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let template = &templates[usize::try_from(n).unwrap_or(0) % templates.len()];
                let mut der = template.der.clone();
                // The serial's first byte stays as it was: a positive, minimal INTEGER.
                der[template.counter_at..template.counter_at + 8].copy_from_slice(&n.to_be_bytes());
                let status = status(&client, &url, STANDARD.encode(&der)).await;
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

/// Where the last 8 bytes of the certificate's serial start (a serial of at least 9 content
/// bytes, so that the first one stays as it was).
fn serial_counter_at(der: &[u8]) -> Option<usize> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    let serial = cert.raw_serial();
    if serial.len() < 9 {
        return None;
    }
    let at = der
        .windows(serial.len())
        .position(|window| window == serial)?;
    Some(at + serial.len() - 8)
}

async fn probe(options: ProbeOptions) -> Result<(), Box<dyn std::error::Error>> {
    loopback(&options.url)?;
    let cold: Vec<String> = std::fs::read_to_string(&options.cold)?
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let cached = std::fs::read_to_string(&options.cached)?.trim().to_owned();
    let client = client(options.cached_workers + 1)?;
    let start = Instant::now();
    let end = start + Duration::from_secs(options.seconds);

    let cold_task = {
        let (client, url) = (client.clone(), options.url.clone());
        let every = Duration::from_millis(options.cold_every_ms);
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for (n, header) in cold.into_iter().enumerate() {
                let due = start + every * u32::try_from(n).unwrap_or(u32::MAX);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                statuses.push(status(&client, &url, header).await);
            }
            statuses
        })
    };
    let mut cached_tasks = Vec::new();
    for worker in 0..options.cached_workers {
        let (client, url, header) = (client.clone(), options.url.clone(), cached.clone());
        let every = Duration::from_millis(options.cached_every_ms);
        // Workers start spread over one period.
        let offset = every * u32::try_from(worker).unwrap_or(0)
            / u32::try_from(options.cached_workers).unwrap_or(1);
        cached_tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            for n in 0u32.. {
                let due = start + offset + every * n;
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let ok = status(&client, &url, header.clone()).await == "200";
                samples.push((due.elapsed(), ok));
            }
            samples
        }));
    }

    let cold = cold_task.await?;
    let mut latencies = Vec::new();
    let mut cached_bad = 0;
    for task in cached_tasks {
        for (latency, ok) in task.await? {
            latencies.push(latency);
            cached_bad += u64::from(!ok);
        }
    }
    latencies.sort();
    let percentile = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .map_or(0, |latency| latency.as_micros())
    };
    let busy = cold.iter().filter(|status| *status == "503").count();
    let other = cold
        .iter()
        .filter(|status| *status != "200" && *status != "503")
        .count();
    println!(
        "PROBE cold {} {busy} {other} cached {} {} {} {cached_bad}",
        cold.len(),
        latencies.len(),
        percentile(50),
        percentile(99)
    );
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
    let counter_at = serial_counter_at(&best).ok_or("serial not found in the certificate")?;
    Ok(Template {
        der: best,
        counter_at,
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
