//! The decision cache, keyed by the SHA-256 of the certificate's DER and bounded in bytes.
//!
//! A decision depends only on the certificate and the configuration, so it can be reused until
//! its `expires_at` (chosen by the caller: at most 5 minutes, never past the certificate's
//! notAfter or the earliest CRL nextUpdate). Malformed headers never reach it.
//!
//! Accepts and refusals live in two caches with budgets of their own, so that a flood of
//! refusals (anyone can make certificates) can never push out an allowlisted caller's entry:
//! - an accept keeps the parsed certificate, which `cert-info` answers from
//!   ([`ACCEPTED_BUDGET_BYTES`]);
//! - a refusal keeps only what the answer and its log line need: the reason and the two
//!   thumbprints, never the certificate ([`REFUSED_BUDGET_BYTES`]).
//!
//! Each is a `quick_cache` with a weigher that counts an entry's heap bytes plus its share of
//! the table, so the budgets hold whatever the certificates look like; its eviction
//! (CLOCK-PRO, close to S3-FIFO) keeps entries that were hit over one-off ones.
//!
//! A generation counter, bumped by [`DecisionCache::clear`] (on CRL reload), keeps a decision
//! made on the old CRLs from being used: every entry records the generation its caller read
//! before reading the CRLs, and an entry from another generation is never returned.

use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::{Authorized, ClientCert, Denied};

/// The longest an entry lives, in seconds.
pub const MAX_ENTRY_SECONDS: u64 = 300;
/// Bytes the accepted decisions may take (parsed certificates, about 2 to 4 KB each for
/// ordinary client certificates: a couple of thousand distinct allowlisted callers per five
/// minutes).
pub const ACCEPTED_BUDGET_BYTES: u64 = 8 * 1024 * 1024;
/// Bytes the refusals may take (under 500 bytes each, table included: some 4,000 distinct
/// refusals).
pub const REFUSED_BUDGET_BYTES: u64 = 2 * 1024 * 1024;

/// The cache key: the SHA-256 of the certificate's DER.
pub type Key = [u8; 32];

/// What a cached refusal keeps: the answer, and the SHA-1 for its log line (the SHA-256 is
/// the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub denied: Denied,
    /// `None` when the certificate could not be read into fields (an ambiguous subject).
    pub sha1_thumbprint: Option<Box<str>>,
}

/// A cached decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    Accepted(Authorized),
    Refused(Refusal),
}

#[derive(Debug, Clone)]
struct Entry<T> {
    value: T,
    expires_at: u64,
    generation: u64,
}

/// Decisions by certificate SHA-256, accepts and refusals in separate byte budgets.
pub struct DecisionCache {
    accepted: Cache<Key, Entry<Authorized>, Weigh>,
    refused: Cache<Key, Entry<Refusal>, Weigh>,
    generation: AtomicU64,
}

impl std::fmt::Debug for DecisionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionCache")
            .field("accepted", &self.accepted.len())
            .field("refused", &self.refused.len())
            .field("bytes", &self.weight())
            .finish_non_exhaustive()
    }
}

impl Default for DecisionCache {
    fn default() -> Self {
        Self::with_budgets(ACCEPTED_BUDGET_BYTES, REFUSED_BUDGET_BYTES)
    }
}

impl DecisionCache {
    /// A cache whose accepts may take `accepted_bytes` and refusals `refused_bytes`.
    pub fn with_budgets(accepted_bytes: u64, refused_bytes: u64) -> Self {
        // The tables are allocated up front for the estimated number of entries: estimate low
        // (the weigher charges each entry its table slot anyway), so that a budget filled with
        // large entries does not also hold a table sized for small ones.
        let estimate = |bytes: u64, typical: u64| usize::try_from(bytes / typical).unwrap_or(1);
        Self {
            accepted: Cache::with_weighter(estimate(accepted_bytes, 8_192), accepted_bytes, Weigh),
            refused: Cache::with_weighter(estimate(refused_bytes, 1_024), refused_bytes, Weigh),
            generation: AtomicU64::new(0),
        }
    }

    /// The decision for `key`, if cached in the current generation and still valid at `now`
    /// (unix seconds).
    pub fn get(&self, key: &Key, now: u64) -> Option<Cached> {
        let generation = self.generation();
        if let Some(entry) = fresh(&self.accepted, key, now, generation) {
            return Some(Cached::Accepted(entry));
        }
        fresh(&self.refused, key, now, generation).map(Cached::Refused)
    }

    /// The current generation; read it before the inputs of a decision (the CRLs).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores `decision` until `expires_at` (unix seconds; capped at `now + MAX_ENTRY_SECONDS`)
    /// under `generation`, the one read before the decision's inputs. A decision from an older
    /// generation is not stored (and would never be returned).
    pub fn insert(&self, key: Key, decision: Cached, now: u64, expires_at: u64, generation: u64) {
        let expires_at = expires_at.min(now.saturating_add(MAX_ENTRY_SECONDS));
        if expires_at <= now || generation != self.generation() {
            return;
        }
        match decision {
            Cached::Accepted(value) => {
                self.refused.remove(&key);
                self.accepted.insert(
                    key,
                    Entry {
                        value,
                        expires_at,
                        generation,
                    },
                );
            }
            Cached::Refused(value) => {
                self.accepted.remove(&key);
                self.refused.insert(
                    key,
                    Entry {
                        value,
                        expires_at,
                        generation,
                    },
                );
            }
        }
    }

