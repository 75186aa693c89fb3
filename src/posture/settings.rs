//! What the posture check is told: whether it runs and enforces ([`Mode`]), which site it reads
//! ([`SiteId`], checked for shape here), where ARM is and which roots vouch for it, which
//! identity asks, and how often. `config::posture` reads these from the environment; nothing
//! here reads a variable.

use std::fmt;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use url::Url;

/// `CLIENT_CERT_POSTURE`: what the handler does with the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Protected functions answer 503 unless the front end is verified safe.
    Enforce,
    /// The same checks and log lines; every request is served as if verified.
    Warn,
    /// No check.
    Off,
}

impl Mode {
    /// The setting's value for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Warn => "warn",
            Self::Off => "off",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "enforce" => Ok(Self::Enforce),
            "warn" => Ok(Self::Warn),
            "off" => Ok(Self::Off),
            _ => Err("expected enforce, warn or off"),
        }
    }
}

/// A site's ARM resource id:
/// `/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Web/sites/<name>`, with an
/// optional `/slots/<slot>`. Kept as given (ARM compares ids case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteId(String);

/// Why a value is not a site's resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteIdError {
    #[error(
        "expected /subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Web/sites/<app name> (the site's resource id: `az functionapp show --query id`)"
    )]
    Shape,
    #[error("{0:?} is not a subscription id (a GUID)")]
    Subscription(String),
    #[error(
        "a segment holds a character a resource id cannot hold (`?`, `#`, `%`, `\\`, a space or a control character) or is `.` or `..`"
    )]
    Character,
}

impl SiteId {
    /// Checks the shape of `value` (fixed words in any case, a GUID subscription, every segment
    /// free of characters that would change the URL it is sent in).
    ///
    /// # Errors
    /// [`SiteIdError`] saying what is wrong.
    pub fn parse(value: &str) -> Result<Self, SiteIdError> {
        let value = value.trim_end_matches('/');
        let Some(rest) = value.strip_prefix('/') else {
            return Err(SiteIdError::Shape);
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let fixed = [
            (0, "subscriptions"),
            (2, "resourceGroups"),
            (4, "providers"),
            (5, "Microsoft.Web"),
            (6, "sites"),
        ];
        let slot = segments.len() == 10 && segments[8].eq_ignore_ascii_case("slots");
        if !(segments.len() == 8 || slot)
            || fixed
                .iter()
                .any(|(index, word)| !segments[*index].eq_ignore_ascii_case(word))
        {
            return Err(SiteIdError::Shape);
        }
        if segments.iter().any(|segment| !plain_segment(segment)) {
            return Err(SiteIdError::Character);
        }
        if !is_guid(segments[1]) {
            return Err(SiteIdError::Subscription(segments[1].to_owned()));
        }
        Ok(Self(value.to_owned()))
    }

    /// The id as configured (no trailing slash).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `sites/<name>` segment (a slot's site, for a slot).
    pub fn site_name(&self) -> &str {
        self.0.split('/').nth(8).unwrap_or_default()
    }

    /// Whether this is a deployment slot (`.../sites/<name>/slots/<slot>`).
    pub fn is_slot(&self) -> bool {
        self.0.split('/').nth(9).is_some()
    }

    /// Whether `other` names the same resource (ARM ids compare case-insensitively).
    pub fn is(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.trim_end_matches('/').to_lowercase()
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "?#%\\".contains(c))
}

/// A GUID in its usual 8-4-4-4-12 hex form (subscription and client ids).
pub fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Everything the posture check needs, as `config::posture` read it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    /// The site to read; always `Some` unless `mode` is [`Mode::Off`].
    pub site: Option<SiteId>,
    /// ARM's base URL (ends with `/`); also the token's audience.
    pub arm_endpoint: Url,
    /// The user-assigned identity's client id; `None`: the system-assigned identity.
    pub identity_client_id: Option<String>,
    /// Between two checks while a verdict holds.
    pub recheck: Duration,
    /// Each call to the identity endpoint or ARM, body included.
    pub timeout: Duration,
    /// Roots trusted for ARM besides the public ones (`CLIENT_CERT_POSTURE_ARM_CA_PATHS`).
    pub arm_roots: Vec<CertificateDer<'static>>,
    /// `WEBSITE_SITE_NAME`: this app's name as the platform tells it, when it does.
    pub platform_site_name: Option<String>,
    /// `WEBSITE_INSTANCE_ID` is set: the process runs in App Service or Functions.
    pub in_azure: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBSCRIPTION: &str = "00000000-1111-2222-3333-444444444444";

    #[test]
    fn site_ids_are_checked_for_shape() {
        let site = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Web/sites/my-app"
        );
        let cases: Vec<(String, Result<(), SiteIdError>, &str)> = vec![
            (site.clone(), Ok(()), "a site"),
            (format!("{site}/"), Ok(()), "a trailing slash is dropped"),
            (site.to_lowercase(), Ok(()), "fixed words in any case"),
            (format!("{site}/slots/staging"), Ok(()), "a slot"),
            (
                site.trim_start_matches('/').to_owned(),
                Err(SiteIdError::Shape),
                "no leading slash",
            ),
            (
                format!("{site}/config/web"),
                Err(SiteIdError::Shape),
                "a child resource",
            ),
            (
                site.replace("Microsoft.Web", "Microsoft.Storage"),
                Err(SiteIdError::Shape),
                "another provider",
            ),
            (
                site.replace(SUBSCRIPTION, "my-subscription"),
                Err(SiteIdError::Subscription("my-subscription".into())),
                "not a GUID",
            ),
            (
                site.replace("my-app", "my-app?x=1"),
                Err(SiteIdError::Character),
                "a query",
            ),
            (
                site.replace("rg-app", ".."),
                Err(SiteIdError::Character),
                "a dot segment",
            ),
            (
                site.replace("rg-app", "rg%2Fx"),
                Err(SiteIdError::Character),
                "an escape",
            ),
            (
                site.replace("rg-app", ""),
                Err(SiteIdError::Character),
                "an empty segment",
            ),
            (String::new(), Err(SiteIdError::Shape), "empty"),
        ];
        for (value, expected, reason) in cases {
            assert_eq!(
                SiteId::parse(&value).map(|_| ()),
                expected,
                "{reason}: {value}"
            );
        }
    }

    #[test]
    fn a_site_id_knows_its_name_and_compares_without_case() {
        let id = SiteId::parse(&format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/RG/providers/Microsoft.Web/sites/My-App/slots/blue"
        ))
        .expect("a slot id");
        assert_eq!(id.site_name(), "My-App");
        assert!(id.is_slot());
        assert!(id.is(&id.as_str().to_uppercase()));
        assert!(!id.is(&id.as_str().replace("blue", "green")));
    }

    #[test]
    fn guids_are_five_hex_groups() {
        assert!(is_guid(SUBSCRIPTION));
        assert!(is_guid("ABCDEF01-abcd-ABCD-0123-456789abcdef"));
        assert!(!is_guid("00000000111122223333444444444444"));
        assert!(!is_guid("0000000g-1111-2222-3333-444444444444"));
    }
}
