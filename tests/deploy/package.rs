//! `scripts/package.sh --target gnu` builds the release handler and stages exactly the app:
//! host.json, every function folder found on disk (each top-level folder with a function.json),
//! `handler` with mode 0755 and the trust folder, in `dist/functionapp/` and in
//! `dist/functionapp.zip` with the bit kept, plus a versioned copy for rolling back. The staged
//! handler then starts from the staged folder as the host would start it and answers
//! `/api/health`, with its trust settings pointing into the package by relative paths.
//!
//! The zip is read with `unzip -Z` (zipinfo), which `.ci/run` installs with `zip`.

use crate::temp::TempDir;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs of package.sh that stage `dist/` take turns (the checks that fail early do not).
static DIST: Mutex<()> = Mutex::new(());

/// The settings package.sh checks against the package; cleared so that the caller's shell
/// cannot change what a test sees.
const PATH_SETTINGS: [&str; 5] = [
    "CLIENT_CERT_TRUSTED_CA_PATHS",
    "CLIENT_CERT_INTERMEDIATE_CA_PATHS",
    "CLIENT_CERT_CRL_PATHS",
    "CLIENT_CERT_POLICY_PATH",
    "OUTBOUND_TRUSTED_CA_PATHS",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What the package must hold: host.json, `handler`, the function.json of every top-level folder
/// that has one (found on disk, as package.sh finds them), and the repository's trust folder.
fn expected_files() -> BTreeSet<String> {
    let mut expected: BTreeSet<String> = ["host.json", "handler"].map(str::to_owned).into();
    for entry in std::fs::read_dir(root()).expect("read the repository root") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if path.join("function.json").is_file() && !name.starts_with('.') {
            expected.insert(format!("{name}/function.json"));
        }
    }
    if root().join("trust").is_dir() {
        for file in files_under(&root().join("trust")) {
            expected.insert(format!("trust/{file}"));
        }
    }
    expected
}

/// Variables cargo sets for a test process, as opposed to the user's cargo configuration.
fn is_set_by_cargo_test(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_",
        "CARGO_TARGET_TMPDIR",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
        || name == "CARGO"
}

/// Every file under `dir`, as `/`-separated paths relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("read staged folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                found.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found
}

/// `unzip -Z` lines: `-rwxr-xr-x  3.0 unx  9437184 bx defN 26-Nov-29 21:00 handler`.
fn zip_entries(zip: &Path) -> Vec<(String, String)> {
    let output = Command::new("unzip")
        .arg("-Z")
        .arg(zip)
        .output()
        .expect("run unzip -Z (install unzip)");
    assert!(output.status.success(), "unzip -Z failed: {output:?}");
    String::from_utf8(output.stdout)
        .expect("UTF-8 listing")
        .lines()
        .filter(|line| line.starts_with('-') || line.starts_with('d'))
        .map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            let mode = columns.first().copied().unwrap_or_default().to_owned();
            let name = columns.last().copied().unwrap_or_default().to_owned();
            (mode, name)
        })
        .collect()
}

/// The files of the zip (not its folders).
fn zipped_files(entries: &[(String, String)]) -> BTreeSet<String> {
    entries
        .iter()
        .filter(|(mode, _)| mode.starts_with('-'))
        .map(|(_, name)| name.clone())
        .collect()
}

