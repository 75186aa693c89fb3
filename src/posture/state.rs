//! What one check's finding does to the posture: a verdict replaces the last one; a definite
//! failure (no identity, ARM 401/403/404, a wrong id) makes it unverified at once; a transient
//! failure (5xx, 429, a timeout, garbage) keeps the last verdict for [`GRACE_PERIOD`] after it
//! was reached, then makes it unverified. Also when the next check runs: every recheck while a
//! verdict holds, sooner (2 s, doubling) while there is none.
//!
//! Pure: findings and times (unix seconds) in, status and the event to log out.

use std::time::Duration;

/// How long a verdict outlives transient failures.
pub const GRACE_PERIOD: Duration = Duration::from_secs(60 * 60);
/// The first retry after a failure while no verdict holds; doubled each time, up to the recheck.
pub const FIRST_RETRY: Duration = Duration::from_secs(2);

/// The posture every protected request reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// No verdict yet, or it lapsed: protected functions answer `posture_unverified`.
    Unverified = 0,
    /// The front end requires a certificate on every protected route.
    Verified = 1,
    /// The front end lets requests without a certificate reach a protected route.
    Unsafe = 2,
}

impl Status {
    /// The word `health` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::Verified => "verified",
            Self::Unsafe => "unsafe",
        }
    }

    /// The status a stored tag stands for (anything unknown is unverified).
    pub fn from_tag(tag: u8) -> Self {
        match tag {
            1 => Self::Verified,
            2 => Self::Unsafe,
            _ => Self::Unverified,
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    Safe,
    Unsafe,
    /// A failure an operator must fix (a role, an identity, a setting).
    Definite,
    /// A failure that may pass by itself.
    Transient,
}

/// What the change means for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Safe; `changed` when it was not verified before.
    Verified {
        changed: bool,
    },
    Unsafe,
    /// A definite failure.
    Unverified,
    /// A transient failure; the last verdict holds for `grace_left` more seconds.
    Kept {
        status: Status,
        grace_left: u64,
    },
    /// A transient failure after the grace period: the verdict lapsed.
    Lapsed,
    /// A transient failure with no verdict to keep.
    NotYet,
}

/// The posture and when its verdict was last reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub status: Status,
    /// When the last verdict (safe or unsafe) was reached; `None` while there is none.
    decided_at: Option<u64>,
    /// Failed checks in a row.
    failures: u32,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            status: Status::Unverified,
            decided_at: None,
            failures: 0,
        }
    }
}

impl Memory {
    /// Records `finding` at `now` and says what changed.
    pub fn record(&mut self, finding: Finding, now: u64) -> Event {
        let was = self.status;
        match finding {
            Finding::Safe | Finding::Unsafe => {
                self.failures = 0;
                self.decided_at = Some(now);
                if finding == Finding::Safe {
                    self.status = Status::Verified;
                    Event::Verified {
                        changed: was != Status::Verified,
                    }
                } else {
                    self.status = Status::Unsafe;
                    Event::Unsafe
                }
            }
            Finding::Definite => self.lapse(Event::Unverified),
            Finding::Transient => {
                let held = self
                    .decided_at
                    .map(|at| (at + GRACE_PERIOD.as_secs()).saturating_sub(now))
                    .filter(|left| *left > 0);
                match held {
                    Some(grace_left) if self.status != Status::Unverified => {
                        self.failures += 1;
                        Event::Kept {
                            status: self.status,
                            grace_left,
                        }
                    }
                    _ if self.decided_at.is_some() => self.lapse(Event::Lapsed),
                    _ => self.lapse(Event::NotYet),
                }
            }
        }
    }

    /// How long until the next check: `recheck` while a verdict holds, else a quicker retry.
    pub fn next_check(&self, recheck: Duration) -> Duration {
        if self.status != Status::Unverified {
            return recheck;
        }
        let doublings = self.failures.saturating_sub(1).min(16);
        FIRST_RETRY.saturating_mul(1 << doublings).min(recheck)
    }

