//! The x509-limbo conformance suite, run through the decision `serve` and `handler check` make.
//!
//! Each applicable case (see [`not_applicable`]) becomes a deployment: its trusted certificates
//! are written to a file named by `CLIENT_CERT_TRUSTED_CA_PATHS`, its untrusted intermediates to
//! `CLIENT_CERT_INTERMEDIATE_CA_PATHS`, its CRLs to `CLIENT_CERT_CRL_PATHS`; its expected DNS
//! peer name goes to `ALLOWED_CLIENT_CERT_DNS_NAMES`, its RFC 822 names to
//! `ALLOWED_CLIENT_CERT_EMAILS`, and a case without a peer name gets one policy rule per trusted
//! or intermediate certificate (`issuer_thumbprint`): whatever a configured CA issued. The
//! configuration is loaded with `Config::load` (so startup's checks apply: a deployment that
//! does not start admits nobody), an `Authenticator` is built from it as `serve` builds one,
//! and the peer certificate is presented as App Service forwards it (base64 DER in
//! `X-ARR-ClientCert`) at the case's validation time. SUCCESS means admitted.
//!
//! SERVER cases come from `limbo-swapped.json`, the same generators with `serverAuth` and
//! `clientAuth` exchanged in every EKU, so that they are client-certificate cases; CLIENT cases
//! come from `limbo.json`. The data, its licence and provenance are in `tests/data/x509-limbo/`.
//!
//! The run prints one summary line and fails on any disagreement with the expected result that
//! is not in [`EXPECTED_DEVIATIONS`], on any entry of that list that no longer deviates, and on
//! any case that does not finish within [`CASE_BOUND`]. `docs/conformance.md` explains every
//! deviation.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mtls_handler::client_cert::Authenticator;
use mtls_handler::config::Config;
use rustls_pki_types::UnixTime;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How long one case may take, configuration and decision together, before it counts as a
/// hang. Cases take milliseconds; the bound leaves room for a loaded 2-core CI machine.
const CASE_BOUND: Duration = Duration::from_secs(10);

/// The applicable cases the handler answers differently from the suite, each with the reason
/// (a policy decision; `docs/conformance.md` has the table). Anything else that differs fails.
const EXPECTED_DEVIATIONS: &[(&str, &str)] = &[
    // Refused, although the suite admits them.
    (
        "rfc5280::ca-as-leaf",
        "a CA certificate is never a client: its key signs certificates (webpki refuses it too)",
    ),
    (
        "pathlen::validation-ignores-pathlen-in-leaf",
        "the 'leaf' is a CA certificate (cA=TRUE), which is never a client",
    ),
    (
        "pathlen::self-issued-certs-pathlen",
        "webpki counts self-issued intermediates against pathLenConstraint; stricter, and the CA's new certificate still gives a path",
    ),
    (
        "rfc5280::nc::permitted-dn-match",
        "webpki cannot evaluate directoryName constraints and refuses what they would govern: fail closed",
    ),
    // Admitted, although the suite refuses them.
    (
        "rfc5280::aki::leaf-missing-aki",
        "key identifiers only help path building (by name and signature here); NSS certutil and OpenSSL before 3.0 omit them",
    ),
    (
        "rfc5280::aki::intermediate-missing-aki",
        "key identifiers only help path building; not security-relevant",
    ),
    (
        "rfc5280::aki::cross-signed-root-missing-aki",
        "key identifiers only help path building (the suite marks this pedantic)",
    ),
    (
        "rfc5280::ski::root-missing-ski",
        "key identifiers only help path building; an anchor is trusted by configuration",
    ),
    (
        "rfc5280::ski::intermediate-missing-ski",
        "key identifiers only help path building; not security-relevant",
    ),
    (
        "webpki::aki::root-with-aki-missing-keyidentifier",
        "an anchor's own authorityKeyIdentifier is never read: it is trusted by configuration",
    ),
    (
        "webpki::aki::root-with-aki-authoritycertissuer",
        "an anchor's own authorityKeyIdentifier is never read (OpenSSL writes these fields on request)",
    ),
    (
        "webpki::aki::root-with-aki-authoritycertserialnumber",
        "an anchor's own authorityKeyIdentifier is never read",
    ),
    (
        "webpki::aki::root-with-aki-all-fields",
        "an anchor's own authorityKeyIdentifier is never read",
    ),
    (
        "webpki::aki::root-with-aki-ski-mismatch",
        "an anchor's own authorityKeyIdentifier is never read",
    ),
    (
        "rfc5280::nc::permitted-dns-match-noncritical",
        "the constraints are enforced marked critical or not (OpenSSL's nameConstraints= writes them non-critical unless told)",
    ),
    (
        "rfc5280::root-non-critical-basic-constraints",
        "cA=TRUE is read and required either way; hand-written OpenSSL extension files often omit critical",
    ),
    (
        "rfc5280::pc::ica-noncritical-pc",
        "certificate policies are not processed; a non-critical extension that is not processed is ignored (a critical one is refused)",
    ),
    (
        "webpki::eku::ee-without-eku",
        "no EKU means any usage (RFC 5280); openssl ca's default usr_cert issues such leaves",
    ),
    (
        "webpki::eku::ee-critical-eku",
        "RFC 5280 lets the issuer mark EKU critical, which is stricter, not looser (CABF-only rule)",
    ),
    (
        "webpki::eku::root-has-eku",
        "an anchor's EKU is held to the client-auth rule (it includes clientAuth here), not forbidden (CABF-only rule)",
    ),
    (
        "webpki::san::san-critical-with-nonempty-subject",
        "a critical subjectAltName is processed, so its criticality changes nothing (CABF-only rule)",
    ),
    (
        "webpki::forbidden-rsa-not-divisible-by-8-in-root",
        "a 2052-bit RSA key is strong; the key rule is about strength (CABF-only rule)",
    ),
    (
        "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf",
        "a 2052-bit RSA key is strong; the leaf key rule is RSA >= 2048 bits (CABF-only rule)",
    ),
];

