//! Review of the webpki view (`webpki_view.rs`) and the checks on the verified path
//! (`verified_path.rs`): certificates that should be refused, each in one test, and what was
//! tried that held. Certificates are made with rcgen at test time.

use base64::Engine as _;
use rcgen::CustomExtension;

use super::*;
use crate::client_cert::Authenticator;
use crate::client_cert::der::encode;
use crate::client_cert::settings::Settings;
use crate::client_cert::test_pki::{Ca, Leaf, at};

/// The decision `serve` makes on `der` (as the header carries it) with `anchors` and
/// `intermediates` configured and `CN=client` allowed: `Ok(())` when admitted, else the
/// refusal's reason.
fn decision(anchors: &[&Ca], intermediates: &[&Ca], der: &[u8]) -> Result<(), String> {
    let settings = Settings {
        trusted_cas: anchors
            .iter()
            .map(|ca| TrustedCa::from_der(&CertificateDer::from(ca.der.clone())).expect("a CA"))
            .collect(),
        intermediates: intermediates
            .iter()
            .map(|ca| CertificateDer::from(ca.der.clone()))
            .collect(),
        common_names: vec!["client".to_owned()],
        ..Settings::default()
    };
    let header = base64::engine::general_purpose::STANDARD.encode(der);
    Authenticator::new(&settings)
        .authorize(&[header.as_bytes()], at(0))
        .map(|_| ())
        .map_err(|denied| denied.to_string())
}

/// The content of a nameConstraints extension (its SEQUENCE) with one rfc822Name base in the
/// excluded list.
fn excluded_email(base: &str) -> Vec<u8> {
    encode(
        0x30,
        &encode(0xa1, &encode(0x30, &encode(0x81, base.as_bytes()))),
    )
}

/// The content of a nameConstraints extension with one dNSName base in the permitted list.
fn permitted_dns(base: &str) -> Vec<u8> {
    encode(
        0x30,
        &encode(0xa0, &encode(0x30, &encode(0x82, base.as_bytes()))),
    )
}

/// FINDING: two anchors that differ only in their email constraints look the same to webpki
/// (their views are equal), and `verify` maps the anchor webpki used back to the FIRST equal
/// one. With the first outside its validity window, webpki verifies through the second, and
/// the path is held to the email constraints (and cRLSign, thumbprints) of the first: here
/// none, so the second's constraints are never applied.
///
/// The configuration is ordinary: a root renewed with its own key and name (the bundle keeps
/// the expired certificate next to the current one), the renewal adding an email constraint.
/// Before the view, the two anchors differed for webpki and the renewed one was used.
#[test]
fn an_expired_anchor_with_the_same_view_lends_its_missing_constraints_to_the_valid_one() {
    let expired = Ca::root_valid("Mail Root", -3650 * DAY, -DAY);
    let renewed = expired.reissued(|params| {
        params.not_before = rcgen::date_time_ymd(2024, 12, 1);
        params.not_after = rcgen::date_time_ymd(2035, 1, 1);
        params.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::Rfc822Name("example.com".into())],
            excluded_subtrees: Vec::new(),
        });
    });
    let mut outside = Leaf::cn("client");
    outside.emails = vec!["ops@contoso.com".to_owned()];
    let mut inside = Leaf::cn("client");
    inside.emails = vec!["ops@example.com".to_owned()];

    // Controls: the renewed anchor alone admits its domain and refuses another.
    let renewed_only = store(&[&renewed], &[]);
    assert_eq!(outcome(&renewed_only, renewed.issue(&inside)), Ok(()));
    assert!(
        outcome(&renewed_only, renewed.issue(&outside)).is_err(),
        "control: the renewed root refuses an address outside its constraint"
    );
    // The expired anchor vouches for nobody on its own.
    assert!(outcome(&store(&[&expired], &[]), expired.issue(&outside)).is_err());

    // Both configured, the expired one first: only the renewed one can vouch, so its
    // constraint must hold.
    assert_eq!(decision(&[&renewed], &[], &renewed.issue(&inside)), Ok(()));
    let got = decision(&[&expired, &renewed], &[], &renewed.issue(&outside));
    assert!(
        got.as_ref().is_err_and(|why| why.contains("email")),
        "an address outside the only valid anchor's email constraint is admitted: {got:?}"
    );
}

