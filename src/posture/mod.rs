//! The front end's posture: whether App Service's front end requires a TLS client certificate
//! on every path that reaches a protected function, read from Azure Resource Manager with the
//! app's managed identity. `X-ARR-ClientCert` is worth believing only while it does.
//!
//! - `settings`: what the check is told ([`Mode`], [`SiteId`], ARM endpoint, identity, period).
//! - `token`: the managed-identity token (App Service protocol).
//! - `arm`: the site's settings from ARM (site and `config/web`), bounded.
//! - `verdict`: the rules, pure: [`Reading`] -> [`Verdict`].
//! - `state`: findings over time: grace for transient failures, when to check next.
//! - `checker`: one check, and the background task that runs it at startup and every recheck.
//! - `log`: what each check logs (never per request), and the startup line.
//!
//! [`Posture`] is what requests read: one atomic status, never a lock or a wait, so `GET /`
//! and `health` never wait for the check and protected functions answer at once. Turning a
//! [`Refusal`] into a response is `error.rs`'s job; the gate that applies it is
//! `app::protected`.

mod arm;
mod checker;
mod log;
pub mod settings;
pub mod state;
pub mod token;
pub mod verdict;

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use checker::{Checker, Report};
pub use log::log_startup;
pub use settings::{Mode, Settings, SiteId};
pub use state::Status;

/// The posture as protected requests and `health` see it.
#[derive(Debug)]
pub struct Posture {
    mode: Mode,
    status: AtomicU8,
    /// When the next check is due (unix seconds), for `Retry-After`.
    next_check: AtomicU64,
}

/// Why a protected request is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No verdict yet (or it lapsed); retry after `retry_after` seconds.
    Unverified { retry_after: u64 },
    /// The front end does not require a certificate on every protected route.
    Unsafe { retry_after: u64 },
}

impl Posture {
    /// A posture in `mode`, unverified until the first check.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            status: AtomicU8::new(Status::Unverified as u8),
            next_check: AtomicU64::new(0),
        }
    }

    /// No check: every request passes (`CLIENT_CERT_POSTURE=off`).
    pub fn off() -> Self {
        Self::new(Mode::Off)
    }

    /// The current status (meaningless under [`Mode::Off`]).
    pub fn status(&self) -> Status {
        Status::from_tag(self.status.load(Ordering::Acquire))
    }

    /// What `health` reports: `verified`, `unverified`, `unsafe`, or `off`.
    pub fn health(&self) -> &'static str {
        match self.mode {
            Mode::Off => "off",
            Mode::Enforce | Mode::Warn => self.status().as_str(),
        }
    }

    /// Whether a protected request may go on to the client-certificate check: always under
    /// `off` and `warn`; under `enforce`, only while verified.
    ///
    /// # Errors
    /// [`Refusal`] under `enforce` while unverified or unsafe.
    pub fn admit(&self) -> Result<(), Refusal> {
        if self.mode != Mode::Enforce {
            return Ok(());
        }
        let retry_after = self
            .next_check
            .load(Ordering::Relaxed)
            .saturating_sub(unix_now())
            .max(1);
        match self.status() {
            Status::Verified => Ok(()),
            Status::Unverified => Err(Refusal::Unverified { retry_after }),
            Status::Unsafe => Err(Refusal::Unsafe { retry_after }),
        }
    }

    /// Publishes a status and when the next check is due.
    fn publish(&self, status: Status, next_check: u64) {
        self.next_check.store(next_check, Ordering::Relaxed);
        self.status.store(status as u8, Ordering::Release);
    }
}

/// Seconds since 1970 by the system clock.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
#[path = "../../tests/api/support/azure.rs"]
pub(crate) mod azure;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enforce_refuses_and_only_while_not_verified() {
        for (mode, status, admitted, health) in [
            (Mode::Off, Status::Unverified, true, "off"),
            (Mode::Warn, Status::Unsafe, true, "unsafe"),
            (Mode::Warn, Status::Unverified, true, "unverified"),
            (Mode::Enforce, Status::Verified, true, "verified"),
            (Mode::Enforce, Status::Unverified, false, "unverified"),
            (Mode::Enforce, Status::Unsafe, false, "unsafe"),
        ] {
            let posture = Posture::new(mode);
            posture.publish(status, unix_now() + 30);
            assert_eq!(posture.admit().is_ok(), admitted, "{mode:?} {status:?}");
            assert_eq!(posture.health(), health, "{mode:?} {status:?}");
        }
    }

    #[test]
    fn retry_after_is_the_time_to_the_next_check_and_at_least_a_second() {
        let posture = Posture::new(Mode::Enforce);
        posture.publish(Status::Unsafe, unix_now() + 120);
        let Err(Refusal::Unsafe { retry_after }) = posture.admit() else {
            panic!("unsafe refuses");
        };
        assert!((119..=120).contains(&retry_after), "{retry_after}");
        posture.publish(Status::Unverified, 0);
        assert_eq!(posture.admit(), Err(Refusal::Unverified { retry_after: 1 }));
    }
}
