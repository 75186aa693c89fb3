//! The decision `serve` would make on one certificate, as a trace of its steps.
//!
//! The answer comes from [`Authenticator::authorize`] on an authenticator built from the loaded
//! configuration, the call `serve`'s filter makes, and its status from [`ApiError::status`],
//! the mapping `serve` answers with. The steps around it only *describe*: decoding and parsing
//! are shown with the same functions the decision uses (`header::decode`, `ClientCert::parse`),
//! and the step that refused is named from the refusal's variant, in the order the
//! authenticator checks (decoding, the issuer, parsing, usage and validity, chain and
//! revocation, allowlist). A certificate that no configured CA or intermediate issued, and no
//! pin names, is refused at the issuer, before it is parsed; the fields are still shown.

use rustls_pki_types::UnixTime;
use serde::Serialize;

use crate::client_cert::header;
use crate::client_cert::{Authenticator, ClientCert, Denied};
use crate::config::Config;
use crate::error::ApiError;
use crate::telemetry::escape;

/// The trace `handler check --cert/--header` prints (`--json`: this object).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// The HTTP status `serve` would answer.
    pub status: u16,
    /// The refusal code; `None` (JSON `null`) when admitted.
    pub code: Option<&'static str>,
    pub matched_rule: Option<String>,
    pub steps: Vec<Step>,
    /// For a refusal: what to change.
    pub advice: Option<String>,
}

/// One step of the decision.
#[derive(Debug, Serialize)]
pub struct Step {
    pub step: &'static str,
    /// `passed`, `failed` or `not reached`.
    pub outcome: &'static str,
    pub detail: String,
}

/// The decision `authenticator` (built from `config` as `serve` builds it) makes on
/// `header_values` (as the front end sends them) at `now`.
pub fn explain(
    config: &Config,
    authenticator: &Authenticator,
    header_values: &[&[u8]],
    now: UnixTime,
) -> Trace {
    let decision = authenticator.authorize(header_values, now);
    let mut steps = Vec::new();
    let decoded = header::decode(
        header_values,
        config.inbound.header_format,
        config.inbound.max_header_bytes,
    );
    let parsed = match &decoded {
        Ok(der) => {
            steps.push(passed("decoding", format!("{} bytes of DER", der.len())));
            let parsed = ClientCert::parse(der.clone());
            match &parsed {
                Ok(cert) => steps.push(passed("parsing", fields(cert))),
                Err(denied) => steps.push(failed("parsing", denied)),
            }
            parsed.ok()
        }
        Err(denied) => {
            steps.push(failed("decoding", denied));
            None
        }
    };
    match decision {
        Ok(authorized) => {
            let chain = if authorized.verified_chain {
                "a configured CA vouches for it"
            } else {
                "no verified chain (not needed by the rule that matched)"
            };
            let revocation =
                if config.inbound.crl_paths.is_empty() && config.inbound.crl_urls.is_empty() {
                    "no CRL configured"
                } else {
                    "not listed by the configured CRLs"
                };
            steps.push(passed(
                "usage and validity",
                "valid now, usable for clientAuth".into(),
            ));
            steps.push(passed("chain", chain.to_owned()));
            let crls = crls_detail(config, &authorized.cert);
            steps.push(passed("revocation", format!("{revocation}{crls}")));
            steps.push(passed(
                "allowlist",
                format!("rule {}", authorized.matched_rule),
            ));
            Trace {
                status: 200,
                code: None,
                matched_rule: Some(authorized.matched_rule),
                steps,
                advice: None,
            }
        }
        Err(denied) => {
            let stopped_at_issuer = decoded
                .as_ref()
                .is_ok_and(|der| authenticator.stops_at_issuer(der));
            match &parsed {
                Some(cert) if stopped_at_issuer => {
                    issuer_steps(&mut steps, &denied, cert, &issuer_detail(config, cert));
                }
                Some(cert) => refused_steps(&mut steps, &denied, config, cert),
                None => {}
            }
            let status = ApiError::Denied(denied.clone()).status().as_u16();
            Trace {
                status,
                code: Some(denied.code()),
                matched_rule: None,
                steps,
                advice: Some(super::runbook::advice_for(&denied, config, parsed.as_ref())),
            }
        }
    }
}

