//! What startup says about the configured CA certificates, and what a refusal says about
//! them: those outside their validity window (expired or not yet valid) and those that cannot
//! vouch for anyone (`ca_certificate.rs`). Both are left out of verification (`trust.rs`);
//! startup goes on with one warning each, naming the setting and the subject, because a refusal
//! to start would turn a bad certificate in a bundle into an outage at the next restart, while
//! leaving it out already denies it any say.

use super::ca_certificate::{CaFacts, CaValidity};
use super::certificate::rfc3339;
use super::trust::TrustStore;
use super::{ClientCert, Denied};

impl TrustStore {
    /// Every anchor and intermediate outside its validity window at `now` (plus the skew):
    /// (`anchor` or `intermediate`, its window). Startup warns about each.
    pub fn outside_validity(&self, now: u64) -> Vec<(&'static str, CaValidity)> {
        self.facts()
            .filter_map(|(kind, facts)| Some((kind, facts.validity.clone()?)))
            .filter(|(_, window)| !window.contains(now, self.clock_skew))
            .collect()
    }

    /// Every anchor and intermediate that cannot vouch for anyone: (`anchor` or
    /// `intermediate`, its subject, why). Startup warns about each.
    pub fn unusable(&self) -> Vec<(&'static str, String, String)> {
        self.facts()
            .filter_map(|(kind, facts)| {
                let subject = facts
                    .validity
                    .as_ref()
                    .map_or_else(String::new, |window| window.subject.clone());
                Some((kind, subject, facts.unusable.clone()?))
            })
            .collect()
    }

    fn facts(&self) -> impl Iterator<Item = (&'static str, &CaFacts)> {
        let anchors = self.cas.iter().map(|ca| ("anchor", &ca.facts));
        let intermediates = self
            .intermediates
            .iter()
            .map(|intermediate| ("intermediate", &intermediate.facts));
        anchors.chain(intermediates)
    }

    /// Logs a warning for each anchor and intermediate outside its validity window at `now`:
    /// startup goes on (a stale certificate in a bundle must not stop the app), and no path
    /// through it is accepted while it stays outside.
    pub fn warn_outside_validity(&self, now: u64) {
        for (kind, window) in self.outside_validity(now) {
            tracing::warn!(
                setting = setting_of(kind),
                kind,
                subject = %window.subject,
                not_before = %rfc3339(window.not_before),
                not_after = %rfc3339(window.not_after),
                "a configured CA certificate is expired or not yet valid: no certificate is accepted through it; replace it"
            );
        }
    }

    /// Logs a warning for each anchor and intermediate that cannot vouch for anyone (an
    /// unknown critical extension, an empty subject, malformed name constraints): startup goes
    /// on, and no path through it is ever accepted.
    pub fn warn_unusable(&self) {
        for (kind, subject, reason) in self.unusable() {
            tracing::warn!(
                setting = setting_of(kind),
                kind,
                %subject,
                %reason,
                "a configured CA certificate cannot vouch for anyone: no certificate is accepted through it; replace it"
            );
        }
    }

    /// `denied`, or when it says no CA vouches and the leaf's issuer is a configured CA that
    /// cannot vouch for anyone, that CA and why (what the operator needs to read in the log).
    pub(super) fn name_unusable_issuer(&self, cert: &ClientCert, denied: Denied) -> Denied {
        if !matches!(denied, Denied::Untrusted { .. }) {
            return denied;
        }
        let issuer = self.facts().find_map(|(kind, facts)| {
            let subject = &facts.validity.as_ref()?.subject;
            let reason = facts.unusable.as_ref()?;
            (*subject == cert.issuer.rfc4514).then(|| format!("its issuer {subject:?} is a configured {kind} that cannot vouch for anyone: {reason}"))
        });
        match issuer {
            Some(reason) => Denied::Untrusted { reason },
            None => denied,
        }
    }
}

fn setting_of(kind: &str) -> &'static str {
    if kind == "anchor" {
        "CLIENT_CERT_TRUSTED_CA_PATHS"
    } else {
        "CLIENT_CERT_INTERMEDIATE_CA_PATHS"
    }
}
