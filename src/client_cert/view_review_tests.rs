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
        got.is_err(),
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
        got.is_err(),
        "an empty SAN lets a subject emailAddress outside the constraint through: {got:?}"
    );
}
