//! Chain verification tests for `TrustStore`: what a verified path reports, configured CA
//! certificates that cannot vouch, email name constraints and self-issued intermediates (what
//! `webpki_view.rs` shows webpki). Certificates are made with rcgen at test time.

use rcgen::{CertificateParams, CustomExtension, GeneralSubtree, NameConstraints, SanType};

use super::*;
use crate::client_cert::der::encode;
use crate::client_cert::test_pki::{BASE, Ca, DAY, Leaf};

fn store(anchors: &[&Ca], intermediates: &[&Ca]) -> TrustStore {
    let anchors = anchors
        .iter()
        .map(|ca| TrustedCa::from_der(&CertificateDer::from(ca.der.clone())).expect("a CA"))
        .collect();
    let intermediates = intermediates
        .iter()
        .map(|ca| CertificateDer::from(ca.der.clone()))
        .collect();
    TrustStore::new(anchors, intermediates, 0)
}

fn verify(store: &TrustStore, der: Vec<u8>) -> Result<VerifiedChain, Denied> {
    let cert = ClientCert::parse(der).expect("test leaf parses");
    store.verify(&cert, BASE, &CrlSet::default())
}

/// `Ok(())` when verified, else the refusal's reason.
fn outcome(store: &TrustStore, der: Vec<u8>) -> Result<(), String> {
    verify(store, der)
        .map(|_| ())
        .map_err(|denied| denied.to_string())
}

fn leaf_with(dns: &[&str], emails: &[&str]) -> Leaf {
    let mut leaf = Leaf::cn("client");
    leaf.dns_names = dns.iter().map(|name| (*name).to_owned()).collect();
    leaf.emails = emails.iter().map(|email| (*email).to_owned()).collect();
    leaf
}

fn critical(oid: &[u64], content: Vec<u8>) -> CustomExtension {
    let mut extension = CustomExtension::from_oid_content(oid, content);
    extension.set_criticality(true);
    extension
}

fn constraints(permitted: Vec<GeneralSubtree>, excluded: Vec<GeneralSubtree>) -> NameConstraints {
    NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: excluded,
    }
}

fn email(base: &str) -> GeneralSubtree {
    GeneralSubtree::Rfc822Name(base.to_owned())
}

fn dns(base: &str) -> GeneralSubtree {
    GeneralSubtree::DnsName(base.to_owned())
}

