//! Decision tests for `Authenticator`: trust, validity, usage, revocation, allowlist, cache.
//! Every certificate is generated with rcgen at test time; `now` is injected.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{DnType, ExtendedKeyUsagePurpose};

use super::*;
use crate::client_cert::crl_files::CrlFiles;
use crate::client_cert::policy_file::IdentityRule;
use crate::client_cert::test_pki::{BASE, Ca, DAY, Leaf, at, merge_first_two_subject_rdns};
use crate::client_cert::test_support::{
    ALLOWED, Expect, anchors, ca, check, code, decide, pin, trusting, with_crls, with_intermediates,
};

struct Pki {
    root: Ca,
    intermediate: Ca,
}

impl Pki {
    fn new() -> Self {
        let root = Ca::root("Test Root CA");
        let intermediate = root.intermediate("Test Issuing CA", 2);
        Self { root, intermediate }
    }

    /// [`Pki::config`] plus a CRL file from the root (nothing revoked, valid for a week),
    /// loaded as at startup. Returns the folder (for clean-up), the file and the config.
    fn with_crl_file(&self, name: &str) -> (std::path::PathBuf, std::path::PathBuf, Settings) {
        let dir = std::env::temp_dir().join(format!("mtls-crl-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let path = dir.join("root.crl");
        std::fs::write(&path, self.root.crl(&[], -DAY, 7 * DAY)).expect("write crl");
        (dir, path.clone(), with_crl_files(self.config(), &[path]))
    }

    /// Trusts the root; allows `CN=client.example`.
    fn config(&self) -> Settings {
        trusting(&self.root)
    }
}

/// `config` with `paths` as its CRL files, loaded as at startup.
fn with_crl_files(config: Settings, paths: &[std::path::PathBuf]) -> Settings {
    let issuers = crate::client_cert::crl::CrlIssuers::new(&config.crl_issuers);
    let files = CrlFiles::load(paths, &issuers).expect("crl files load");
    Settings {
        crl_paths: paths.to_vec(),
        crls: Arc::new(files.set()),
        crl_files: Some(files),
        ..config
    }
}

#[test]
fn impostors_and_invalid_certificates_are_refused() {
    let pki = Pki::new();
    let config = pki.config();
    let leaf = Leaf::cn(ALLOWED);
    let two_cns = Leaf::cn(ALLOWED).attr(DnType::CustomDnType(vec![2, 5, 4, 3]), "other");
    let multi_valued = merge_first_two_subject_rdns(
        &pki.root
            .issue(&Leaf::cn(ALLOWED).attr(DnType::OrganizationName, "Org")),
    );
    let cases: Vec<(&str, Vec<u8>, i64, Expect)> = vec![
        (
            "a root-issued leaf with the allowed CN",
            pki.root.issue(&leaf),
            0,
            Ok("common_name"),
        ),
        (
            "a self-signed cert with an allowed CN",
            leaf.self_signed(),
            0,
            Err("cert_untrusted"),
        ),
        (
            "an O value reading CN=<allowed> is not a CN",
            pki.root
                .issue(&Leaf::cn("mallory").attr(DnType::OrganizationName, "CN=client.example")),
            0,
            Err("cert_not_allowed"),
        ),
        (
            "an OU value reading CN=<allowed> is not a CN",
            pki.root.issue(
                &Leaf::cn("mallory").attr(DnType::OrganizationalUnitName, "CN=client.example"),
            ),
            0,
            Err("cert_not_allowed"),
        ),
        (
            "two CNs are ambiguous",
            pki.root.issue(&two_cns),
            0,
            Err("cert_ambiguous"),
        ),
        (
            "a CN in a multi-valued RDN is ambiguous",
            multi_valued,
            0,
            Err("cert_ambiguous"),
        ),
        (
            "attributes after the CN are fine",
            pki.root.issue(
                &Leaf::cn(ALLOWED)
                    .attr(DnType::OrganizationName, "Contoso")
                    .attr(DnType::OrganizationalUnitName, "Ops"),
            ),
            0,
            Ok("common_name"),
        ),
        (
            "expired",
            pki.root.issue(&leaf.clone().valid(-2 * DAY, -3600)),
            0,
            Err("cert_expired"),
        ),
        (
            "not yet valid",
            pki.root.issue(&leaf.clone().valid(3600, 2 * DAY)),
            0,
            Err("cert_not_yet_valid"),
        ),
        (
            "server-auth-only EKU",
            pki.root
                .issue(&leaf.clone().eku(vec![ExtendedKeyUsagePurpose::ServerAuth])),
            0,
            Err("cert_wrong_usage"),
        ),
        (
            "a CA certificate presented as a client",
            pki.intermediate.der.clone(),
            0,
            Err("cert_wrong_usage"),
        ),
        (
            "a leaf under an intermediate without intermediates configured",
            pki.intermediate.issue(&leaf),
            0,
            Err("cert_untrusted"),
        ),
        (
            "an unknown issuer's leaf even with a name match",
            Ca::root("Other Root").issue(&leaf),
            0,
            Err("cert_untrusted"),
        ),
    ];
    for (reason, der, offset, expect) in cases {
        check(reason, &config, &der, offset, expect);
    }
}

#[test]
fn clock_skew_widens_the_validity_window_by_at_most_the_setting() {
    let pki = Pki::new();
    let expired_a_minute_ago = pki.root.issue(&Leaf::cn(ALLOWED).valid(-DAY, -60));
    let valid_in_a_minute = pki.root.issue(&Leaf::cn(ALLOWED).valid(60, DAY));
    let cases: Vec<(&str, u64, &Vec<u8>, Expect)> = vec![
        (
            "no skew: expired a minute ago",
            0,
            &expired_a_minute_ago,
            Err("cert_expired"),
        ),
        (
            "120 s skew covers a minute",
            120,
            &expired_a_minute_ago,
            Ok("common_name"),
        ),
        (
            "30 s skew does not cover a minute",
            30,
            &expired_a_minute_ago,
            Err("cert_expired"),
        ),
        (
            "no skew: valid in a minute",
            0,
            &valid_in_a_minute,
            Err("cert_not_yet_valid"),
        ),
        (
            "120 s skew covers notBefore",
            120,
            &valid_in_a_minute,
            Ok("common_name"),
        ),
    ];
    for (reason, skew, der, expect) in cases {
        let config = Settings {
            clock_skew_seconds: skew,
            ..pki.config()
        };
        check(reason, &config, der, 0, expect);
    }
}

#[test]
fn revocation_and_intermediates_follow_the_documented_rule() {
    let pki = Pki::new();
    let direct = pki.root.issue(&Leaf::cn(ALLOWED).serial(7));
    let revoked = pki.root.issue(&Leaf::cn(ALLOWED).serial(8));
    let via_intermediate = pki.intermediate.issue(&Leaf::cn(ALLOWED).serial(9));
    let root_crl = pki.root.crl(&[8], -DAY, 7 * DAY);
    let stale_root_crl = pki.root.crl(&[], -2 * DAY, -3600);
    let intermediate_crl = pki.intermediate.crl(&[], -DAY, 7 * DAY);
    let with = |crl_list: &[&[u8]], intermediates: bool| {
        let config = if intermediates {
            with_intermediates(pki.config(), &[&pki.intermediate])
        } else {
            pki.config()
        };
        with_crls(config, crl_list)
    };
    let cases: Vec<(&str, Settings, &Vec<u8>, Expect)> = vec![
        (
            "not on the crl",
            with(&[&root_crl], false),
            &direct,
            Ok("common_name"),
        ),
        (
            "a revoked serial",
            with(&[&root_crl], false),
            &revoked,
            Err("cert_revoked"),
        ),
        (
            "a crl past nextUpdate",
            with(&[&stale_root_crl], false),
            &direct,
            Err("cert_revocation_unknown"),
        ),
        (
            "intermediate configured, no crls",
            with(&[], true),
            &via_intermediate,
            Ok("common_name"),
        ),
        (
            "crls configured but none from the intermediate",
            with(&[&root_crl], true),
            &via_intermediate,
            Err("cert_revocation_unknown"),
        ),
        (
            "current crls from every issuing CA",
            with(&[&root_crl, &intermediate_crl], true),
            &via_intermediate,
            Ok("common_name"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, der, 0, expect);
    }
}

#[test]
fn thumbprint_pins_match_in_every_spelling_without_a_ca() {
    let der = Leaf::cn("pinned").self_signed();
    let cert = ClientCert::parse(der.clone()).expect("test cert parses");
    let colons = |hex: &str| -> Vec<String> {
        hex.as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect()
    };
    for (hex, rule) in [
        (&cert.sha1_thumbprint, "thumbprint:SHA1"),
        (&cert.sha256_thumbprint, "thumbprint:SHA256"),
    ] {
        for (spelling, value) in [
            ("lower case", hex.to_lowercase()),
            ("upper case", hex.clone()),
            ("colon-separated", colons(hex).join(":")),
            ("space-separated", colons(hex).join(" ")),
        ] {
            let config = Settings {
                thumbprints: vec![value.parse().expect("valid thumbprint")],
                ..Settings::default()
            };
            let outcome = decide(&config, &der, 0);
            assert_eq!(
                outcome
                    .as_ref()
                    .map(|a| (a.matched_rule.as_str(), a.verified_chain)),
                Ok((rule, false)),
                "{rule} pin, {spelling}"
            );
        }
    }
}

#[test]
fn pins_still_need_validity_and_client_usage() {
    let pin = |der: &[u8]| Settings {
        thumbprints: vec![
            ClientCert::parse(der.to_vec())
                .expect("parses")
                .sha256_thumbprint
                .parse()
                .expect("valid"),
        ],
        ..Settings::default()
    };
    let expired = Leaf::cn("pinned").valid(-2 * DAY, -60).self_signed();
    let server_only = Leaf::cn("pinned")
        .eku(vec![ExtendedKeyUsagePurpose::ServerAuth])
        .self_signed();
    check(
        "pinned but expired",
        &pin(&expired),
        &expired,
        0,
        Err("cert_expired"),
    );
    check(
        "pinned but server-only",
        &pin(&server_only),
        &server_only,
        0,
        Err("cert_wrong_usage"),
    );
}

#[test]
fn names_need_a_verified_chain_unless_explicitly_allowed() {
    let pki = Pki::new();
    let mut leaf = Leaf::cn("svc");
    leaf.dns_names = vec!["svc.example".into()];
    leaf.uris = vec!["spiffe://example/svc".into()];
    leaf.emails = vec!["ops@example.com".into()];
    let issued = pki.root.issue(&leaf);
    let self_signed = leaf.self_signed();
    let base = || Settings {
        trusted_cas: vec![ca(&pki.root.der)],
        ..Settings::default()
    };
    let cases: Vec<(&str, Settings, &Vec<u8>, Expect)> = vec![
        (
            "no allowlist at all fails closed",
            base(),
            &issued,
            Err("cert_not_allowed"),
        ),
        (
            "dns rule, case-insensitive",
            Settings {
                dns_names: vec!["SVC.example".into()],
                ..base()
            },
            &issued,
            Ok("dns_name"),
        ),
        (
            "uri rule",
            Settings {
                uris: vec!["spiffe://example/svc".into()],
                ..base()
            },
            &issued,
            Ok("uri"),
        ),
        (
            "email rule",
            Settings {
                emails: vec!["ops@example.com".into()],
                ..base()
            },
            &issued,
            Ok("email"),
        ),
        (
            "unverified names allowed (migration) without a CA",
            Settings {
                common_names: vec!["svc".into()],
                allow_unverified_names: true,
                ..Settings::default()
            },
            &self_signed,
            Ok("common_name"),
        ),
        (
            "identity rule: issuer thumbprint and dns name",
            Settings {
                policy_rules: vec![IdentityRule {
                    name: "partner".into(),
                    issuer_thumbprint: Some(
                        ca(&pki.root.der).sha256_thumbprint.parse().expect("hex"),
                    ),
                    dns_name: Some("svc.example".into()),
                    ..IdentityRule::default()
                }],
                ..base()
            },
            &issued,
            Ok("policy:partner"),
        ),
        (
            "identity rule without a pin needs a chain",
            Settings {
                policy_rules: vec![IdentityRule {
                    name: "partner".into(),
                    dns_name: Some("svc.example".into()),
                    ..IdentityRule::default()
                }],
                ..base()
            },
            &self_signed,
            Err("cert_untrusted"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, der, 0, expect);
    }
}

#[test]
fn the_cache_repeats_decisions_until_the_certificate_expires() {
    let pki = Pki::new();
    let authenticator = Authenticator::new(&pki.config());
    let der = pki.root.issue(&Leaf::cn(ALLOWED).valid(-DAY, 100));
    let header = STANDARD.encode(&der);
    let values: [&[u8]; 1] = [header.as_bytes()];

    let first = authenticator.authorize(&values, at(0));
    let second = authenticator.authorize(&values, at(10));
    let entries_after_hit = authenticator.cache.len();
    let after_not_after = authenticator.authorize(&values, at(101));

    assert!(
        first.is_ok(),
        "a valid allowlisted cert is accepted: {first:?}"
    );
    assert_eq!(first, second, "a cache hit returns the same decision");
    assert_eq!(entries_after_hit, (1, 0), "one entry per certificate");
    assert_eq!(
        after_not_after
            .map_err(|d| d.code())
            .map(|a| a.matched_rule),
        Err("cert_expired"),
        "the cached accept does not outlive notAfter"
    );
}

#[test]
fn malformed_headers_are_not_cached() {
    let authenticator = Authenticator::new(&Settings::default());
    let outcome = authenticator.authorize(&[b"garbage!"], at(0));
    assert_eq!(
        outcome.map_err(|d| d.code()).map(|_| ()),
        Err("cert_malformed"),
        "garbage is malformed"
    );
    assert!(
        authenticator.cache.is_empty(),
        "malformed headers never reach the cache"
    );
}

#[test]
fn crl_reload_installs_a_changed_file_and_keeps_the_last_good_set_on_errors() {
    let pki = Pki::new();
    let (dir, path, config) = pki.with_crl_file("reload");
    let authenticator = Arc::new(Authenticator::new(&config));
    let der = pki.root.issue(&Leaf::cn(ALLOWED).serial(42));
    let code = |offset| code(&authenticator, &der, offset);

    let before = code(0);
    std::fs::write(&path, pki.root.crl(&[42], -DAY, 7 * DAY)).expect("replace crl");
    let reloaded = authenticator.reload_crls_if_changed();
    let after = code(1);
    std::fs::write(&path, b"garbage").expect("break crl");
    let reloaded_garbage = authenticator.reload_crls_if_changed();
    let after_garbage = code(2);
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(before, Ok("common_name".to_owned()), "not revoked at first");
    assert!(reloaded, "a changed file is reloaded");
    assert_eq!(
        after,
        Err("cert_revoked"),
        "the reload cleared the cached accept"
    );
    assert!(!reloaded_garbage, "an unparsable file is not installed");
    assert_eq!(
        after_garbage,
        Err("cert_revoked"),
        "the last good crls stay in force"
    );
}

#[test]
fn an_spki_pin_needs_a_verified_chain_so_a_reminted_certificate_is_refused() {
    let pki = Pki::new();
    let key = rcgen::KeyPair::generate().expect("key generation");
    let current = pki.root.issue_with(&Leaf::cn("device-7").serial(7), &key);
    let revoked = pki.root.issue_with(&Leaf::cn("device-7").serial(8), &key);
    let pin = ClientCert::parse(current.clone())
        .expect("test cert parses")
        .spki_sha256_base64;
    let config = Settings {
        policy_rules: vec![IdentityRule {
            name: "device-7".into(),
            spki_sha256: Some(pin),
            ..IdentityRule::default()
        }],
        ..anchors(&[&pki.root])
    };
    let config = with_crls(config, &[&pki.root.crl(&[8], -DAY, 7 * DAY)]);
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "the CA-issued certificate for the pinned key",
            current,
            Ok("policy:device-7"),
        ),
        (
            "the CA revoked this certificate for the pinned key",
            revoked,
            Err("cert_revoked"),
        ),
        (
            "the key holder re-mints the revoked serial, self-signed",
            Leaf::cn("device-7").serial(8).self_signed_with(&key),
            Err("cert_untrusted"),
        ),
        (
            "the key holder self-signs a new subject valid for a century",
            Leaf::cn("anything")
                .serial(9)
                .valid(-DAY, 36_500 * DAY)
                .self_signed_with(&key),
            Err("cert_untrusted"),
        ),
    ];
    for (reason, der, expect) in cases {
        check(reason, &config, &der, 0, expect);
    }
}

#[test]
fn a_pinned_certificate_is_refused_when_its_issuers_crl_cannot_be_verified() {
    // A root rollover: both roots share a name, not a key. Each key's CRL is a series of its
    // own, so the old root's CRL refuses what it lists whichever comes first; a root with no
    // CRL of its own key has nothing that vouches for its certificates.
    let old_root = Ca::root("Test Root CA");
    let new_root = Ca::root("Test Root CA");
    let revoked = old_root.issue(&Leaf::cn("pinned").serial(8));
    let old_crl = old_root.crl(&[8], -DAY, 7 * DAY);
    let new_crl = new_root.crl(&[], -DAY, 7 * DAY);
    let not_crl_signer = old_root.intermediate_with_key_usages(
        "Test No CRL Sign CA",
        2,
        vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ],
    );
    let revoked_by_non_signer = not_crl_signer.issue(&Leaf::cn("pinned").serial(9));
    let current_by_non_signer = not_crl_signer.issue(&Leaf::cn("pinned").serial(10));
    let non_signer_crl = not_crl_signer.crl_ignoring_key_usage(&[9], -DAY, 7 * DAY);
    let old_first = [&old_root, &new_root];
    let new_first = [&new_root, &old_root];
    let pinned = |der: &[u8], order: &[&Ca; 2], crl_list: &[&[u8]]| {
        let config = Settings {
            thumbprints: vec![pin(der)],
            ..with_intermediates(anchors(order), &[&not_crl_signer])
        };
        with_crls(config, crl_list)
    };
    let cases: Vec<(&str, Settings, &Vec<u8>, Expect)> = vec![
        (
            "the first crl with the issuer's name is signed by the new root's key",
            pinned(&revoked, &old_first, &[&new_crl, &old_crl]),
            &revoked,
            Err("cert_revoked"),
        ),
        (
            "the same, with the new root's failed path tried first",
            pinned(&revoked, &new_first, &[&new_crl, &old_crl]),
            &revoked,
            Err("cert_revoked"),
        ),
        (
            "only the new root's crl: nothing signed by the old root's key vouches",
            pinned(&revoked, &old_first, &[&new_crl]),
            &revoked,
            Err("cert_revocation_unknown"),
        ),
        (
            "the issuer's own crl comes first",
            pinned(&revoked, &old_first, &[&old_crl, &new_crl]),
            &revoked,
            Err("cert_revoked"),
        ),
        (
            "the intermediate's key usage does not allow crl signing: its crl vouches for nobody",
            pinned(
                &current_by_non_signer,
                &old_first,
                &[&old_crl, &non_signer_crl],
            ),
            &current_by_non_signer,
            Err("cert_revocation_unknown"),
        ),
        (
            "a certificate it lists is still refused",
            pinned(
                &revoked_by_non_signer,
                &old_first,
                &[&old_crl, &non_signer_crl],
            ),
            &revoked_by_non_signer,
            Err("cert_revoked"),
        ),
    ];
    for (reason, config, der, expect) in cases {
        check(reason, &config, der, 0, expect);
    }
}

#[test]
fn a_decision_made_on_the_crls_before_a_reload_is_not_cached_after_it() {
    let pki = Pki::new();
    let (dir, path, config) = pki.with_crl_file("race");
    let authenticator = Authenticator::new(&config);
    let der = pki.root.issue(&Leaf::cn(ALLOWED).serial(42));
    let key: [u8; 32] = sha2::Sha256::digest(&der).into();
    let header = STANDARD.encode(&der);

    // A request takes the CRLs, then the reloader installs a set revoking the certificate and
    // clears the cache, then the request finishes its decision on the old CRLs.
    let before_reload = authenticator.snapshot();
    std::fs::write(&path, pki.root.crl(&[42], -DAY, 7 * DAY)).expect("replace crl");
    let reloaded = authenticator.reload_crls_if_changed();
    let in_flight =
        authenticator.decide_and_cache(key, der.clone(), at(0).as_secs(), &before_reload);
    let next = authenticator.authorize(&[header.as_bytes()], at(1));
    let _ = std::fs::remove_dir_all(&dir);

    assert!(reloaded, "the replaced crl is installed");
    assert!(
        in_flight.is_ok(),
        "the in-flight request was decided on the old crls: {in_flight:?}"
    );
    assert_eq!(
        next.map(|a| a.matched_rule).map_err(|d| d.code()),
        Err("cert_revoked"),
        "the next request sees the new crls, not the in-flight decision"
    );
}

#[test]
fn a_cached_accept_does_not_outlive_the_intermediate_that_issued_it() {
    let pki = Pki::new();
    let short_lived = pki
        .root
        .intermediate_until("Short-lived Issuing CA", 3, 100);
    let config = with_intermediates(pki.config(), &[&short_lived]);
    let authenticator = Authenticator::new(&config);
    let der = short_lived.issue(&Leaf::cn(ALLOWED));
    let code = |offset| code(&authenticator, &der, offset);

    let while_valid = code(0);
    let after_intermediate_expired = code(101);

    assert_eq!(
        while_valid,
        Ok("common_name".to_owned()),
        "accepted while the intermediate is valid"
    );
    assert_eq!(
        after_intermediate_expired,
        Err("cert_expired"),
        "the cached accept ends at the intermediate's notAfter, though the leaf is still valid"
    );
}

#[test]
fn a_failed_crl_reload_is_retried_even_when_the_file_then_keeps_its_size_and_time() {
    let pki = Pki::new();
    let (dir, path, config) = pki.with_crl_file("retry");
    let authenticator = Authenticator::new(&config);
    let der = pki.root.issue(&Leaf::cn(ALLOWED).serial(42));
    let header = STANDARD.encode(&der);
    let revoking = pki.root.crl(&[42], -DAY, 7 * DAY);
    // A writer that sizes the file first, then fills it, within one mtime tick.
    let mut half_written = revoking[..revoking.len() / 2].to_vec();
    half_written.resize(revoking.len(), 0);
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(BASE);
    let write_with_mtime = |bytes: &[u8]| {
        std::fs::write(&path, bytes).expect("write crl");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(mtime))
            .expect("set mtime");
    };

