//! Review of the CRL set (`revocation.rs`) over CRLs read by `crl`: decisions that should have
//! gone the other way, each in one test. Certificates and CRLs are made at test time.

use crate::client_cert::Settings;
use crate::client_cert::test_pki::{Ca, DAY, Leaf};
use crate::client_cert::test_support::{ALLOWED, anchors, check, pin, with_crls};

/// Review: two CAs that share a name but not a key (a root renewed with a new key, an issuing
/// CA re-keyed) publish a CRL each. The set held one CRL per issuer name, scope and kind, so
/// the CRL of one key set the other's aside. A pinned certificate of the retired key, listed
/// in that key's CRL file, was then admitted: the CRL in force (the other key's) does not list
/// it, and without a path any configured CA of the name may vouch. "Any usable CRL may
/// refuse" did not hold for a CRL that was loaded but set aside.
#[test]
fn a_crl_listing_a_pinned_certificate_is_not_set_aside_by_another_keys_crl_of_its_name() {
    let retired = Ca::root("Test Root CA");
    let current = Ca::root("Test Root CA");
    let revoked = retired.issue(&Leaf::cn("old-device").serial(8));
    // The retired root's CRL still lists the device; the current root's is newer.
    let retired_crl = retired.crl_numbered(3, &[8], -DAY, 7 * DAY);
    let current_crl = current.crl_numbered(5, &[], -DAY, 7 * DAY);
    let config = || Settings {
        thumbprints: vec![pin(&revoked)],
        ..anchors(&[&current])
    };
    for (order, crls) in [
        ("the retired key's crl first", [&retired_crl, &current_crl]),
        ("the current key's crl first", [&current_crl, &retired_crl]),
    ] {
        let config = with_crls(config(), &[crls[0], crls[1]]);
        check(order, &config, &revoked, 0, Err("cert_revoked"));
    }
}

/// Review: the same, for a rollover where both roots are configured and valid: each key's
/// certificates need their own key's CRL, and only one of the two was held, so every
/// certificate of the other key was refused `cert_revocation_unknown` (an outage for half the
/// callers during a rollover; AD CS publishes one CRL per CA key, with one CRL number series,
/// so equal numbers are the common case).
#[test]
fn during_a_rollover_each_keys_certificates_are_covered_by_their_own_keys_crl() {
    let old_root = Ca::root("Test Root CA");
    let new_root = Ca::root("Test Root CA");
    let config = || Settings {
        common_names: vec![ALLOWED.to_owned()],
        ..anchors(&[&old_root, &new_root])
    };
    for (numbers, reason) in [
        ((7, 7), "equal crl numbers"),
        ((7, 9), "the new key's newer"),
    ] {
        let crls = [
            old_root.crl_numbered(numbers.0, &[], -DAY, 7 * DAY),
            new_root.crl_numbered(numbers.1, &[], -DAY, 7 * DAY),
        ];
        let config = with_crls(config(), &[&crls[0], &crls[1]]);
        for (whose, root) in [("old root", &old_root), ("new root", &new_root)] {
            let leaf = root.issue(&Leaf::cn(ALLOWED));
            check(
                &format!("{reason}: a certificate of the {whose}"),
                &config,
                &leaf,
                0,
                Ok("common_name"),
            );
        }
    }
}

/// Review: docs/revocation.md says removeFromCRL "counts only in a delta that applies to the
/// base; anywhere else an entry revokes, whatever its reason". A base CRL's entry with reason
/// removeFromCRL was read as "not listed", so the certificate was admitted. (RFC 5280 §5.3.1
/// allows the reason in delta CRLs only; a base that carries it is the CA's mistake, and a
/// mistake in a CRL must fail closed.)
#[test]
fn remove_from_crl_in_a_base_crl_still_revokes() {
    use crate::client_cert::test_crl::REMOVE_FROM_CRL;
    use crate::client_cert::test_pki::crl_spec;
    let root = Ca::root("Test Root CA");
    let leaf = root.issue(&Leaf::cn(ALLOWED).serial(42));
    let base = root.crl_from(&crl_spec(10).revoke_as(42, REMOVE_FROM_CRL));
    let config = with_crls(
        Settings {
            common_names: vec![ALLOWED.to_owned()],
            ..anchors(&[&root])
        },
        &[&base],
    );
    check(
        "a base entry with removeFromCRL",
        &config,
        &leaf,
        0,
        Err("cert_revoked"),
    );
}

/// Review: CRL entries must be minimal INTEGERs (a CRL with `00 05` is refused), and a leaf
/// with a non-minimal serial is refused by the strict DER check, but a configured intermediate
/// is read by webpki, which takes its serial as it is. An intermediate whose serial is written
/// `00 05`, revoked by its root's CRL as `05` (how the CRL must write it), was not found in
/// that CRL, and its leaves were admitted.
#[test]
fn a_configured_intermediate_with_a_non_minimal_serial_is_found_in_its_roots_crl() {
    use crate::client_cert::test_pki::tlv;
    use crate::client_cert::test_support::with_intermediates;
    let root = Ca::root("Test Root CA");
    let issuing = root
        .intermediate("Test Issuing CA", 5)
        .reencoded_by(&root, &|path, tag, body| {
            (path == [1] && body == [0x05]).then(|| tlv(tag, &[0x00, 0x05]))
        });
    let (_, parsed) = x509_parser::parse_x509_certificate(&issuing.der).expect("parses");
    assert_eq!(parsed.raw_serial(), [0x00, 0x05], "the serial as written");
    let leaf = issuing.issue(&Leaf::cn(ALLOWED));
    let config = with_crls(
        with_intermediates(
            Settings {
                common_names: vec![ALLOWED.to_owned()],
                ..anchors(&[&root])
            },
            &[&issuing],
        ),
        &[
            &root.crl_numbered(2, &[5], -DAY, 7 * DAY),
            &issuing.crl_numbered(2, &[], -DAY, 7 * DAY),
        ],
    );
    check("its leaf", &config, &leaf, 0, Err("cert_revoked"));
}

#[test]
fn serials_are_looked_up_in_their_minimal_form() {
    use super::minimal_integer;
    for (written, minimal) in [
        (&[0x00, 0x05][..], &[0x05][..]),
        (&[0x00, 0x00, 0x80], &[0x00, 0x80]),
        (&[0x00, 0x80], &[0x00, 0x80]),
        (&[0xff, 0xff, 0x80], &[0x80]),
        (&[0xff, 0x7f], &[0xff, 0x7f]),
        (&[0x00], &[0x00]),
        (&[], &[]),
    ] {
        assert_eq!(minimal_integer(written), minimal, "{written:02x?}");
    }
}