/// FINDING: an intermediate with two nameConstraints extensions is refused by webpki
/// (a duplicate extension), but the view re-encodes it without the email-only one, so webpki
/// accepts it; the email constraints are read from the first extension only
/// (`read_name_constraints` takes the first), and the CN's dNSName constraints from none
/// (x509-parser reports the duplicate and `DnsConstraints` reads nothing). So the second
/// extension's email subtrees (here an excluded mailbox) are applied by nobody.
#[test]
fn an_intermediate_with_duplicate_name_constraints_is_not_made_usable_by_the_view() {
    let root = Ca::root("Root");
    let twice = root.intermediate_edited("Twice Constrained CA", 2, |params| {
        params.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::Rfc822Name("example.com".into())],
            excluded_subtrees: Vec::new(),
        });
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[2, 5, 29, 30],
            excluded_email("ceo@example.com"),
        )];
    });
    // Control: webpki refuses an intermediate with duplicate nameConstraints when the view
    // leaves it as it is (no email subtrees).
    let dns_twice = root.intermediate_edited("Twice DNS CA", 3, |params| {
        params.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.com".into())],
            excluded_subtrees: Vec::new(),
        });
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[2, 5, 29, 30],
            permitted_dns("example.com"),
        )];
    });
    let dns_store = store(&[&root], &[&dns_twice]);
    let mut plain = Leaf::cn("api.example.com");
    plain.dns_names = vec!["api.example.com".to_owned()];
    assert!(
        outcome(&dns_store, dns_twice.issue(&plain)).is_err(),
        "control: webpki refuses a duplicate nameConstraints extension"
    );

    let mut ceo = Leaf::cn("client");
    ceo.emails = vec!["ceo@example.com".to_owned()];
    let got = decision(&[&root], &[&twice], &twice.issue(&ceo));
    assert!(
        got.as_ref()
            .is_err_and(|why| why.contains("cannot vouch") && why.contains("2.5.29.30 twice")),
        "an intermediate with two nameConstraints extensions vouches, and the second's excluded mailbox is not applied: {got:?}"
    );
}

/// FINDING: a leaf with an empty subjectAltName extension (RFC 5280 §4.2.1.6: "MUST contain
/// at least one entry") counts as having a SAN, so its subject's emailAddress is not held to
/// the CA's email constraints, which hold it for a leaf with no SAN extension at all.
#[test]
fn an_empty_subject_alt_name_does_not_shield_the_subjects_email_address() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Mail Issuing CA", 2, |params| {
        params.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::Rfc822Name("example.com".into())],
            excluded_subtrees: Vec::new(),
        });
    });
    let email_attribute = rcgen::DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]);
    let subject_only = Leaf::cn("client").attr(email_attribute.clone(), "ops@contoso.com");
    assert!(
        decision(&[&root], &[&issuing], &issuing.issue(&subject_only)).is_err(),
        "control: without a SAN the subject's emailAddress is held to the constraint"
    );
    let inside = Leaf::cn("client").attr(email_attribute.clone(), "ops@example.com");
    assert_eq!(
        decision(&[&root], &[&issuing], &issuing.issue(&inside)),
        Ok(()),
        "control: an address inside is admitted"
    );
    let mut empty_san = Leaf::cn("client").attr(email_attribute, "ops@contoso.com");
    empty_san.custom_extensions = vec![CustomExtension::from_oid_content(
        &[2, 5, 29, 17],
        encode(0x30, &[]),
    )];
    let got = decision(&[&root], &[&issuing], &issuing.issue(&empty_san));
    assert!(
        got.as_ref()
            .is_err_and(|why| why.contains("\"ops@contoso.com\" is outside")),
        "an empty SAN lets a subject emailAddress outside the constraint through: {got:?}"
    );
}