    write_with_mtime(&half_written);
    let reloaded_half_written = authenticator.reload_crls_if_changed();
    write_with_mtime(&revoking);
    let reloaded_complete = authenticator.reload_crls_if_changed();
    let after = authenticator
        .authorize(&[header.as_bytes()], at(0))
        .map(|a| a.matched_rule)
        .map_err(|d| d.code());
    let _ = std::fs::remove_dir_all(&dir);

    assert!(
        !reloaded_half_written,
        "a half-written file is not installed"
    );
    assert!(
        reloaded_complete,
        "the failed load is retried on the next tick, though size and mtime did not change"
    );
    assert_eq!(after, Err("cert_revoked"), "the completed crl is in force");
}

#[test]
fn a_crl_past_its_next_update_does_not_stop_caching_for_certificates_it_does_not_cover() {
    let pki = Pki::new();
    let other = Ca::root("Other Root CA");
    let current = pki.root.crl(&[], -DAY, 7 * DAY);
    let stale = other.crl(&[], -7 * DAY, -DAY);
    let config = Settings {
        common_names: vec![ALLOWED.to_owned()],
        ..anchors(&[&pki.root, &other])
    };
    let authenticator = Authenticator::new(&with_crls(config, &[&current, &stale]));
    let header = STANDARD.encode(pki.root.issue(&Leaf::cn(ALLOWED)));

    let decision = authenticator.authorize(&[header.as_bytes()], at(0));

    assert!(decision.is_ok(), "covered by a current crl: {decision:?}");
    assert_eq!(
        authenticator.cache.len(),
        (1, 0),
        "the other issuer's stale crl must not make every decision uncacheable"
    );
}

