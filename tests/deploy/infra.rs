//! `infra/`, `azure.yaml` and `host.json` say what the platform must do for the handler to be safe
//! and to start: HTTPS only, TLS 1.2 or later, HTTP/1.1, client certificates `Required` with no
//! exclusion path by default, storage without shared keys, monitoring without local auth, a
//! managed identity that can read its own site (the posture check), and the platform rules the
//! type definitions cannot express (no `ftpsState` on Flex, the principal type from azd, the
//! outbound identity through a Key Vault reference on Flex, no `REMOTE_API_URL` without an
//! identity). The text is read as written (comments removed); Bicep cannot be compiled here.

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

/// The only line of `lines` that starts with `prefix`.
fn the_line<'a>(lines: &'a [String], prefix: &str, path: &str) -> &'a str {
    let found: Vec<&String> = lines.iter().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(
        found.len(),
        1,
        "{path}: exactly one line starts with {prefix:?}"
    );
    found[0]
}

/// The position of the only line equal to `line`.
fn position(lines: &[String], line: &str, path: &str) -> usize {
    let found: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == line).collect();
    assert_eq!(found.len(), 1, "{path}: exactly one line {line:?}");
    found[0]
}

/// The lines of the resource declared by the line starting with `declaration`, to its closing
/// brace (counted over the whole resource).
fn resource<'a>(lines: &'a [String], declaration: &str, path: &str) -> &'a [String] {
    let start = lines
        .iter()
        .position(|line| line.starts_with(declaration))
        .unwrap_or_else(|| panic!("{path}: no {declaration:?}"));
    let mut depth = 0_i32;
    for (offset, line) in lines[start..].iter().enumerate() {
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth == 0 {
            return &lines[start..=start + offset];
        }
    }
    panic!("{path}: {declaration:?} is not closed")
}

const FUNCTION: &str = "infra/app/function.bicep";
const STORAGE: &str = "infra/app/storage.bicep";
const MONITORING: &str = "infra/app/monitoring.bicep";
const KEYVAULT: &str = "infra/app/keyvault-access.bicep";
const MAIN: &str = "infra/main.bicep";
const PARAMETERS: &str = "infra/main.parameters.json";

#[test]
fn the_site_is_https_only_with_tls_1_2_or_later_http_1_1_and_no_ftp() {
    assert_always(
        FUNCTION,
        "httpsOnly",
        "true",
        "plain HTTP never carries a certificate",
    );
    for key in ["minTlsVersion", "scmMinTlsVersion"] {
        let found = values(&code(FUNCTION), key);
        assert_eq!(found.len(), 2, "{key} is set for both plans");
        for value in found {
            assert!(
                ["'1.2'", "'1.3'"].contains(&value.as_str()),
                "{key} must be 1.2 or later, is {value}"
            );
        }
    }
    assert_always(
        FUNCTION,
        "http20Enabled",
        "false",
        "client certificates over HTTP/2 are not documented to work",
    );
    assert_always(FUNCTION, "remoteDebuggingEnabled", "false", "no debugger");
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
    assert!(
        !lines.iter().any(|line| line.starts_with("cors:")),
        "no CORS block (an empty one does nothing)"
    );
}