/// FINDING (availability, not admission): the email constraints are checked after webpki
/// has settled on a path, so webpki cannot try another. A cross-certified issuing CA (one key
/// and name, certified by one root with an email constraint and by another root without) has
/// its leaves refused whenever webpki tries the constrained path first, although the other
/// path vouches for them. webpki's `verify_path` callback exists for this: a check that fails
/// there makes webpki go on building.
#[test]
fn a_path_refused_on_email_constraints_does_not_hide_another_that_vouches() {
    let strict = Ca::root("Strict Root");
    let lenient = Ca::root("Lenient Root");
    let issuing = strict.intermediate_edited("Issuing CA", 2, |params| {
        params.custom_extensions = vec![name_constraints(&[subtree(0x81, b"example.com")], &[])];
    });
    let cross = issuing.cross_signed_by(&lenient, |params| params.custom_extensions = Vec::new());
    let mut outside = Leaf::cn("client");
    outside.emails = vec!["ops@contoso.com".to_owned()];
    let leaf = issuing.issue(&outside);
    assert_eq!(
        decision(&[&lenient], &[&cross], &leaf),
        Ok(()),
        "control: the lenient path alone vouches"
    );
    let got = decision(&[&strict, &lenient], &[&issuing, &cross], &leaf);
    assert_eq!(got, Ok(()), "both paths configured, the strict one first");
}

// === What held ===

/// A GeneralSubtree with `base` of form `tag`.
fn subtree(tag: u8, base: &[u8]) -> Vec<u8> {
    encode(0x30, &encode(tag, base))
}

/// A critical nameConstraints extension with these GeneralSubtrees.
fn name_constraints(permitted: &[Vec<u8>], excluded: &[Vec<u8>]) -> CustomExtension {
    let list = |tag: u8, list: &[Vec<u8>]| {
        if list.is_empty() {
            Vec::new()
        } else {
            encode(tag, &list.concat())
        }
    };
    let content = encode(
        0x30,
        &[list(0xa0, permitted), list(0xa1, excluded)].concat(),
    );
    let mut extension = CustomExtension::from_oid_content(&[2, 5, 29, 30], content);
    extension.set_criticality(true);
    extension
}

fn with_sans(dns: &[&str], emails: &[&str]) -> Leaf {
    let mut leaf = Leaf::cn("client");
    leaf.dns_names = dns.iter().map(|name| (*name).to_owned()).collect();
    leaf.emails = emails.iter().map(|email| (*email).to_owned()).collect();
    leaf
}

/// The name forms left in a re-encoded intermediate are still webpki's to enforce: iPAddress,
/// excluded dNSName, URI and directoryName subtrees beside email ones.
#[test]
fn held_the_other_name_forms_of_a_re_encoded_intermediate_are_still_enforced() {
    let root = Ca::root("Root");
    let mixed = root.intermediate_edited("Mixed CA", 2, |params| {
        params.custom_extensions = vec![name_constraints(
            &[
                subtree(0x81, b"example.com"),
                subtree(0x87, &[10, 0, 0, 0, 255, 0, 0, 0]),
            ],
            &[subtree(0x82, b"evil.example.com")],
        )];
    });
    let uri = root.intermediate_edited("Uri CA", 3, |params| {
        params.custom_extensions = vec![name_constraints(
            &[
                subtree(0x81, b"example.com"),
                subtree(0x86, b".example.com"),
            ],
            &[],
        )];
    });
    let directory = root.intermediate_edited("Directory CA", 4, |params| {
        let name = encode(
            0x30,
            &encode(
                0x31,
                &encode(
                    0x30,
                    &[
                        &[0x06, 0x03, 0x55, 0x04, 0x03][..],
                        &encode(0x0c, b"client"),
                    ]
                    .concat(),
                ),
            ),
        );
        params.custom_extensions = vec![name_constraints(
            &[subtree(0x81, b"example.com"), subtree(0xa4, &name)],
            &[],
        )];
    });
    let cas = [&root];
    let intermediates = [&mixed, &uri, &directory];
    let inside_ip = with_sans(&[], &["ops@example.com"]).edited(|params| {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress([10, 1, 2, 3].into()));
    });
    let outside_ip = with_sans(&[], &["ops@example.com"]).edited(|params| {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress([192, 168, 0, 1].into()));
    });
    let mut with_uri = with_sans(&[], &["ops@example.com"]);
    with_uri.uris = vec!["https://a.example.com/".to_owned()];
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("permitted email and IP", mixed.issue(&inside_ip), true),
        ("an IP outside", mixed.issue(&outside_ip), false),
        (
            "an excluded dNSName",
            mixed.issue(&with_sans(&["evil.example.com"], &["ops@example.com"])),
            false,
        ),
        (
            "another dNSName",
            mixed.issue(&with_sans(&["good.example.com"], &["ops@example.com"])),
            true,
        ),
        (
            "a URI under URI subtrees (webpki fails closed)",
            uri.issue(&with_uri),
            false,
        ),
        (
            "control: no URI",
            uri.issue(&with_sans(&[], &["ops@example.com"])),
            true,
        ),
        (
            "any subject under a directoryName subtree (webpki fails closed)",
            directory.issue(&with_sans(&[], &["ops@example.com"])),
            false,
        ),
    ];
    for (reason, der, admitted) in cases {
        let got = decision(&cas, &intermediates, &der);
        if admitted {
            assert_eq!(got, Ok(()), "{reason}");
        } else {
            assert!(
                got.as_ref()
                    .is_err_and(|why| why.contains("name constraints exclude it")),
                "{reason}: {got:?}"
            );
        }
    }
}

