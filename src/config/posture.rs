//! Front-end posture settings: whether the handler reads the site's client-certificate settings
//! from ARM and enforces them, which site, which ARM and identity, how often, and extra roots for
//! an ARM on a private CA. Every value is checked here, before the port is bound; the CA files
//! are read now.
//!
//! `CLIENT_CERT_POSTURE` defaults to `enforce` when `CLIENT_CERT_POSTURE_SITE_ID` is set and to
//! `off` otherwise; `off` while the process runs in Azure (`WEBSITE_INSTANCE_ID` is set) is a
//! startup warning naming the settings to add.

use std::time::Duration;

use url::Url;

use super::Reader;
use crate::outbound::tls;
use crate::posture::settings::is_guid;
use crate::posture::{Mode, Settings, SiteId};

/// `enforce`, `warn` or `off`.
pub const POSTURE: &str = "CLIENT_CERT_POSTURE";
/// The site's ARM resource id (the template passes `site.id`).
pub const SITE_ID: &str = "CLIENT_CERT_POSTURE_SITE_ID";
/// ARM's base URL, also the token's audience (the template passes `environment().resourceManager`).
pub const ARM_ENDPOINT: &str = "CLIENT_CERT_POSTURE_ARM_ENDPOINT";
pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com/";
/// The user-assigned identity's client id; unset: the system-assigned identity.
pub const IDENTITY_CLIENT_ID: &str = "CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID";
/// Seconds between two checks.
pub const RECHECK_SECONDS: &str = "CLIENT_CERT_POSTURE_RECHECK_SECONDS";
pub const DEFAULT_RECHECK_SECONDS: u64 = 300;
/// Each call to the identity endpoint or ARM, milliseconds.
pub const TIMEOUT_MS: &str = "CLIENT_CERT_POSTURE_TIMEOUT_MS";
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Extra roots (PEM or DER files) for an ARM endpoint on a private CA; public roots stay trusted.
pub const ARM_CA_PATHS: &str = "CLIENT_CERT_POSTURE_ARM_CA_PATHS";

/// Set by the platform in every App Service and Functions instance (not a setting of ours).
pub const WEBSITE_INSTANCE_ID: &str = "WEBSITE_INSTANCE_ID";
/// The app's name, set by the platform (not a setting of ours).
pub const WEBSITE_SITE_NAME: &str = "WEBSITE_SITE_NAME";

/// The posture settings as read.
#[derive(Debug, Clone)]
pub struct PostureConfig {
    pub settings: Settings,
}

impl PostureConfig {
    /// Reads every posture setting; each problem is recorded on `reader` under its name.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let (site, mode) = read_site_and_mode(reader);
        let settings = Settings {
            mode,
            site,
            arm_endpoint: read_endpoint(reader),
            identity_client_id: read_client_id(reader),
            recheck: Duration::from_secs(reader.number(
                RECHECK_SECONDS,
                DEFAULT_RECHECK_SECONDS,
                1..=86_400,
            )),
            timeout: reader.millis(TIMEOUT_MS, DEFAULT_TIMEOUT_MS, 100..=60_000),
            arm_roots: read_roots(reader),
            platform_site_name: reader.string(WEBSITE_SITE_NAME),
            in_azure: reader.string(WEBSITE_INSTANCE_ID).is_some(),
        };
        Self { settings }
    }

    /// Startup warnings: the check only warns, or is off while the process runs in Azure.
    pub fn warnings(&self) -> Vec<String> {
        if self.settings.mode == Mode::Warn {
            return vec![format!(
                "{POSTURE}=warn: an unsafe or unverified front end is logged but protected functions \
                 are served, so a caller may be able to write its own certificate header; set \
                 {POSTURE}=enforce (or leave it unset) once the check passes"
            )];
        }
        if self.settings.mode == Mode::Off && self.settings.in_azure {
            vec![format!(
                "{POSTURE} is off in Azure, so the front end's client-certificate settings are not verified: \
                 a portal change (mode Optional, an exclusion path) would let callers write their own \
                 certificate header. Set {SITE_ID} to this app's resource id, {IDENTITY_CLIENT_ID} to an \
                 identity with Reader on the site, and {ARM_ENDPOINT} outside public Azure"
            )]
        } else {
            Vec::new()
        }
    }
}

/// The site id and the mode, which defaults on it; a mode that needs a site without one is an
/// error under the site's name.
fn read_site_and_mode(reader: &mut Reader<'_>) -> (Option<SiteId>, Mode) {
    let site = reader
        .string(SITE_ID)
        .and_then(|value| match SiteId::parse(&value) {
            Ok(site) => Some(site),
            Err(error) => {
                reader.invalid(SITE_ID, format!("invalid value {value:?}: {error}"));
                None
            }
        });
    let site_given = reader.string(SITE_ID).is_some();
    let default_mode = if site_given { Mode::Enforce } else { Mode::Off };
    let mode = reader.parse(POSTURE, default_mode);
    if mode != Mode::Off && !site_given {
        reader.invalid(
            SITE_ID,
            format!(
                "{POSTURE}={} needs the site's resource id: set {SITE_ID} to \
                 /subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Web/sites/<app name> \
                 (`az functionapp show --query id`; the template passes site.id), or set {POSTURE}=off",
                mode.as_str()
            ),
        );
    }
    (site, mode)
}