/// Writes `bytes` to `path` and sets its modification time to `BASE` (as `cp -p`,
/// `rsync -t` or an archive extraction can).
fn write_with_base_mtime(path: &std::path::Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write crl");
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| {
            file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(BASE))
        })
        .expect("set mtime");
}

#[test]
fn a_crl_file_rewritten_with_the_same_length_and_mtime_is_reloaded() {
    let pki = Pki::new();
    let (dir, path, _) = pki.with_crl_file("same-stamp");
    // Two CRLs of one length: "add one, drop one" (ECDSA signatures vary by a byte or two).
    let first = pki.root.crl(&[41], -DAY, 7 * DAY);
    let revoking = (0..50)
        .map(|_| pki.root.crl(&[42], -DAY, 7 * DAY))
        .find(|crl| crl.len() == first.len())
        .expect("a CRL of the same length");
    write_with_base_mtime(&path, &first);
    let authenticator =
        Authenticator::new(&with_crl_files(pki.config(), std::slice::from_ref(&path)));
    let der = pki.root.issue(&Leaf::cn(ALLOWED).serial(42));
    let stamp = |path: &std::path::Path| {
        let metadata = std::fs::metadata(path).expect("metadata");
        (metadata.len(), metadata.modified().expect("mtime"))
    };

    let before = code(&authenticator, &der, 0);
    let stamp_before = stamp(&path);
    write_with_base_mtime(&path, &revoking);
    let reloaded = authenticator.reload_crls_if_changed();
    let after = code(&authenticator, &der, 1);
    let stamp_after = stamp(&path);
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(stamp_before, stamp_after, "the same length and mtime");
    assert_eq!(before, Ok("common_name".to_owned()));
    assert!(reloaded, "the content changed, so the file is reloaded");
    assert_eq!(after, Err("cert_revoked"));
}