/// The wrapped algorithms only map a shown tbsCertificate: the shown intermediate presented
/// as a leaf (its signature does verify over the original) is a CA certificate and refused;
/// a leaf edited after signing is refused on its signature.
#[test]
fn held_the_wrapped_signature_check_does_not_admit_a_shown_certificate_or_an_edited_leaf() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Mail CA", 2, |params| {
        params.custom_extensions = vec![name_constraints(&[subtree(0x81, b"example.com")], &[])];
    });
    let shown = webpki_view::show_intermediate(
        &issuing.der,
        Omit {
            email_constraints: true,
            subject_alt_name: false,
        },
    )
    .expect("re-encoded");
    let as_leaf = ClientCert::parse(shown.der.clone()).expect("the shown DER parses");
    let store = store(&[&root], &[&issuing]);
    let got = store.verify(&as_leaf, BASE, &CrlSet::default());
    assert!(
        matches!(&got, Err(Denied::WrongUsage { .. })),
        "the shown intermediate as a leaf: {got:?}"
    );
    let leaf = issuing.issue(&with_sans(&[], &["ops@example.com"]));
    assert_eq!(outcome(&store, leaf.clone()), Ok(()));
    // The SAN sits inside an OCTET STRING: replace the address in place (same length).
    let at = leaf
        .windows(b"ops@example.com".len())
        .position(|window| window == b"ops@example.com")
        .expect("the address is in the DER");
    let mut edited = leaf.clone();
    edited[at..at + b"ops@example.com".len()].copy_from_slice(b"ops@example.net");
    assert_ne!(edited, leaf);
    let got = outcome(&store, edited);
    assert!(
        got.as_ref().is_err_and(|why| why.contains("signature")),
        "an edited leaf: {got:?}"
    );
}

/// A re-encoded intermediate keeps its serial and key: a CRL revokes it, and the CRL it signs
/// revokes its leaves.
#[test]
fn held_revocation_reaches_a_re_encoded_intermediate_and_its_leaves() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Mail CA", 2, |params| {
        params.custom_extensions = vec![name_constraints(&[subtree(0x81, b"example.com")], &[])];
    });
    let store = store(&[&root], &[&issuing]);
    let leaf =
        || ClientCert::parse(issuing.issue(&with_sans(&[], &["ops@example.com"]))).expect("parses");
    let verify = |root_revokes: &[u64], issuing_revokes: &[u64]| {
        let root_crl = root.crl(root_revokes, -DAY, 7 * DAY);
        let issuing_crl = issuing.crl(issuing_revokes, -DAY, 7 * DAY);
        let issuers = crate::client_cert::test_pki::issuers(&[&root, &issuing]);
        let crls = CrlSet::from_crls([&root_crl, &issuing_crl].into_iter().enumerate().map(
            |(index, der)| {
                let crl = crate::client_cert::crl::Crl::read(
                    der,
                    &issuers,
                    crate::client_cert::crl::SignatureRule::Recorded,
                )
                .expect("test crl reads");
                (format!("crl {index}"), std::sync::Arc::new(crl))
            },
        ));
        store.verify(&leaf(), BASE, &crls).map(|_| ())
    };
    assert_eq!(verify(&[], &[]), Ok(()), "control: nothing revoked");
    assert_eq!(
        verify(&[2], &[]),
        Err(Denied::Revoked),
        "the intermediate revoked"
    );
    assert_eq!(
        verify(&[], &[1000]),
        Err(Denied::Revoked),
        "the leaf revoked"
    );
}

