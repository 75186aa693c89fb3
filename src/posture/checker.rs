//! One posture check (token, then the site and its web configuration from ARM, then the
//! verdict) and the background task that runs it at startup and every recheck, publishing the
//! status that requests read. Never on the request path; what each check logs is `log`'s.

use std::sync::Arc;
use std::time::Duration;

use super::arm::{ArmError, ArmReader};
use super::log::Log;
use super::settings::{Mode, Settings, SiteId};
use super::state::{Finding, Memory};
use super::token::{TokenError, TokenSource};
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
            let mut log = Log::new(self.site.clone(), self.mode);
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
                log.record(event, &result, delay);
                tokio::time::sleep(delay).await;
            }
        })
    }
}
