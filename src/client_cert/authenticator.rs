//! `Authenticator`: the facade the warp filter calls. Decodes the header, consults the cache,
//! runs the checks in order (usage, validity, chain and revocation, allowlist), logs one line
//! per decision. CRL reloading lives in `reload.rs`.
//!
//! Order of checks: a CA certificate is refused as a client, then the validity window (with
//! clock skew), EKU, critical extensions and key strength apply to every certificate, pinned
//! or not; then webpki verifies the chain
//! when CAs are configured (a hard failure such as revocation refuses even a pinned certificate;
//! "no CA vouches" only means names cannot count); without a verified path the CRLs still have
//! their say: a certificate that a usable CRL of its issuer's name lists is refused, and one
//! admitted without a path whose issuer has CRLs must be covered by one, or it is unknown
//! (`revocation.rs`); then the allowlist decides. Only an exact certificate thumbprint (setting
//! or policy `thumbprint`) matches without a verified chain; names and every other policy rule,
//! key pins (`spki_sha256`) included, need one.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use rustls_pki_types::UnixTime;
use sha2::{Digest, Sha256};

use super::cache::{Cached, DecisionCache, MAX_ENTRY_SECONDS, Refusal};
use super::certificate::hex_upper;
use super::crl::CrlIssuers;
use super::crl_files::CrlFiles;
use super::decision_line::{self, Described};
use super::gate::{ColdGate, Lane};
use super::header::{self, HeaderFormat};
use super::policy::{NameRules, Policy};
use super::revocation::{CrlSet, Status};
use super::sketch::Sketch;
use super::triage::{Triage, Verdict};
use super::trust::TrustStore;
use super::{Authorized, ClientCert, Denied, Settings};
use crate::telemetry::summary::RefusalLines;

/// What one decision is made under, taken once per request.
pub(super) struct Snapshot {
    generation: u64,
    crls: Arc<CrlSet>,
}

/// Where the CRLs in force came from; each part is replaced on its own.
#[derive(Debug, Default)]
pub(super) struct CrlParts {
    pub(super) files: Arc<CrlSet>,
    pub(super) fetched: Arc<CrlSet>,
}

/// What [`Authenticator::lookup`] found: a decision, or the need for a cold one.
#[derive(Debug)]
pub enum Lookup {
    /// Decided cheaply: a missing or malformed header, or a cached decision.
    Decided(Result<Authorized, Denied>),
    /// Not cached: [`Authenticator::decide_cold`] parses and verifies it (the filter runs that
    /// behind [`Authenticator::gate`]).
    Cold(ColdRequest),
}

/// A certificate the cache did not know: its DER, SHA-256, the time of the request, and the
/// gate lane triage put it in.
#[derive(Debug)]
pub struct ColdRequest {
    key: [u8; 32],
    der: Vec<u8>,
    now: u64,
    lane: Lane,
}

impl ColdRequest {
    /// Where it waits for a worker (`triage.rs`).
    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// The bytes of certificate it holds while it waits.
    pub fn held_bytes(&self) -> usize {
        self.der.len()
    }
}

/// Authenticates requests by their forwarded client certificate.
#[derive(Debug)]
pub struct Authenticator {
    header_name: String,
    format: HeaderFormat,
    max_header_bytes: usize,
    trust: TrustStore,
    policy: Policy,
    /// The CRL set in force: `crl_parts`' files, then its fetched CRLs.
    pub(super) crls: RwLock<Arc<CrlSet>>,
    pub(super) crl_parts: Mutex<CrlParts>,
    /// CRL files or URLs are configured: a verified chain with no CRL loaded is unknown.
    revocation_required: bool,
    /// How many CRL URLs feed `crl_parts.fetched` (for the posture line).
    crl_url_count: usize,
    pub(super) crl_reload: Duration,
    /// The CRL files and each one's last good CRLs (`reload.rs`).
    pub(super) crl_files: Mutex<CrlFiles>,
    /// The configured CAs a CRL file may be signed by.
    pub(super) crl_issuers: CrlIssuers,
    pub(super) cache: DecisionCache,
    /// Where cold decisions queue (bounded) and run (off the async workers).
    pub gate: ColdGate,
    /// What a cold certificate could be, before the full decision (`triage.rs`).
    pub(super) triage: Triage,
    /// Which refusal lines are written (the first per code and minute) and which counted.
    pub(super) refusal_lines: Arc<RefusalLines>,
    /// How long a refusal over the log rate waits before it is answered (`filter.rs`).
    pub(super) flood_pause: Duration,
}