/// basicConstraints survive the re-encoding: a pathLenConstraint of 0 on a re-encoded
/// intermediate still refuses a CA below it.
#[test]
fn held_the_path_length_of_a_re_encoded_intermediate_is_enforced() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Mail CA", 2, |params| {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.custom_extensions = vec![name_constraints(&[subtree(0x81, b"example.com")], &[])];
    });
    let sub = issuing.intermediate("Sub CA", 5);
    let got = decision(
        &[&root],
        &[&issuing, &sub],
        &sub.issue(&with_sans(&[], &["ops@example.com"])),
    );
    assert!(
        got.as_ref().is_err_and(|why| why.contains("pathLen")),
        "a CA below pathLen 0: {got:?}"
    );
    assert_eq!(
        decision(
            &[&root],
            &[&issuing, &sub],
            &issuing.issue(&with_sans(&[], &["ops@example.com"]))
        ),
        Ok(()),
        "control: the leaf directly below"
    );
}

/// The email constraints of a CA reach the email addresses of the intermediates below it
/// (but a self-issued one), and a same-named intermediate with another key does not lend
/// its (absent) constraints: the path is mapped back by DER, not by name.
#[test]
fn held_intermediates_are_held_to_the_email_constraints_above_them_and_not_confused_by_name() {
    let root = Ca::root_edited("Mail Root", |params| {
        params.custom_extensions = vec![name_constraints(&[subtree(0x81, b"example.com")], &[])];
    });
    let named_elsewhere = root.intermediate_edited("Issuing CA", 2, |params| {
        params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            "ca@contoso.com".try_into().expect("ascii"),
        )];
    });
    let rollover = root.intermediate_edited("Mail Root", 3, |params| {
        params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            "ca@contoso.com".try_into().expect("ascii"),
        )];
    });
    let inside = with_sans(&[], &["ops@example.com"]);
    let outside = with_sans(&[], &["ops@contoso.com"]);
    assert!(
        decision(
            &[&root],
            &[&named_elsewhere],
            &named_elsewhere.issue(&inside)
        )
        .is_err_and(|why| why.contains("\"ca@contoso.com\"")),
        "an intermediate whose own address is outside"
    );
    assert_eq!(
        decision(&[&root], &[&rollover], &rollover.issue(&inside)),
        Ok(()),
        "a self-issued intermediate's own address is exempt"
    );
    assert!(
        decision(&[&root], &[&rollover], &rollover.issue(&outside))
            .is_err_and(|why| why.contains("\"ops@contoso.com\"")),
        "the leaf below a self-issued intermediate is not"
    );

    let anchor = Ca::root("Root");
    let constrained = anchor.intermediate_edited("Same Name CA", 4, |params| {
        params.custom_extensions = vec![name_constraints(&[subtree(0x81, b"example.com")], &[])];
    });
    let unconstrained = anchor.intermediate("Same Name CA", 5);
    let both = [&unconstrained, &constrained];
    assert!(
        decision(&[&anchor], &both, &constrained.issue(&outside))
            .is_err_and(|why| why.contains("\"ops@contoso.com\"")),
        "the constrained one's leaf outside"
    );
    assert_eq!(
        decision(&[&anchor], &both, &unconstrained.issue(&outside)),
        Ok(()),
        "the unconstrained one vouches for its own leaves"
    );
}

/// No wrapping, and so no added cost per signature, without email constraints or a
/// self-issued intermediate with a name.
#[test]
fn held_deployments_without_email_constraints_get_webpki_unwrapped() {
    let root = Ca::root_with_dns_constraints("Root", &["example.com"], &[]);
    let issuing = root.intermediate_with_dns_constraints("Issuing CA", 2, &["example.com"], &[]);
    let rollover = root.intermediate("Root", 3);
    let store = store(&[&root], &[&issuing, &rollover]);
    assert!(store.algorithms.is_none(), "{:?}", store.algorithms);
}