/// What pyca/cryptography and rustls-webpki answered, beside whom the summary puts us.
const ANCHORS: [(&str, &str); 2] = [
    (
        "pyca/cryptography",
        include_str!("data/x509-limbo/anchor-pyca.json"),
    ),
    (
        "rustls-webpki",
        include_str!("data/x509-limbo/anchor-rustls-webpki.json"),
    ),
];

#[derive(Deserialize)]
struct Suite {
    testcases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
struct Case {
    id: String,
    features: Vec<String>,
    validation_kind: String,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    validation_time: Option<String>,
    expected_result: String,
    expected_peer_name: Option<PeerName>,
    expected_peer_names: Vec<PeerName>,
    max_chain_depth: Option<u32>,
    crls: Vec<String>,
}

#[derive(Deserialize, Clone)]
struct PeerName {
    kind: String,
    value: String,
}

/// What the handler did with a case's peer certificate.
enum Outcome {
    Admitted {
        rule: String,
    },
    Refused {
        code: &'static str,
        reason: String,
    },
    /// `Config::load` refused the deployment: nobody is admitted.
    DidNotStart {
        errors: String,
    },
}

impl Outcome {
    fn admitted(&self) -> bool {
        matches!(self, Self::Admitted { .. })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Admitted { rule } => write!(f, "admitted by {rule}"),
            Self::Refused { code, reason } => write!(f, "refused {code}: {reason}"),
            Self::DidNotStart { errors } => write!(f, "did not start: {errors}"),
        }
    }
}

/// Why a case does not apply to a client-certificate handler, or `None` when it does.
fn not_applicable(case: &Case, original: &Case) -> Option<&'static str> {
    let names = case
        .expected_peer_name
        .iter()
        .chain(&case.expected_peer_names);
    if names.clone().any(|name| name.kind == "IP") {
        return Some("an IP peer name: the allowlist has no IP rule");
    }
    // A depth of 255 limits nothing a real path reaches; a smaller one is a setting we lack.
    if case.max_chain_depth.is_some_and(|depth| depth < 255) {
        return Some("a maximum chain depth: there is no such setting");
    }
    if case.id.starts_with("webpki::cn::")
        || case.id == "webpki::san::leftmost-wildcard-san"
        || case.id == "webpki::nc::nc-permits-dns-san-pattern"
    {
        return Some("server-identity semantics (CN fallback, wildcard matching)");
    }
    if case.validation_kind == "SERVER" && case.peer_certificate == original.peer_certificate {
        return Some("a pre-made asset: the swapped compile cannot turn it into a client case");
    }
    None
}

fn load(text: &str) -> Vec<Case> {
    serde_json::from_str::<Suite>(text)
        .expect("the vendored suite is valid JSON")
        .testcases
}

