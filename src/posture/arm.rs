//! Reading the site's own settings from Azure Resource Manager: `GET <endpoint><site id>` for
//! `clientCertEnabled`, `clientCertMode`, `clientCertExclusionPaths` and `httpsOnly`, and
//! `GET <endpoint><site id>/config/web` for `http20Enabled` and `minTlsVersion`, each at
//! [`API_VERSION`], with a [`bounded_http`] client (public roots plus
//! `CLIENT_CERT_POSTURE_ARM_CA_PATHS`, timeouts, [`MAX_BODY_BYTES`], no redirects). Each answer's
//! `id` must name the resource asked for (case-insensitively), or nothing it says is used.
//!
//! What a status means: 401/403 the identity may not read the site (Reader at the site's scope
//! is enough; a new role assignment can take up to 30 minutes to apply), 404 no such site,
//! 429/5xx and transport failures pass by themselves ([`ArmError::is_transient`]).

use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::settings::SiteId;
use super::token::AccessToken;
use super::verdict::Reading;
use crate::bounded_http::{self, TransferError};

/// The `Microsoft.Web` API version read (stable; every property used is in it).
pub const API_VERSION: &str = "2024-04-01";
/// The largest ARM answer read (a site is a few KiB of JSON).
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Why ARM told us nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    #[error(
        "ARM refused to show the site (http status {status}): give the app's identity the Reader role on the site ({site}); a new role assignment can take up to 30 minutes to apply"
    )]
    Forbidden { status: u16, site: String },
    #[error("ARM has no site {site} (http status 404): check CLIENT_CERT_POSTURE_SITE_ID")]
    NotFound { site: String },
    #[error("ARM refused the request (http status {status})")]
    Refused { status: u16 },
    #[error("ARM is unavailable (http status {status})")]
    Unavailable { status: u16 },
    #[error("ARM answered with a redirect (http status {status}), not followed")]
    Redirect { status: u16 },
    #[error("ARM: {0}")]
    Transfer(#[from] TransferError),
    #[error("ARM's answer is not a resource: {0}")]
    Garbage(&'static str),
    #[error(
        "ARM answered for {returned:?}, not for {asked}: the answer is not used (check CLIENT_CERT_POSTURE_SITE_ID and CLIENT_CERT_POSTURE_ARM_ENDPOINT)"
    )]
    WrongId { returned: String, asked: String },
}

impl ArmError {
    /// A failure that may pass by itself, not a setting or a role to fix.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Redirect { .. } | Self::Transfer(_) | Self::Garbage(_)
        )
    }
}

/// Reads one site's settings.
#[derive(Debug, Clone)]
pub struct ArmReader {
    http: reqwest::Client,
    endpoint: Url,
    site: SiteId,
}

impl ArmReader {
    /// A reader of `site` at `endpoint` (ending in `/`) with `http`.
    pub fn new(http: reqwest::Client, endpoint: Url, site: SiteId) -> Self {
        Self {
            http,
            endpoint,
            site,
        }
    }

    /// The site's and its web configuration's settings.
    ///
    /// # Errors
    /// [`ArmError`] from either read.
    pub async fn read(&self, token: &AccessToken) -> Result<Reading, ArmError> {
        let site: Resource<SiteProperties> = self.get(self.site.as_str(), token).await?;
        let web_id = format!("{}/config/web", self.site);
        let web: Resource<WebProperties> = self.get(&web_id, token).await?;
        let (site, web) = (site.properties, web.properties);
        Ok(Reading {
            client_cert_enabled: site.client_cert_enabled,
            client_cert_mode: site.client_cert_mode,
            client_cert_exclusion_paths: site.client_cert_exclusion_paths,
            https_only: site.https_only,
            http20_enabled: web.http20_enabled,
            min_tls_version: web.min_tls_version,
        })
    }

    async fn get<P: for<'de> Deserialize<'de> + Default>(
        &self,
        id: &str,
        token: &AccessToken,
    ) -> Result<Resource<P>, ArmError> {
        let url = self.url(id)?;
        let response = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(bounded_http::classify)?;
        if let Some(error) = self.refusal(response.status()) {
            return Err(error);
        }
        let body = bounded_http::read_body(response, MAX_BODY_BYTES).await?;
        parse(&body, id)
    }