fn read_endpoint(reader: &mut Reader<'_>) -> Url {
    let default = || Url::parse(DEFAULT_ARM_ENDPOINT).expect("the default ARM endpoint is a URL");
    let Some(value) = reader.string(ARM_ENDPOINT) else {
        return default();
    };
    match Url::parse(&value) {
        Ok(mut url)
            if url.scheme() == "https"
                && url.host().is_some()
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            url
        }
        _ => {
            reader.invalid(
                ARM_ENDPOINT,
                format!(
                    "invalid value {value:?}: expected an https URL with a host and no query, such as \
                     {DEFAULT_ARM_ENDPOINT} (the template passes environment().resourceManager)"
                ),
            );
            default()
        }
    }
}

fn read_client_id(reader: &mut Reader<'_>) -> Option<String> {
    let value = reader.string(IDENTITY_CLIENT_ID)?;
    if is_guid(&value) {
        Some(value)
    } else {
        reader.invalid(
            IDENTITY_CLIENT_ID,
            format!(
                "invalid value {value:?}: expected the user-assigned identity's client id, a GUID \
                 (`az identity show --query clientId`); leave it unset for the system-assigned identity"
            ),
        );
        None
    }
}

fn read_roots(reader: &mut Reader<'_>) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    let mut roots = Vec::new();
    for path in reader.list(ARM_CA_PATHS) {
        match tls::load_ca_file(std::path::Path::new(&path)) {
            Ok(certs) => roots.extend(certs),
            Err(error) => reader.invalid(ARM_CA_PATHS, error.to_string()),
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SITE: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Web/sites/app";

    fn read(pairs: &[(&str, &str)]) -> (PostureConfig, Vec<String>) {
        let env: HashMap<&str, &str> = pairs.iter().copied().collect();
        let mut reader = Reader::new(&env);
        let config = PostureConfig::read(&mut reader);
        let errors = reader
            .into_errors()
            .iter()
            .map(ToString::to_string)
            .collect();
        (config, errors)
    }

    #[test]
    fn the_mode_follows_the_site_id_unless_set() {
        for (pairs, mode, reason) in [
            (vec![], Mode::Off, "nothing set"),
            (
                vec![(SITE_ID, SITE)],
                Mode::Enforce,
                "a site id alone enforces",
            ),
            (vec![(SITE_ID, SITE), (POSTURE, "warn")], Mode::Warn, "warn"),
            (
                vec![(SITE_ID, SITE), (POSTURE, "OFF")],
                Mode::Off,
                "off, in any case",
            ),
        ] {
            let (config, errors) = read(&pairs);
            assert_eq!(errors, Vec::<String>::new(), "{reason}");
            assert_eq!(config.settings.mode, mode, "{reason}");
        }
    }

    #[test]
    fn every_bad_value_names_its_setting_and_the_fix() {
        let (_, errors) = read(&[
            (POSTURE, "strict"),
            (SITE_ID, "my-app"),
            (ARM_ENDPOINT, "http://management.azure.com/"),
            (IDENTITY_CLIENT_ID, "my-identity"),
            (RECHECK_SECONDS, "0"),
            (TIMEOUT_MS, "99"),
            (ARM_CA_PATHS, "/nonexistent/arm-ca.pem"),
        ]);
        let settings: Vec<&str> = errors
            .iter()
            .map(|e| e.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            settings,
            vec![
                SITE_ID,
                POSTURE,
                ARM_ENDPOINT,
                IDENTITY_CLIENT_ID,
                RECHECK_SECONDS,
                TIMEOUT_MS,
                ARM_CA_PATHS
            ],
            "{errors:#?}"
        );
        assert!(
            errors[0].contains("/subscriptions/<subscription id>"),
            "{}",
            errors[0]
        );
        assert!(
            errors[2].contains("environment().resourceManager"),
            "{}",
            errors[2]
        );
        assert!(errors[3].contains("az identity show"), "{}", errors[3]);
    }

    #[test]
    fn enforcing_without_a_site_id_is_refused() {
        let (_, errors) = read(&[(POSTURE, "enforce")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with(SITE_ID), "{}", errors[0]);
        assert!(
            errors[0].contains("CLIENT_CERT_POSTURE=off"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn the_endpoint_ends_with_a_slash() {
        let (config, errors) = read(&[(ARM_ENDPOINT, "https://management.usgovcloudapi.net")]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            config.settings.arm_endpoint.as_str(),
            "https://management.usgovcloudapi.net/"
        );
        let (config, _) = read(&[]);
        assert_eq!(config.settings.arm_endpoint.as_str(), DEFAULT_ARM_ENDPOINT);
    }

    #[test]
    fn off_in_azure_is_a_warning_naming_the_settings() {
        let (config, _) = read(&[(WEBSITE_INSTANCE_ID, "abc123")]);
        let warnings = config.warnings();
        assert_eq!(warnings.len(), 1);
        for setting in [SITE_ID, IDENTITY_CLIENT_ID] {
            assert!(warnings[0].contains(setting), "{setting}: {}", warnings[0]);
        }
        assert!(read(&[]).0.warnings().is_empty(), "not in Azure");
        let warn = read(&[(SITE_ID, SITE), (POSTURE, "warn")]).0.warnings();
        assert!(
            warn.len() == 1 && warn[0].contains("CLIENT_CERT_POSTURE=warn"),
            "{warn:?}"
        );
        assert!(
            read(&[(WEBSITE_INSTANCE_ID, "abc123"), (SITE_ID, SITE)])
                .0
                .warnings()
                .is_empty(),
            "on"
        );
    }
}
