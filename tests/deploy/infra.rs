//! `infra/` and `azure.yaml` say what the platform must do for the handler to be safe: HTTPS
//! only, TLS 1.2 or later, FTPS off, client certificates `Required` with no exclusion path by
//! default, storage without shared keys, monitoring without local auth, a managed identity, and
//! the custom runtime. The text is read as written (comments removed); Bicep cannot be compiled
//! here.

use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

/// The lines of a Bicep file without `//` comments (no `//` appears inside our strings
/// except in URLs, which this keeps).
fn code(path: &str) -> Vec<String> {
    read(path)
        .lines()
        .map(|line| {
            let without_comment = match line.find("//") {
                Some(at) if !line[..at].ends_with(':') && !line[..at].ends_with("https:") => {
                    &line[..at]
                }
                _ => line,
            };
            without_comment.trim().to_owned()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

/// Every value assigned to `key` (`key: value`) in the file.
fn values(lines: &[String], key: &str) -> Vec<String> {
    let prefix = format!("{key}:");
    lines
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().to_owned())
        .collect()
}

/// `key` is set at least once, and always to `expected`.
fn assert_always(path: &str, key: &str, expected: &str, why: &str) {
    let found = values(&code(path), key);
    assert!(!found.is_empty(), "{path}: {key} is not set ({why})");
    for value in &found {
        assert_eq!(value, expected, "{path}: {key} ({why})");
    }
}

const FUNCTION: &str = "infra/app/function.bicep";
const STORAGE: &str = "infra/app/storage.bicep";
const MONITORING: &str = "infra/app/monitoring.bicep";
const MAIN: &str = "infra/main.bicep";

#[test]
fn the_site_is_https_only_with_tls_1_2_or_later_and_no_ftp() {
    assert_always(
        FUNCTION,
        "httpsOnly",
        "true",
        "plain HTTP never carries a certificate",
    );
    for key in ["minTlsVersion", "scmMinTlsVersion"] {
        let found = values(&code(FUNCTION), key);
        assert!(!found.is_empty(), "{key} is set");
        for value in found {
            assert!(
                ["'1.2'", "'1.3'"].contains(&value.as_str()),
                "{key} must be 1.2 or later, is {value}"
            );
        }
    }
    assert_always(FUNCTION, "ftpsState", "'Disabled'", "no FTP or FTPS");
    let lines = code(FUNCTION);
    let basic_auth = lines
        .iter()
        .filter(|line| line.contains("'basicPublishingCredentialsPolicies'"))
        .count();
    assert_eq!(basic_auth, 2, "ftp and scm basic-auth publishing policies");
    let disallowed = lines
        .iter()
        .filter(|line| *line == "properties: { allow: false }")
        .count();
    assert_eq!(disallowed, 2, "both basic-auth policies are off");
}

#[test]
fn client_certificates_are_required_with_no_exclusion_path_by_default() {
    assert_always(
        FUNCTION,
        "clientCertEnabled",
        "true",
        "the front end asks for a certificate",
    );
    assert_always(
        FUNCTION,
        "clientCertMode",
        "'Required'",
        "X-ARR-ClientCert is trustworthy only where the handshake required a certificate",
    );
    assert_always(
        FUNCTION,
        "clientCertExclusionPaths",
        "clientCertExclusionPaths",
        "the site takes the exclusion from the variable below, nothing else",
    );
    let lines = code(FUNCTION);
    let assignment: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("var clientCertExclusionPaths ="))
        .collect();
    assert_eq!(
        assignment,
        [
            "var clientCertExclusionPaths = healthClientCertificate == 'Excluded' ? '/api/health' : null"
        ],
        "only /api/health, and only when asked for"
    );
    for path in [MAIN, FUNCTION] {
        let lines = code(path);
        assert!(
            lines.contains(&"param healthClientCertificate string = 'Required'".to_owned()),
            "{path}: the default keeps /api/health behind a certificate too"
        );
    }
    let parameters = read("infra/main.parameters.json");
    assert!(
        parameters.contains("${MTLS_HEALTH_CLIENT_CERTIFICATE=Required}"),
        "azd's default is Required as well"
    );
}

#[test]
fn the_app_runs_as_a_user_assigned_identity_on_the_custom_runtime() {
    let lines = code(FUNCTION);
    assert!(
        lines.contains(&"type: 'UserAssigned'".to_owned()),
        "the site runs as the user-assigned managed identity"
    );
    assert!(
        !lines.iter().any(|line| line.contains("SystemAssigned")),
        "no system-assigned identity"
    );
    assert!(
        lines.contains(&"name: 'custom'".to_owned())
            && lines.contains(&"version: '1.0'".to_owned()),
        "functionAppConfig.runtime is {{ name: 'custom', version: '1.0' }}"
    );
    assert!(
        lines.contains(&"var flexSku = { name: 'FC1', tier: 'FlexConsumption' }".to_owned()),
        "Flex Consumption FC1"
    );
    assert!(
        lines.contains(&"type: 'blobContainer'".to_owned())
            && lines.contains(&"type: 'UserAssignedIdentity'".to_owned()),
        "the package in a blob container, read with the identity"
    );
    assert!(
        code(MAIN).contains(&"param hostingPlan string = 'FlexConsumption'".to_owned()),
        "Flex by default, EP1 on request"
    );
    assert!(
        lines.contains(&"AzureWebJobsStorage__credential: 'managedidentity'".to_owned()),
        "the host reaches storage with the identity, not a key"
    );
    let joined = lines.join("\n");
    assert!(
        !joined.contains("AccountKey") && !joined.contains("listKeys("),
        "no storage key anywhere"
    );
}

#[test]
fn storage_refuses_shared_keys_and_monitoring_refuses_local_auth() {
    assert_always(
        STORAGE,
        "allowSharedKeyAccess",
        "false",
        "role assignments instead",
    );
    assert_always(
        STORAGE,
        "allowBlobPublicAccess",
        "false",
        "no anonymous blobs",
    );
    assert_always(STORAGE, "minimumTlsVersion", "'TLS1_2'", "TLS 1.2");
    assert_always(STORAGE, "supportsHttpsTrafficOnly", "true", "HTTPS only");
    assert_always(
        MONITORING,
        "DisableLocalAuth",
        "true",
        "Application Insights: Entra only",
    );
    assert_always(
        MONITORING,
        "features",
        "{ disableLocalAuth: true }",
        "Log Analytics: Entra only",
    );
    assert!(
        code(FUNCTION)
            .contains(&"APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'".to_owned()),
        "the app sends telemetry with its identity"
    );
}

#[test]
fn every_checkov_skip_carries_a_reason() {
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/app"))
        .expect("infra/app")
        .map(|entry| entry.expect("entry").path())
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join(MAIN)])
    {
        let text = std::fs::read_to_string(&entry).expect("read");
        for line in text.lines().filter(|line| line.contains("checkov:skip=")) {
            let rest = line.split("checkov:skip=").nth(1).unwrap_or_default();
            let (check, reason) = rest.split_once(':').unwrap_or((rest, ""));
            assert!(
                check.starts_with("CKV"),
                "{}: a skip names its check: {line}",
                entry.display()
            );
            assert!(
                reason.split_whitespace().count() >= 5,
                "{}: {check} is skipped without a reason",
                entry.display()
            );
        }
    }
}

#[test]
fn azure_yaml_deploys_what_package_sh_stages() {
    let yaml = read("azure.yaml");
    for (needle, why) in [
        ("host: function", "a Functions service"),
        ("language: custom", "the custom handler language"),
        ("dist: dist/functionapp", "azd packages the staged folder"),
        ("prepackage:", "built before azd packages"),
        ("run: ./scripts/package.sh", "by scripts/package.sh"),
    ] {
        assert!(yaml.contains(needle), "azure.yaml: {why} ({needle})");
    }
    let main = code(MAIN);
    for output in [
        "output AZURE_FUNCTION_APP_NAME string",
        "output AZURE_FUNCTION_APP_URL string",
        "output FUNCTION_KEY_COMMAND string",
    ] {
        assert!(
            main.iter().any(|line| line.starts_with(output)),
            "main.bicep: {output}"
        );
    }
}