#[test]
fn a_verified_path_reports_the_earliest_not_after_of_its_ca_certificates() {
    let root = Ca::root_until("Expiring Root", 50 * DAY);
    let short_lived = root.intermediate_until("Short-lived Issuing CA", 2, 100);
    let long_lived = root.intermediate("Long-lived Issuing CA", 3);
    let anchor =
        TrustedCa::from_der(&CertificateDer::from(root.der.clone())).expect("root is a CA");
    let store = TrustStore::new(
        vec![anchor],
        vec![
            CertificateDer::from(short_lived.der.clone()),
            CertificateDer::from(long_lived.der.clone()),
        ],
        0,
    );
    let cases = [
        ("issued by the root", root.issue(&Leaf::cn("a")), 50 * DAY),
        (
            "issued by an intermediate that expires first",
            short_lived.issue(&Leaf::cn("b")),
            100,
        ),
        (
            "issued by an intermediate that outlives the root",
            long_lived.issue(&Leaf::cn("c")),
            50 * DAY,
        ),
    ];
    for (reason, der, expected) in cases {
        let cert = ClientCert::parse(der).expect("test cert parses");
        let chain = store.verify(&cert, BASE, &CrlSet::default());
        assert_eq!(
            chain.map(|chain| chain.not_after),
            Ok(Some(BASE.saturating_add_signed(expected))),
            "{reason}"
        );
    }
}
#[test]
fn configured_cas_that_cannot_vouch_are_left_out_and_named_in_the_refusal() {
    type Edit = fn(&mut CertificateParams);
    let anchors: [(&str, Edit, &str); 7] = [
        (
            "an anchor with an unknown critical extension",
            |params| {
                params.custom_extensions =
                    vec![critical(&[1, 3, 6, 1, 4, 1, 55_555, 1], vec![0x05, 0x00])]
            },
            "critical extension that is not understood (1.3.6.1.4.1.55555.1)",
        ),
        (
            "an anchor with a critical authorityKeyIdentifier",
            |params| {
                params.custom_extensions = vec![critical(
                    &[2, 5, 29, 35],
                    encode(0x30, &encode(0x80, &[7; 20])),
                )];
            },
            "(2.5.29.35)",
        ),
        (
            "an anchor with a critical subjectKeyIdentifier",
            |params| {
                params.custom_extensions = vec![critical(&[2, 5, 29, 14], encode(0x04, &[7; 20]))]
            },
            "(2.5.29.14)",
        ),
        (
            "an anchor whose dNSName constraint has a leading period",
            |params| {
                params.name_constraints = Some(constraints(vec![dns(".example.com")], Vec::new()))
            },
            "dNSName \".example.com\" is not a DNS name",
        ),
        (
            "an anchor whose rfc822Name constraint is no mailbox",
            |params| {
                params.name_constraints =
                    Some(constraints(vec![email("a@b@example.com")], Vec::new()))
            },
            "rfc822Name \"a@b@example.com\" is not a mailbox",
        ),
        (
            "an anchor whose extendedKeyUsage lacks clientAuth",
            |params| params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth],
            "extendedKeyUsage lacks clientAuth",
        ),
        (
            "an anchor whose name constraints have neither list",
            |params| params.custom_extensions = vec![critical(&[2, 5, 29, 30], encode(0x30, &[]))],
            "neither permitted nor excluded",
        ),
    ];
    let good = Ca::root("Good Root");
    for (reason, edit, words) in anchors {
        let bad = Ca::root_edited("Bad Root", edit);
        let both = store(&[&bad, &good], &[]);
        let refused = outcome(&both, bad.issue(&leaf_with(&["a.example.com"], &[])));
        assert!(
            refused.as_ref().is_err_and(|why| why
                .contains("\"CN=Bad Root\" is a configured anchor that cannot vouch")
                && why.contains(words)),
            "{reason}: {refused:?}"
        );
        assert_eq!(
            outcome(&both, good.issue(&Leaf::cn("b"))),
            Ok(()),
            "{reason}: the other anchor still vouches"
        );
        assert_eq!(
            both.unusable().len(),
            1,
            "{reason}: named for the startup warning"
        );
        assert!(both.unusable()[0].2.contains(words), "{reason}");
    }
    let root = Ca::root("Root");
    let empty_lists = root.intermediate_edited("Empty Lists CA", 2, |params| {
        let lists = [encode(0xa0, &[]), encode(0xa1, &[])].concat();
        params.custom_extensions = vec![critical(&[2, 5, 29, 30], encode(0x30, &lists))];
    });
    let refused = outcome(
        &store(&[&root], &[&empty_lists]),
        empty_lists.issue(&Leaf::cn("c")),
    );
    assert!(
        refused.as_ref().is_err_and(|why| why
            .contains("configured intermediate that cannot vouch")
            && why.contains("an empty list of permitted subtrees")),
        "an intermediate with empty subtree lists: {refused:?}"
    );
}

#[test]
fn an_anchor_with_an_empty_subject_cannot_vouch() {
    let nameless = Ca::root_edited("unused", |params| {
        params.distinguished_name = rcgen::DistinguishedName::new();
    });
    let store = store(&[&nameless], &[]);
    let refused = outcome(&store, nameless.issue(&Leaf::cn("a")));
    assert!(
        refused
            .as_ref()
            .is_err_and(|why| why.contains("its subject is empty")),
        "{refused:?}"
    );
}

