//! The decision cache's byte budgets, measured with a counting allocator: however many
//! distinct certificates arrive, the cache's heap stays within the budgets the README states.
//!
//! One test in its own binary, so that no other test allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use mtls_handler::client_cert::cache::{
    ACCEPTED_BUDGET_BYTES, Cached, DecisionCache, REFUSED_BUDGET_BYTES, Refusal,
};
use mtls_handler::client_cert::certificate::MAX_SAN_ENTRIES;
use mtls_handler::client_cert::{Authorized, ClientCert, Denied, Principal};
use rcgen::{CertificateParams, DnType, KeyPair, SanType, SerialNumber};

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

fn signed(size: usize) -> isize {
    isize::try_from(size).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(signed(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(signed(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(signed(new_size) - signed(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

fn key(n: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&n.to_le_bytes());
    key
}

/// A certificate with as many SANs as the bounds allow (the most an accept can hold).
fn largest_allowed_certificate(key_pair: &KeyPair, serial: u64) -> ClientCert {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "client.example");
    params.serial_number = Some(SerialNumber::from(serial));
    params.subject_alt_names = (0..MAX_SAN_ENTRIES)
        .map(|i| {
            SanType::DnsName(
                format!("a-rather-long-host-name-{i}.client.example")
                    .try_into()
                    .expect("ascii"),
            )
        })
        .collect();
    let der = params.self_signed(key_pair).expect("sign").der().to_vec();
    ClientCert::parse(der).expect("within the bounds")
}

#[test]
fn the_cache_heap_stays_within_the_stated_budgets() {
    let budget = |bytes: u64| isize::try_from(bytes).unwrap_or(isize::MAX);

    // Refusals: far more distinct ones than fit.
    let cache = DecisionCache::default();
    let before = allocated();
    for n in 0..60_000 {
        let refusal = Cached::Refused(Refusal {
            denied: Denied::NotAllowed {
                cn: Some(format!("caller-{n}.example")),
                thumbprint: format!("{n:064X}"),
            },
            sha1_thumbprint: Some(format!("{n:040X}").into()),
        });
        cache.insert(key(n), refusal, 1_000, 1_300, 0);
    }
    let refusals_heap = allocated() - before;
    let (_, refusals) = cache.len();
    drop(cache);
    assert!(
        refusals_heap <= budget(REFUSED_BUDGET_BYTES),
        "{refusals} refusals took {refusals_heap} bytes, over the {REFUSED_BUDGET_BYTES}-byte budget"
    );
    assert!(refusals > 1_000, "the budget holds {refusals} refusals");

    // Accepts: distinct certificates with the most SANs the bounds allow.
    let key_pair = KeyPair::generate().expect("key");
    let cache = DecisionCache::default();
    let before = allocated();
    for n in 0..800 {
        let cert = largest_allowed_certificate(&key_pair, n + 1);
        let principal = Principal::CommonName(cert.common_name.clone().unwrap_or_default());
        let accept = Cached::Accepted(Authorized {
            cert: Arc::new(cert),
            principal,
            matched_rule: "common_name".to_owned(),
            verified_chain: true,
            unverified_name: false,
        });
        cache.insert(key(n), accept, 1_000, 1_300, 0);
    }
    let accepts_heap = allocated() - before;
    let (accepts, _) = cache.len();
    assert!(
        accepts_heap <= budget(ACCEPTED_BUDGET_BYTES),
        "{accepts} accepts took {accepts_heap} bytes, over the {ACCEPTED_BUDGET_BYTES}-byte budget"
    );
    assert!(accepts > 100, "the budget holds {accepts} large accepts");
    println!(
        "refusals: {refusals} in {refusals_heap} bytes; large accepts: {accepts} in {accepts_heap} bytes"
    );
}
