//! Decision tests for the hostile-input reviews: anchors without cRLSign, CRLs from the future,
//! key strength, critical extensions, name constraints on the CN, anchor validity; and
//! revocation that cannot be skipped: pinned certificates, delta CRLs, partitions, serials that
//! are not DER.
//! Every certificate is generated with rcgen at test time (or rewritten from one); `now` is
//! injected.

use rcgen::KeyUsagePurpose;

use super::crl_files::CrlFiles;
use super::test_crl::{CERTIFICATE_HOLD, REMOVE_FROM_CRL};
use super::test_pki::{Ca, DAY, Leaf, crl_spec, reencode, tlv, unix};
use super::test_support::{
    ALLOWED, Expect, anchors, ca, check, code, decide, pin, pinning, trusting, with_crls,
    with_intermediates,
};
use super::{Authenticator, Denied};
use crate::client_cert::Settings;

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
        let config = with_crls(trusting(root), &[&crl]);
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
        clock_skew_seconds: skew,
        ..with_crls(trusting(&root), crl_list)
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
    let config = with_crls(trusting(&root), &[&root.crl(&[], 60, 7 * DAY)]);
    let authenticator = Authenticator::new(&config);

    let before = code(&authenticator, &leaf, 0);
    let after = code(&authenticator, &leaf, 61);

    assert_eq!(
        before,
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
        common_names: vec![ALLOWED.to_owned()],
        ..anchors(&[&expired, &current])
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
        common_names: cns.iter().map(|cn| (*cn).to_owned()).collect(),
        dns_names: dns.iter().map(|dns| (*dns).to_owned()).collect(),
        ..with_intermediates(anchors(&[root]), intermediates)
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

/// Pins `der`, trusts `roots` (and `intermediates`), with `crls` in force.
fn pinned_under(der: &[u8], roots: &[&Ca], intermediates: &[&Ca], crls: &[&[u8]]) -> Settings {
    let config = Settings {
        thumbprints: vec![pin(der)],
        ..with_intermediates(anchors(roots), intermediates)
    };
    with_crls(config, crls)
}

#[test]
fn a_certificate_a_usable_crl_lists_is_refused_pinned_or_not() {
    let pinned = Leaf::cn("pinned").serial(0x1234);
    let valid_root = Ca::root("Pin Root");
    let expired_root = Ca::root_valid("Pin Root", -365 * DAY, -DAY);
    let parent = Ca::root("Parent Root");
    let unconfigured = parent.intermediate("Unconfigured Issuing CA", 2);
    let under_valid = valid_root.issue(&pinned);
    let under_expired = expired_root.issue(&pinned);
    let under_unconfigured = unconfigured.issue(&pinned);
    let expired_crl = |ca: &Ca| ca.crl(&[], -7 * DAY, -DAY);
    let others = parent.crl(&[], -DAY, 7 * DAY);
    let admitted = Ok("thumbprint:SHA256");
    let cases: Vec<(&str, Settings, &Vec<u8>, Expect)> = vec![
        (
            "the CA certificate is valid (control)",
            pinned_under(
                &under_valid,
                &[&valid_root],
                &[],
                &[&valid_root.crl(&[0x1234], -DAY, 7 * DAY)],
            ),
            &under_valid,
            Err("cert_revoked"),
        ),
        (
            "review: the CA certificate has expired, its current CRL lists the certificate",
            pinned_under(
                &under_expired,
                &[&expired_root],
                &[],
                &[&expired_root.crl(&[0x1234], -DAY, 7 * DAY)],
            ),
            &under_expired,
            Err("cert_revoked"),
        ),
        (
            "review: its issuer is not configured, and that issuer's CRL file lists it",
            pinned_under(
                &under_unconfigured,
                &[&parent],
                &[],
                &[&unconfigured.crl(&[0x1234], -DAY, 7 * DAY), &others],
            ),
            &under_unconfigured,
            Err("cert_revoked"),
        ),
        (
            "the expired CA's current CRL does not list it: the pin decides",
            pinned_under(
                &under_expired,
                &[&expired_root],
                &[],
                &[&expired_root.crl(&[7], -DAY, 7 * DAY)],
            ),
            &under_expired,
            admitted,
        ),
        (
            "the unconfigured issuer's CRL does not list it: the pin decides",
            pinned_under(
                &under_unconfigured,
                &[&parent],
                &[],
                &[&unconfigured.crl(&[7], -DAY, 7 * DAY)],
            ),
            &under_unconfigured,
            admitted,
        ),
        (
            "the expired CA's CRL is past its nextUpdate: unknown, as for a chained certificate",
            pinned_under(
                &under_expired,
                &[&expired_root],
                &[],
                &[&expired_crl(&expired_root)],
            ),
            &under_expired,
            Err("cert_revocation_unknown"),
        ),
        (
            "the unconfigured issuer's CRL is past its nextUpdate",
            pinned_under(
                &under_unconfigured,
                &[&parent],
                &[],
                &[&expired_crl(&unconfigured)],
            ),
            &under_unconfigured,
            Err("cert_revocation_unknown"),
        ),
        (
            "its issuer has no CRL at all: the pin decides, as before",
            pinned_under(&under_unconfigured, &[&parent], &[], &[&others]),
            &under_unconfigured,
            admitted,
        ),
        (
            "its issuer's CRL is signed by another key of the same name",
            pinned_under(
                &under_expired,
                &[&expired_root],
                &[],
                &[&Ca::root("Pin Root").crl(&[], -DAY, 7 * DAY)],
            ),
            &under_expired,
            Err("cert_revocation_unknown"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, der, 0, expect);
    }
}

#[test]
fn delta_crls_are_applied_on_top_of_the_base_they_name() {
    let root = Ca::root("AD CS Root");
    let issue = |serial: u64| root.issue(&Leaf::cn(ALLOWED).serial(serial));
    let (revoked_in_delta, on_hold, never_listed) = (issue(0x1234), issue(0x99), issue(0x55));
    let published = "http://pki.example/CertEnroll/AD%20CS%20Root+.crl";
    let base = root.crl_from(
        &crl_spec(10)
            .announcing_deltas(published)
            .revoke_as(0x99, CERTIFICATE_HOLD),
    );
    let plain_base = root.crl_from(&crl_spec(10).revoke_as(0x99, CERTIFICATE_HOLD));
    let delta = root.crl_from(
        &crl_spec(11)
            .delta_of(10)
            .revoke(0x1234)
            .revoke_as(0x99, REMOVE_FROM_CRL),
    );
    let expired_delta = root.crl_from(&crl_spec(11).delta_of(10).valid(unix(-3 * DAY), unix(-DAY)));
    let for_a_newer_base = root.crl_from(&crl_spec(13).delta_of(12));
    let by_another_key = Ca::root("AD CS Root").crl_from(&crl_spec(11).delta_of(10));
    let with = |crls: &[&[u8]]| with_crls(trusting(&root), crls);
    let cases: Vec<(&str, Settings, &Vec<u8>, Expect)> = vec![
        (
            "review: the delta revokes what the base does not list",
            with(&[&base, &delta]),
            &revoked_in_delta,
            Err("cert_revoked"),
        ),
        (
            "a certificate neither lists",
            with(&[&base, &delta]),
            &never_listed,
            Ok("common_name"),
        ),
        (
            "a hold in the base that the delta takes back (removeFromCRL)",
            with(&[&base, &delta]),
            &on_hold,
            Ok("common_name"),
        ),
        (
            "review: a base that announces deltas, without one, is not enough",
            with(&[&base]),
            &never_listed,
            Err("cert_revocation_unknown"),
        ),
        (
            "a base that announces no delta is enough on its own",
            with(&[&plain_base]),
            &never_listed,
            Ok("common_name"),
        ),
        (
            "a delta that applies counts even when the base does not announce it",
            with(&[&plain_base, &delta]),
            &revoked_in_delta,
            Err("cert_revoked"),
        ),
        (
            "a delta past its nextUpdate",
            with(&[&base, &expired_delta]),
            &never_listed,
            Err("cert_revocation_unknown"),
        ),
        (
            "a delta for a newer base than the one held",
            with(&[&base, &for_a_newer_base]),
            &never_listed,
            Err("cert_revocation_unknown"),
        ),
        (
            "a delta signed by another key of the same name",
            with(&[&base, &by_another_key]),
            &never_listed,
            Err("cert_revocation_unknown"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, der, 0, expect);
    }
    let refused = decide(&with(&[&base]), &never_listed, 0);
    assert!(
        matches!(&refused, Err(Denied::RevocationUnknown { reason })
            if reason.contains(published) && reason.contains("CLIENT_CERT_CRL_URLS")),
        "the reason names where the deltas are and what to set: {refused:?}"
    );
}

#[test]
fn a_partitioned_crl_covers_only_the_certificates_that_name_its_partition() {
    let root = Ca::root("Partitioned CA");
    let (s1, s2, s3) = (
        "http://pki.example/s1.crl",
        "http://pki.example/s2.crl",
        "http://pki.example/s3.crl",
    );
    let issue = |serial: u64, point: Option<&str>| {
        let leaf = Leaf::cn(ALLOWED).serial(serial);
        root.issue(&match point {
            Some(uri) => leaf.crl_point(uri),
            None => leaf,
        })
    };
    let first = root.crl_from(&crl_spec(10).partition(s1));
    let second = root.crl_from(&crl_spec(9).partition(s2).revoke(0x1234));
    let full = root.crl_from(&crl_spec(3));
    let partitions = || with_crls(trusting(&root), &[&first, &second]);
    let cases: Vec<(&str, Settings, Vec<u8>, Expect)> = vec![
        (
            "review: no cRLDistributionPoints, revoked in the other partition",
            partitions(),
            issue(0x1234, None),
            Err("cert_revoked"),
        ),
        (
            "no cRLDistributionPoints: in no partition",
            partitions(),
            issue(0x55, None),
            Err("cert_revocation_unknown"),
        ),
        (
            "names partition s1",
            partitions(),
            issue(0x55, Some(s1)),
            Ok("common_name"),
        ),
        (
            "names partition s2, which revokes it",
            partitions(),
            issue(0x1234, Some(s2)),
            Err("cert_revoked"),
        ),
        (
            "names a partition that is not held",
            partitions(),
            issue(0x55, Some(s3)),
            Err("cert_revocation_unknown"),
        ),
        (
            "no cRLDistributionPoints, with a full crl too",
            with_crls(trusting(&root), &[&first, &second, &full]),
            issue(0x55, None),
            Ok("common_name"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, &der, 0, expect);
    }
}

#[test]
fn a_crl_file_whose_serial_is_not_minimal_der_is_refused_at_startup_naming_it() {
    let root = Ca::root("Test Root CA");
    let dir = crate::outbound::test_pki::TempDir::new();
    let path = dir.file("root.crl");
    let crl = root.crl_from(&crl_spec(1).revoke_raw(&[0x00, 0x12, 0x34], None));
    std::fs::write(&path, crl).expect("write crl");
    let issuers = crate::client_cert::crl::CrlIssuers::new(&trusting(&root).crl_issuers);

    let errors = CrlFiles::load(std::slice::from_ref(&path), &issuers).expect_err("refused");

    let message = errors[0].to_string();
    assert!(
        message.contains("root.crl") && message.contains("serial 001234 is not minimal DER"),
        "{message}"
    );
}