#[test]
fn email_name_constraints_admit_the_addresses_inside_and_refuse_the_rest() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Mail Issuing CA", 2, |params| {
        params.name_constraints = Some(constraints(
            vec![
                email("example.com"),
                email(".example.com"),
                dns("example.com"),
            ],
            vec![email("ceo@example.com")],
        ));
    });
    let constrained_root = Ca::root_edited("Mail Root", |params| {
        params.name_constraints = Some(constraints(vec![email("ops@example.org")], Vec::new()));
    });
    let store = store(&[&root, &constrained_root], &[&issuing]);
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "an address at the permitted host",
            issuing.issue(&leaf_with(&[], &["ops@example.com"])),
            None,
        ),
        (
            "an address in the permitted domain",
            issuing.issue(&leaf_with(&[], &["ops@eu.example.com"])),
            None,
        ),
        (
            "no address at all (the dNSName is permitted)",
            issuing.issue(&leaf_with(&["api.example.com"], &[])),
            None,
        ),
        (
            "the excluded mailbox",
            issuing.issue(&leaf_with(&[], &["ceo@example.com"])),
            Some("inside the excluded email subtree \"ceo@example.com\""),
        ),
        (
            "an address elsewhere",
            issuing.issue(&leaf_with(&[], &["ops@contoso.com"])),
            Some("outside the permitted email subtrees"),
        ),
        (
            "one address of two elsewhere",
            issuing.issue(&leaf_with(&[], &["ops@example.com", "ops@contoso.com"])),
            Some("\"ops@contoso.com\""),
        ),
        (
            "an address that is no mailbox",
            issuing.issue(&leaf_with(&[], &["a@b@example.com"])),
            Some("is not an email address"),
        ),
        (
            "a dNSName outside the CA's dNSName subtree (webpki still checks those)",
            issuing.issue(&leaf_with(&["api.contoso.com"], &[])),
            Some("name constraints exclude it"),
        ),
        (
            "an anchor's permitted mailbox",
            constrained_root.issue(&leaf_with(&[], &["ops@example.org"])),
            None,
        ),
        (
            "another mailbox under that anchor",
            constrained_root.issue(&leaf_with(&[], &["dev@example.org"])),
            Some("outside the permitted email subtrees"),
        ),
        (
            "a subject emailAddress without a subjectAltName is held to them too",
            issuing.issue(&Leaf::cn("x").attr(
                rcgen::DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
                "ops@contoso.com",
            )),
            Some("\"ops@contoso.com\""),
        ),
    ];
    for (reason, der, refused) in cases {
        let got = outcome(&store, der);
        match refused {
            None => assert_eq!(got, Ok(()), "{reason}"),
            Some(words) => assert!(
                got.as_ref().is_err_and(|why| why.contains(words)),
                "{reason}: {got:?}"
            ),
        }
    }
}

#[test]
fn a_re_encoded_intermediate_still_needs_its_issuers_signature() {
    let root = Ca::root("Root");
    let impostor_root = Ca::root("Root");
    let forged = impostor_root.intermediate_edited("Mail Issuing CA", 2, |params| {
        params.name_constraints = Some(constraints(vec![email("example.com")], Vec::new()));
    });
    let store = store(&[&root], &[&forged]);
    let refused = outcome(&store, forged.issue(&leaf_with(&[], &["ops@example.com"])));
    assert!(
        refused
            .as_ref()
            .is_err_and(|why| why.contains("signature does not verify")),
        "an intermediate signed by a same-named impostor: {refused:?}"
    );
}

#[test]
fn a_self_issued_intermediate_is_exempt_from_the_name_constraints_above_it() {
    let root = Ca::root_with_dns_constraints("Constrained Root", &["example.com"], &[]);
    let with_name = |params: &mut CertificateParams| {
        params.subject_alt_names = vec![SanType::DnsName(
            "not-example.com".try_into().expect("ascii"),
        )];
    };
    let rollover = root.intermediate_edited("Constrained Root", 2, with_name);
    let other = root.intermediate_edited("Issuing CA", 3, with_name);
    let other_unnamed = root.intermediate_edited("Unnamed Issuing CA", 4, |_| {});
    let store = store(&[&root], &[&rollover, &other, &other_unnamed]);
    let inside = || leaf_with(&["api.example.com"], &[]);
    assert_eq!(
        outcome(&store, rollover.issue(&inside())),
        Ok(()),
        "the rollover certificate's own name is not held to the root's constraints"
    );
    // Each refusal below differs from an admitted case by one name only. (webpki words a
    // refusal by the candidate path it ranks most specific: here a same-named certificate's
    // signature, so the words are not asserted.)
    let outside = outcome(
        &store,
        rollover.issue(&leaf_with(&["api.contoso.com"], &[])),
    );
    assert!(
        outside.is_err(),
        "the leaf below it still is held to them: {outside:?}"
    );
    assert_eq!(
        outcome(&store, other_unnamed.issue(&inside())),
        Ok(()),
        "control: an intermediate of another name without a name outside"
    );
    let not_self_issued = outcome(&store, other.issue(&inside()));
    assert!(
        not_self_issued.is_err(),
        "an intermediate of another name is held to them: {not_self_issued:?}"
    );
}

#[path = "view_review_tests.rs"]
mod review;
