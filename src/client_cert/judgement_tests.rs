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
use super::test_pki::{Ca, DAY, Leaf, at, reencode, tlv};
use super::trust::TrustedCa;
use super::{Authenticator, Authorized, ClientCert, Denied};
use crate::client_cert::Settings;

const ALLOWED: &str = "client.example";

type Expect = Result<&'static str, &'static str>;

fn ca(der: &[u8]) -> TrustedCa {
    TrustedCa::from_der(&CertificateDer::from(der.to_vec())).expect("test ca is an anchor")
}

fn crls(ders: &[&[u8]]) -> Arc<CrlSet> {
    Arc::new(CrlSet::from_ders(ders).expect("test crls parse"))
}

/// Trusts `root`; allows `CN=client.example`.
fn trusting(root: &Ca) -> Settings {
    Settings {
        trusted_cas: vec![ca(&root.der)],
        common_names: vec![ALLOWED.to_owned()],
        ..Settings::default()
    }
}

/// Pins `der` (SHA-256) and trusts no CA.
fn pinning(der: &[u8]) -> Settings {
    Settings {
        thumbprints: vec![
            ClientCert::parse(der.to_vec())
                .expect("test cert parses")
                .sha256_thumbprint
                .parse()
                .expect("valid thumbprint"),
        ],
        ..Settings::default()
    }
}

fn decide(config: &Settings, der: &[u8], offset: i64) -> Result<Authorized, Denied> {
    let header = STANDARD.encode(der);
    Authenticator::new(config).authorize(&[header.as_bytes()], at(offset))
}

