//! `scripts/package.sh --target gnu` builds the release handler and stages exactly the app:
//! host.json, the function folders and `handler` with mode 0755, in `dist/functionapp/` and in
//! `dist/functionapp.zip` with the bit kept. The staged handler then starts from the staged
//! folder as the host would start it and answers `/api/health`.
//!
//! The zip is read with `unzip -Z` (zipinfo), which `.ci/run` installs with `zip`.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXPECTED_FILES: [&str; 5] = [
    "cert-info/function.json",
    "handler",
    "health/function.json",
    "host.json",
    "outbound-mtls/function.json",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

#[test]
fn the_gnu_package_holds_exactly_the_app_with_an_executable_handler() {
    // Act: build and stage, as the azd prepackage hook does (gnu: the quick local build).
    let status = package_sh(&["--target", "gnu"])
        .status()
        .expect("run scripts/package.sh");
    assert!(status.success(), "scripts/package.sh --target gnu failed");

    // Assert: the staged folder.
    let staged = root().join("dist/functionapp");
    let expected: BTreeSet<String> = EXPECTED_FILES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        files_under(&staged),
        expected,
        "nothing but host.json, the function folders and handler (no sources, no settings, no keys)"
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
    let entries = zip_entries(&root().join("dist/functionapp.zip"));
    let zipped_files: BTreeSet<String> = entries
        .iter()
        .filter(|(mode, _)| mode.starts_with('-'))
        .map(|(_, name)| name.clone())
        .collect();
    assert_eq!(zipped_files, expected, "the zip holds the same files");
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

    // Assert: the staged handler, started in the staged folder as the host starts it, answers.
    let response = get_health_from(&staged);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");

    // Act again (same build, so quick): a client CA shipped in the package.
    let ca = rcgen::generate_simple_self_signed(vec!["Test Client CA".to_owned()]).expect("CA");
    let ca_path = std::env::temp_dir().join(format!("mtls-package-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_path, ca.cert.pem()).expect("write CA");
    let ca_arg = ca_path.to_string_lossy().into_owned();
    let status = package_sh(&["--target", "gnu", "--client-ca", &ca_arg])
        .status()
        .expect("run scripts/package.sh");
    std::fs::remove_file(&ca_path).ok();
    assert!(status.success(), "scripts/package.sh --client-ca failed");
    let mut with_ca = expected.clone();
    with_ca.insert("trust/client-ca.pem".to_owned());
    assert_eq!(files_under(&staged), with_ca, "the CA is the one addition");
    let entries = zip_entries(&root().join("dist/functionapp.zip"));
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
        .status()
        .expect("run scripts/package.sh");
    assert!(status.success(), "scripts/package.sh --target gnu failed");
    assert_eq!(files_under(&staged), expected, "the plain package again");
}

#[test]
fn package_sh_refuses_a_client_ca_that_is_not_a_pem_certificate() {
    let not_pem = std::env::temp_dir().join(format!("mtls-not-pem-{}.der", std::process::id()));
    std::fs::write(&not_pem, [0x30_u8, 0x82, 0x01]).expect("write");
    let output = package_sh(&["--target", "gnu", "--client-ca", &not_pem.to_string_lossy()])
        .output()
        .expect("run scripts/package.sh");
    std::fs::remove_file(&not_pem).ok();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a PEM certificate file"),
        "names the flag and the problem: {stderr}"
    );
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
    command
}

/// Starts `<staged>/handler` with the host's port variable and the staged folder as app root,
/// and returns its raw answer to `GET /api/health`.
fn get_health_from(staged: &Path) -> String {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut child = Command::new(staged.join("handler"))
        .current_dir(staged)
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_APP_ROOT_PATH", staged)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the staged handler");
    let mut response = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while response.is_empty() && Instant::now() < deadline {
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