fn refused_steps(steps: &mut Vec<Step>, denied: &Denied, config: &Config, cert: &ClientCert) {
    const LATER: [&str; 4] = ["usage and validity", "chain", "revocation", "allowlist"];
    let failing = match denied {
        Denied::WrongUsage { .. } | Denied::Expired { .. } | Denied::NotYetValid { .. } => 0,
        Denied::Untrusted { .. } => 1,
        Denied::Revoked | Denied::RevocationUnknown { .. } => 2,
        Denied::NotAllowed { .. } | Denied::CnOutsideNameConstraints { .. } => 3,
        // Missing, malformed, ambiguous and a weak key were shown by decoding or parsing.
        Denied::Missing
        | Denied::Malformed { .. }
        | Denied::Ambiguous { .. }
        | Denied::WeakKey { .. } => return,
    };
    for (index, step) in LATER.into_iter().enumerate() {
        steps.push(match index.cmp(&failing) {
            std::cmp::Ordering::Less if step == "revocation" => {
                let detail = format!(
                    "{}{}",
                    passed_detail(step, config),
                    crls_detail(config, cert)
                );
                passed(step, detail)
            }
            std::cmp::Ordering::Less => passed(step, passed_detail(step, config).to_owned()),
            std::cmp::Ordering::Equal if step == "allowlist" => {
                let mut step = failed(step, denied);
                step.detail.push_str(&nearest_miss(config, cert));
                step
            }
            std::cmp::Ordering::Equal if step == "chain" => {
                let mut step = failed(step, denied);
                step.detail.push_str(&issuer_detail(config, cert));
                step
            }
            std::cmp::Ordering::Equal if step == "revocation" => {
                let mut step = failed(step, denied);
                step.detail.push_str(&crls_detail(config, cert));
                step
            }
            std::cmp::Ordering::Equal => failed(step, denied),
            std::cmp::Ordering::Greater => Step {
                step,
                outcome: "not reached",
                detail: String::new(),
            },
        });
    }
}

/// A refusal at the first check: no configured CA or intermediate issued the certificate, it
/// is not pinned, so nothing after that was looked at (the fields above are shown for the
/// operator; the decision did not parse them).
fn issuer_steps(steps: &mut Vec<Step>, denied: &Denied, cert: &ClientCert, detail: &str) {
    let mut step = failed("issuer", denied);
    step.detail.push_str(detail);
    step.detail.push_str(&escape(&format!(
        " (issuer {}; no pin names the certificate, so nothing else is checked)",
        cert.issuer.rfc4514
    )));
    steps.push(step);
    for step in ["usage and validity", "chain", "revocation", "allowlist"] {
        steps.push(Step {
            step,
            outcome: "not reached",
            detail: String::new(),
        });
    }
}

/// The configured name rule closest to one of the certificate's names (edit distance), and
/// how many pins there are: what an operator compares when a certificate is not allowlisted.
fn nearest_miss(config: &Config, cert: &ClientCert) -> String {
    use crate::config::spelling::distance;
    let inbound = &config.inbound;
    let cn: Vec<String> = cert.common_name.iter().cloned().collect();
    let pairs = [
        ("common name", &inbound.common_names, &cn),
        ("dns name", &inbound.dns_names, &cert.dns_names),
        ("uri", &inbound.uris, &cert.uris),
        ("email", &inbound.emails, &cert.emails),
    ];
    let nearest = pairs
        .iter()
        .flat_map(|(kind, rules, names)| {
            rules.iter().flat_map(move |rule| {
                // Names are bounded by the header cap; the comparison is for display only.
                names
                    .iter()
                    .filter(|name| name.len() <= 256)
                    .map(move |name| {
                        let rule_lower = rule.to_lowercase();
                        (
                            distance(&rule_lower, &name.to_lowercase()),
                            *kind,
                            rule,
                            name,
                        )
                    })
            })
        })
        .min_by_key(|(distance, ..)| *distance);
    let mut text = match nearest {
        Some((_, kind, rule, name)) => {
            format!(
                "; nearest rule: {kind} {} (the certificate has {})",
                escape(rule),
                escape(name)
            )
        }
        None => "; no name rule of a kind the certificate carries".to_owned(),
    };
    text.push_str(&format!(
        "; {} pin(s), {} policy rule(s)",
        inbound.thumbprints.len(),
        inbound.policy_rules.len()
    ));
    text
}