fn check(reason: &str, config: &Settings, der: &[u8], offset: i64, expect: Expect) {
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
        let config = Settings {
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
    let with = |crl_list: &[&[u8]], skew: u64| Settings {
        crls: crls(crl_list),
        clock_skew_seconds: skew,
        ..trusting(&root)
    };
    let current = root.crl(&[], -DAY, 7 * DAY);
    let in_an_hour = root.crl(&[], 3_600, 7 * DAY);
    let in_a_minute = root.crl(&[], 60, 7 * DAY);
    let others = other.crl(&[], -DAY, 7 * DAY);
    let cases: Vec<(&str, Settings, Expect)> = vec![
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
    let config = Settings {
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

/// A leaf of `der` whose SubjectPublicKeyInfo is replaced by `spki` (its signature no longer
/// verifies, which a pin never checks).
fn with_spki(der: &[u8], spki: &[u8]) -> Vec<u8> {
    reencode(der, &|path, _, _| (path == [0, 6]).then(|| spki.to_vec()))
}

/// An RSA SubjectPublicKeyInfo with a `bits`-bit modulus (not a real key: never used to sign).
fn rsa_spki(bits: usize) -> Vec<u8> {
    let mut modulus = vec![0x00, 0xc0];
    modulus.resize(bits / 8 + 1, 0x5a);
    let key = tlv(
        0x30,
        &[tlv(0x02, &modulus), tlv(0x02, &[0x01, 0x00, 0x01])].concat(),
    );
    let algorithm = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    tlv(
        0x30,
        &[algorithm, tlv(0x03, &[&[0x00][..], &key].concat())].concat(),
    )
}

/// The leaf's EC key moved onto the curve with OID content `curve` (e.g. secp224r1).
fn on_curve(der: &[u8], curve: &[u8]) -> Vec<u8> {
    reencode(der, &|path, _, _| {
        (path == [0, 6, 0, 1]).then(|| tlv(0x06, curve))
    })
}

#[test]
fn weak_leaf_keys_are_refused_with_their_own_code_pinned_or_chained() {
    let root = Ca::root("Test Root CA");
    let leaf = root.issue(&Leaf::cn(ALLOWED));
    let secp224r1 = [0x2b, 0x81, 0x04, 0x00, 0x21];
    let secp384r1 = [0x2b, 0x81, 0x04, 0x00, 0x22];
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "a P-256 leaf (control)",
            leaf.clone(),
            Ok("thumbprint:SHA256"),
        ),
        (
            "RSA 2048 (control)",
            with_spki(&leaf, &rsa_spki(2048)),
            Ok("thumbprint:SHA256"),
        ),
        (
            "P-384",
            on_curve(&leaf, &secp384r1),
            Ok("thumbprint:SHA256"),
        ),
        (
            "RSA 1024",
            with_spki(&leaf, &rsa_spki(1024)),
            Err("cert_weak_key"),
        ),
        (
            "RSA 2040",
            with_spki(&leaf, &rsa_spki(2040)),
            Err("cert_weak_key"),
        ),
        ("P-224", on_curve(&leaf, &secp224r1), Err("cert_weak_key")),
    ];
    for (reason, der, expect) in cases {
        check(
            &format!("pinned, {reason}"),
            &pinning(&der),
            &der,
            0,
            expect,
        );
        let chained = Settings {
            trusted_cas: vec![ca(&root.der)],
            ..pinning(&der)
        };
        if expect.is_err() {
            check(
                &format!("pinned with a ca, {reason}"),
                &chained,
                &der,
                0,
                expect,
            );
        }
    }
    check(
        "chained, a P-256 leaf",
        &trusting(&root),
        &leaf,
        0,
        Ok("common_name"),
    );
}

#[test]
fn a_critical_extension_nobody_processes_is_refused_pinned_as_chained() {
    let root = Ca::root("Test Root CA");
    let private_oid = [1, 3, 6, 1, 4, 1, 55_555, 1];
    let critical = root.issue(&Leaf::cn(ALLOWED).critical_extension(&private_oid));
    let cases: Vec<(&str, Settings, Expect)> = vec![
        ("chained", trusting(&root), Err("cert_untrusted")),
        ("pinned", pinning(&critical), Err("cert_untrusted")),
        (
            "pinned, with a ca that also vouches",
            Settings {
                trusted_cas: vec![ca(&root.der)],
                ..pinning(&critical)
            },
            Err("cert_untrusted"),
        ),
    ];
    for (reason, config, expect) in cases {
        check(reason, &config, &critical, 0, expect);
    }
    let detail = decide(&pinning(&critical), &critical, 0).map(|_| ());
    assert!(
        matches!(&detail, Err(Denied::Untrusted { reason }) if reason.contains("1.3.6.1.4.1.55555.1")),
        "the log names the extension: {detail:?}"
    );
}

#[test]
fn a_trust_anchor_outside_its_validity_window_vouches_for_nobody() {
    let leaf = Leaf::cn(ALLOWED).valid(-DAY, 30 * DAY);
    let cases = [
        (
            "a current root (control)",
            Ca::root_valid("Root", -DAY, 365 * DAY),
            0,
            Ok("common_name"),
        ),
        (
            "an expired root",
            Ca::root_valid("Root", -365 * DAY, -DAY),
            0,
            Err("cert_untrusted"),
        ),
        (
            "a root valid from tomorrow",
            Ca::root_valid("Root", DAY, 365 * DAY),
            0,
            Err("cert_untrusted"),
        ),
        (
            "a root that expired 100 s ago, within a 300 s skew",
            Ca::root_valid("Root", -DAY, -100),
            300,
            Ok("common_name"),
        ),
    ];
    for (reason, root, skew, expect) in cases {
        let config = Settings {
            clock_skew_seconds: skew,
            ..trusting(&root)
        };
        check(reason, &config, &root.issue(&leaf), 0, expect);
    }
}

#[test]
fn a_valid_root_still_vouches_when_an_expired_one_shares_its_name() {
    let expired = Ca::root_valid("Rollover Root", -365 * DAY, -DAY);
    let current = Ca::root("Rollover Root");
    let config = Settings {
        trusted_cas: vec![ca(&expired.der), ca(&current.der)],
        common_names: vec![ALLOWED.to_owned()],
        ..Settings::default()
    };
    check(
        "issued by the current root",
        &config,
        &current.issue(&Leaf::cn(ALLOWED)),
        0,
        Ok("common_name"),
    );
    check(
        "issued by the expired root",
        &config,
        &expired.issue(&Leaf::cn(ALLOWED)),
        0,
        Err("cert_untrusted"),
    );
    let store = super::trust::TrustStore::new(config.trusted_cas.clone(), Vec::new(), 0);
    let outside: Vec<_> = store
        .outside_validity(super::test_pki::BASE)
        .into_iter()
        .map(|(kind, window)| (kind, window.subject))
        .collect();
    assert_eq!(
        outside,
        vec![("anchor", "CN=Rollover Root".to_owned())],
        "startup warns about the expired one only"
    );
}

#[test]
fn a_name_constrained_ca_cannot_vouch_for_a_cn_outside_its_dns_subtrees() {
    let partner = Ca::root_with_dns_constraints("Partner CA", &["partner.example"], &[]);
    let excluding = Ca::root_with_dns_constraints("Excluding CA", &[], &["contoso.com"]);
    let unconstrained = Ca::root("Test Root CA");
    let constrained_issuer = unconstrained.intermediate_with_dns_constraints(
        "Partner Issuing CA",
        2,
        &["partner.example"],
        &[],
    );
    // RFC 5280 has no leading period in a dNSName constraint; a CA with one cannot vouch.
    let dotted_issuer = unconstrained.intermediate_with_dns_constraints(
        "Dotted Issuing CA",
        3,
        &[".partner.example"],
        &[],
    );
    let names = |root: &Ca, intermediates: &[&Ca], cns: &[&str], dns: &[&str]| Settings {
        trusted_cas: vec![ca(&root.der)],
        intermediates: intermediates
            .iter()
            .map(|intermediate| CertificateDer::from(intermediate.der.clone()))
            .collect(),
        common_names: cns.iter().map(|cn| (*cn).to_owned()).collect(),
        dns_names: dns.iter().map(|dns| (*dns).to_owned()).collect(),
        ..Settings::default()
    };
    let with_san = |cn: &str, san: &str| {
        let mut leaf = Leaf::cn(cn);
        leaf.dns_names = vec![san.to_owned()];
        leaf
    };
    let contoso = "api-client.contoso.com";
    let cases: Vec<(&str, Settings, Vec<u8>, Expect)> = vec![
        (
            "the issue's case: a CA limited to partner.example vouches for a contoso CN",
            names(&partner, &[], &[contoso], &[]),
            partner.issue(&Leaf::cn(contoso)),
            Err("cert_not_allowed"),
        ),
        (
            "a CN inside the permitted subtree",
            names(&partner, &[], &["gw.partner.example"], &[]),
            partner.issue(&Leaf::cn("gw.partner.example")),
            Ok("common_name"),
        ),
        (
            "a CN that is not a DNS name is inside no permitted subtree",
            names(&partner, &[], &["Partner Gateway"], &[]),
            partner.issue(&Leaf::cn("Partner Gateway")),
            Err("cert_not_allowed"),
        ),
        (
            "the CN is outside, but an allowlisted DNS SAN inside admits it",
            names(&partner, &[], &[contoso], &["gw.partner.example"]),
            partner.issue(&with_san(contoso, "gw.partner.example")),
            Ok("dns_name"),
        ),
        (
            "a CN inside an excluded subtree",
            names(&excluding, &[], &[contoso], &[]),
            excluding.issue(&Leaf::cn(contoso)),
            Err("cert_not_allowed"),
        ),
        (
            "review: an underscore label does not step around an excluded subtree",
            names(&excluding, &[], &["api_x.contoso.com"], &[]),
            excluding.issue(&Leaf::cn("api_x.contoso.com")),
            Err("cert_not_allowed"),
        ),
        (
            "review: a trailing dot does not step around an excluded subtree",
            names(&excluding, &[], &["api.contoso.com."], &[]),
            excluding.issue(&Leaf::cn("api.contoso.com.")),
            Err("cert_not_allowed"),
        ),
        (
            "a CN outside the excluded subtree",
            names(&excluding, &[], &["svc.fabrikam.example"], &[]),
            excluding.issue(&Leaf::cn("svc.fabrikam.example")),
            Ok("common_name"),
        ),
        (
            "an intermediate's constraints count too",
            names(&unconstrained, &[&constrained_issuer], &[contoso], &[]),
            constrained_issuer.issue(&Leaf::cn(contoso)),
            Err("cert_not_allowed"),
        ),
        (
            "an intermediate's permitted subtree admits a CN inside it",
            names(
                &unconstrained,
                &[&constrained_issuer],
                &["a.partner.example"],
                &[],
            ),
            constrained_issuer.issue(&Leaf::cn("a.partner.example")),
            Ok("common_name"),
        ),
        (
            "an intermediate whose dNSName constraint has a leading dot vouches for nobody",
            names(
                &unconstrained,
                &[&dotted_issuer],
                &["a.partner.example"],
                &[],
            ),
            dotted_issuer.issue(&Leaf::cn("a.partner.example")),
            Err("cert_untrusted"),
        ),
        (
            "an unconstrained CA vouches for any CN (control)",
            names(&unconstrained, &[], &[contoso], &[]),
            unconstrained.issue(&Leaf::cn(contoso)),
            Ok("common_name"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, &der, 0, expect);
    }
    let refused = decide(
        &names(&partner, &[], &[contoso], &[]),
        &partner.issue(&Leaf::cn(contoso)),
        0,
    );
    assert!(
        matches!(&refused, Err(Denied::CnOutsideNameConstraints { cn, reason })
            if cn == contoso && reason.contains("partner.example")),
        "the log says which constraint: {refused:?}"
    );
}