#[test]
fn the_gnu_package_holds_exactly_the_app_with_an_executable_handler() {
    let _dist = DIST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let releases = TempDir::new("releases");
    let expected = expected_files();
    assert!(
        expected
            .iter()
            .filter(|f| f.ends_with("/function.json"))
            .count()
            >= 3,
        "health, cert-info and outbound-mtls at least: {expected:?}"
    );

    // Act: build and stage, as the azd prepackage hook does (gnu: the quick local build).
    let status = package_sh(&["--target", "gnu"])
        .env("MTLS_RELEASES_DIR", &releases.0)
        .status()
        .expect("run scripts/package.sh");
    assert!(status.success(), "scripts/package.sh --target gnu failed");

    // Assert: the staged folder.
    let staged = root().join("dist/functionapp");
    assert_eq!(
        files_under(&staged),
        expected,
        "nothing but host.json, the function folders, handler and trust/ (no sources, no settings, no keys)"
    );
    let mode = std::fs::metadata(staged.join("handler"))
        .expect("handler")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "handler is 0755 in dist/functionapp");
    assert_eq!(
        std::fs::read(staged.join("host.json")).expect("staged host.json"),
        std::fs::read(root().join("host.json")).expect("host.json"),
        "host.json is copied as it is"
    );

    // Assert: the zip.
    let zip = root().join("dist/functionapp.zip");
    let entries = zip_entries(&zip);
    assert_eq!(
        zipped_files(&entries),
        expected,
        "the zip holds the same files"
    );
    let handler_mode = entries
        .iter()
        .find(|(_, name)| name == "handler")
        .map(|(mode, _)| mode.as_str());
    assert_eq!(
        handler_mode,
        Some("-rwxr-xr-x"),
        "the zip keeps handler's executable bit (Flex and Linux plans run it as unpacked)"
    );
    for (mode, name) in entries.iter().filter(|(mode, _)| mode.starts_with('-')) {
        if name != "handler" {
            assert_eq!(mode, "-rw-r--r--", "{name} is not executable");
        }
    }

    // Assert: a versioned copy of exactly that zip, named to sort by time.
    let kept: Vec<String> = files_under(&releases.0).into_iter().collect();
    assert_eq!(kept.len(), 1, "one release per package: {kept:?}");
    assert!(
        kept[0].starts_with("functionapp-") && kept[0].ends_with(".zip"),
        "{kept:?}"
    );
    assert!(
        kept[0][12..].starts_with("20") && kept[0].contains(env!("CARGO_PKG_VERSION")),
        "functionapp-<UTC time>-<version>...: {kept:?}"
    );
    assert_eq!(
        std::fs::read(releases.0.join(&kept[0])).expect("the release"),
        std::fs::read(&zip).expect("the zip"),
        "the release is the package, byte for byte"
    );

    // Assert: the staged handler, started in the staged folder as the host starts it, answers.
    let response = get_health_from(&staged, &[]);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");

    // Act again (same build, so quick): a client CA shipped in the package.
    let ca_folder = TempDir::new("client-ca");
    let ca = rcgen::generate_simple_self_signed(vec!["Test Client CA".to_owned()]).expect("CA");
    let ca_path = ca_folder.write("ca.pem", ca.cert.pem().as_bytes());
    let ca_arg = ca_path.to_string_lossy().into_owned();
    let status = package_sh(&["--target", "gnu", "--client-ca", &ca_arg])
        .env("MTLS_RELEASES_DIR", &releases.0)
        .status()
        .expect("run scripts/package.sh");
    assert!(status.success(), "scripts/package.sh --client-ca failed");
    let mut with_ca = expected.clone();
    with_ca.insert("trust/client-ca.pem".to_owned());
    assert_eq!(files_under(&staged), with_ca, "the CA is the one addition");
    let entries = zip_entries(&zip);
    let ca_entry = entries
        .iter()
        .find(|(_, name)| name == "trust/client-ca.pem")
        .map(|(mode, _)| mode.as_str());
    assert_eq!(
        ca_entry,
        Some("-rw-r--r--"),
        "the CA is zipped, not executable"
    );
    // Leave dist/ as a plain package, not one with this test's CA in it.
    let status = package_sh(&["--target", "gnu"])
        .env("MTLS_RELEASES_DIR", &releases.0)
        .env("MTLS_RELEASES_KEEP", "2")
        .status()
        .expect("run scripts/package.sh");
    assert!(status.success(), "scripts/package.sh --target gnu failed");
    assert_eq!(files_under(&staged), expected, "the plain package again");
    let kept = files_under(&releases.0);
    assert!(
        kept.len() <= 2,
        "MTLS_RELEASES_KEEP=2 keeps the newest two: {kept:?}"
    );
    let newest = kept.iter().next_back().expect("a release");
    assert_eq!(
        std::fs::read(releases.0.join(newest)).expect("the release"),
        std::fs::read(&zip).expect("the zip"),
        "the newest release is the package just built"
    );
}

#[test]
fn a_trust_folder_is_packaged_and_the_handler_finds_it_by_relative_paths() {
    // Arrange: a partner PKI (a CA and an intermediate) and a policy-free CN rule.
    let _dist = DIST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let releases = TempDir::new("trust-releases");
    let trust = TempDir::new("trust");
    let (root_ca, issuing_ca) = partner_cas();
    trust.write("partner-ca.pem", root_ca.as_bytes());
    trust.write("intermediates/partner-issuing.pem", issuing_ca.as_bytes());
    let settings = [
        ("CLIENT_CERT_TRUSTED_CA_PATHS", "trust/partner-ca.pem"),
        (
            "CLIENT_CERT_INTERMEDIATE_CA_PATHS",
            " trust/intermediates/partner-issuing.pem ",
        ),
        (
            "ALLOWED_CLIENT_CERT_COMMON_NAMES",
            "partner-gateway.example",
        ),
    ];

    // Act: package with the folder and the settings in the environment, as the azd hook runs.
    let mut command = package_sh(&["--target", "gnu", "--trust", &trust.arg()]);
    command.env("MTLS_RELEASES_DIR", &releases.0);
    for (name, value) in settings {
        command.env(name, value);
    }
    let status = command.status().expect("run scripts/package.sh");

    // Assert: shipped under trust/, and the handler starts from the staged folder with them.
    assert!(status.success(), "scripts/package.sh --trust failed");
    let staged = root().join("dist/functionapp");
    let files = files_under(&staged);
    assert!(files.contains("trust/partner-ca.pem"), "{files:?}");
    assert!(
        files.contains("trust/intermediates/partner-issuing.pem"),
        "{files:?}"
    );
    let response = get_health_from(&staged, &settings);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the relative paths resolve against the app root, the handler's working directory: {response}"
    );

    // Leave dist/ as a plain package.
    let status = package_sh(&["--target", "gnu"])
        .env("MTLS_RELEASES_DIR", &releases.0)
        .status()
        .expect("run scripts/package.sh");
    assert!(status.success());
}