/// The applicable cases: CLIENT ones from the suite, SERVER ones from the swapped compile.
fn applicable_cases() -> Vec<Case> {
    let original = load(include_str!("data/x509-limbo/limbo.json"));
    let swapped: HashMap<String, Case> = load(include_str!("data/x509-limbo/limbo-swapped.json"))
        .into_iter()
        .map(|case| (case.id.clone(), case))
        .collect();
    original
        .into_iter()
        .filter_map(|case| {
            let chosen = if case.validation_kind == "SERVER" {
                swapped.get(&case.id)?.clone()
            } else {
                case.clone()
            };
            not_applicable(&chosen, &case).is_none().then_some(chosen)
        })
        .collect()
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .expect("suite PEM is base64")
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

fn validation_time(case: &Case) -> UnixTime {
    let Some(text) = &case.validation_time else {
        return UnixTime::now();
    };
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("suite times are RFC 3339");
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(at.unix_timestamp()).expect("suite times are after 1970"),
    ))
}

/// The settings a case maps onto, with its files written under `dir`.
fn settings(case: &Case, dir: &Path) -> HashMap<String, String> {
    let write = |name: &str, items: &[String]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, items.concat()).expect("the case folder is writable");
        path.display().to_string()
    };
    let mut env = HashMap::new();
    env.insert(
        "CLIENT_CERT_TRUSTED_CA_PATHS".to_owned(),
        write("trusted.pem", &case.trusted_certs),
    );
    if !case.untrusted_intermediates.is_empty() {
        env.insert(
            "CLIENT_CERT_INTERMEDIATE_CA_PATHS".to_owned(),
            write("intermediates.pem", &case.untrusted_intermediates),
        );
    }
    if !case.crls.is_empty() {
        env.insert(
            "CLIENT_CERT_CRL_PATHS".to_owned(),
            write("crls.pem", &case.crls),
        );
    }
    let names: Vec<&PeerName> = case
        .expected_peer_name
        .iter()
        .chain(&case.expected_peer_names)
        .collect();
    let listed = |kind: &str| -> String {
        names
            .iter()
            .filter(|name| name.kind == kind)
            .map(|name| name.value.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    env.insert("ALLOWED_CLIENT_CERT_DNS_NAMES".to_owned(), listed("DNS"));
    env.insert("ALLOWED_CLIENT_CERT_EMAILS".to_owned(), listed("RFC822"));
    if names.is_empty() {
        let rules: Vec<serde_json::Value> = case
            .trusted_certs
            .iter()
            .chain(&case.untrusted_intermediates)
            .enumerate()
            .map(|(index, pem)| {
                serde_json::json!({
                    "name": format!("issued-by-ca-{index}"),
                    "issuer_thumbprint": hex_upper(&Sha256::digest(pem_to_der(pem))),
                })
            })
            .collect();
        let policy = serde_json::json!({ "rules": rules }).to_string();
        env.insert(
            "CLIENT_CERT_POLICY_PATH".to_owned(),
            write("policy.json", &[policy]),
        );
    }
    env
}

/// Runs one case in `dir`: loads the configuration, builds the authenticator, decides.
fn run(case: &Case, dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir).expect("temp dir is writable");
    let env = settings(case, dir);
    let config = match Config::load(&env) {
        Ok(config) => config,
        Err(error) => {
            return Outcome::DidNotStart {
                errors: error.to_string(),
            };
        }
    };
    let authenticator = Authenticator::new(&config.inbound);
    let header =
        base64::engine::general_purpose::STANDARD.encode(pem_to_der(&case.peer_certificate));
    match authenticator.authorize(&[header.as_bytes()], validation_time(case)) {
        Ok(authorized) => Outcome::Admitted {
            rule: authorized.matched_rule,
        },
        Err(denied) => Outcome::Refused {
            code: denied.code(),
            reason: denied.to_string(),
        },
    }
}

/// Runs `case` on a thread of its own, waiting at most [`CASE_BOUND`]: `None` is a hang.
fn run_bounded(case: &Case, dir: PathBuf) -> Option<Outcome> {
    let (sender, receiver) = mpsc::channel();
    let owned = case.clone();
    std::thread::spawn(move || {
        // The receiver may have given up (a hang); then there is no one to tell.
        let _ = sender.send(run(&owned, &dir));
    });
    receiver.recv_timeout(CASE_BOUND).ok()
}

