//! Triage of a certificate the cache does not know, before any signature is checked and
//! without a gate permit: from its SHA-256 and a [`Sketch`] of its DER (no parse).
//!
//! 1. A certificate admitted before ([`Familiar`], by SHA-256) waits in [`Lane::Familiar`].
//! 2. A pinned one (its SHA-256 or SHA-1 is a pin or a policy rule's `thumbprint`) is a
//!    [`Lane::Candidate`].
//! 3. One whose issuer is neither a configured CA nor intermediate is refused at once, as
//!    `cert_untrusted` with the reason webpki's `UnknownIssuer` gives: with CAs configured and
//!    unverified names off, nothing could admit it. This is the first check of every decision
//!    (`authorize` and `handler check` run it too), so its code and reason are the decision's.
//! 4. Otherwise, a certificate with a name that some rule allows (its CN, a DNS, URI or email
//!    SAN, compared as the allowlist compares them; a policy rule whose fields cannot be
//!    compared this way counts as allowing) is a [`Lane::Candidate`]; the rest are
//!    [`Lane::Unlikely`]: the full decision will refuse them, so they are worked only when no
//!    one who could be admitted waits.
//!
//! Only step 3 decides anything, and it decides as webpki would; a wrong lane would only
//! change whose turn comes first. An attacker who knows the CA's name and an allowlisted name
//! makes its forgeries Candidates: they then share that lane with certificates never admitted
//! before, while familiar callers keep theirs.

use sha1::{Digest, Sha1};

use super::gate::Lane;
use super::policy::NameRules;
use super::policy_file::IdentityRule;
use super::sketch::{AltName, Sketch};
use super::{Denied, Settings};

/// How many admitted certificates [`Familiar`] remembers (32-byte keys; about 0.3 MiB).
pub const FAMILIAR_CAPACITY: usize = 4096;

/// What triage says about a cold certificate.
#[derive(Debug)]
pub enum Verdict<'a> {
    /// Refused without the full decision; the sketch is for the decision line.
    Refuse { denied: Denied, sketch: Sketch<'a> },
    /// The full decision is needed: it waits in this lane.
    Queue(Lane),
}

/// The certificates admitted lately, by SHA-256 (bounded, CLOCK-PRO eviction). Survives cache
/// clears and CRL reloads, which make every caller cold at once.
pub struct Familiar(quick_cache::sync::Cache<[u8; 32], ()>);

impl std::fmt::Debug for Familiar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Familiar({} certificates)", self.0.len())
    }
}

/// What triage compares with, built once from the settings.
#[derive(Debug)]
pub struct Triage {
    /// The subject values of every configured anchor and intermediate.
    issuers: Vec<Vec<u8>>,
    refuses_unknown_issuers: bool,
    names_need_chain: bool,
    sha256_pins: Vec<[u8; 32]>,
    sha1_pins: Vec<[u8; 20]>,
    common_names: Vec<EncodedName>,
    names: NameRules,
    rules: Vec<IdentityRule>,
    pub(super) familiar: Familiar,
}

/// An allowlisted CN in each string encoding a certificate may use for it.
#[derive(Debug)]
struct EncodedName {
    utf8: Vec<u8>,
    utf16: Vec<u8>,
    utf32: Vec<u8>,
}

impl Triage {
    pub fn new(settings: &Settings) -> Self {
        let issuers = settings
            .trusted_cas
            .iter()
            .map(|ca| ca.subject().to_vec())
            .chain(
                settings
                    .intermediates
                    .iter()
                    .filter_map(|der| Some(Sketch::read(der.as_ref())?.subject.to_vec())),
            )
            .collect();
        let pins = settings.thumbprints.iter().chain(
            settings
                .policy_rules
                .iter()
                .filter_map(|rule| rule.thumbprint.as_ref()),
        );
        let (mut sha256_pins, mut sha1_pins) = (Vec::new(), Vec::new());
        for pin in pins {
            let bytes = hex_bytes(&pin.to_string());
            if let Ok(sha256) = <[u8; 32]>::try_from(bytes.as_slice()) {
                sha256_pins.push(sha256);
            } else if let Ok(sha1) = <[u8; 20]>::try_from(bytes.as_slice()) {
                sha1_pins.push(sha1);
            }
        }
        Self {
            issuers,
            refuses_unknown_issuers: !settings.trusted_cas.is_empty()
                && !settings.allow_unverified_names,
            names_need_chain: !settings.allow_unverified_names,
            sha256_pins,
            sha1_pins,
            common_names: settings.common_names.iter().map(EncodedName::new).collect(),
            names: NameRules {
                common_names: settings.common_names.clone(),
                dns_names: settings.dns_names.clone(),
                uris: settings.uris.clone(),
                emails: settings.emails.clone(),
            },
            rules: settings.policy_rules.clone(),
            familiar: Familiar(quick_cache::sync::Cache::new(FAMILIAR_CAPACITY)),
        }
    }