#[test]
fn a_path_setting_naming_a_file_the_package_lacks_fails_packaging() {
    // Without this check the app would be deployed and then refuse to start (the CA is fatal).
    let trust = TempDir::new("missing");
    trust.write("other-ca.pem", b"-----BEGIN CERTIFICATE-----\n");
    let output = package_sh(&["--target", "gnu", "--trust", &trust.arg()])
        .env("CLIENT_CERT_TRUSTED_CA_PATHS", "trust/partner-ca.pem")
        .output()
        .expect("run scripts/package.sh");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CLIENT_CERT_TRUSTED_CA_PATHS names trust/partner-ca.pem, which would not be in the package"),
        "names the setting, the file and the fix: {stderr}"
    );
    let output = package_sh(&["--target", "gnu"])
        .env("CLIENT_CERT_POLICY_PATH", "policy.json")
        .output()
        .expect("run scripts/package.sh");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("only the trust folder is packaged, so a relative path starts with trust/"),
        "{stderr}"
    );
}

#[test]
fn package_sh_refuses_a_private_key_in_the_trust_folder() {
    let key = rcgen::KeyPair::generate().expect("key");
    for (name, contents) in [
        ("partner.pem", key.serialize_pem().into_bytes()),
        ("partner.p12", vec![0x30, 0x82]),
    ] {
        let trust = TempDir::new(&format!("key-{name}"));
        trust.write(name, &contents);
        let output = package_sh(&["--target", "gnu", "--trust", &trust.arg()])
            .output()
            .expect("run scripts/package.sh");
        assert!(!output.status.success(), "{name} is refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("private key") && stderr.contains(name),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn package_sh_refuses_a_client_ca_that_is_not_a_pem_certificate() {
    let folder = TempDir::new("not-pem");
    let not_pem = folder.write("ca.der", &[0x30_u8, 0x82, 0x01]);
    let output = package_sh(&["--target", "gnu", "--client-ca", &not_pem.to_string_lossy()])
        .output()
        .expect("run scripts/package.sh");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a PEM certificate file"),
        "names the flag and the problem: {stderr}"
    );
}

#[test]
fn package_sh_refuses_an_unknown_target_with_a_clear_message() {
    let output = package_sh(&["--target", "windows"])
        .output()
        .expect("run scripts/package.sh");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--target must be musl or gnu"),
        "names the setting and the choices: {stderr}"
    );
}

#[test]
fn package_sh_help_is_the_header_and_nothing_else() {
    let output = package_sh(&["--help"])
        .output()
        .expect("run scripts/package.sh");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.starts_with("Builds the release handler"), "{help}");
    assert!(help.contains("Usage: scripts/package.sh"), "{help}");
    assert!(!help.contains("set -eu"), "no script lines: {help}");
}

/// A partner's root CA and an issuing CA under it, as PEM.
fn partner_cas() -> (String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let params = |cn: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
    };
    let root =
        CertifiedIssuer::self_signed(params("Partner Root CA"), KeyPair::generate().expect("key"))
            .expect("root CA");
    let issuing = CertifiedIssuer::signed_by(
        params("Partner Issuing CA"),
        KeyPair::generate().expect("key"),
        &*root,
    )
    .expect("issuing CA");
    (root.pem(), issuing.pem())
}

/// `scripts/package.sh` with `args`, run from the repository root.
fn package_sh(args: &[&str]) -> Command {
    let mut command = Command::new(root().join("scripts/package.sh"));
    command.args(args).current_dir(root());
    // The variables cargo sets for this test process would reach the inner cargo, and build
    // scripts that watch them (rerun-if-env-changed) would rebuild the whole release tree.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if is_set_by_cargo_test(&name) {
            command.env_remove(name.as_ref());
        }
    }
    for name in
        PATH_SETTINGS
            .iter()
            .chain(&["MTLS_TRUST_DIR", "MTLS_RELEASES_KEEP", "REMOTE_API_URL"])
    {
        command.env_remove(name);
    }
    command
}

/// Starts `<staged>/handler` with the host's port variable, the staged folder as app root and
/// working directory, and `settings`, and returns its raw answer to `GET /api/health`.
fn get_health_from(staged: &Path, settings: &[(&str, &str)]) -> String {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut child = Command::new(staged.join("handler"))
        .current_dir(staged)
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_APP_ROOT_PATH", staged)
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the staged handler");
    let mut response = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while response.is_empty() && Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                pipe.read_to_string(&mut stderr).ok();
            }
            return format!("the handler exited: {stderr}");
        }
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut stream) => {
                let request =
                    b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
                stream.write_all(request).expect("write");
                stream.read_to_string(&mut response).expect("read");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
    child.kill().ok();
    child.wait().ok();
    response
}