    fn lapse(&mut self, event: Event) -> Event {
        self.status = Status::Unverified;
        self.decided_at = None;
        self.failures += 1;
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;
    const GRACE: u64 = GRACE_PERIOD.as_secs();

    #[test]
    fn findings_move_the_posture() {
        use Finding::*;
        type Steps = Vec<(Finding, u64)>;
        let cases: Vec<(&str, Steps, Status, Event)> = vec![
            (
                "no check yet, a transient failure",
                vec![(Transient, T0)],
                Status::Unverified,
                Event::NotYet,
            ),
            (
                "the first verdict",
                vec![(Safe, T0)],
                Status::Verified,
                Event::Verified { changed: true },
            ),
            (
                "verified again",
                vec![(Safe, T0), (Safe, T0 + 300)],
                Status::Verified,
                Event::Verified { changed: false },
            ),
            (
                "safe, then unsafe",
                vec![(Safe, T0), (Unsafe, T0 + 300)],
                Status::Unsafe,
                Event::Unsafe,
            ),
            (
                "unsafe, then safe",
                vec![(Unsafe, T0), (Safe, T0 + 300)],
                Status::Verified,
                Event::Verified { changed: true },
            ),
            (
                "a definite failure undoes a verdict at once",
                vec![(Safe, T0), (Definite, T0 + 1)],
                Status::Unverified,
                Event::Unverified,
            ),
            (
                "a transient failure keeps the verdict",
                vec![(Safe, T0), (Transient, T0 + 300)],
                Status::Verified,
                Event::Kept {
                    status: Status::Verified,
                    grace_left: GRACE - 300,
                },
            ),
            (
                "and keeps an unsafe one",
                vec![(Unsafe, T0), (Transient, T0 + 300)],
                Status::Unsafe,
                Event::Kept {
                    status: Status::Unsafe,
                    grace_left: GRACE - 300,
                },
            ),
            (
                "until the grace period is over",
                vec![(Safe, T0), (Transient, T0 + 300), (Transient, T0 + GRACE)],
                Status::Unverified,
                Event::Lapsed,
            ),
            (
                "grace counts from the verdict, not the failure",
                vec![
                    (Safe, T0),
                    (Transient, T0 + GRACE - 1),
                    (Transient, T0 + GRACE + 1),
                ],
                Status::Unverified,
                Event::Lapsed,
            ),
            (
                "after it lapsed, failures wait for a verdict",
                vec![
                    (Safe, T0),
                    (Transient, T0 + GRACE),
                    (Transient, T0 + GRACE + 5),
                ],
                Status::Unverified,
                Event::NotYet,
            ),
            (
                "a definite failure gives no grace afterwards",
                vec![(Safe, T0), (Definite, T0 + 1), (Transient, T0 + 2)],
                Status::Unverified,
                Event::NotYet,
            ),
            (
                "recovery after failures",
                vec![(Transient, T0), (Definite, T0 + 2), (Safe, T0 + 6)],
                Status::Verified,
                Event::Verified { changed: true },
            ),
        ];
        for (reason, findings, status, event) in cases {
            let mut memory = Memory::default();
            let mut last = None;
            for (finding, at) in findings {
                last = Some(memory.record(finding, at));
            }
            assert_eq!(memory.status, status, "{reason}");
            assert_eq!(last, Some(event), "{reason}");
        }
    }

    #[test]
    fn without_a_verdict_checks_come_sooner() {
        let recheck = Duration::from_secs(300);
        let mut memory = Memory::default();
        assert_eq!(memory.next_check(recheck), FIRST_RETRY, "before any check");
        let mut delays = Vec::new();
        for at in 0..9 {
            memory.record(Finding::Transient, T0 + at);
            delays.push(memory.next_check(recheck).as_secs());
        }
        assert_eq!(delays, vec![2, 4, 8, 16, 32, 64, 128, 256, 300]);
        memory.record(Finding::Safe, T0 + 100);
        assert_eq!(memory.next_check(recheck), recheck, "a verdict holds");
        memory.record(Finding::Transient, T0 + 400);
        assert_eq!(
            memory.next_check(recheck),
            recheck,
            "kept through the grace period"
        );
        assert_eq!(
            Memory::default().next_check(Duration::from_secs(1)),
            Duration::from_secs(1),
            "never later than the recheck"
        );
    }

    #[test]
    fn tags_round_trip() {
        for status in [Status::Unverified, Status::Verified, Status::Unsafe] {
            assert_eq!(Status::from_tag(status as u8), status);
        }
        assert_eq!(Status::from_tag(9), Status::Unverified);
    }
}
