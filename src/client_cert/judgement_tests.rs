//! Decision tests for the hostile-input review (issue 9): anchors without cRLSign, CRLs from
//! the future, key strength, critical extensions, name constraints on the CN, anchor validity.
//! Every certificate is generated with rcgen at test time (or rewritten from one); `now` is
//! injected.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::KeyUsagePurpose;
use rustls_pki_types::CertificateDer;

use super::revocation::CrlSet;
use super::test_pki::{Ca, DAY, Leaf, at};
use super::trust::TrustedCa;
use super::{Authenticator, Authorized, Denied};
use crate::config::InboundConfig;

const ALLOWED: &str = "client.example";

type Expect = Result<&'static str, &'static str>;

fn ca(der: &[u8]) -> TrustedCa {
    TrustedCa::from_der(&CertificateDer::from(der.to_vec())).expect("test ca is an anchor")
}

fn crls(ders: &[&[u8]]) -> Arc<CrlSet> {
    Arc::new(CrlSet::from_ders(ders).expect("test crls parse"))
}

/// Trusts `root`; allows `CN=client.example`.
fn trusting(root: &Ca) -> InboundConfig {
    InboundConfig {
        trusted_cas: vec![ca(&root.der)],
        common_names: vec![ALLOWED.to_owned()],
        ..InboundConfig::default()
    }
}

fn decide(config: &InboundConfig, der: &[u8], offset: i64) -> Result<Authorized, Denied> {
    let header = STANDARD.encode(der);
    Authenticator::new(config).authorize(&[header.as_bytes()], at(offset))
}

fn check(reason: &str, config: &InboundConfig, der: &[u8], offset: i64, expect: Expect) {
    let outcome = decide(config, der, offset);
    let got = outcome
        .as_ref()
        .map(|a| a.matched_rule.as_str())
        .map_err(|d| d.code());
    assert_eq!(got, expect, "{reason}: {outcome:?}");
}

#[test]
fn a_crl_signed_by_an_anchor_whose_key_usage_lacks_crl_sign_makes_the_status_unknown() {
    let signer = Ca::root("Test Root CA");
    let non_signer = Ca::root_with_key_usages(
        "Test No CRL Sign Root",
        vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ],
    );
    let cases = [
        (
            "an anchor with cRLSign",
            &signer,
            signer.crl(&[], -DAY, 7 * DAY),
            Ok("common_name"),
        ),
        (
            "an anchor whose keyUsage lacks cRLSign",
            &non_signer,
            non_signer.crl_ignoring_key_usage(&[], -DAY, 7 * DAY),
            Err("cert_revocation_unknown"),
        ),
    ];
    for (reason, root, crl, expect) in cases {
        let config = InboundConfig {
            crls: crls(&[&crl]),
            ..trusting(root)
        };
        let leaf = root.issue(&Leaf::cn(ALLOWED));
        check(reason, &config, &leaf, 0, expect);
    }
}

#[test]
fn a_crl_whose_this_update_is_in_the_future_beyond_the_skew_is_unusable() {
    let root = Ca::root("Test Root CA");
    let leaf = root.issue(&Leaf::cn(ALLOWED));
    let other = Ca::root("Other Root CA");
    let with = |crl_list: &[&[u8]], skew: u64| InboundConfig {
        crls: crls(crl_list),
        clock_skew_seconds: skew,
        ..trusting(&root)
    };
    let current = root.crl(&[], -DAY, 7 * DAY);
    let in_an_hour = root.crl(&[], 3_600, 7 * DAY);
    let in_a_minute = root.crl(&[], 60, 7 * DAY);
    let others = other.crl(&[], -DAY, 7 * DAY);
    let cases: Vec<(&str, InboundConfig, Expect)> = vec![
        ("a current crl", with(&[&current], 0), Ok("common_name")),
        (
            "the only crl is issued an hour from now",
            with(&[&in_an_hour], 0),
            Err("cert_revocation_unknown"),
        ),
        (
            "the issuer's crl is from the future, another issuer's is current",
            with(&[&in_an_hour, &others], 0),
            Err("cert_revocation_unknown"),
        ),
        (
            "a minute ahead, with no skew allowed",
            with(&[&in_a_minute, &others], 0),
            Err("cert_revocation_unknown"),
        ),
        (
            "a minute ahead, within a five-minute skew",
            with(&[&in_a_minute], 300),
            Ok("common_name"),
        ),
    ];
    for (reason, config, expect) in cases {
        check(reason, &config, &leaf, 0, expect);
    }
}

#[test]
fn a_decision_made_without_a_future_crl_expires_when_that_crl_becomes_usable() {
    let root = Ca::root("Test Root CA");
    let leaf = root.issue(&Leaf::cn(ALLOWED));
    let config = InboundConfig {
        crls: crls(&[&root.crl(&[], 60, 7 * DAY)]),
        ..trusting(&root)
    };
    let authenticator = Authenticator::new(&config);
    let header = STANDARD.encode(&leaf);

    let before = authenticator.authorize(&[header.as_bytes()], at(0));
    let after = authenticator.authorize(&[header.as_bytes()], at(61));

    assert_eq!(
        before.map(|_| ()).map_err(|denied| denied.code()),
        Err("cert_revocation_unknown"),
        "the crl is not usable yet"
    );
    assert!(after.is_ok(), "the cached refusal ended with it: {after:?}");
}