#[test]
fn ftps_state_is_sent_to_elastic_premium_only_never_to_flex() {
    // Flex Consumption rejects the key itself, even as null (ARM error 51021), so the Flex
    // branch of siteConfig must not carry it at all.
    let lines = code(FUNCTION);
    let flex = position(&lines, "siteConfig: isFlex ? {", FUNCTION);
    let premium = position(&lines, "} : {", FUNCTION);
    let ftps: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("ftpsState"))
        .collect();
    assert_eq!(ftps.len(), 1, "ftpsState is written once");
    assert_eq!(lines[ftps[0]], "ftpsState: 'Disabled'");
    assert!(
        flex < premium && premium < ftps[0],
        "ftpsState is in the Elastic Premium branch, after the Flex one"
    );
    assert!(
        lines[ftps[0] + 1] == "}",
        "and the Elastic Premium branch ends right after it"
    );
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
    assert_eq!(
        the_line(&lines, "var clientCertExclusionPaths =", FUNCTION),
        "var clientCertExclusionPaths = healthClientCertificate == 'Excluded' ? '/api/health' : null",
        "only /api/health, and only when asked for"
    );
    for path in [MAIN, FUNCTION] {
        let lines = code(path);
        assert!(
            lines.contains(&"param healthClientCertificate string = 'Required'".to_owned()),
            "{path}: the default keeps /api/health behind a certificate too"
        );
    }
    let parameters = read(PARAMETERS);
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
fn elastic_premium_runs_the_package_from_a_blob_url_read_with_the_identity() {
    // Without an Azure Files share (which would need shared keys), Learn requires the package's
    // blob URL in WEBSITE_RUN_FROM_PACKAGE; `1` would leave scaled-out instances without it.
    let lines = code(FUNCTION);
    assert_eq!(
        values(&lines, "WEBSITE_RUN_FROM_PACKAGE"),
        [
            "'${storage.properties.primaryEndpoints.blob}${deploymentContainerName}/${packageBlobName}'"
        ]
    );
    assert_eq!(
        values(&lines, "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"),
        ["identityId"]
    );
    assert_eq!(
        the_line(&lines, "var premiumSettings =", FUNCTION),
        "var premiumSettings = isFlex ? {} : premiumOnlySettings",
        "none of these reach a Flex site, which refuses them"
    );
    assert!(
        code(MAIN)
            .iter()
            .any(|line| line.starts_with("output PREMIUM_PUBLISH_COMMAND string = isFlex ? '' : 'az storage blob upload --auth-mode login")),
        "the command that publishes (or rolls back) the Elastic Premium package is an output"
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
fn the_deploying_principals_role_takes_its_type_from_azd() {
    // Under a service principal (CI) a hard-coded 'User' fails with UnmatchedPrincipalType.
    let parameters = read(PARAMETERS);
    assert!(
        parameters.contains(r#""principalType": { "value": "${AZURE_PRINCIPAL_TYPE=User}" }"#),
        "main.parameters.json passes azd's AZURE_PRINCIPAL_TYPE"
    );
    assert!(code(MAIN).contains(&"userPrincipalType: principalType".to_owned()));
    let user_role = resource(
        &code(STORAGE),
        "resource userBlobOwner 'Microsoft.Authorization/roleAssignments",
        STORAGE,
    )
    .to_vec();
    assert_eq!(
        values(&user_role, "principalType"),
        ["userPrincipalType"],
        "the deploying principal's type is the parameter"
    );
    for path in [MAIN, FUNCTION, STORAGE, MONITORING, KEYVAULT] {
        assert!(
            !code(path).contains(&"principalType: 'User'".to_owned()),
            "{path}: no hard-coded 'User' principal type"
        );
    }
}

#[test]
fn remote_api_url_is_passed_only_together_with_an_identity() {
    // A URL without an identity can never be called; the template must not hand it over alone.
    let main = code(MAIN);
    assert_eq!(
        values(&main, "REMOTE_API_URL"),
        ["outboundEnabled ? remoteApiUrl : ''"]
    );
    assert_eq!(
        the_line(&main, "var outboundEnabled =", MAIN),
        "var outboundEnabled = !empty(outboundKeyVaultName) && !empty(outboundCertificateName)"
    );
}

#[test]
fn flex_reads_the_outbound_certificate_through_a_versionless_key_vault_reference() {
    // Flex loads no plan-scoped certificates, so /var/ssl/private/<thumbprint>.p12 never appears.
    let lines = code(FUNCTION);
    assert_eq!(
        values(&lines, "OUTBOUND_CLIENT_CERT_BASE64"),
        [
            "'@Microsoft.KeyVault(SecretUri=${outboundKeyVaultUri}secrets/${outboundCertificateName}/)'"
        ],
        "versionless (ends with the secret name and a slash), so renewals are followed"
    );
    assert_eq!(
        the_line(&lines, "var outboundSettings =", FUNCTION),
        "var outboundSettings = outboundEnabled ? (isFlex ? flexOutboundSettings : premiumOutboundSettings) : {}"
    );
    assert!(
        lines.contains(&"resource outboundCertificate 'Microsoft.Web/certificates@2024-04-01' = if (outboundEnabled && !isFlex) {".to_owned()),
        "the certificate import is for Elastic Premium only"
    );
    assert!(
        lines.contains(&"keyVaultReferenceIdentity: identityId".to_owned()),
        "the reference is resolved with the app's identity"
    );
    // Elastic Premium selects by CN, so a renewal (a new thumbprint) needs no provision.
    assert_eq!(
        values(&lines, "OUTBOUND_CLIENT_CERT_COMMON_NAME"),
        ["outboundCertificateCommonName"]
    );
    assert_eq!(
        values(&lines, "WEBSITE_LOAD_CERTIFICATES"),
        ["'*'", "outboundThumbprint"],
        "every certificate when selecting by CN, the one thumbprint when pinned"
    );
}

#[test]
fn key_vault_access_is_the_one_secret_for_flex_and_the_import_role_for_premium() {
    let lines = code(KEYVAULT);
    let identity = resource(
        &lines,
        "resource identitySecretAccess 'Microsoft.Authorization/roleAssignments",
        KEYVAULT,
    );
    assert!(identity[0].ends_with("= if (isFlex) {"));
    assert_eq!(
        values(identity, "scope"),
        ["vault::secret"],
        "one secret, not the vault"
    );
    assert!(identity.iter().any(|line| line.contains("secretsUser)")));
    let provider = resource(
        &lines,
        "resource providerImportAccess 'Microsoft.Authorization/roleAssignments",
        KEYVAULT,
    );
    assert!(provider[0].ends_with("= if (!isFlex && !empty(appServiceProviderPrincipalId)) {"));
    assert!(
        provider
            .iter()
            .any(|line| line.contains("certificateUser)"))
    );
    assert!(
        !provider.iter().any(|line| line.contains("secretsUser")),
        "the resource provider gets Certificate User only, as Learn documents"
    );
    let assignments = lines
        .iter()
        .filter(|line| line.contains("'Microsoft.Authorization/roleAssignments@"))
        .count();
    assert_eq!(assignments, 2, "no other role on the vault");
}

#[test]
fn the_identity_may_read_its_own_site_and_the_handler_is_told_which_one() {
    let lines = code(FUNCTION);
    let reader = resource(
        &lines,
        "resource postureReader 'Microsoft.Authorization/roleAssignments@2022-04-01'",
        FUNCTION,
    );
    assert_eq!(
        the_line(&lines, "var readerRole =", FUNCTION),
        "var readerRole = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'",
        "Reader, the built-in role"
    );
    assert_eq!(values(reader, "scope"), ["site"], "on the site, not wider");
    assert_eq!(values(reader, "principalId"), ["identityPrincipalId"]);
    assert!(reader.iter().any(|line| line.contains("readerRole)")));
    for (setting, value) in [
        ("CLIENT_CERT_POSTURE", "clientCertPosture"),
        ("CLIENT_CERT_POSTURE_SITE_ID", "site.id"),
        (
            "CLIENT_CERT_POSTURE_ARM_ENDPOINT",
            "environment().resourceManager",
        ),
        ("CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID", "identityClientId"),
    ] {
        assert_eq!(values(&lines, setting), [value], "{setting}");
    }
    // The site id comes from the site itself, so the settings live in the separate appsettings
    // resource (a child of the site), which waits for the role.
    let settings = resource(
        &lines,
        "resource appSettings 'Microsoft.Web/sites/config@2024-04-01'",
        FUNCTION,
    );
    assert!(settings.contains(&"parent: site".to_owned()));
    assert!(
        settings.contains(&"postureReader".to_owned()),
        "dependsOn the role"
    );
    assert!(
        settings
            .iter()
            .any(|line| line.starts_with("properties: union(") && line.contains("postureSettings")),
        "the posture settings are app settings"
    );
    for path in [MAIN, FUNCTION] {
        assert!(
            code(path).contains(&"param clientCertPosture string = 'enforce'".to_owned()),
            "{path}: enforce by default"
        );
    }
    assert!(read(PARAMETERS).contains("${CLIENT_CERT_POSTURE=enforce}"));
}

#[test]
fn settings_the_template_computes_win_over_the_extra_ones() {
    let lines = code(FUNCTION);
    assert_eq!(
        values(&lines, "properties")
            .into_iter()
            .filter(|value| value.starts_with("union("))
            .collect::<Vec<_>>(),
        [
            "union(handlerSettings, extraAppSettings, platformSettings, premiumSettings, postureSettings, outboundSettings)"
        ],
        "later wins: extra settings cannot replace storage, telemetry, posture or identity settings"
    );
}

#[test]
fn azd_offers_only_regions_with_flex_consumption() {
    let main = code(MAIN);
    let location = position(&main, "param location string", MAIN);
    let allowed = main[..location]
        .iter()
        .rposition(|line| line == "@allowed([")
        .expect("location is @allowed");
    let regions: Vec<&String> = main[allowed + 1..location]
        .iter()
        .take_while(|line| *line != "])")
        .collect();
    assert!(regions.len() >= 20, "a real region list: {regions:?}");
    assert!(
        regions.contains(&&"'eastus'".to_owned())
            && !regions.contains(&&"'eastus2euap'".to_owned()),
        "public regions, no canary"
    );
    assert!(
        main[allowed..location].contains(&"type: 'location'".to_owned()),
        "the azd location metadata, so azd's prompt offers only these"
    );
}

#[test]
fn every_parameter_azd_passes_is_a_parameter_of_the_template() {
    let parameters: serde_json::Value = serde_json::from_str(&read(PARAMETERS)).expect("JSON");
    let main = code(MAIN);
    let declared: Vec<String> = main
        .iter()
        .filter_map(|line| line.strip_prefix("param "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    let passed = parameters["parameters"].as_object().expect("parameters");
    for name in passed.keys() {
        assert!(
            declared.contains(name),
            "main.parameters.json passes {name}, which main.bicep does not declare"
        );
    }
    for name in [
        "intermediateCaPaths",
        "crlPaths",
        "crlUrls",
        "policyPath",
        "allowedClientCertUris",
        "allowedClientCertEmails",
        "outboundTrustedCaPaths",
        "extraAppSettings",
    ] {
        assert!(passed.contains_key(name), "a real partner PKI needs {name}");
    }
    assert!(
        main.contains(&"param extraAppSettings object = {}".to_owned()),
        "any other setting, as an object"
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
fn azure_yaml_deploys_the_zip_package_sh_builds() {
    let yaml = read("azure.yaml");
    for (needle, why) in [
        ("host: function", "a Functions service"),
        ("language: custom", "the custom handler language"),
        (
            "dist: dist/functionapp.zip",
            "azd uploads the checked zip as is (a folder it would re-zip, losing +x on Windows)",
        ),
        (
            "azd: '>= 1.24.0'",
            "requiredVersions: language custom and object parameters",
        ),
        (
            "azd config set alpha.language.custom on",
            "the alpha flag azd needs for language: custom",
        ),
        ("AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM=on", "and its CI form"),
        ("prepackage:", "built before azd packages"),
        ("run: ./scripts/package.sh", "by scripts/package.sh"),
        ("postdeploy:", "proof after deploying"),
        (
            "run: ./scripts/postdeploy.sh",
            "by scripts/postdeploy.sh (opt-in)",
        ),
    ] {
        assert!(yaml.contains(needle), "azure.yaml: {why} ({needle})");
    }
    let main = code(MAIN);
    for output in [
        "output AZURE_FUNCTION_APP_NAME string",
        "output AZURE_FUNCTION_APP_URL string",
        "output AZURE_RESOURCE_GROUP string",
        "output FUNCTION_KEY_COMMAND string",
    ] {
        assert!(
            main.iter().any(|line| line.starts_with(output)),
            "main.bicep: {output} (postdeploy.sh reads the first three)"
        );
    }
}

#[test]
fn host_json_keeps_every_decision_line_out_of_sampling() {
    // Application Insights samples by default; an operator counting refusals needs every line.
    let host: serde_json::Value = serde_json::from_str(&read("host.json")).expect("host.json");
    let sampling = &host["logging"]["applicationInsights"]["samplingSettings"];
    let excluded: Vec<&str> = sampling["excludedTypes"]
        .as_str()
        .expect("excludedTypes is a string")
        .split(';')
        .map(str::trim)
        .collect();
    for kind in ["Trace", "Request"] {
        assert!(
            excluded.contains(&kind),
            "{kind} is excluded from sampling: {sampling}"
        );
    }
}