/// The issuer the chain was to be built to, and how many CAs and intermediates are configured.
fn issuer_detail(config: &Config, cert: &ClientCert) -> String {
    escape(&format!(
        "; its issuer: {}; configured: {} CA(s), {} intermediate(s)",
        cert.issuer.rfc4514,
        config.inbound.trusted_cas.len(),
        config.inbound.intermediates.len()
    ))
    .into_owned()
}

/// The configured CRLs of the certificate's issuer, with their dates.
fn crls_detail(config: &Config, cert: &ClientCert) -> String {
    if config.files.crls.is_empty() {
        return String::new();
    }
    let crls = super::posture::crls_of(&config.files, &cert.issuer.rfc4514);
    if crls.is_empty() {
        "; no configured CRL is issued by its issuer".to_owned()
    } else {
        escape(&format!("; CRL of its issuer: {}", crls.join(", "))).into_owned()
    }
}

/// What a step that did not refuse means under this configuration.
fn passed_detail(step: &str, config: &Config) -> &'static str {
    match step {
        "chain" if config.inbound.trusted_cas.is_empty() => {
            "no CA configured (only pins can admit)"
        }
        "chain" => "verified by a configured CA",
        "revocation"
            if config.inbound.crl_paths.is_empty() && config.inbound.crl_urls.is_empty() =>
        {
            "no CRL configured"
        }
        "revocation" => "not listed by the configured CRLs",
        _ => "valid now, usable for clientAuth",
    }
}

fn fields(cert: &ClientCert) -> String {
    let mut sans: Vec<String> = Vec::new();
    sans.extend(cert.dns_names.iter().map(|name| format!("DNS:{name}")));
    sans.extend(cert.uris.iter().map(|uri| format!("URI:{uri}")));
    sans.extend(cert.emails.iter().map(|email| format!("email:{email}")));
    sans.extend(cert.ip_addresses.iter().map(|ip| format!("IP:{ip}")));
    escape(&format!(
        "subject {} issuer {} serial {} notBefore {} notAfter {} sha1 {} sha256 {} sans [{}] clientAuth {}",
        cert.subject.rfc4514,
        cert.issuer.rfc4514,
        cert.serial_hex,
        cert.not_before_rfc3339,
        cert.not_after_rfc3339,
        cert.sha1_thumbprint,
        cert.sha256_thumbprint,
        sans.join(", "),
        if cert.allows_client_auth() { "yes" } else { "no" },
    ))
    .into_owned()
}

fn passed(step: &'static str, detail: String) -> Step {
    Step {
        step,
        outcome: "passed",
        detail,
    }
}

fn failed(step: &'static str, denied: &Denied) -> Step {
    Step {
        step,
        outcome: "failed",
        detail: escape(&denied.to_string()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rustls_pki_types::UnixTime;

    use super::*;
    use crate::client_cert::test_pki::{Ca, Leaf, at};

    #[test]
    fn a_chain_failure_names_the_issuer_it_could_not_reach() {
        let dir = std::env::temp_dir().join(format!("mtls-decision-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ours = Ca::root("Our CA");
        std::fs::write(dir.join("ca.der"), &ours.der).expect("write");
        let ca = dir.join("ca.der").display().to_string();
        let env = HashMap::from([
            ("CLIENT_CERT_TRUSTED_CA_PATHS", ca.as_str()),
            ("ALLOWED_CLIENT_CERT_COMMON_NAMES", "client.example"),
        ]);
        let config = Config::load(&env).expect("loads");
        std::fs::remove_dir_all(&dir).ok();
        let authenticator = Authenticator::new(&config.inbound);
        let foreign = Ca::root("Some Other CA").issue(&Leaf::cn("client.example"));
        let header = header::encode(&foreign, config.inbound.header_format);

        let now: UnixTime = at(0);
        let trace = explain(&config, &authenticator, &[header.as_bytes()], now);

        assert_eq!(trace.code, Some("cert_untrusted"));
        // A stranger's issuer is refused from a lookup, before the chain is built.
        let chain = trace
            .steps
            .iter()
            .find(|step| step.step == "issuer")
            .expect("an issuer step");
        assert_eq!(chain.outcome, "failed");
        assert!(
            chain
                .detail
                .contains("its issuer: CN=Some Other CA; configured: 1 CA(s)"),
            "{}",
            chain.detail
        );
        let advice = trace.advice.unwrap_or_default();
        assert!(advice.contains("(CN=Some Other CA)"), "{advice}");
    }
}
