//! Reading one CRL: the signature before anything else, then what may and may not be in it.

use super::*;
use crate::client_cert::test_crl::{CrlSpec, REMOVE_FROM_CRL};
use crate::client_cert::test_pki::{Ca, DAY, crl_spec, issuers, reencode};

/// `der` with the last octet of its signature flipped.
fn with_bad_signature(der: &[u8]) -> Vec<u8> {
    let mut der = der.to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    der
}

#[test]
fn a_distribution_points_crl_is_refused_for_its_signature_before_its_entries_are_read() {
    let root = Ca::root("Reading Root");
    let configured = issuers(&[&root]);
    // An entry that would be refused on its own: only reading the entries finds it.
    let bad_entry = crl_spec(1).revoke_raw(&[0x00, 0x12, 0x34], None);
    let unsigned = with_bad_signature(&root.crl_from(&bad_entry));
    let stranger = Ca::root("Stranger Root").crl_from(&bad_entry);

    let refused = Crl::read(&unsigned, &configured, SignatureRule::Required);
    let unknown = Crl::read(&stranger, &configured, SignatureRule::Required);
    let as_a_file = Crl::read(&unsigned, &configured, SignatureRule::Recorded);

    assert!(
        matches!(refused, Err(CrlProblem::BadSignature { ref issuer }) if issuer == "CN=Reading Root"),
        "the signature is checked first: {refused:?}"
    );
    assert!(
        matches!(unknown, Err(CrlProblem::UnknownIssuer { .. })),
        "{unknown:?}"
    );
    assert!(
        matches!(as_a_file, Err(CrlProblem::NonMinimalSerial { .. })),
        "a file's entries are read whoever signed it: {as_a_file:?}"
    );
}

#[test]
fn a_signed_crl_with_a_serial_that_is_not_minimal_der_is_refused() {
    let root = Ca::root("Reading Root");
    let configured = issuers(&[&root]);
    let non_minimal = root.crl_from(&crl_spec(1).revoke(7).revoke_raw(&[0x00, 0x12, 0x34], None));
    let minimal = root.crl_from(&crl_spec(1).revoke(0x1234));

    for rule in [SignatureRule::Required, SignatureRule::Recorded] {
        let error = Crl::read(&non_minimal, &configured, rule)
            .map(|_| ())
            .expect_err("a needless leading zero");
        assert_eq!(
            error,
            CrlProblem::NonMinimalSerial {
                index: 2,
                serial: "001234".to_owned()
            }
        );
        assert!(error.to_string().contains("not minimal DER"), "{error}");
    }
    let read = Crl::read(&minimal, &configured, SignatureRule::Required).expect("minimal reads");
    assert_eq!(read.listing(&[0x12, 0x34]), Listing::Revoked);
}

#[test]
fn what_a_crl_is_and_covers_is_read_from_its_extensions() {
    let root = Ca::root("Reading Root");
    let configured = issuers(&[&root]);
    let base = root.crl_from(
        &crl_spec(10)
            .announcing_deltas("http://pki.example/root+.crl")
            .partition("http://pki.example/s1.crl"),
    );
    let delta = root.crl_from(&crl_spec(11).delta_of(10).revoke_as(5, REMOVE_FROM_CRL));

    let base = Crl::read(&base, &configured, SignatureRule::Required).expect("base reads");
    let delta = Crl::read(&delta, &configured, SignatureRule::Required).expect("delta reads");

    assert_eq!(base.number(), Some(&[10u8][..]));
    assert!(!base.is_delta());
    assert_eq!(
        base.announced_deltas(),
        Some(&["http://pki.example/root+.crl".to_owned()][..])
    );
    assert!(
        base.scope()
            .covers(Role::EndEntity, &[b"http://pki.example/s1.crl"])
    );
    assert!(
        !base.scope().covers(Role::EndEntity, &[]),
        "a certificate without cRLDistributionPoints is in no partition"
    );
    assert!(
        !base
            .scope()
            .covers(Role::EndEntity, &[b"http://pki.example/s2.crl"])
    );
    assert_eq!(delta.delta_base(), Some(&[10u8][..]));
    assert_eq!(delta.listing(&[5]), Listing::Removed);
    assert!(
        delta.scope().covers(Role::Ca, &[]),
        "no issuingDistributionPoint: everything"
    );
    assert!(
        !base.same_series(&delta),
        "a base and its delta are kept apart"
    );
}

