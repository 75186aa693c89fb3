//! One posture check (token, then the site and its web configuration from ARM, then the
//! verdict) and the background task that runs it at startup and every recheck, publishing the
//! status that requests read. Never on the request path.
//!
//! Logs, per check and never per request: an unsafe verdict is one ERROR line naming each
//! problem and its fix, every check; a definite failure (an identity or role to fix) is an
//! ERROR line every check; a transient failure is a warning while the last verdict holds and
//! an ERROR when it lapses; a verified front end is logged at info when it becomes verified,
//! at debug after that; HTTP/2 is a warning whenever the verdict changes.

use std::sync::Arc;
use std::time::Duration;

use super::arm::{ArmError, ArmReader};
use super::settings::{Mode, Settings, SiteId};
use super::state::{Event, Finding, Memory};
use super::token::{self, TokenError, TokenSource};
use super::verdict::{self, Reading, Verdict};
use super::{Posture, unix_now};
use crate::bounded_http::{self, ClientBuildError, Limits, Proxy};
use crate::config::Env;

/// The longest connect (TCP, plus TLS for ARM) of one call, whatever the call's timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a check reached no verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Arm(#[from] ArmError),
    #[error(
        "CLIENT_CERT_POSTURE_SITE_ID names the app {configured:?} but this app is {platform:?} (WEBSITE_SITE_NAME): another app's settings prove nothing about this one; set it to this app's resource id"
    )]
    NotThisApp {
        configured: String,
        platform: String,
    },
}

impl CheckError {
    /// A failure that may pass by itself.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Token(error) => error.is_transient(),
            Self::Arm(error) => error.is_transient(),
            Self::NotThisApp { .. } => false,
        }
    }
}

/// What one check read and concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub reading: Reading,
    pub verdict: Verdict,
}

/// Runs the check for one site.
#[derive(Debug)]
pub struct Checker {
    site: SiteId,
    mode: Mode,
    recheck: Duration,
    platform_site_name: Option<String>,
    protected_routes: Vec<String>,
    tokens: TokenSource,
    arm: ArmReader,
}

impl Checker {
    /// The checker `settings` describe, judging `protected_routes` (as the front end sees
    /// them, e.g. `/api/cert-info`); `None` when the check is off. The identity endpoint's
    /// variables are read from `env` at each token request.
    ///
    /// # Errors
    /// [`ClientBuildError`] when an HTTP client cannot be built (a bad extra root).
    pub fn new(
        settings: &Settings,
        protected_routes: Vec<String>,
        env: Arc<dyn Env + Send + Sync>,
    ) -> Result<Option<Self>, ClientBuildError> {
        let Some(site) = settings.site.clone().filter(|_| settings.mode != Mode::Off) else {
            return Ok(None);
        };
        let limits = Limits {
            connect_timeout: CONNECT_TIMEOUT.min(settings.timeout),
            timeout: settings.timeout,
        };
        let identity_http = bounded_http::client(limits, Vec::new(), Proxy::None)?;
        let arm_http =
            bounded_http::client(limits, settings.arm_roots.clone(), Proxy::FromEnvironment)?;
        Ok(Some(Self {
            mode: settings.mode,
            recheck: settings.recheck,
            platform_site_name: settings.platform_site_name.clone(),
            protected_routes,
            tokens: TokenSource::new(
                identity_http,
                env,
                settings.arm_endpoint.as_str().to_owned(),
                settings.identity_client_id.clone(),
            ),
            arm: ArmReader::new(arm_http, settings.arm_endpoint.clone(), site.clone()),
            site,
        }))
    }

    /// One check: the token, the site's settings, the verdict.
    ///
    /// # Errors
    /// [`CheckError`] when no verdict could be reached.
    pub async fn check(&self) -> Result<Report, CheckError> {
        if let Some(platform) = &self.platform_site_name
            && !self.site.is_slot()
            && !platform.eq_ignore_ascii_case(self.site.site_name())
        {
            return Err(CheckError::NotThisApp {
                configured: self.site.site_name().to_owned(),
                platform: platform.clone(),
            });
        }
        let token = self.tokens.token(unix_now()).await?;
        let reading = match self.arm.read(&token).await {
            Ok(reading) => reading,
            Err(error) => {
                if matches!(error, ArmError::Forbidden { status: 401, .. }) {
                    self.tokens.forget();
                }
                return Err(error.into());
            }
        };
        let verdict = verdict::judge(&reading, &self.protected_routes);
        Ok(Report { reading, verdict })
    }

