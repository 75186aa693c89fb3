//! Triage: what is refused before the full decision (and that it is what the full decision
//! says), and which lane the rest wait in.

use sha2::{Digest, Sha256};

use super::*;
use crate::client_cert::certificate::hex_upper;
use crate::client_cert::policy::Thumbprint;
use crate::client_cert::revocation::CrlSet;
use crate::client_cert::test_pki::{Ca, DAY, Leaf};
use crate::client_cert::trust::{TrustStore, TrustedCa};
use crate::client_cert::{ClientCert, Settings};

const ALLOWED: &str = "client.example";

fn anchor(ca: &Ca) -> TrustedCa {
    TrustedCa::from_der(&ca.der.clone().into()).expect("a CA")
}

fn trusting(root: &Ca) -> Settings {
    Settings {
        trusted_cas: vec![anchor(root)],
        common_names: vec![ALLOWED.to_owned()],
        ..Settings::default()
    }
}

fn key(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

fn lane(triage: &Triage, der: &[u8]) -> Option<Lane> {
    match triage.judge(&key(der), der) {
        Verdict::Queue(lane) => Some(lane),
        Verdict::Refuse { .. } => None,
    }
}

#[test]
fn an_unknown_issuer_is_refused_as_the_chain_verification_refuses_it() {
    let root = Ca::root("Test Root CA");
    let settings = trusting(&root);
    let triage = Triage::new(&settings);
    let store = TrustStore::new(settings.trusted_cas.clone(), Vec::new(), 0);
    for (der, reason) in [
        (
            Leaf::cn(ALLOWED).self_signed(),
            "self-signed with the allowlisted CN",
        ),
        (
            Ca::root("Other CA").issue(&Leaf::cn(ALLOWED)),
            "another CA's leaf",
        ),
        (
            Ca::root("Test Root CA ").issue(&Leaf::cn(ALLOWED)),
            "a CA whose name differs by a space",
        ),
    ] {
        let Verdict::Refuse { denied, sketch } = triage.judge(&key(&der), &der) else {
            panic!("{reason}: not refused");
        };
        let cert = ClientCert::parse(der.clone()).expect("parses");
        let verified = store.verify(
            &cert,
            crate::client_cert::test_pki::BASE,
            &CrlSet::default(),
        );
        assert_eq!(
            Err(denied.clone()),
            verified.map(|_| ()),
            "{reason}: the same refusal"
        );
        assert_eq!(denied.code(), "cert_untrusted", "{reason}");
        assert_eq!(hex_upper(sketch.serial), cert.serial_hex, "{reason}");
    }
}

#[test]
fn a_configured_issuer_or_a_pin_is_never_refused_here() {
    let root = Ca::root("Test Root CA");
    let intermediate = root.intermediate("Test Intermediate", 7);
    let stranger = Leaf::cn("stranger.example").self_signed();
    let stranger_sha1 = hex_upper(&Sha1::digest(&stranger));
    let stranger_sha256 = hex_upper(&key(&stranger));
    let base = || Settings {
        intermediates: vec![intermediate.der.clone().into()],
        ..trusting(&root)
    };
    let pinned_by_rule = IdentityRule {
        name: "pin".into(),
        thumbprint: Some(stranger_sha1.parse().expect("thumbprint")),
        ..IdentityRule::default()
    };
    for (settings, der, expected, reason) in [
        (
            base(),
            intermediate.issue(&Leaf::cn(ALLOWED)),
            Lane::Candidate,
            "issued by a configured intermediate",
        ),
        (
            Settings {
                thumbprints: vec![stranger_sha256.parse::<Thumbprint>().expect("pin")],
                ..base()
            },
            stranger.clone(),
            Lane::Candidate,
            "a SHA-256 pin",
        ),
        (
            Settings {
                thumbprints: vec![stranger_sha1.parse::<Thumbprint>().expect("pin")],
                ..base()
            },
            stranger.clone(),
            Lane::Candidate,
            "a SHA-1 pin",
        ),
        (
            Settings {
                policy_rules: vec![pinned_by_rule],
                ..base()
            },
            stranger.clone(),
            Lane::Candidate,
            "a policy rule's thumbprint",
        ),
        (
            Settings {
                allow_unverified_names: true,
                ..base()
            },
            Leaf::cn(ALLOWED).self_signed(),
            Lane::Candidate,
            "unverified names may admit it by name",
        ),
        (
            Settings {
                trusted_cas: Vec::new(),
                ..base()
            },
            stranger.clone(),
            Lane::Unlikely,
            "pins only: the full decision says it is not pinned",
        ),
        (
            base(),
            b"not a certificate".to_vec(),
            Lane::Unlikely,
            "no outline: the full decision says it is malformed",
        ),
    ] {
        assert_eq!(
            lane(&Triage::new(&settings), &der),
            Some(expected),
            "{reason}"
        );
    }
}

#[test]
fn a_name_some_rule_allows_makes_a_candidate_and_any_other_waits_last() {
    let root = Ca::root("Test Root CA");
    let dns = |names: &[&str]| Leaf {
        dns_names: names.iter().map(|name| (*name).to_owned()).collect(),
        ..Leaf::cn("someone.example")
    };
    let rule = |name: &str, dns_name: Option<&str>, subject: Option<&str>| IdentityRule {
        name: name.into(),
        dns_name: dns_name.map(str::to_owned),
        subject: subject.map(str::to_owned),
        ..IdentityRule::default()
    };
    let with_rules = |rules: Vec<IdentityRule>| Settings {
        dns_names: vec!["api.partner.example".into()],
        policy_rules: rules,
        ..trusting(&root)
    };
    for (settings, leaf, expected, reason) in [
        (
            trusting(&root),
            Leaf::cn(ALLOWED),
            Lane::Candidate,
            "the allowlisted CN",
        ),
        (
            trusting(&root),
            Leaf::cn("CLIENT.example"),
            Lane::Unlikely,
            "CNs compare exactly",
        ),
        (
            with_rules(vec![]),
            dns(&["API.Partner.Example"]),
            Lane::Candidate,
            "a DNS rule, case ignored",
        ),
        (
            with_rules(vec![]),
            dns(&["other.example"]),
            Lane::Unlikely,
            "no rule for that DNS name",
        ),
        (
            with_rules(vec![rule("by-dns", Some("svc.example"), None)]),
            dns(&["svc.example"]),
            Lane::Candidate,
            "a policy rule's dns_name",
        ),
        (
            with_rules(vec![rule("by-dns", Some("svc.example"), None)]),
            dns(&["x.example"]),
            Lane::Unlikely,
            "a policy rule whose dns_name is not there",
        ),
        (
            with_rules(vec![rule("by-subject", None, Some("CN=x"))]),
            Leaf::cn("anyone.example"),
            Lane::Candidate,
            "a subject rule is not compared here: it counts as allowing",
        ),
    ] {
        let der = root.issue(&leaf);
        assert_eq!(
            lane(&Triage::new(&settings), &der),
            Some(expected),
            "{reason}"
        );
    }
}

#[test]
fn a_forgery_naming_the_ca_is_not_refused_here_and_waits_by_its_name() {
    let root = Ca::root("Test Root CA");
    let impostor = Ca::root("Test Root CA"); // the same name, another key
    let triage = Triage::new(&trusting(&root));
    assert_eq!(
        lane(&triage, &impostor.issue(&Leaf::cn("flood.invalid"))),
        Some(Lane::Unlikely),
        "its signature is for the full decision; no rule allows its name"
    );
    assert_eq!(
        lane(&triage, &impostor.issue(&Leaf::cn(ALLOWED))),
        Some(Lane::Candidate),
        "with the allowlisted name it is a candidate, as a new caller would be"
    );
}

#[test]
fn an_admitted_certificate_is_familiar_until_it_is_refused() {
    let root = Ca::root("Test Root CA");
    let triage = Triage::new(&trusting(&root));
    let der = root.issue(&Leaf::cn("someone.example").valid(-DAY, DAY));
    assert_eq!(lane(&triage, &der), Some(Lane::Unlikely));
    triage.admitted(key(&der), true);
    assert_eq!(lane(&triage, &der), Some(Lane::Familiar));
    triage.admitted(key(&der), false);
    assert_eq!(
        lane(&triage, &der),
        Some(Lane::Unlikely),
        "refused later: forgotten"
    );
}

#[test]
fn familiar_certificates_are_bounded() {
    let triage = Triage::new(&Settings::default());
    for n in 0..3 * FAMILIAR_CAPACITY as u64 {
        triage.admitted(key(&n.to_be_bytes()), true);
    }
    assert!(
        triage.familiar.0.len() <= FAMILIAR_CAPACITY,
        "{} remembered",
        triage.familiar.0.len()
    );
}

#[test]
fn a_cn_matches_in_every_string_type_the_parser_reads() {
    let name = EncodedName::new(&"Zoë".to_owned());
    let utf16: Vec<u8> = "Zoë".encode_utf16().flat_map(u16::to_be_bytes).collect();
    let utf32: Vec<u8> = "Zoë"
        .chars()
        .flat_map(|c| u32::from(c).to_be_bytes())
        .collect();
    for (tag, value, expected, reason) in [
        (0x0C, "Zoë".as_bytes().to_vec(), true, "UTF8String"),
        (0x1E, utf16, true, "BMPString"),
        (0x1C, utf32, true, "UniversalString"),
        (
            0x14,
            "Zoë".as_bytes().to_vec(),
            false,
            "TeletexString is refused by the parse",
        ),
        (0x0C, b"Zoe".to_vec(), false, "another name"),
    ] {
        assert_eq!(name.is(tag, &value), expected, "{reason}");
    }
}
