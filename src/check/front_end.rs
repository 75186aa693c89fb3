//! `handler check`'s front-end posture: with the check on, it runs once, exactly as `serve`
//! runs it in the background ([`Checker::check`]), and prints what it read from ARM and the
//! verdict; an unsafe or unverified front end is a warning with what to change.

use std::collections::HashMap;
use std::sync::Arc;

use super::posture::Posture;
use crate::config::{Config, Env};
use crate::posture::token::{self, IDENTITY_ENDPOINT, IDENTITY_HEADER};
use crate::posture::{Checker, Mode, SiteId};

/// Adds the front end's posture to `posture`, checking it once when the check is on.
pub fn describe(config: &Config, env: &dyn Env, routes: Vec<String>, posture: &mut Posture) {
    let settings = &config.posture.settings;
    posture.warnings.extend(config.posture.warnings());
    let Some(site) = settings
        .site
        .as_ref()
        .filter(|_| settings.mode != Mode::Off)
    else {
        posture.line(format!("front end posture: {}", settings.mode.as_str()));
        return;
    };
    posture.line(format!(
        "front end posture: {} for {site} at {} (every {} s)",
        settings.mode.as_str(),
        settings.arm_endpoint,
        settings.recheck.as_secs()
    ));
    posture.line(identity_line(settings, env));
    let identity: HashMap<String, String> = [IDENTITY_ENDPOINT, IDENTITY_HEADER]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), token::present(env, name)?)))
        .collect();
    let result = match Checker::new(settings, routes.clone(), Arc::new(identity)) {
        Ok(Some(checker)) => run_once(&checker),
        Ok(None) => return,
        Err(error) => Err(format!("cannot build the HTTP client: {error}")),
    };
    report(site, &routes, result, posture);
}

/// The values read and the verdict, or why there is none; problems and fixes as warnings.
fn report(
    site: &SiteId,
    routes: &[String],
    result: Result<crate::posture::Report, String>,
    posture: &mut Posture,
) {
    match result {
        Ok(report) => {
            posture.line(format!("front end settings read: {}", report.reading));
            if report.verdict.is_safe() {
                posture.line(format!(
                    "front end verdict: verified (a certificate is required on {})",
                    routes.join(", ")
                ));
            } else {
                posture.line("front end verdict: unsafe".to_owned());
                for problem in &report.verdict.problems {
                    posture
                        .warnings
                        .push(format!("front end posture unsafe: {problem}"));
                }
                for fix in report.verdict.fixes(site.as_str(), &report.reading) {
                    posture.warnings.push(format!("to fix: {fix}"));
                }
            }
            posture
                .warnings
                .extend(report.verdict.warnings.iter().cloned());
        }
        Err(error) => {
            posture.line("front end verdict: unverified".to_owned());
            posture
                .warnings
                .push(format!("front end posture unverified: {error}"));
        }
    }
}

/// Which identity asks, and whether the platform's variables for it are there.
fn identity_line(settings: &crate::posture::Settings, env: &dyn Env) -> String {
    let present = |name: &str| {
        if token::present(env, name).is_some() {
            "present"
        } else {
            "absent"
        }
    };
    format!(
        "front end identity: {} ({IDENTITY_ENDPOINT} {}, {IDENTITY_HEADER} {})",
        settings.identity_client_id.as_deref().map_or_else(
            || "system-assigned".to_owned(),
            |id| format!("user-assigned {id}")
        ),
        present(IDENTITY_ENDPOINT),
        present(IDENTITY_HEADER)
    )
}

fn run_once(checker: &Checker) -> Result<crate::posture::Report, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("could not start the runtime that reads ARM: {error}"))?;
    runtime
        .block_on(checker.check())
        .map_err(|error| error.to_string())
}
