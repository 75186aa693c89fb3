//! A bounded decision cache keyed by the SHA-256 of the certificate's DER.
//!
//! A decision depends only on the certificate and the configuration, so it can be reused until
//! its `expires_at` (chosen by the caller: at most 5 minutes, never past the certificate's
//! notAfter or the earliest CRL nextUpdate). Both accepts and refusals are cached; malformed
//! headers never reach it. Std only: a `Mutex` over a `HashMap` and a `BTreeSet` of
//! `(expires_at, key)`, so that a full cache drops expired entries first, then the entry closest
//! to expiry, in O(log n) rather than a scan of every entry under the lock. It does not decide
//! anything itself.
//!
//! A generation counter, bumped by [`DecisionCache::clear`] (on CRL reload), keeps a decision
//! made on the old CRLs out of the cache: the caller reads the generation before the CRLs,
//! and [`DecisionCache::insert`] drops the decision if the generation moved on meanwhile.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::Mutex;

use super::{Authorized, ClientCert, Denied};

/// The longest an entry lives, in seconds.
pub const MAX_ENTRY_SECONDS: u64 = 300;
/// The default number of entries. Each holds a parsed certificate (about 2.3 KB resident), so a
/// flood of distinct certificates costs at most about 10 MB; 4,096 distinct certificates in five
/// minutes is more than any allowlisted fleet presents, and a miss costs one cold verification.
pub const DEFAULT_CAPACITY: usize = 4_096;

/// A cached decision, with the parsed certificate it was about (for the decision log).
pub type Decision = (Result<Authorized, Denied>, Option<Arc<ClientCert>>);

type Key = [u8; 32];

/// Decisions by certificate SHA-256.
#[derive(Debug)]
pub struct DecisionCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// The same keys, ordered by when they expire (the eviction order).
    by_expiry: BTreeSet<(u64, Key)>,
    /// Bumped by every `clear`; an insert from an older generation is dropped.
    generation: u64,
}

#[derive(Debug)]
struct Entry {
    decision: Decision,
    expires_at: u64,
}

impl DecisionCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// The decision for `key`, if cached and still valid at `now` (unix seconds).
    pub fn get(&self, key: &Key, now: u64) -> Option<Decision> {
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) if now < entry.expires_at => Some(entry.decision.clone()),
            Some(_) => {
                inner.remove(key);
                None
            }
            None => None,
        }
    }

    /// The current generation; read it before the inputs of a decision (the CRLs).
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Stores `decision` until `expires_at` (unix seconds; capped at `now + MAX_ENTRY_SECONDS`),
    /// unless the cache was cleared since `generation` was read (the decision may be stale).
    /// A full cache first forgets expired entries, then the entry closest to expiry.
    pub fn insert(&self, key: Key, decision: Decision, now: u64, expires_at: u64, generation: u64) {
        let expires_at = expires_at.min(now.saturating_add(MAX_ENTRY_SECONDS));
        if expires_at <= now {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        inner.remove(&key);
        if inner.entries.len() >= self.capacity {
            inner.remove_expired(now);
        }
        if inner.entries.len() >= self.capacity {
            inner.remove_soonest();
        }
        inner.by_expiry.insert((expires_at, key));
        inner.entries.insert(
            key,
            Entry {
                decision,
                expires_at,
            },
        );
    }

    /// Forgets every decision and starts a new generation (on CRL reload).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.by_expiry.clear();
        inner.generation = inner.generation.wrapping_add(1);
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent: each operation
        // updates both maps without calling out.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

// === impl Inner ===

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.entries.remove(key) {
            self.by_expiry.remove(&(entry.expires_at, *key));
        }
    }

    /// Drops every entry whose `expires_at` is at or before `now`.
    fn remove_expired(&mut self, now: u64) {
        while let Some(&(expires_at, key)) = self.by_expiry.first() {
            if expires_at > now {
                break;
            }
            self.by_expiry.pop_first();
            self.entries.remove(&key);
        }
    }

    fn remove_soonest(&mut self) {
        if let Some((_, key)) = self.by_expiry.pop_first() {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        [n; 32]
    }

    fn decision() -> Decision {
        (Err(Denied::Missing), None)
    }

    #[test]
    fn a_full_cache_drops_expired_entries_before_live_ones() {
        let cache = DecisionCache::new(3);
        cache.insert(key(1), decision(), 100, 150, 0);
        cache.insert(key(2), decision(), 100, 400, 0);
        cache.insert(key(3), decision(), 100, 160, 0);
        cache.insert(key(4), decision(), 200, 500, 0);
        assert_eq!(
            cache.len(),
            2,
            "both expired entries went, the live one stayed"
        );
        assert!(cache.get(&key(2), 200).is_some(), "the live entry is kept");
        assert!(cache.get(&key(4), 200).is_some(), "the new entry is stored");
    }

    #[test]
    fn a_full_cache_without_expired_entries_drops_the_one_closest_to_expiry() {
        let cache = DecisionCache::new(2);
        cache.insert(key(1), decision(), 100, 300, 0);
        cache.insert(key(2), decision(), 100, 200, 0);
        cache.insert(key(3), decision(), 100, 250, 0);
        assert!(
            cache.get(&key(2), 100).is_none(),
            "the soonest to expire went"
        );
        assert!(cache.get(&key(1), 100).is_some());
        assert!(cache.get(&key(3), 100).is_some());
    }

    #[test]
    fn replacing_an_entry_moves_its_expiry() {
        let cache = DecisionCache::new(2);
        cache.insert(key(1), decision(), 100, 200, 0);
        cache.insert(key(1), decision(), 100, 350, 0);
        cache.insert(key(2), decision(), 100, 300, 0);
        cache.insert(key(3), decision(), 100, 390, 0);
        assert!(
            cache.get(&key(1), 100).is_some(),
            "key 1 now expires last but one"
        );
        assert!(cache.get(&key(2), 100).is_none(), "key 2 was the soonest");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn an_expired_entry_is_not_returned_and_is_forgotten() {
        let cache = DecisionCache::new(2);
        cache.insert(key(1), decision(), 100, 200, 0);
        assert!(cache.get(&key(1), 200).is_none(), "expires_at is exclusive");
        assert!(cache.is_empty());
    }
}

#[cfg(test)]
mod generation_tests {
    use super::*;

    #[test]
    fn a_decision_from_before_a_clear_is_not_stored() {
        let cache = DecisionCache::new(4);
        let before = cache.generation();
        cache.clear();
        cache.insert([1; 32], (Err(Denied::Missing), None), 100, 200, before);
        assert!(
            cache.get(&[1; 32], 100).is_none(),
            "a stale decision was cached"
        );
        cache.insert(
            [1; 32],
            (Err(Denied::Missing), None),
            100,
            200,
            cache.generation(),
        );
        assert!(
            cache.get(&[1; 32], 100).is_some(),
            "a current decision is cached"
        );
    }
}