    /// Checks now and after every [`Memory::next_check`], publishing each status to `posture`.
    pub fn spawn(self, posture: Arc<Posture>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut memory = Memory::default();
            let mut last_logged: Option<Report> = None;
            loop {
                let result = self.check().await;
                let finding = match &result {
                    Ok(report) if report.verdict.is_safe() => Finding::Safe,
                    Ok(_) => Finding::Unsafe,
                    Err(error) if error.is_transient() => Finding::Transient,
                    Err(_) => Finding::Definite,
                };
                let now = unix_now();
                let event = memory.record(finding, now);
                let delay = memory.next_check(self.recheck);
                posture.publish(memory.status, now + delay.as_secs());
                self.log(event, &result, &mut last_logged, delay);
                tokio::time::sleep(delay).await;
            }
        })
    }

    fn log(
        &self,
        event: Event,
        result: &Result<Report, CheckError>,
        last_logged: &mut Option<Report>,
        delay: Duration,
    ) {
        let site = self.site.as_str();
        let mode = self.mode.as_str();
        let next_check_s = delay.as_secs();
        let error = result
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        match (event, result) {
            (Event::Verified { changed }, Ok(report)) => {
                let reading = report.reading.to_string();
                if changed || last_logged.as_ref() != Some(report) {
                    tracing::info!(site, mode, %reading, "front end posture verified: a client certificate is required on every protected route");
                } else {
                    tracing::debug!(site, %reading, "front end posture verified again");
                }
                self.log_warnings(report, last_logged);
            }
            (Event::Unsafe, Ok(report)) => {
                let reading = report.reading.to_string();
                let problems = join(report.verdict.problems.iter().map(ToString::to_string));
                let fix = join(report.verdict.fixes(site, &report.reading).into_iter());
                let effect = effect(self.mode);
                tracing::error!(site, mode, %problems, %fix, %reading, next_check_s, "front end posture unsafe: {effect}");
                self.log_warnings(report, last_logged);
            }
            (Event::Kept { status, grace_left }, _) => {
                let kept = status.as_str();
                tracing::warn!(site, %error, kept, grace_left_s = grace_left, next_check_s, "front end posture check failed; keeping the last verdict for the grace period");
            }
            (Event::Lapsed, _) => {
                tracing::error!(site, mode, %error, next_check_s, "front end posture check failed past the grace period: posture unverified");
            }
            (Event::NotYet, _) => {
                tracing::warn!(site, mode, %error, next_check_s, "front end posture not verified yet; the check is retried");
            }
            (Event::Unverified, _) | (Event::Verified { .. } | Event::Unsafe, Err(_)) => {
                *last_logged = None;
                tracing::error!(site, mode, %error, next_check_s, "front end posture unverified");
            }
        }
    }

    fn log_warnings(&self, report: &Report, last_logged: &mut Option<Report>) {
        if last_logged.as_ref() != Some(report) {
            for warning in &report.verdict.warnings {
                tracing::warn!(site = self.site.as_str(), %warning, "front end posture warning");
            }
            *last_logged = Some(report.clone());
        }
    }
}

/// What an unsafe verdict does to protected functions in `mode`.
fn effect(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "protected functions answer 503 posture_unsafe until it is fixed",
        Mode::Warn | Mode::Off => {
            "CLIENT_CERT_POSTURE=warn: protected functions are served anyway, and a caller can write its own certificate header"
        }
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join("; ")
}

/// Logs at startup what the check will do and whether the identity endpoint's variables are
/// present (names and the endpoint's host only, never the header's value).
pub fn log_startup(settings: &Settings, env: &dyn Env) {
    let Some(site) = settings
        .site
        .as_ref()
        .filter(|_| settings.mode != Mode::Off)
    else {
        if !settings.in_azure {
            tracing::info!(
                "front end posture check off (CLIENT_CERT_POSTURE_SITE_ID unset or CLIENT_CERT_POSTURE=off)"
            );
        }
        return;
    };
    let present = |name: &str| {
        if token::present(env, name).is_some() {
            "present"
        } else {
            "absent"
        }
    };
    let endpoint_host = token::present(env, token::IDENTITY_ENDPOINT)
        .and_then(|value| url::Url::parse(&value).ok())
        .and_then(|url| {
            Some(format!(
                "{}:{}",
                url.host_str()?,
                url.port_or_known_default()?
            ))
        })
        .unwrap_or_default();
    let identity = settings
        .identity_client_id
        .clone()
        .unwrap_or_else(|| "system-assigned".to_owned());
    tracing::info!(
        mode = settings.mode.as_str(),
        site = site.as_str(),
        arm_endpoint = settings.arm_endpoint.as_str(),
        recheck_s = settings.recheck.as_secs(),
        %identity,
        identity_endpoint = present(token::IDENTITY_ENDPOINT),
        %endpoint_host,
        identity_header = present(token::IDENTITY_HEADER),
        msi_endpoint = present(token::MSI_ENDPOINT),
        "front end posture check on: protected functions wait for its first verdict"
    );
}
