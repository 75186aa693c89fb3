//! A bounded decision cache keyed by the SHA-256 of the certificate's DER.
//!
//! A decision depends only on the certificate and the configuration, so it can be reused until
//! its `expires_at` (chosen by the caller: at most 5 minutes, never past the certificate's
//! notAfter or the earliest CRL nextUpdate). Both accepts and refusals are cached; malformed
//! headers never reach it. Std only: a `Mutex<HashMap>`, expired entries dropped first, then
//! the entry closest to expiry. It does not decide anything itself.
//!
//! A generation counter, bumped by [`DecisionCache::clear`] (on CRL reload), keeps a decision
//! made on the old CRLs out of the cache: the caller reads the generation before the CRLs,
//! and [`DecisionCache::insert`] drops the decision if the generation moved on meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;

use std::sync::Arc;

use super::{Authorized, ClientCert, Denied};

/// The longest an entry lives, in seconds.
pub const MAX_ENTRY_SECONDS: u64 = 300;
/// The default number of entries.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A cached decision, with the parsed certificate it was about (for the decision log).
pub type Decision = (Result<Authorized, Denied>, Option<Arc<ClientCert>>);

/// Decisions by certificate SHA-256.
#[derive(Debug)]
pub struct DecisionCache {
    entries: Mutex<Entries>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<[u8; 32], Entry>,
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
            entries: Mutex::new(Entries::default()),
            capacity: capacity.max(1),
        }
    }

    /// The decision for `key`, if cached and still valid at `now` (unix seconds).
    pub fn get(&self, key: &[u8; 32], now: u64) -> Option<Decision> {
        let entries = &mut self.lock().by_key;
        match entries.get(key) {
            Some(entry) if now < entry.expires_at => Some(entry.decision.clone()),
            Some(_) => {
                entries.remove(key);
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
    pub fn insert(
        &self,
        key: [u8; 32],
        decision: Decision,
        now: u64,
        expires_at: u64,
        generation: u64,
    ) {
        let expires_at = expires_at.min(now.saturating_add(MAX_ENTRY_SECONDS));
        if expires_at <= now {
            return;
        }
        let mut guard = self.lock();
        if guard.generation != generation {
            return;
        }
        let entries = &mut guard.by_key;
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, entry| now < entry.expires_at);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.expires_at)
                    .map(|(key, _)| *key);
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(
            key,
            Entry {
                decision,
                expires_at,
            },
        );
    }

    /// Forgets every decision and starts a new generation (on CRL reload).
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.by_key.clear();
        entries.generation = entries.generation.wrapping_add(1);
    }

    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the map inconsistent (single operations).
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