impl Authenticator {
    /// Builds the authenticator from already-validated settings (files were read at startup).
    pub fn new(config: &Settings) -> Self {
        Self {
            header_name: config.header_name.clone(),
            format: config.header_format,
            max_header_bytes: config.max_header_bytes,
            trust: TrustStore::new(
                config.trusted_cas.clone(),
                config.intermediates.clone(),
                config.clock_skew_seconds,
            ),
            policy: Policy {
                pins: config.thumbprints.clone(),
                names: NameRules {
                    common_names: config.common_names.clone(),
                    dns_names: config.dns_names.clone(),
                    uris: config.uris.clone(),
                    emails: config.emails.clone(),
                },
                rules: config.policy_rules.clone(),
                allow_unverified_names: config.allow_unverified_names,
            },
            crls: RwLock::new(Arc::clone(&config.crls)),
            crl_parts: Mutex::new(CrlParts {
                files: Arc::clone(&config.crls),
                fetched: Arc::default(),
            }),
            revocation_required: !config.crl_paths.is_empty() || !config.crl_urls.is_empty(),
            crl_url_count: config.crl_urls.len(),
            crl_reload: config.crl_reload,
            crl_files: Mutex::new(
                config
                    .crl_files
                    .clone()
                    .unwrap_or_else(|| CrlFiles::new(&config.crl_paths)),
            ),
            crl_issuers: CrlIssuers::new(&config.crl_issuers),
            cache: DecisionCache::default(),
            gate: ColdGate::for_this_machine(),
            triage: Triage::new(config),
            refusal_lines: Arc::default(),
            flood_pause: config.flood_pause,
        }
    }

    /// Counts refusal lines and writes their summaries (startup runs its ticker and has it
    /// summarise at shutdown).
    pub fn refusal_lines(&self) -> Arc<RefusalLines> {
        Arc::clone(&self.refusal_lines)
    }

    /// The header that carries the certificate, as configured.
    pub fn header_name(&self) -> &str {
        &self.header_name
    }

    /// Decides on every occurrence of the header (`header_values`; empty = missing) at `now`,
    /// in the calling thread (the filter uses [`Self::lookup`] and the gate instead).
    ///
    /// # Errors
    /// [`Denied`] with the reason; its `code()` and `public_message()` are safe to return.
    pub fn authorize(&self, header_values: &[&[u8]], now: UnixTime) -> Result<Authorized, Denied> {
        match self.lookup(header_values, now) {
            Lookup::Decided(decision) => decision,
            Lookup::Cold(request) => self.decide_cold(request),
        }
    }

    /// The cheap part of a decision: decodes the header, consults the cache and, for a
    /// certificate it does not know, triage (which refuses one that no configured CA or
    /// intermediate issued, before any parse). Logs the decision when it makes one.
    pub fn lookup(&self, header_values: &[&[u8]], now: UnixTime) -> Lookup {
        let now = now.as_secs();
        let der = match header::decode(header_values, self.format, self.max_header_bytes) {
            Ok(der) => der,
            Err(denied) => {
                self.log_decision(&Err(denied.clone()), &Described::NOTHING, false);
                return Lookup::Decided(Err(denied));
            }
        };
        let key: [u8; 32] = Sha256::digest(&der).into();
        match self.cache.get(&key, now) {
            Some(Cached::Accepted(authorized)) => {
                self.log_decision(
                    &Ok(authorized.clone()),
                    &Described::cert(&authorized.cert),
                    true,
                );
                Lookup::Decided(Ok(authorized))
            }
            Some(Cached::Refused(refusal)) => {
                let decision = Err(refusal.denied);
                let sha256 = hex_upper(&key);
                let described = Described {
                    sha256: &sha256,
                    sha1: refusal.sha1_thumbprint.as_deref().unwrap_or("-"),
                    ..Described::NOTHING
                };
                self.log_decision(&decision, &described, true);
                Lookup::Decided(decision)
            }
            None => match self.triage.judge(&key, &der) {
                Verdict::Queue(lane) => Lookup::Cold(ColdRequest {
                    key,
                    der,
                    now,
                    lane,
                }),
                Verdict::Refuse { denied, sketch } => {
                    self.log_sketched_refusal(&denied, &key, &der, &sketch);
                    Lookup::Decided(Err(denied))
                }
            },
        }
    }

    /// Logs one decision: an accept at info (warn on an unverified name), a refusal at warn
    /// when [`RefusalLines`] lets its code through (the rest are counted and summarised).
    fn log_decision(
        &self,
        decision: &Result<Authorized, Denied>,
        cert: &Described<'_>,
        cached: bool,
    ) {
        if let Err(denied) = decision
            && !self.refusal_lines.admit(denied.code())
        {
            return;
        }
        decision_line::write(decision, cert, cached);
    }

