//! The CRL set: one CRL per series, the newest; files first; partitions and deltas apart.

use super::*;
use crate::client_cert::crl::SignatureRule;
use crate::client_cert::test_pki::{Ca, DAY, crl_spec, issuers};

/// A set of `crls`, each named, read against `cas`.
fn named(cas: &[&Ca], crls: &[(&str, &[u8])]) -> CrlSet {
    let issuers = issuers(cas);
    CrlSet::from_crls(crls.iter().map(|(name, der)| {
        let crl = Crl::read(der, &issuers, SignatureRule::Recorded).expect("test crl reads");
        ((*name).to_owned(), Arc::new(crl))
    }))
}

fn issuer_names(set: &CrlSet) -> Vec<&str> {
    set.entries
        .iter()
        .map(|held| held.crl.issuer_text())
        .collect()
}

#[test]
fn a_joined_set_keeps_files_first_and_the_earliest_next_update() {
    let file_root = Ca::root("File Root");
    let fetched_root = Ca::root("Fetched Root");
    let files = named(&[], &[("f", &file_root.crl(&[], -DAY, 7 * DAY))]);
    let fetched = named(&[], &[("u", &fetched_root.crl(&[], -DAY, DAY))]);

    let joined = files.joined(&fetched);

    assert_eq!(joined.len(), 2, "both parts are in force");
    assert_eq!(
        issuer_names(&joined),
        vec!["CN=File Root", "CN=Fetched Root"],
        "files first"
    );
    assert_eq!(
        joined.earliest_next_update(),
        fetched.earliest_next_update()
    );
    assert!(joined.set_aside().is_empty(), "different issuers");
    assert_eq!(
        files.joined(&CrlSet::default()).len(),
        1,
        "nothing fetched yet"
    );
}

#[test]
fn one_crl_per_issuer_name_is_kept_the_newest_wherever_it_came_from() {
    let root = Ca::root("Test Root CA");
    let other = Ca::root("Other Root CA");
    let stale = root.crl_numbered(5, &[], -3 * DAY, 7 * DAY);
    let fresh = root.crl_numbered(6, &[42], -DAY, 7 * DAY);
    let later_same_number = root.crl_numbered(5, &[42], -DAY, 7 * DAY);
    let others = other.crl(&[], -DAY, 7 * DAY);
    let set = |crls: &[(&str, &[u8])]| named(&[&root, &other], crls);

    // A stale file and a fresher fetched CRL: the fetched one is in force.
    let joined = set(&[("stale.crl", &stale), ("other.crl", &others)])
        .joined(&set(&[("http://ca/fresh.crl", &fresh)]));
    assert_eq!(joined.sources(), vec!["http://ca/fresh.crl", "other.crl"]);
    assert_eq!(
        joined.set_aside(),
        [SetAside {
            issuer: "CN=Test Root CA".to_owned(),
            kept: "http://ca/fresh.crl".to_owned(),
            dropped: "stale.crl".to_owned(),
        }]
    );
    // A lagging mirror listed first among the URLs does not hide the fresher one.
    let mirrors = set(&[("http://mirror/", &stale), ("http://ca/", &fresh)]);
    assert_eq!(mirrors.sources(), vec!["http://ca/"]);
    assert_eq!(mirrors.set_aside()[0].dropped, "http://mirror/");
    // A fresher file beats an older fetched CRL.
    let joined = set(&[("fresh.crl", &fresh)]).joined(&set(&[("http://ca/", &stale)]));
    assert_eq!(joined.sources(), vec!["fresh.crl"]);
    // Equal CRL numbers: the later thisUpdate.
    assert_eq!(
        set(&[("a", &stale), ("b", &later_same_number)]).sources(),
        vec!["b"]
    );
    // Equally new: the first held stays (files before URLs).
    let same = set(&[("file", &fresh)]).joined(&set(&[("http://ca/", &fresh)]));
    assert_eq!(same.sources(), vec!["file"]);
    assert_eq!(same.set_aside()[0].dropped, "http://ca/");
    assert_eq!(same.len(), 1);
}