#[test]
fn what_cannot_be_used_is_refused_in_words() {
    let root = Ca::root("Reading Root");
    let configured = issuers(&[&root]);
    let v2 = root.crl(&[7], 0, DAY);
    // The TBSCertList's version (`02 01 01`) removed: what `openssl ca -gencrl` writes without
    // a crlnumber file.
    let v1 = reencode(&v2, &|path, tag, content| {
        (path == [0] && tag == 0x30).then(|| {
            let mut tbs = content.to_vec();
            tbs.drain(..3);
            crate::client_cert::test_pki::tlv(0x30, &tbs)
        })
    });
    let garbage: &[u8] = b"<html>503</html>";
    let trailing = [v2.as_slice(), &[0x00]].concat();
    let cases: [(&str, &[u8], &str); 4] = [
        ("a version 1 crl", &v1, "give the CA a crlnumber file"),
        ("not der", garbage, "malformed"),
        ("a byte after the crl", &trailing, "malformed"),
        ("the control", &v2, ""),
    ];
    for (reason, der, fragment) in cases {
        match Crl::read(der, &configured, SignatureRule::Recorded) {
            Ok(_) => assert!(fragment.is_empty(), "{reason}: read"),
            Err(error) => {
                let text = error.to_string();
                assert!(
                    !fragment.is_empty() && text.contains(fragment),
                    "{reason}: {text}"
                );
                assert!(
                    !text.contains(['{', '}']),
                    "{reason}: words, not Debug text: {text}"
                );
            }
        }
    }
}

#[test]
fn extensions_that_change_what_a_crl_means_are_refused_unless_understood() {
    use crate::client_cert::test_pki::tlv;
    let root = Ca::root("Reading Root");
    let configured = issuers(&[&root]);
    let idp = [0x55, 0x1d, 0x1c];
    let private = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb2, 0x03, 0x01];
    let cases: Vec<(&str, CrlSpec, Option<&str>)> = vec![
        (
            "an unknown critical extension",
            crl_spec(1).extension(&private, true, &[0x05, 0x00]),
            Some("not understood (1.3.6.1.4.1.55555.1)"),
        ),
        (
            "an unknown non-critical one, as AD CS adds",
            crl_spec(1).extension(&private, false, &[0x05, 0x00]),
            None,
        ),
        (
            "an indirect crl",
            crl_spec(1).extension(&idp, true, &tlv(0x30, &[0x84, 0x01, 0xff])),
            Some("an indirect crl"),
        ),
        (
            "a crl partitioned by reason",
            crl_spec(1).extension(&idp, true, &tlv(0x30, &[0x83, 0x02, 0x07, 0x80])),
            Some("onlySomeReasons"),
        ),
        (
            "user certificates only",
            crl_spec(1).extension(&idp, true, &tlv(0x30, &[0x81, 0x01, 0xff])),
            None,
        ),
        (
            "the crl number twice",
            crl_spec(1).extension(&[0x55, 0x1d, 0x14], false, &[0x02, 0x01, 0x02]),
            Some("2.5.29.20 twice"),
        ),
    ];
    for (reason, spec, refused) in cases {
        let read = Crl::read(&root.crl_from(&spec), &configured, SignatureRule::Required);
        match (read, refused) {
            (Ok(_), None) => {}
            (Err(error), Some(fragment)) => {
                assert!(error.to_string().contains(fragment), "{reason}: {error}");
            }
            (read, _) => panic!("{reason}: {read:?}"),
        }
    }
}

#[test]
fn a_crl_without_a_usable_crl_number_is_refused_wherever_it_comes_from() {
    let root = Ca::root("Crl Root");
    let configured = issuers(&[&root]);
    let now = crate::client_cert::test_pki::unix(0);
    let good = root.crl_from(&crl_spec(1));
    assert!(
        crate::crl_source::check::check(good, &configured, now, None).is_ok(),
        "control: a numbered crl is fetched"
    );
    for (reason, spec, expected) in [
        (
            "no crl number",
            crl_spec(1).without_number(),
            CrlProblem::NoCrlNumber,
        ),
        (
            "a critical crl number",
            crl_spec(1).with_critical_number(),
            CrlProblem::CriticalCrlNumber,
        ),
    ] {
        let der = root.crl_from(&spec);
        for rule in [SignatureRule::Required, SignatureRule::Recorded] {
            let error = Crl::read(&der, &configured, rule)
                .map(|_| ())
                .expect_err(reason);
            assert_eq!(error, expected, "{reason}, {rule:?}");
        }
        let fetched = crate::crl_source::check::check(der, &configured, now, None).map(|_| ());
        assert!(
            fetched
                .as_ref()
                .is_err_and(|why| why.to_string().contains("crl number")),
            "{reason}, fetched: {fetched:?}"
        );
    }
}

/// Review: an issuer is rendered before the signature is checked, so its text is bounded: a
/// name over 1 KiB is not parsed, and no text is longer than 512 characters (plus `...`).
#[test]
fn an_issuer_is_rendered_within_bounds() {
    use crate::client_cert::test_pki::tlv;
    let attribute = |value: &[u8]| {
        tlv(
            0x30,
            &tlv(
                0x31,
                &tlv(
                    0x30,
                    &[tlv(0x06, &[0x55, 0x04, 0x0a]), tlv(0x04, value)].concat(),
                ),
            ),
        )
    };
    assert_eq!(render(&attribute(b"ab")), "O=#6162");
    let long = render(&attribute(&[0xab; 600]));
    assert!(
        long.starts_with("O=#ABAB") && long.ends_with("..."),
        "{long}"
    );
    assert_eq!(long.chars().count(), MAX_NAME_TEXT_CHARS + 3);
    assert_eq!(
        render(&attribute(&[0xab; 2000])),
        "(a name of 2021 bytes, not rendered)"
    );
}