/// Every one-octet change to a configured intermediate (self-issued, with a name and email
/// constraints) or anchor with email constraints (startup input a file controls) is read, shown and verified against without a panic.
#[test]
fn held_a_mangled_configured_intermediate_never_panics() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Root", 2, |params| {
        params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
            "ca@example.com".try_into().expect("ascii"),
        )];
        params.custom_extensions = vec![name_constraints(
            &[subtree(0x81, b"example.com"), subtree(0x82, b"example.com")],
            &[subtree(0x81, b".example.net")],
        )];
    });
    let leaf =
        ClientCert::parse(issuing.issue(&with_sans(&["a.example.com"], &["ops@example.com"])))
            .expect("parses");
    let anchor = TrustedCa::from_der(&CertificateDer::from(root.der.clone())).expect("a CA");
    for at in 0..issuing.der.len() {
        for value in [0x00, 0x80, 0xff] {
            let mut mangled = issuing.der.clone();
            mangled[at] = value;
            let store =
                TrustStore::new(vec![anchor.clone()], vec![CertificateDer::from(mangled)], 0);
            let _ = store.verify(&leaf, BASE, &CrlSet::default());
        }
    }
    let constrained_root = Ca::root_edited("Mail Root", |params| {
        params.custom_extensions = vec![name_constraints(
            &[subtree(0x81, b"example.com"), subtree(0x82, b"example.com")],
            &[subtree(0x81, b".example.net")],
        )];
    });
    let leaf = ClientCert::parse(
        constrained_root.issue(&with_sans(&["a.example.com"], &["ops@example.com"])),
    )
    .expect("parses");
    for at in 0..constrained_root.der.len() {
        for value in [0x00, 0x80, 0xff] {
            let mut mangled = constrained_root.der.clone();
            mangled[at] = value;
            let Ok(anchor) = TrustedCa::from_der(&CertificateDer::from(mangled)) else {
                continue;
            };
            let store = TrustStore::new(vec![anchor], Vec::new(), 0);
            let _ = store.verify(&leaf, BASE, &CrlSet::default());
        }
    }
}

/// Addresses a caller writes to slip past an excluded email subtree: each is either inside it
/// or not an address that can be checked, and refused either way; none panics.
#[test]
fn held_hostile_addresses_do_not_step_around_an_excluded_subtree() {
    let root = Ca::root("Root");
    let issuing = root.intermediate_edited("Excluding CA", 2, |params| {
        params.custom_extensions = vec![name_constraints(
            &[],
            &[
                subtree(0x81, b"example.com"),
                subtree(0x81, b".example.com"),
            ],
        )];
    });
    let long_local = format!("{}@example.com", "a".repeat(10_000));
    let hostile: Vec<&[u8]> = vec![
        b"ceo@EXAMPLE.COM",
        b"ceo@Example.Com",
        b"ceo@sub.EXAMPLE.com",
        b"ceo@example.com.",
        b"ceo@example.com\0.evil.org",
        b"ceo@example.com@evil.org",
        b"\"ceo@evil.org\"@example.com",
        b"ceo@[192.0.2.1]",
        b"ceo@.example.com",
        b"ceo@example..com",
        b"ceo @example.com",
        b"ceo@example.com ",
        b"ceo@ex\xc3\xa4mple.com",
        b"@example.com",
        b"ceo@",
        b"",
        long_local.as_bytes(),
    ];
    for address in hostile {
        let mut leaf = Leaf::cn("client");
        leaf.custom_extensions = vec![CustomExtension::from_oid_content(
            &[2, 5, 29, 17],
            encode(0x30, &encode(0x81, address)),
        )];
        let got = decision(&[&root], &[&issuing], &issuing.issue(&leaf));
        assert!(
            got.is_err(),
            "{:?} is admitted below an excluded example.com",
            String::from_utf8_lossy(address)
        );
    }
    let mut other = Leaf::cn("client");
    other.emails = vec!["ceo@example.org".to_owned()];
    assert_eq!(
        decision(&[&root], &[&issuing], &issuing.issue(&other)),
        Ok(()),
        "control: an address elsewhere"
    );
}