    /// The decision line of a refusal triage made, when [`RefusalLines`] lets it through.
    fn log_sketched_refusal(
        &self,
        denied: &Denied,
        key: &[u8; 32],
        der: &[u8],
        sketch: &Sketch<'_>,
    ) {
        if self.refusal_lines.admit(denied.code()) {
            decision_line::write_sketched(denied, key, der, sketch);
        }
    }

    /// Whether the decision on `der` stops at its first check, the issuer: no configured CA or
    /// intermediate issued it and nothing else could admit it (`triage.rs`). For `handler
    /// check`, which then shows no later step as passed.
    pub fn stops_at_issuer(&self, der: &[u8]) -> bool {
        let key: [u8; 32] = Sha256::digest(der).into();
        matches!(self.triage.judge(&key, der), Verdict::Refuse { .. })
    }

    /// The expensive part: parses and verifies a certificate the cache did not know, logs and
    /// caches the decision.
    pub fn decide_cold(&self, request: ColdRequest) -> Result<Authorized, Denied> {
        let snapshot = self.snapshot();
        self.decide_and_cache(request.key, request.der, request.now, &snapshot)
    }

    /// The cache generation, then the CRLs, a decision is made under. In that order: a reload
    /// between the two makes the decision uncacheable instead of stale.
    pub(super) fn snapshot(&self) -> Snapshot {
        let generation = self.cache.generation();
        Snapshot {
            generation,
            crls: self.current_crls(),
        }
    }

    /// Decides on `der` (SHA-256 `key`) under `snapshot` and caches the decision.
    pub(super) fn decide_and_cache(
        &self,
        key: [u8; 32],
        der: Vec<u8>,
        now: u64,
        snapshot: &Snapshot,
    ) -> Result<Authorized, Denied> {
        let (decision, cert, path_not_after) = match ClientCert::parse(der) {
            Ok(cert) => {
                let cert = Arc::new(cert);
                let (decision, path_not_after) = self.decide(&cert, now, &snapshot.crls);
                (decision, Some(cert), path_not_after)
            }
            Err(denied) => (Err(denied), None, None),
        };
        let sha256 = hex_upper(&key);
        let described = match &cert {
            Some(cert) => Described::cert(cert),
            None => Described {
                sha256: &sha256,
                ..Described::NOTHING
            },
        };
        self.log_decision(&decision, &described, false);
        self.triage.admitted(key, decision.is_ok());
        if !matches!(decision, Err(Denied::Malformed { .. })) {
            let expires_at = self
                .expires_at(cert.as_deref(), now, &snapshot.crls)
                .min(path_not_after.map_or(u64::MAX, |at| at.saturating_add(1)));
            // A refusal keeps the reason and the thumbprints, never the certificate.
            let cached = match &decision {
                Ok(authorized) => Cached::Accepted(authorized.clone()),
                Err(denied) => Cached::Refused(Refusal {
                    denied: super::cache::bounded(denied.clone()),
                    sha1_thumbprint: cert
                        .as_ref()
                        .map(|cert| cert.sha1_thumbprint.as_str().into()),
                }),
            };
            self.cache
                .insert(key, cached, now, expires_at, snapshot.generation);
        }
        decision
    }

    /// Logs the trust posture once at startup; weakening settings at warn level.
    pub fn log_posture(&self) {
        let crls = self.current_crls();
        let trust_mode = match (self.trust.anchor_count(), self.revocation_required) {
            (0, _) => "pins-only",
            (_, false) => "ca",
            (_, true) => "ca+crl",
        };
        tracing::info!(
            trust_mode,
            anchors = self.trust.anchor_count(),
            intermediates = self.trust.intermediate_count(),
            pins = self.policy.pins.len(),
            name_rules = self.policy.names.count(),
            policy_rules = self.policy.rules.len(),
            crls = crls.len(),
            crl_urls = self.crl_url_count,
            crl_reload_seconds = self.crl_reload.as_secs(),
            clock_skew_seconds = self.trust.clock_skew(),
            header = %self.header_name,
            header_format = %self.format,
            max_header_bytes = self.max_header_bytes,
            "client certificate authentication posture"
        );
        super::reload::warn_about(&crls);
        self.trust.warn_outside_validity(UnixTime::now().as_secs());
        self.trust.warn_unusable();
        if self.policy.allow_unverified_names {
            tracing::warn!(
                "CLIENT_CERT_ALLOW_UNVERIFIED_NAMES=true: names are accepted without a verified chain (migration only)"
            );
        }
        if self.policy.is_empty() {
            tracing::warn!(
                "no client certificate allowlist configured: every protected request is refused"
            );
        }
        if self.flood_pause.is_zero() {
            tracing::warn!(
                "CLIENT_CERT_FLOOD_PAUSE_MS=0: refusals are answered at once however fast they come, so a flood's connections can keep the workers from cached callers"
            );
        }
        if self.trust.clock_skew() > 0 {
            tracing::warn!(
                clock_skew_seconds = self.trust.clock_skew(),
                "certificate validity windows are widened by the clock skew"
            );
        }
    }

