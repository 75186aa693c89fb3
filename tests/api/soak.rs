//! A soak small enough for CI: 100,000 mixed requests (accepted, refused, malformed, payload
//! mode, health) against one handler, with zero unexpected statuses and bounded memory.

use futures_util::StreamExt;

use crate::support::pki::{Leaf, TestPki};
use crate::support::{ClientRequest, FunctionsHost, Mode};

const REQUESTS: usize = 100_000;
const CONCURRENCY: usize = 32;
/// Growth of resident memory allowed between the end of the warm-up and the end of the soak.
const RSS_GROWTH_BOUND_KIB: u64 = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_mixed_requests_hold_status_and_memory() {
    let pki = TestPki::new("soak");
    let ca = pki.write("ca.pem", &pki.root.cert.pem);
    let host = FunctionsHost::start(&[
        ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
        ("ALLOWED_CLIENT_CERT_COMMON_NAMES", "client.example"),
        ("RUST_LOG", "warn"),
        // Statuses and memory at full rate: its steady refusals would otherwise be answered
        // after the flood pause (tested in tests/api/logs.rs).
        ("CLIENT_CERT_FLOOD_PAUSE_MS", "0"),
    ])
    .await;
    // A few hundred distinct accepted certificates keep the decision cache busy, not just hit.
    let accepted: Vec<String> = (0..200)
        .map(|serial| {
            pki.issue(&Leaf {
                serial: 10_000 + serial,
                ..Leaf::client("client.example")
            })
            .header()
        })
        .collect();
    let refused = pki.issue(&Leaf::client("stranger.example")).header();
    let cert_info =
        |header: &str| ClientRequest::get("/api/cert-info").header("X-ARR-ClientCert", header);
    let mix = |i: usize| -> (Mode, ClientRequest, u16) {
        match i % 10 {
            0 | 1 => (
                Mode::Proxying,
                cert_info(&accepted[i % accepted.len()]),
                200,
            ),
            2 | 3 => (
                Mode::Forwarding,
                cert_info(&accepted[i % accepted.len()]),
                200,
            ),
            4 => (Mode::Payload, cert_info(&accepted[i % accepted.len()]), 200),
            5 => (Mode::Proxying, cert_info(&refused), 403),
            6 => (Mode::Forwarding, cert_info(&refused), 403),
            7 => (
                Mode::Forwarding,
                cert_info("%%% not a certificate %%%"),
                400,
            ),
            8 => (Mode::Payload, cert_info(&refused), 403),
            _ => (Mode::Proxying, ClientRequest::get("/api/health"), 200),
        }
    };
    let run = |range: std::ops::Range<usize>| {
        let host = &host;
        futures_util::stream::iter(range)
            .map(move |i| {
                let (mode, request, expected) = mix(i);
                async move { (i, expected, host.send(mode, request).await.status) }
            })
            .buffer_unordered(CONCURRENCY)
            .filter(|(_, expected, status)| std::future::ready(expected != status))
            .collect::<Vec<_>>()
    };

    let warm_up = REQUESTS / 10;
    let mut unexpected = run(0..warm_up).await;
    let rss_after_warm_up = host.process.resident_kib();
    unexpected.extend(run(warm_up..REQUESTS).await);
    let rss_at_end = host.process.resident_kib();

    assert!(
        unexpected.is_empty(),
        "{} unexpected statuses, first: {:?}",
        unexpected.len(),
        unexpected.first()
    );
    let growth = rss_at_end.saturating_sub(rss_after_warm_up);
    eprintln!(
        "soak: {REQUESTS} requests; resident memory {rss_after_warm_up} KiB after warm-up, {rss_at_end} KiB at the end"
    );
    assert!(
        growth <= RSS_GROWTH_BOUND_KIB,
        "resident memory grew {growth} KiB ({rss_after_warm_up} -> {rss_at_end} KiB)"
    );
}
