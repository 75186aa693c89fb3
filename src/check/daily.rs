//! While serving: the posture's file values logged at startup (each anchor, intermediate and
//! CRL with its dates) and its warnings logged then and again every day (a CA nearing its
//! notAfter, a CRL nearing its nextUpdate), from the same code `handler check` prints.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::posture;
use crate::config::ConfiguredFiles;

/// How often the warnings are checked again while serving.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Logs each configured file's values at info and the warnings at warn.
pub fn log_startup(files: &ConfiguredFiles) {
    let report = posture::files(files, now());
    for item in report.text.lines() {
        tracing::info!(%item, "trust posture");
    }
    log_warnings(&report.warnings);
}

/// Checks the files again every [`RECHECK_INTERVAL`] and logs the warnings.
pub fn spawn_recheck(files: ConfiguredFiles) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(RECHECK_INTERVAL);
        interval.tick().await; // the first tick is now: startup has just logged them
        loop {
            interval.tick().await;
            let files = files.clone();
            match tokio::task::spawn_blocking(move || posture::files(&files, now())).await {
                Ok(report) => log_warnings(&report.warnings),
                Err(error) => tracing::error!(%error, "daily posture check failed"),
            }
        }
    })
}

fn log_warnings(warnings: &[String]) {
    for warning in warnings {
        tracing::warn!(%warning, "trust posture warning");
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