    /// The CRL set in force (tests outside `client_cert`).
    #[cfg(test)]
    pub(crate) fn crls_in_force(&self) -> Arc<CrlSet> {
        self.current_crls()
    }

    pub(super) fn current_crls(&self) -> Arc<CrlSet> {
        Arc::clone(&self.crls.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The decision, and the earliest notAfter of the verified path's CA certificates.
    fn decide(
        &self,
        cert: &Arc<ClientCert>,
        now: u64,
        crls: &CrlSet,
    ) -> (Result<Authorized, Denied>, Option<u64>) {
        match self.verify_and_match(cert, now, crls) {
            Ok((authorized, path_not_after)) => (Ok(authorized), path_not_after),
            Err(denied) => (Err(denied), None),
        }
    }

    fn verify_and_match(
        &self,
        cert: &Arc<ClientCert>,
        now: u64,
        crls: &CrlSet,
    ) -> Result<(Authorized, Option<u64>), Denied> {
        if cert.is_ca {
            return Err(Denied::WrongUsage {
                reason: "ca certificate presented as a client".to_owned(),
            });
        }
        self.trust.check_validity(cert, now)?;
        if !cert.allows_client_auth() {
            return Err(Denied::WrongUsage {
                reason: "extended key usage lacks clientAuth".to_owned(),
            });
        }
        cert.check_own_content()?;
        let (chain, untrusted) = if self.trust.anchor_count() == 0 {
            (None, None)
        } else {
            match self.trust.verify(cert, now, crls) {
                Ok(_) if self.revocation_required && crls.is_empty() => {
                    return Err(Denied::RevocationUnknown {
                        reason: "no crl has been loaded yet".to_owned(),
                    });
                }
                Ok(chain) => (Some(chain), None),
                Err(denied @ Denied::Untrusted { .. }) => (None, Some(denied)),
                Err(denied) => return Err(denied),
            }
        };
        // Without a path, the issuer's CRLs still have their say (webpki checked them on one).
        let unchained = match chain {
            Some(_) => Status::NotRevoked,
            None => crls.check_unchained(&cert.der, now, self.trust.clock_skew()),
        };
        if unchained == Status::Revoked {
            return Err(Denied::Revoked);
        }
        let matched = self.policy.evaluate(cert, chain.as_ref());
        if let (Some(_), Status::Unknown(reason)) = (&matched, unchained) {
            return Err(Denied::RevocationUnknown { reason });
        }
        match matched {
            Some(matched) => Ok((
                Authorized {
                    cert: Arc::clone(cert),
                    principal: matched.principal,
                    matched_rule: matched.rule,
                    verified_chain: chain.is_some(),
                    unverified_name: matched.unverified_name,
                },
                chain.and_then(|chain| chain.not_after),
            )),
            None => Err(untrusted.unwrap_or_else(|| self.policy.refusal(cert, chain.as_ref()))),
        }
    }

    /// When a decision stops being reusable: 5 minutes at most, never past notAfter (+ skew),
    /// the earliest CRL nextUpdate, or notBefore (- skew) for a not-yet-valid certificate.
    /// An accept is also capped at the verified path's earliest CA notAfter (by the caller).
    fn expires_at(&self, cert: Option<&ClientCert>, now: u64, crls: &CrlSet) -> u64 {
        let skew = self.trust.clock_skew();
        let mut expires_at = now.saturating_add(MAX_ENTRY_SECONDS);
        if let Some(cert) = cert {
            expires_at = expires_at.min(cert.not_after.saturating_add(skew).saturating_add(1));
            let starts = cert.not_before.saturating_sub(skew);
            if now < starts {
                expires_at = expires_at.min(starts);
            }
        }
        if let Some(next_update) = crls.earliest_next_update_after(now) {
            expires_at = expires_at.min(next_update);
        }
        if let Some(usable_at) = crls.next_usable_at(now, skew) {
            expires_at = expires_at.min(usable_at);
        }
        expires_at
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
