//! What to check or change for each refusal code (certificate and front-end posture): the advice `handler check` prints with a
//! refusal, and the README's runbook in short. [`advice_for`] adds what the configuration and
//! the certificate tell (the issuer to trust, or that without a CA only a pin can admit).

use crate::client_cert::{ClientCert, Denied};
use crate::config::Config;
use crate::telemetry::escape;

/// The advice for `denied` under `config`, naming the certificate's issuer or thumbprint where
/// that is what to act on.
pub fn advice_for(denied: &Denied, config: &Config, cert: Option<&ClientCert>) -> String {
    let code = denied.code();
    match (code, cert) {
        ("cert_not_allowed", Some(cert)) if config.inbound.trusted_cas.is_empty() => {
            escape(&format!(
                "no CA is configured, so only a thumbprint pin can admit it: add its thumbprint {} to ALLOWED_CLIENT_CERT_THUMBPRINTS, or set CLIENT_CERT_TRUSTED_CA_PATHS to its issuing CA ({}) and then allow its CN or a SAN",
                cert.sha256_thumbprint, cert.issuer.rfc4514
            ))
            .into_owned()
        }
        ("cert_untrusted", Some(cert)) => escape(&format!(
            "no configured CA vouches for it: add its issuing CA ({}) to CLIENT_CERT_TRUSTED_CA_PATHS (an intermediate to CLIENT_CERT_INTERMEDIATE_CA_PATHS), or pin it with ALLOWED_CLIENT_CERT_THUMBPRINTS",
            cert.issuer.rfc4514
        ))
        .into_owned(),
        _ => advice(code).to_owned(),
    }
}

/// What to check or change for each refusal code (also the README's runbook).
pub fn advice(code: &str) -> &'static str {
    match code {
        "cert_missing" => {
            "no certificate reached the handler: set the app's client certificate mode to Required (or Optional) and call it over HTTPS with a certificate; check CLIENT_CERT_HEADER"
        }
        "cert_malformed" => {
            "the header is not one certificate in CLIENT_CERT_HEADER_FORMAT: check the format setting against what the front end sends, and CLIENT_CERT_MAX_HEADER_BYTES"
        }
        "cert_ambiguous" => {
            "the header was repeated or the subject has several CNs: send one certificate whose subject has one CN"
        }
        "cert_untrusted" => {
            "no configured CA vouches for it: add its issuing CA to CLIENT_CERT_TRUSTED_CA_PATHS (and any intermediate to CLIENT_CERT_INTERMEDIATE_CA_PATHS), or pin it with ALLOWED_CLIENT_CERT_THUMBPRINTS"
        }
        "cert_expired" => {
            "renew the client certificate (or check the clock; CLIENT_CERT_CLOCK_SKEW_SECONDS allows a little skew)"
        }
        "cert_not_yet_valid" => {
            "the certificate's notBefore is in the future: check the issuer's and this host's clocks"
        }
        "cert_wrong_usage" => {
            "issue a certificate with extendedKeyUsage clientAuth that is not a CA certificate"
        }
        "cert_revoked" => {
            "a configured CRL lists it: issue a new certificate, or replace the CRL if the revocation was a mistake"
        }
        "cert_revocation_unknown" => {
            "no current CRL covers its issuer: add the issuer's CRL to CLIENT_CERT_CRL_PATHS and keep it before its nextUpdate (`handler check` warns)"
        }
        "cert_weak_key" => {
            "the key is below the strength rule (RSA 2048 bits; EC P-256, P-384 or P-521; EdDSA): issue a certificate with a stronger key"
        }
        "cert_not_allowed" => {
            "trusted, but no rule admits it: add its CN, a SAN, its thumbprint or a policy rule to the allowlist"
        }
        "posture_unverified" => {
            "the front end's client certificate settings could not be read yet: the log's `front end posture` lines say why (no managed identity, no Reader role on the site yet: a new role assignment can take up to 30 minutes, ARM unavailable); `handler check` reads them once"
        }
        "posture_unsafe" => {
            "the front end lets requests without a client certificate reach a protected function: the `front end posture unsafe` ERROR line names each setting and the `az functionapp update` that fixes it (clientCertEnabled=true, clientCertMode=Required, httpsOnly=true, no exclusion path covering a protected route)"
        }
        _ => "see the README's runbook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_ca_a_certificate_no_rule_admits_is_advised_to_be_pinned() {
        use std::collections::HashMap;

        use crate::client_cert::test_pki::{Ca, Leaf};

        let der = Ca::root("Partner CA").issue(&Leaf::cn("partner-gw.example"));
        let cert = ClientCert::parse(der).expect("parses");
        let denied = Denied::NotAllowed {
            cn: cert.common_name.clone(),
            thumbprint: cert.sha256_thumbprint.clone(),
        };
        let no_ca = Config::load(&HashMap::<&str, &str>::new()).expect("the defaults load");
        let advice = advice_for(&denied, &no_ca, Some(&cert));
        assert!(advice.starts_with("no CA is configured"), "{advice}");
        assert!(advice.contains(&cert.sha256_thumbprint), "{advice}");
        assert!(advice.contains("CN=Partner CA"), "{advice}");
        assert!(!advice.starts_with("trusted"), "{advice}");
        let untrusted = Denied::Untrusted {
            reason: "no configured ca or intermediate issued it".into(),
        };
        assert!(advice_for(&untrusted, &no_ca, Some(&cert)).contains("(CN=Partner CA)"));
    }

    #[test]
    fn every_refusal_code_has_its_own_advice() {
        for code in [
            "cert_missing",
            "cert_malformed",
            "cert_ambiguous",
            "cert_untrusted",
            "cert_expired",
            "cert_not_yet_valid",
            "cert_wrong_usage",
            "cert_revoked",
            "cert_revocation_unknown",
            "cert_weak_key",
            "cert_not_allowed",
            "posture_unverified",
            "posture_unsafe",
        ] {
            assert_ne!(advice(code), advice("unknown"), "{code}");
        }
    }
}