#[test]
fn crls_that_share_an_issuer_name_and_key_are_set_aside_but_one() {
    let old_root = Ca::root("Test Root CA");
    let new_root = Ca::root("Test Root CA");
    let other = Ca::root("Other Root CA");
    let crl = |ca: &Ca| ca.crl(&[], -DAY, 7 * DAY);
    type Case = (&'static str, Vec<Vec<u8>>, usize, usize);
    let cases: Vec<Case> = vec![
        (
            "one crl per issuer",
            vec![crl(&old_root), crl(&other)],
            2,
            0,
        ),
        (
            "a rollover's old and new root share a name, not a key: two series",
            vec![crl(&old_root), crl(&other), crl(&new_root)],
            3,
            0,
        ),
        (
            "two crls of one name and key keep one",
            vec![crl(&old_root), crl(&new_root), crl(&old_root)],
            2,
            1,
        ),
    ];
    for (reason, ders, held, aside) in cases {
        let crls: Vec<(&str, &[u8])> = ders.iter().map(|der| ("f", der.as_slice())).collect();
        let set = named(&[&old_root, &new_root, &other], &crls);
        assert_eq!(set.len(), held, "{reason}");
        assert_eq!(set.set_aside().len(), aside, "{reason}");
    }
}

#[test]
fn partitions_and_deltas_are_kept_apart_from_each_other_and_from_the_full_crl() {
    let root = Ca::root("Partitioned Root");
    let s1 = root.crl_from(&crl_spec(10).partition("http://pki.example/s1.crl"));
    let s2 = root.crl_from(
        &crl_spec(9)
            .partition("http://pki.example/s2.crl")
            .revoke(0x1234),
    );
    let s2_older = root.crl_from(&crl_spec(8).partition("http://pki.example/s2.crl"));
    let full = root.crl_from(&crl_spec(11));
    let delta = root.crl_from(&crl_spec(12).delta_of(11));

    let set = named(
        &[&root],
        &[
            ("s1", &s1),
            ("s2", &s2),
            ("s2 older", &s2_older),
            ("full", &full),
            ("delta", &delta),
        ],
    );

    assert_eq!(set.sources(), vec!["s1", "s2", "full", "delta"]);
    assert_eq!(
        set.set_aside().len(),
        1,
        "only the older CRL of partition s2"
    );
    assert_eq!(set.set_aside()[0].dropped, "s2 older");
}

#[test]
fn a_base_that_announces_deltas_is_named_until_a_delta_that_applies_to_it_is_held() {
    let root = Ca::root("Delta Root");
    let base = root.crl_from(&crl_spec(10).announcing_deltas("http://pki.example/root+.crl"));
    let applies = root.crl_from(&crl_spec(11).delta_of(10));
    let needs_a_newer_base = root.crl_from(&crl_spec(13).delta_of(12));

    let alone = named(&[&root], &[("base", &base)]);
    let with_delta = named(&[&root], &[("base", &base), ("delta", &applies)]);
    let mismatched = named(&[&root], &[("base", &base), ("delta", &needs_a_newer_base)]);

    assert_eq!(
        alone.missing_deltas(),
        [MissingDelta {
            issuer: "CN=Delta Root".to_owned(),
            source: "base".to_owned(),
            published_at: vec!["http://pki.example/root+.crl".to_owned()],
        }]
    );
    assert!(with_delta.missing_deltas().is_empty());
    assert_eq!(
        mismatched.missing_deltas().len(),
        1,
        "a delta for base 12 does not apply to 10"
    );
}

#[test]
fn a_crl_that_can_refuse_but_never_vouch_is_named() {
    let root = Ca::root("Configured Root");
    let same_name = Ca::root("Configured Root");
    let unconfigured = Ca::root("Unconfigured Issuing CA");
    let no_crl_sign = Ca::root_with_key_usages(
        "No CrlSign Root",
        vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ],
    );
    let set = named(
        &[&root, &no_crl_sign],
        &[
            ("signed by the configured root", &root.crl(&[], -DAY, DAY)),
            (
                "another key of that name",
                &same_name.crl_numbered(2, &[], -DAY, DAY),
            ),
            (
                "an issuer that is not configured",
                &unconfigured.crl(&[], -DAY, DAY),
            ),
            (
                "no cRLSign",
                &no_crl_sign.crl_ignoring_key_usage(&[], -DAY, DAY),
            ),
        ],
    );

    let unvouched: Vec<(String, bool)> = set
        .unvouched()
        .into_iter()
        .map(|unvouched| (unvouched.source, unvouched.reason.contains("cRLSign")))
        .collect();

    assert_eq!(
        unvouched,
        vec![
            ("another key of that name".to_owned(), false),
            ("no cRLSign".to_owned(), true)
        ],
        "the other key's CRL of the configured name is held beside the root's, and vouches for nobody"
    );
}
