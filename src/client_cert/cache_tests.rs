//! Decision cache tests: expiry, generations, the byte budgets, and that refusals cannot push
//! out accepts.

use std::sync::Arc;

use rcgen::KeyPair;

use super::*;
use crate::client_cert::certificate::MAX_SAN_ENTRIES;
use crate::client_cert::test_pki::{DAY, Leaf};

fn key(n: u32) -> Key {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&n.to_le_bytes());
    key
}

fn refusal(n: u32) -> Cached {
    Cached::Refused(Refusal {
        denied: Denied::Untrusted {
            reason: "no configured CA vouches for it".to_owned(),
        },
        sha1_thumbprint: Some(format!("{n:040X}").into()),
    })
}

/// An accept for a CA-signed-looking leaf with `sans` DNS names (parsed for real).
fn accepted(key_pair: &KeyPair, serial: u64, sans: usize) -> Cached {
    let mut leaf = Leaf::cn("client.example")
        .valid(-DAY, 30 * DAY)
        .serial(serial);
    leaf.dns_names = (0..sans).map(|i| format!("n{i}.client.example")).collect();
    let cert = ClientCert::parse(leaf.self_signed_with(key_pair)).expect("parses");
    Cached::Accepted(Authorized {
        principal: crate::client_cert::Principal::CommonName("client.example".to_owned()),
        cert: Arc::new(cert),
        matched_rule: "common_name".to_owned(),
        verified_chain: true,
        unverified_name: false,
    })
}

#[test]
fn an_entry_is_returned_until_it_expires() {
    let cache = DecisionCache::default();
    cache.insert(key(1), refusal(1), 100, 200, 0);
    assert_eq!(cache.get(&key(1), 199), Some(refusal(1)), "valid before");
    assert_eq!(cache.get(&key(1), 200), None, "expires_at is exclusive");
    assert!(cache.is_empty(), "an expired entry is forgotten when seen");
}

#[test]
fn no_entry_outlives_the_longest_lifetime() {
    let cache = DecisionCache::default();
    cache.insert(key(1), refusal(1), 100, u64::MAX, 0);
    assert!(cache.get(&key(1), 100 + MAX_ENTRY_SECONDS - 1).is_some());
    assert!(cache.get(&key(1), 100 + MAX_ENTRY_SECONDS).is_none());
}

#[test]
fn a_decision_from_before_a_clear_is_neither_stored_nor_returned() {
    let cache = DecisionCache::default();
    let before = cache.generation();
    cache.insert(key(1), refusal(1), 100, 200, before);
    cache.clear();
    assert!(cache.get(&key(1), 100).is_none(), "cleared");
    cache.insert(key(2), refusal(2), 100, 200, before);
    assert!(
        cache.get(&key(2), 100).is_none(),
        "a decision made on the old crls was cached"
    );
    cache.insert(key(2), refusal(2), 100, 200, cache.generation());
    assert!(cache.get(&key(2), 100).is_some(), "a current one is");
}

#[test]
fn a_new_decision_replaces_the_other_kind() {
    let cache = DecisionCache::default();
    let key_pair = KeyPair::generate().expect("key");
    cache.insert(key(1), refusal(1), 100, 200, 0);
    cache.insert(key(1), accepted(&key_pair, 1, 0), 100, 200, 0);
    assert!(matches!(cache.get(&key(1), 100), Some(Cached::Accepted(_))));
    assert_eq!(cache.len(), (1, 0), "the refusal went");
}

#[test]
fn refusals_stay_within_their_budget_and_keep_no_certificate() {
    let budget = 64 * 1024;
    let cache = DecisionCache::with_budgets(budget, budget);
    for n in 0..20_000 {
        cache.insert(key(n), refusal(n), 100, 200, 0);
    }
    let (accepted_bytes, refused_bytes) = cache.weights();
    let (_, refused) = cache.len();
    assert_eq!(
        accepted_bytes, 0,
        "refusals never land in the accepts' budget"
    );
    assert!(
        refused_bytes <= budget,
        "{refused_bytes} bytes over a {budget}-byte budget"
    );
    assert!(
        refused as u64 >= budget / 512,
        "a refusal weighs under 512 bytes, table included: {refused} in {budget} bytes"
    );
}

#[test]
fn a_flood_of_refusals_cannot_push_out_an_accept() {
    let cache = DecisionCache::with_budgets(256 * 1024, 32 * 1024);
    let key_pair = KeyPair::generate().expect("key");
    let allowlisted = key(u32::MAX);
    cache.insert(allowlisted, accepted(&key_pair, 7, 2), 100, 300, 0);
    for n in 0..50_000 {
        cache.insert(key(n), refusal(n), 100, 300, 0);
    }
    assert!(
        matches!(cache.get(&allowlisted, 150), Some(Cached::Accepted(_))),
        "the allowlisted caller's decision survived the flood"
    );
}

#[test]
fn accepts_are_weighed_by_what_their_certificates_hold() {
    let budget = 128 * 1024;
    let cache = DecisionCache::with_budgets(budget, budget);
    let key_pair = KeyPair::generate().expect("key");
    let small = accepted(&key_pair, 1, 0);
    let large = accepted(&key_pair, 2, MAX_SAN_ENTRIES);
    cache.insert(key(1), small, 100, 200, 0);
    let small_weight = cache.weights().0;
    cache.insert(key(2), large, 100, 200, 0);
    let large_weight = cache.weights().0 - small_weight;
    assert!(
        large_weight > small_weight + MAX_SAN_ENTRIES as u64 * 16,
        "{MAX_SAN_ENTRIES} SANs weigh more: {large_weight} vs {small_weight}"
    );
    for serial in 3..200 {
        cache.insert(
            key(serial),
            accepted(&key_pair, u64::from(serial), 40),
            100,
            200,
            0,
        );
    }
    assert!(
        cache.weights().0 <= budget,
        "accepts stay within their budget"
    );
}

#[test]
fn a_cached_refusal_keeps_at_most_a_bounded_amount_of_caller_text() {
    let long_cn = "é".repeat(10_000);
    let denied = bounded(Denied::NotAllowed {
        cn: Some(long_cn),
        thumbprint: "AB".repeat(32),
    });
    let Denied::NotAllowed { cn: Some(cn), .. } = &denied else {
        panic!("the variant is kept: {denied:?}");
    };
    assert!(
        cn.len() <= MAX_CACHED_TEXT_BYTES + '…'.len_utf8(),
        "{}",
        cn.len()
    );
    assert!(cn.ends_with('…'), "a cut is marked");
    assert_eq!(
        denied.code(),
        "cert_not_allowed",
        "the code does not change"
    );
    assert!(
        denied.heap_bytes() < 2 * MAX_CACHED_TEXT_BYTES,
        "{}",
        denied.heap_bytes()
    );
}
