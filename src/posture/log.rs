//! What the posture check logs, per check and never per request: an unsafe verdict is one
//! ERROR line naming each problem and its fix, every check; a definite failure (an identity or
//! role to fix) is an ERROR line every check; a transient failure is a warning while the last
//! verdict holds and an ERROR when it lapses; a verified front end is logged at info when it
//! becomes verified or what was read changes, at debug after that; the verdict's warnings
//! (HTTP/2) whenever it changes. Also the startup line. Values from ARM go in fields, which the
//! log writer escapes.

use std::time::Duration;

use super::checker::{CheckError, Report};
use super::settings::{Mode, Settings, SiteId};
use super::state::Event;
use super::token;
use crate::config::Env;

/// The log of one site's checks: remembers the last verdict logged, so that unchanged ones go
/// to debug.
#[derive(Debug)]
pub struct Log {
    site: SiteId,
    mode: Mode,
    last: Option<Report>,
}

impl Log {
    pub fn new(site: SiteId, mode: Mode) -> Self {
        Self {
            site,
            mode,
            last: None,
        }
    }

    /// Logs what one check found and did.
    pub fn record(&mut self, event: Event, result: &Result<Report, CheckError>, delay: Duration) {
        match result {
            Ok(report) => self.verdict(event, report, delay.as_secs()),
            Err(error) => self.failure(event, error, delay.as_secs()),
        }
    }

    fn verdict(&mut self, event: Event, report: &Report, next_check_s: u64) {
        let (site, mode) = (self.site.as_str(), self.mode.as_str());
        let reading = report.reading.to_string();
        if event == Event::Unsafe {
            let problems = join(report.verdict.problems.iter().map(ToString::to_string));
            let fix = join(report.verdict.fixes(site, &report.reading).into_iter());
            let effect = effect(self.mode);
            tracing::error!(site, mode, %problems, %fix, %reading, next_check_s, "front end posture unsafe: {effect}");
        } else if event == (Event::Verified { changed: true }) || self.last.as_ref() != Some(report)
        {
            tracing::info!(site, mode, %reading, "front end posture verified: a client certificate is required on every protected route");
        } else {
            tracing::debug!(site, %reading, "front end posture verified again");
        }
        self.warnings(report);
    }

    fn failure(&mut self, event: Event, error: &CheckError, next_check_s: u64) {
        let (site, mode) = (self.site.as_str(), self.mode.as_str());
        match event {
            Event::Kept { status, grace_left } => {
                let kept = status.as_str();
                tracing::warn!(site, %error, kept, grace_left_s = grace_left, next_check_s, "front end posture check failed; keeping the last verdict for the grace period");
            }
            Event::Lapsed => {
                tracing::error!(site, mode, %error, next_check_s, "front end posture check failed past the grace period: posture unverified");
            }
            Event::NotYet => {
                tracing::warn!(site, mode, %error, next_check_s, "front end posture not verified yet; the check is retried");
            }
            Event::Unverified | Event::Verified { .. } | Event::Unsafe => {
                self.last = None;
                tracing::error!(site, mode, %error, next_check_s, "front end posture unverified");
            }
        }
    }

    /// The verdict's warnings, when it differs from the last one logged.
    fn warnings(&mut self, report: &Report) {
        if self.last.as_ref() != Some(report) {
            for warning in &report.verdict.warnings {
                tracing::warn!(site = self.site.as_str(), %warning, "front end posture warning");
            }
            self.last = Some(report.clone());
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