    /// What a status other than 200 means.
    fn refusal(&self, status: StatusCode) -> Option<ArmError> {
        let code = status.as_u16();
        Some(match status {
            StatusCode::OK => return None,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ArmError::Forbidden {
                status: code,
                site: self.site.to_string(),
            },
            StatusCode::NOT_FOUND => ArmError::NotFound {
                site: self.site.to_string(),
            },
            _ if status.is_redirection() => ArmError::Redirect { status: code },
            _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                ArmError::Unavailable { status: code }
            }
            _ => ArmError::Refused { status: code },
        })
    }

    fn url(&self, id: &str) -> Result<Url, ArmError> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{id}"))
            .map_err(|_| ArmError::Garbage("the site id does not make a URL"))?;
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        Ok(url)
    }
}

/// The parts of an ARM resource we read: its `id` and `properties`.
#[derive(Debug, Deserialize)]
struct Resource<P> {
    id: Option<String>,
    #[serde(default)]
    properties: P,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SiteProperties {
    client_cert_enabled: Option<bool>,
    client_cert_mode: Option<String>,
    client_cert_exclusion_paths: Option<String>,
    https_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebProperties {
    http20_enabled: Option<bool>,
    min_tls_version: Option<String>,
}

/// The resource in `body`, which must be the one with id `asked`.
fn parse<P: for<'de> Deserialize<'de> + Default>(
    body: &[u8],
    asked: &str,
) -> Result<Resource<P>, ArmError> {
    let resource: Resource<P> = serde_json::from_slice(body)
        .map_err(|_| ArmError::Garbage("not JSON with the expected property types"))?;
    let returned = resource.id.clone().unwrap_or_default();
    if returned.to_lowercase() != asked.to_lowercase() {
        return Err(ArmError::WrongId {
            returned: returned.chars().take(300).collect(),
            asked: asked.to_owned(),
        });
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Web/sites/app";

    #[test]
    fn the_answer_must_name_the_resource_asked_for() {
        let upper = format!(
            r#"{{"id":"{}","properties":{{"httpsOnly":true}}}}"#,
            ID.to_uppercase()
        );
        let other = format!(
            r#"{{"id":"{}","properties":{{}}}}"#,
            ID.replace("app", "other-app")
        );
        let parsed: Result<Resource<SiteProperties>, _> = parse(upper.as_bytes(), ID);
        assert_eq!(
            parsed
                .expect("the same id in capitals")
                .properties
                .https_only,
            Some(true)
        );
        let wrong: Result<Resource<SiteProperties>, _> = parse(other.as_bytes(), ID);
        assert!(matches!(wrong, Err(ArmError::WrongId { .. })), "{wrong:?}");
        let missing: Result<Resource<SiteProperties>, _> = parse(br#"{"properties":{}}"#, ID);
        assert!(
            matches!(missing, Err(ArmError::WrongId { .. })),
            "no id at all"
        );
    }

    #[test]
    fn wrong_types_and_non_json_are_garbage() {
        for body in [
            format!(r#"{{"id":"{ID}","properties":{{"clientCertEnabled":"yes"}}}}"#),
            "<html>".to_owned(),
            "[]".to_owned(),
        ] {
            let parsed: Result<Resource<SiteProperties>, _> = parse(body.as_bytes(), ID);
            assert!(
                matches!(parsed, Err(ArmError::Garbage(_))),
                "{body}: {parsed:?}"
            );
        }
    }

    #[test]
    fn absent_properties_stay_absent() {
        let body = format!(r#"{{"id":"{ID}","properties":{{"clientCertEnabled":true}}}}"#);
        let parsed: Resource<SiteProperties> = parse(body.as_bytes(), ID).expect("parses");
        assert_eq!(parsed.properties.client_cert_enabled, Some(true));
        assert_eq!(parsed.properties.client_cert_mode, None);
        let bare: Resource<WebProperties> =
            parse(format!(r#"{{"id":"{ID}"}}"#).as_bytes(), ID).expect("parses");
        assert_eq!(bare.properties.http20_enabled, None);
    }
}
