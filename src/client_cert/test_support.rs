//! What the decision tests share (`authenticator_tests.rs`, `judgement_tests.rs`): the
//! allowlisted name, settings that trust CAs or pin a certificate, CRLs read as startup reads
//! them, and deciding on one certificate at an injected time.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::CertificateDer;

use super::crl::{Crl, CrlIssuers, SignatureRule};
use super::policy::Thumbprint;
use super::revocation::CrlSet;
use super::test_pki::{Ca, at};
use super::trust::TrustedCa;
use super::{Authenticator, Authorized, ClientCert, Denied, Settings};

/// The CN the settings of [`trusting`] allow.
pub const ALLOWED: &str = "client.example";

/// The expected matched rule, or the expected refusal code.
pub type Expect = Result<&'static str, &'static str>;

pub fn ca(der: &[u8]) -> TrustedCa {
    TrustedCa::from_der(&CertificateDer::from(der.to_vec())).expect("test ca is an anchor")
}

/// Trusts `anchors` (which may sign CRLs, as startup has it); no allowlist.
pub fn anchors(anchors: &[&Ca]) -> Settings {
    Settings {
        trusted_cas: anchors.iter().map(|anchor| ca(&anchor.der)).collect(),
        crl_issuers: anchors
            .iter()
            .map(|anchor| CertificateDer::from(anchor.der.clone()))
            .collect(),
        ..Settings::default()
    }
}

/// Trusts `root`; allows `CN=client.example`.
pub fn trusting(root: &Ca) -> Settings {
    Settings {
        common_names: vec![ALLOWED.to_owned()],
        ..anchors(&[root])
    }
}

/// `config` with `intermediates` configured (they may sign CRLs too).
pub fn with_intermediates(mut config: Settings, intermediates: &[&Ca]) -> Settings {
    for intermediate in intermediates {
        let der = CertificateDer::from(intermediate.der.clone());
        config.intermediates.push(der.clone());
        config.crl_issuers.push(der);
    }
    config
}

/// The SHA-256 pin of `der`.
pub fn pin(der: &[u8]) -> Thumbprint {
    ClientCert::parse(der.to_vec())
        .expect("test cert parses")
        .sha256_thumbprint
        .parse()
        .expect("valid thumbprint")
}

/// Pins `der` (SHA-256) and trusts no CA.
pub fn pinning(der: &[u8]) -> Settings {
    Settings {
        thumbprints: vec![pin(der)],
        ..Settings::default()
    }
}

/// `ders` read as CRL files are, against `config`'s CAs.
pub fn crls(config: &Settings, ders: &[&[u8]]) -> Arc<CrlSet> {
    let issuers = CrlIssuers::new(&config.crl_issuers);
    Arc::new(CrlSet::from_crls(ders.iter().enumerate().map(
        |(index, der)| {
            let crl = Crl::read(der, &issuers, SignatureRule::Recorded).expect("test crl reads");
            (format!("crl {}", index + 1), Arc::new(crl))
        },
    )))
}

/// `config` with `ders` as its CRLs.
pub fn with_crls(config: Settings, ders: &[&[u8]]) -> Settings {
    Settings {
        crls: crls(&config, ders),
        ..config
    }
}

/// Decides on `der` at `BASE + offset` with a new authenticator.
pub fn decide(config: &Settings, der: &[u8], offset: i64) -> Result<Authorized, Denied> {
    let header = STANDARD.encode(der);
    Authenticator::new(config).authorize(&[header.as_bytes()], at(offset))
}

/// Decides and compares the matched rule or refusal code with `expect`.
pub fn check(reason: &str, config: &Settings, der: &[u8], offset: i64, expect: Expect) {
    let outcome = decide(config, der, offset);
    let got = outcome
        .as_ref()
        .map(|authorized| authorized.matched_rule.as_str())
        .map_err(Denied::code);
    assert_eq!(got, expect, "{reason}: {outcome:?}");
}

/// `authenticator`'s decision on `der` at `BASE + offset`: the matched rule or refusal code.
pub fn code(
    authenticator: &Authenticator,
    der: &[u8],
    offset: i64,
) -> Result<String, &'static str> {
    let header = STANDARD.encode(der);
    authenticator
        .authorize(&[header.as_bytes()], at(offset))
        .map(|authorized| authorized.matched_rule)
        .map_err(|denied| denied.code())
}