#[cfg(unix)]
#[test]
fn a_crl_file_that_becomes_a_fifo_or_too_large_does_not_stop_the_others_from_reloading() {
    let pki = Pki::new();
    let (dir, root_path, _) = pki.with_crl_file("fifo");
    let issuing_path = dir.join("issuing.crl");
    std::fs::write(&issuing_path, pki.intermediate.crl(&[], -DAY, 7 * DAY)).expect("write crl");
    let config = with_intermediates(pki.config(), &[&pki.intermediate]);
    let config = with_crl_files(config, &[root_path.clone(), issuing_path.clone()]);
    let authenticator = Authenticator::new(&config);
    let der = pki.intermediate.issue(&Leaf::cn(ALLOWED).serial(42));
    let make_fifo = |path: &std::path::Path| {
        std::fs::remove_file(path).expect("remove");
        let made = std::process::Command::new("mkfifo").arg(path).status();
        assert!(made.is_ok_and(|status| status.success()), "mkfifo");
    };

    let before = code(&authenticator, &der, 0);
    make_fifo(&root_path);
    let with_a_fifo = authenticator.reload_crls_if_changed();
    std::fs::write(&issuing_path, pki.intermediate.crl(&[42], -DAY, 7 * DAY)).expect("revoke");
    let other_file_changed = authenticator.reload_crls_if_changed();
    let revoked = code(&authenticator, &der, 1);
    std::fs::remove_file(&root_path).expect("remove the fifo");
    std::fs::File::create(&root_path)
        .and_then(|file| file.set_len(9 * 1024 * 1024))
        .expect("a sparse 9 MiB file");
    let with_a_large_file = authenticator.reload_crls_if_changed();
    std::fs::write(&root_path, pki.root.crl_numbered(2, &[], -DAY, 7 * DAY)).expect("fixed");
    let fixed = authenticator.reload_crls_if_changed();
    let in_force = authenticator.crls_in_force();
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(before, Ok("common_name".to_owned()));
    assert!(
        !with_a_fifo,
        "a fifo is refused at once and the last good crls stay"
    );
    assert!(
        other_file_changed,
        "the other file's change is loaded all the same"
    );
    assert_eq!(
        revoked,
        Err("cert_revoked"),
        "the root's last good crl still covers the CA"
    );
    assert!(!with_a_large_file, "a file over the cap is refused");
    assert!(fixed, "the file is loaded as soon as it is fixed");
    assert_eq!(in_force.numbers(), vec![Some(vec![2]), Some(vec![1])]);
}