    /// The verdict on `der`, whose SHA-256 is `key` (see the module doc).
    pub fn judge<'a>(&self, key: &[u8; 32], der: &'a [u8]) -> Verdict<'a> {
        if self.familiar.0.get(key).is_some() {
            return Verdict::Queue(Lane::Familiar);
        }
        if self.is_pinned(key, der) {
            return Verdict::Queue(Lane::Candidate);
        }
        let Some(sketch) = Sketch::read(der) else {
            return Verdict::Queue(Lane::Unlikely); // the full decision says what is wrong
        };
        let issuer_known = self.issuers.iter().any(|issuer| issuer == sketch.issuer);
        if !issuer_known && self.refuses_unknown_issuers {
            return Verdict::Refuse {
                denied: unknown_issuer(),
                sketch,
            };
        }
        let names_count = issuer_known || !self.names_need_chain;
        if names_count && self.could_be_named(&sketch) {
            Verdict::Queue(Lane::Candidate)
        } else {
            Verdict::Queue(Lane::Unlikely)
        }
    }

    /// Remembers (or forgets) that the certificate `key` was admitted.
    pub fn admitted(&self, key: [u8; 32], admitted: bool) {
        if admitted {
            self.familiar.0.insert(key, ());
        } else {
            self.familiar.0.remove(&key);
        }
    }

    fn is_pinned(&self, key: &[u8; 32], der: &[u8]) -> bool {
        self.sha256_pins.contains(key)
            || (!self.sha1_pins.is_empty() && {
                let sha1: [u8; 20] = Sha1::digest(der).into();
                self.sha1_pins.contains(&sha1)
            })
    }

    /// Whether some name rule or policy rule could match the certificate's names.
    fn could_be_named(&self, sketch: &Sketch<'_>) -> bool {
        let cn = sketch.common_names().any(|cn| {
            self.common_names
                .iter()
                .any(|name| name.is(cn.tag, cn.value))
        });
        if cn {
            return true;
        }
        let alt_names: Vec<AltName<'_>> = if self.names.dns_names.is_empty()
            && self.names.uris.is_empty()
            && self.names.emails.is_empty()
            && self.rules.is_empty()
        {
            Vec::new()
        } else {
            sketch.alt_names().collect()
        };
        let has = |want: &AltName<'_>| alt_names.iter().any(|name| same_name(name, want));
        self.names
            .dns_names
            .iter()
            .any(|dns| has(&AltName::Dns(dns.as_bytes())))
            || self
                .names
                .uris
                .iter()
                .any(|uri| has(&AltName::Uri(uri.as_bytes())))
            || self
                .names
                .emails
                .iter()
                .any(|email| has(&AltName::Email(email.as_bytes())))
            || self.rules.iter().any(|rule| {
                rule.thumbprint.is_none()
                    && rule
                        .dns_name
                        .as_ref()
                        .is_none_or(|dns| has(&AltName::Dns(dns.as_bytes())))
                    && rule
                        .uri
                        .as_ref()
                        .is_none_or(|uri| has(&AltName::Uri(uri.as_bytes())))
                    && rule
                        .email
                        .as_ref()
                        .is_none_or(|email| has(&AltName::Email(email.as_bytes())))
            })
    }
}

/// The refusal of a certificate no configured CA or intermediate issued: the same words the
/// chain verification gives for webpki's `UnknownIssuer`.
fn unknown_issuer() -> Denied {
    Denied::Untrusted {
        reason: super::words::describe(&webpki::Error::UnknownIssuer),
    }
}

/// DNS names compare case-insensitively (as the allowlist does), URIs and emails exactly.
fn same_name(have: &AltName<'_>, want: &AltName<'_>) -> bool {
    match (have, want) {
        (AltName::Dns(have), AltName::Dns(want)) => have.eq_ignore_ascii_case(want),
        (AltName::Uri(have), AltName::Uri(want)) | (AltName::Email(have), AltName::Email(want)) => {
            have == want
        }
        _ => false,
    }
}

impl EncodedName {
    fn new(name: &String) -> Self {
        Self {
            utf8: name.as_bytes().to_vec(),
            utf16: name.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            utf32: name
                .chars()
                .flat_map(|c| u32::from(c).to_be_bytes())
                .collect(),
        }
    }

    /// Whether a CN of string type `tag` with content `value` reads as this name (the types
    /// `directory_string.rs` decodes; TeletexString never does).
    fn is(&self, tag: u8, value: &[u8]) -> bool {
        match tag {
            0x0C | 0x12 | 0x13 | 0x16 => value == self.utf8,
            0x1E => value == self.utf16,
            0x1C => value == self.utf32,
            _ => false,
        }
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
#[path = "triage_tests.rs"]
mod tests;