/// The suite's classes of cases that hold validators to more than RFC 5280 asks.
fn is_pedantic(feature: &str) -> bool {
    feature.starts_with("pedantic-") || feature == "rfc5280-incompatible-with-webpki"
}

/// How many of `cases` an anchor validator's answers agree with the expected result on.
fn anchor_agreement(anchor: &str, cases: &[Case]) -> usize {
    let answers: BTreeMap<String, String> =
        serde_json::from_str(anchor).expect("anchor files are JSON objects");
    cases
        .iter()
        .filter(|case| answers.get(&case.id) == Some(&case.expected_result))
        .count()
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtls-limbo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// What a run of the suite came to.
#[derive(Default)]
struct Tally {
    agree: usize,
    /// Cases the suite expects refused that were admitted, and how many of them lie outside
    /// the suite's pedantic classes.
    admitted: usize,
    admitted_outside_pedantic: usize,
    problems: Vec<String>,
    slowest: (Duration, String),
}

impl Tally {
    /// Counts one case's `outcome` and notes any problem with it.
    fn count(&mut self, case: &Case, outcome: &Outcome, elapsed: Duration) {
        if elapsed > self.slowest.0 {
            self.slowest = (elapsed, case.id.clone());
        }
        let agrees = outcome.admitted() == (case.expected_result == "SUCCESS");
        if agrees {
            self.agree += 1;
        } else if outcome.admitted() {
            self.admitted += 1;
            if !case.features.iter().any(|feature| is_pedantic(feature)) {
                self.admitted_outside_pedantic += 1;
            }
        }
        let listed = EXPECTED_DEVIATIONS.iter().any(|(id, _)| *id == case.id);
        match (agrees, listed) {
            (true, true) => self.problems.push(format!(
                "{}: listed as a deviation but now agrees ({}): remove it from the list",
                case.id, case.expected_result
            )),
            (false, false) => self.problems.push(format!(
                "{}: expected {}, {outcome} (features {:?})",
                case.id, case.expected_result, case.features
            )),
            _ => {}
        }
    }

    /// Notes entries of [`EXPECTED_DEVIATIONS`] that name no applicable case, or one twice.
    fn check_the_list(&mut self, cases: &[Case]) {
        for (index, (id, _)) in EXPECTED_DEVIATIONS.iter().enumerate() {
            if !cases.iter().any(|case| case.id == *id) {
                self.problems.push(format!(
                    "{id}: listed as a deviation but not an applicable case"
                ));
            }
            if EXPECTED_DEVIATIONS[..index]
                .iter()
                .any(|(other, _)| other == id)
            {
                self.problems
                    .push(format!("{id}: listed twice as a deviation"));
            }
        }
    }
}

#[test]
fn x509_limbo_cases_agree_with_the_suite_or_are_documented_deviations() {
    let cases = applicable_cases();
    let root = scratch();
    let mut tally = Tally::default();
    // `X509_LIMBO_TRACE=1 cargo test --test limbo` prints every case's outcome.
    let trace = std::env::var_os("X509_LIMBO_TRACE").is_some();
    for (index, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let Some(outcome) = run_bounded(case, root.join(index.to_string())) else {
            tally
                .problems
                .push(format!("{}: no answer within {CASE_BOUND:?}", case.id));
            continue;
        };
        if trace {
            let _ = writeln!(
                std::io::stdout(),
                "{} expected {}: {outcome}",
                case.id,
                case.expected_result
            );
        }
        tally.count(case, &outcome, started.elapsed());
    }
    let _ = std::fs::remove_dir_all(&root);
    tally.check_the_list(&cases);
    let anchors: Vec<String> = ANCHORS
        .iter()
        .map(|(name, answers)| format!("{name} {}", anchor_agreement(answers, &cases)))
        .collect();
    // Straight to stdout, past the test harness's capture: the figure belongs in every run.
    let _ = writeln!(
        std::io::stdout(),
        "x509-limbo: {}/{} agree ({}, same cases); {} admitted that the suite refuses ({} outside its pedantic classes), {} documented deviations; slowest case {:?} ({})",
        tally.agree,
        cases.len(),
        anchors.join(", "),
        tally.admitted,
        tally.admitted_outside_pedantic,
        EXPECTED_DEVIATIONS.len(),
        tally.slowest.0,
        tally.slowest.1,
    );
    assert!(
        tally.problems.is_empty(),
        "{} problem(s):\n{}",
        tally.problems.len(),
        tally.problems.join("\n")
    );
}
