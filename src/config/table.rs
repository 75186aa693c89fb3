//! Every setting with its default and meaning: what `handler settings` prints, and what the
//! README's settings tables must say word for word (`tests/api/app_files.rs` checks both ways).
//! [`SETTINGS`](super::SETTINGS) lists the same names in the same order (a unit test checks).

use super::{inbound, outbound, posture, server};

/// One setting as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDoc {
    pub name: &'static str,
    /// As the README writes it (Markdown).
    pub default: &'static str,
    /// As the README writes it (Markdown).
    pub meaning: &'static str,
}

/// Every setting, in [`SETTINGS`](super::SETTINGS) order.
pub const TABLE: &[SettingDoc] = &[
    SettingDoc {
        name: server::PORT,
        default: r#"`3000`"#,
        meaning: r#"port to listen on, on 127.0.0.1; set by the host"#,
    },
    SettingDoc {
        name: server::PORT_LEGACY,
        default: r#"none"#,
        meaning: r#"the host's legacy name for the port, read when `FUNCTIONS_CUSTOMHANDLER_PORT` is unset"#,
    },
    SettingDoc {
        name: server::APP_ROOT,
        default: r#"working directory"#,
        meaning: r#"where `host.json` is; set by the host"#,
    },
    SettingDoc {
        name: server::LOG_FORMAT,
        default: r#"`plain`"#,
        meaning: r#"`plain` or `json` (one JSON object per line, for the host's log collection)"#,
    },
    SettingDoc {
        name: server::RUST_LOG,
        default: r#"`info`"#,
        meaning: r#"log filter: tracing `EnvFilter` directives or a host level name (`Information`, `Warning`, ...); must keep the handler's warnings"#,
    },
    SettingDoc {
        name: server::SHUTDOWN_TIMEOUT_MS,
        default: r#"`20000`"#,
        meaning: r#"how long SIGTERM waits for in-flight requests"#,
    },
    SettingDoc {
        name: inbound::ALLOWED_CLIENT_CERT_THUMBPRINTS,
        default: r#"none"#,
        meaning: r#"comma-separated SHA-1 (40 hex) or SHA-256 (64 hex) pins, any case, `:` or spaces allowed. A pin needs no CA; validity and EKU still apply"#,
    },
    SettingDoc {
        name: inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES,
        default: r#"none"#,
        meaning: r#"exact subject CNs. **Needs a trusted CA** (startup refuses otherwise)"#,
    },
    SettingDoc {
        name: inbound::ALLOWED_CLIENT_CERT_DNS_NAMES,
        default: r#"none"#,
        meaning: r#"exact DNS SANs (case-insensitive). Needs a trusted CA"#,
    },
    SettingDoc {
        name: inbound::ALLOWED_CLIENT_CERT_URIS,
        default: r#"none"#,
        meaning: r#"exact URI SANs (e.g. SPIFFE IDs). Needs a trusted CA"#,
    },
    SettingDoc {
        name: inbound::ALLOWED_CLIENT_CERT_EMAILS,
        default: r#"none"#,
        meaning: r#"exact email SANs. Needs a trusted CA"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_TRUSTED_CA_PATHS,
        default: r#"none"#,
        meaning: r#"comma-separated PEM (one or many certificates) or DER files (App Service: `/var/ssl/certs/<thumbprint>.der`); the only anchors ever trusted"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_INTERMEDIATE_CA_PATHS,
        default: r#"none"#,
        meaning: r#"intermediates, PEM or DER (the front end forwards the leaf only)"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_CRL_PATHS,
        default: r#"none"#,
        meaning: r#"PEM or DER CRLs. Strengthens: revoked and unknown status are refused. Needs a trusted CA"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_CRL_URLS,
        default: r#"none"#,
        meaning: r#"comma-separated `http` or `https` URLs of CRLs, the CAs' distribution points (below). Strengthens, like `CLIENT_CERT_CRL_PATHS`; needs a trusted CA"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_CRL_RELOAD_SECONDS,
        default: r#"`30`"#,
        meaning: r#"how often CRL files are checked for changes, and the longest time between two fetches of a CRL URL (1–86400)"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_CLOCK_SKEW_SECONDS,
        default: r#"`0`"#,
        meaning: r#"widens every validity window by this much (at most 300). **Weakens**; logged at startup"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_POLICY_PATH,
        default: r#"none"#,
        meaning: r#"JSON identity rules (above)"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_HEADER,
        default: r#"`X-ARR-ClientCert`"#,
        meaning: r#"the header that carries the certificate"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_HEADER_FORMAT,
        default: r#"`base64-der`"#,
        meaning: r#"`base64-der` (App Service), `pem` (with or without armour), `url-pem` (nginx `$ssl_client_escaped_cert`, Traefik), `rfc9440` (`:<base64>:`), `xfcc` (Envoy's `Cert="…"`)"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_MAX_HEADER_BYTES,
        default: r#"`16384`"#,
        meaning: r#"size cap on the header value (1 KiB–256 KiB: the HTTP server answers 431 to a request head over 417,792 bytes, so a larger cap could never be reached)"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_ALLOW_UNVERIFIED_NAMES,
        default: r#"`false`"#,
        meaning: r#"`true` accepts names without a verified chain: the reference's behaviour, which admits any self-signed certificate with an allowed name. **Weakens**; for migration only; a warning at startup and on every decision it affects"#,
    },
    SettingDoc {
        name: inbound::CERT_INFO_ENABLED,
        default: r#"`true`"#,
        meaning: r#"`false` removes the `cert-info` diagnostics route (404)"#,
    },
    SettingDoc {
        name: inbound::CLIENT_CERT_FLOOD_PAUSE_MS,
        default: r#"`500`"#,
        meaning: r#"how long a refusal or `503 busy` waits before it is answered once its code has had more than 10 lines in the minute (a flood), 0 to 5000; `0` answers at once, so a flood's connections can keep the workers from cached callers. **Weakens** when `0`; logged at startup"#,
    },
    SettingDoc {
        name: outbound::REMOTE_API_URL,
        default: r#"none"#,
        meaning: r#"the upstream the demo `outbound-mtls` GETs, and the host a path is resolved on in calls of your own; `https` only. Not needed when your own functions call full URLs"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_PATH,
        default: r#"none"#,
        meaning: r#"the identity: a PKCS#12 file (`.p12`/`.pfx`), or PEM with the chain and key"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_PASSWORD,
        default: r#"empty"#,
        meaning: r#"its password (never logged; App Service's files have an empty one)"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_THUMBPRINT,
        default: r#"none"#,
        meaning: r#"instead of a path: App Service's `/var/ssl/private/<THUMBPRINT>.p12`, made available by `WEBSITE_LOAD_CERTIFICATES`"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_COMMON_NAME,
        default: r#"none"#,
        meaning: r#"instead of a path or thumbprint: the subject CN of the identity; among the thumbprint-named `.p12` files of `OUTBOUND_CLIENT_CERT_DIR`, the currently valid client certificate with that CN (not a CA, clientAuth or no extended key usage, a matching key, the same issuer as the one in use) and the latest notAfter, chosen again whenever the folder changes or a certificate's validity begins or ends, so a Key Vault renewal (new thumbprint) is picked up without a settings change; each file not chosen is logged with the reason"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_ALLOW_ANY_ISSUER,
        default: r#"`false`"#,
        meaning: r#"`true` lets `OUTBOUND_CLIENT_CERT_COMMON_NAME` take a renewal from another CA than the identity in use. **Weakens**; logged at startup"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_BASE64,
        default: r#"none"#,
        meaning: r#"instead of a file: the identity in the setting itself, base64 PKCS#12 (password `OUTBOUND_CLIENT_CERT_PASSWORD`, empty by default) or PEM text (chain and key), as a Key Vault reference (`@Microsoft.KeyVault(SecretUri=…)`) delivers a certificate; at most 2 MiB of text and 1 MiB decoded; never logged"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_DIR,
        default: r#"`/var/ssl/private`"#,
        meaning: r#"where thumbprint-named files are looked up"#,
    },
    SettingDoc {
        name: outbound::CLIENT_CERT_RELOAD_SECONDS,
        default: r#"`60`"#,
        meaning: r#"how often the identity's file (or folder) is checked for a change (1–86400)"#,
    },
    SettingDoc {
        name: outbound::TRUSTED_CA_PATHS,
        default: r#"none"#,
        meaning: r#"PEM or DER CAs that sign the upstream's certificate (a private upstream CA)"#,
    },
    SettingDoc {
        name: outbound::TRUST_PUBLIC_ROOTS,
        default: r#"`true` without `OUTBOUND_TRUSTED_CA_PATHS`, `false` with it"#,
        meaning: r#"whether the operating system's public roots stay trusted too. Fails closed: naming a private CA drops the public roots unless you set this to `true`"#,
    },
    SettingDoc {
        name: outbound::CONNECT_TIMEOUT_MS,
        default: r#"`5000`"#,
        meaning: r#"TCP + TLS connect timeout"#,
    },
    SettingDoc {
        name: outbound::TIMEOUT_MS,
        default: r#"`30000`"#,
        meaning: r#"whole-call timeout, body included"#,
    },
    SettingDoc {
        name: outbound::MAX_RESPONSE_BYTES,
        default: r#"`1048576`"#,
        meaning: r#"response body cap, enforced while streaming"#,
    },
    SettingDoc {
        name: posture::POSTURE,
        default: r#"`enforce` with `CLIENT_CERT_POSTURE_SITE_ID`, `off` without"#,
        meaning: r#"`enforce`: protected functions answer 503 until the front end is verified to require a client certificate on them (below); `warn`: the same checks and log lines, requests served anyway. **`warn` and `off` weaken**; `off` in Azure is a startup warning"#,
    },
    SettingDoc {
        name: posture::SITE_ID,
        default: r#"none"#,
        meaning: r#"the app's ARM resource id, `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Web/sites/<name>` (the template passes `site.id`)"#,
    },
    SettingDoc {
        name: posture::ARM_ENDPOINT,
        default: r#"`https://management.azure.com/`"#,
        meaning: r#"Azure Resource Manager's URL, also the token's audience (the template passes `environment().resourceManager`)"#,
    },
    SettingDoc {
        name: posture::IDENTITY_CLIENT_ID,
        default: r#"none (the system-assigned identity)"#,
        meaning: r#"client id of the user-assigned identity that reads the site; it needs Reader on the site"#,
    },
    SettingDoc {
        name: posture::RECHECK_SECONDS,
        default: r#"`300`"#,
        meaning: r#"how often the site's settings are read again (1–86400)"#,
    },
    SettingDoc {
        name: posture::TIMEOUT_MS,
        default: r#"`10000`"#,
        meaning: r#"timeout of each call to the identity endpoint and to ARM, body included (100–60000; connecting takes at most 5 s of it)"#,
    },
    SettingDoc {
        name: posture::ARM_CA_PATHS,
        default: r#"none"#,
        meaning: r#"PEM or DER CAs for an ARM endpoint on a private CA (Azure Stack Hub); the public roots stay trusted"#,
    },
    SettingDoc {
        name: outbound::MTLS_ENABLED,
        default: r#"`true`"#,
        meaning: r#"`false` removes the demo `outbound-mtls` route (404); the identity stays loaded for your own functions"#,
    },
];

/// `handler settings`: every setting, its default and meaning, as plain text.
pub fn render() -> String {
    let mut text = String::from(
        "Every setting is an environment variable (an App Setting in Azure); see README.md.\n\n",
    );
    for setting in TABLE {
        text.push_str(&format!(
            "{}\n    default: {}\n    {}\n",
            setting.name,
            plain(setting.default),
            plain(setting.meaning)
        ));
    }
    text
}

/// Markdown emphasis and code marks removed for a terminal.
fn plain(markdown: &str) -> String {
    markdown.replace("**", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_setting_in_order() {
        let names: Vec<&str> = TABLE.iter().map(|setting| setting.name).collect();
        assert_eq!(names, super::super::SETTINGS);
    }
}