    /// Forgets every decision and starts a new generation (on CRL reload).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.accepted.clear();
        self.refused.clear();
    }

    /// Entries held (accepts, refusals).
    pub fn len(&self) -> (usize, usize) {
        (self.accepted.len(), self.refused.len())
    }

    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty() && self.refused.is_empty()
    }

    /// The bytes held, by the weigher's count (accepts, refusals).
    pub fn weights(&self) -> (u64, u64) {
        (self.accepted.weight(), self.refused.weight())
    }

    fn weight(&self) -> u64 {
        self.accepted.weight() + self.refused.weight()
    }
}

/// The entry's value if it is from `generation` and valid at `now`; a stale one is dropped.
fn fresh<T: Clone + HeapSize>(
    cache: &Cache<Key, Entry<T>, Weigh>,
    key: &Key,
    now: u64,
    generation: u64,
) -> Option<T> {
    let entry = cache.get(key)?;
    if now < entry.expires_at && entry.generation == generation {
        Some(entry.value)
    } else {
        cache.remove(key);
        None
    }
}

/// Weighs an entry in bytes: what it owns on the heap, plus the entry itself counted three
/// times for the cache's table (slots are allocated for 1.5 times the entries, rounded up to
/// a power of two) and quick_cache's 21 bytes of bookkeeping per entry.
#[derive(Debug, Clone, Copy)]
struct Weigh;

impl<T: HeapSize> Weighter<Key, Entry<T>> for Weigh {
    fn weight(&self, _key: &Key, entry: &Entry<T>) -> u64 {
        let slot = size_of::<(Key, Entry<T>)>() + 21;
        u64::try_from(3 * slot + entry.value.heap_bytes()).unwrap_or(u64::MAX)
    }
}

/// Bytes a value owns on the heap (capacities, not lengths).
pub(crate) trait HeapSize {
    fn heap_bytes(&self) -> usize;
}

impl HeapSize for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T: HeapSize> HeapSize for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(HeapSize::heap_bytes).sum::<usize>()
    }
}

impl<T: HeapSize> HeapSize for Option<T> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::heap_bytes)
    }
}

impl HeapSize for u8 {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl HeapSize for std::net::IpAddr {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl HeapSize for Authorized {
    fn heap_bytes(&self) -> usize {
        // The certificate sits behind an `Arc` (two counters) that in-flight requests may
        // share; the cache is charged for all of it.
        2 * size_of::<usize>()
            + size_of::<ClientCert>()
            + self.cert.heap_bytes()
            + self.matched_rule.heap_bytes()
            + self.principal.heap_bytes()
    }
}

impl HeapSize for Refusal {
    fn heap_bytes(&self) -> usize {
        self.denied.heap_bytes() + self.sha1_thumbprint.as_ref().map_or(0, |sha1| sha1.len())
    }
}

/// The most bytes of caller-chosen text (a CN, a reason that quotes one) a cached refusal
/// keeps per field, so that a refusal stays small whatever the certificate said.
pub const MAX_CACHED_TEXT_BYTES: usize = 256;

/// `denied` with every text field cut to [`MAX_CACHED_TEXT_BYTES`] (at a character boundary,
/// marked with `…`), for the cache. Codes and statuses do not change.
pub fn bounded(denied: Denied) -> Denied {
    fn cut(mut text: String) -> String {
        if text.len() > MAX_CACHED_TEXT_BYTES {
            let mut end = MAX_CACHED_TEXT_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        text.shrink_to_fit();
        text
    }
    match denied {
        Denied::Malformed { reason } => Denied::Malformed {
            reason: cut(reason),
        },
        Denied::Ambiguous { reason } => Denied::Ambiguous {
            reason: cut(reason),
        },
        Denied::Untrusted { reason } => Denied::Untrusted {
            reason: cut(reason),
        },
        Denied::WrongUsage { reason } => Denied::WrongUsage {
            reason: cut(reason),
        },
        Denied::RevocationUnknown { reason } => Denied::RevocationUnknown {
            reason: cut(reason),
        },
        Denied::WeakKey { reason } => Denied::WeakKey {
            reason: cut(reason),
        },
        Denied::CnOutsideNameConstraints { cn, reason } => Denied::CnOutsideNameConstraints {
            cn: cut(cn),
            reason: cut(reason),
        },
        Denied::NotAllowed { cn, thumbprint } => Denied::NotAllowed {
            cn: cn.map(cut),
            thumbprint: cut(thumbprint),
        },
        other @ (Denied::Missing
        | Denied::Expired { .. }
        | Denied::NotYetValid { .. }
        | Denied::Revoked) => other,
    }
}

impl HeapSize for Denied {
    fn heap_bytes(&self) -> usize {
        match self {
            Self::Malformed { reason }
            | Self::Ambiguous { reason }
            | Self::Untrusted { reason }
            | Self::WrongUsage { reason }
            | Self::RevocationUnknown { reason }
            | Self::WeakKey { reason } => reason.heap_bytes(),
            Self::NotAllowed { cn, thumbprint } => cn.heap_bytes() + thumbprint.heap_bytes(),
            Self::CnOutsideNameConstraints { cn, reason } => cn.heap_bytes() + reason.heap_bytes(),
            Self::Missing | Self::Expired { .. } | Self::NotYetValid { .. } | Self::Revoked => 0,
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
