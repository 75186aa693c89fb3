//! [`RefusalLines`]: a bound on how many refusal lines reach the log. Every refusal and every
//! `503 busy` is a WARN line, so a flood of hostile certificates would write hundreds of
//! thousands of them (Application Insights ingestion, and real events buried). Per refusal
//! code, the first [`VERBATIM_PER_WINDOW`] lines of each [`WINDOW`] are written as they are;
//! the rest are counted, and one summary line per code gives the count when the window ends.
//!
//! So the log carries at most `VERBATIM_PER_WINDOW + 1` lines per code per minute, whatever the
//! rate. This module counts and writes the summaries; callers ask [`RefusalLines::admit`]
//! before they write (and format) a line. Summaries are written only by
//! [`RefusalLines::summarise`], from a background task ([`spawn_summaries`]) and at shutdown,
//! never inside a request, so that no summary carries one request's span.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lines written verbatim per refusal code per window.
pub const VERBATIM_PER_WINDOW: u64 = 10;
/// The window the verbatim lines are counted in, and how often summaries are written.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Counts refusal lines per code and decides which are written (see the module doc).
#[derive(Debug)]
pub struct RefusalLines {
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    /// Per code: lines seen in this window (written or not).
    seen: BTreeMap<&'static str, u64>,
    /// What ended windows left to summarise, not yet written.
    pending: Vec<Suppressed>,
}

/// What a finished window left to summarise: the codes with lines not written, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub code: &'static str,
    pub count: u64,
}

impl Default for RefusalLines {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

impl RefusalLines {
    /// A first window starting at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            window: Mutex::new(Window {
                started: now,
                seen: BTreeMap::new(),
                pending: Vec::new(),
            }),
        }
    }

    /// Counts one line of `code` now, and says whether to write it.
    pub fn admit(&self, code: &'static str) -> bool {
        self.admit_at(code, Instant::now())
    }

    /// Writes what ended windows left out, one line per code, after ending the current window
    /// if it is over (`force`: whether or not it is, as at shutdown).
    pub fn summarise(&self, force: bool) {
        for Suppressed { code, count } in self.finish_at(Instant::now(), force) {
            tracing::warn!(
                code,
                suppressed = count,
                verbatim = VERBATIM_PER_WINDOW,
                window_seconds = WINDOW.as_secs(),
                "client certificate refusals summarised: lines beyond the first of this code in the window were counted, not written"
            );
        }
    }

    /// Whether `code` has had more than [`VERBATIM_PER_WINDOW`] lines in the current window
    /// (its refusals are coming faster than the log writes them: a flood). Counts nothing.
    pub fn is_over(&self, code: &'static str) -> bool {
        let window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window
            .seen
            .get(code)
            .is_some_and(|seen| *seen > VERBATIM_PER_WINDOW)
    }

    /// [`Self::admit`] at `now`.
    pub fn admit_at(&self, code: &'static str, now: Instant) -> bool {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.roll(now, false);
        let seen = window.seen.entry(code).or_default();
        *seen += 1;
        *seen <= VERBATIM_PER_WINDOW
    }

    /// What ended windows (and the current one, when it is over at `now` or when `force`) left
    /// to summarise, taken: each code once, with the windows' counts added.
    pub fn finish_at(&self, now: Instant, force: bool) -> Vec<Suppressed> {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.roll(now, force);
        let mut merged: BTreeMap<&'static str, u64> = BTreeMap::new();
        for Suppressed { code, count } in window.pending.drain(..) {
            *merged.entry(code).or_default() += count;
        }
        merged
            .into_iter()
            .map(|(code, count)| Suppressed { code, count })
            .collect()
    }
}

impl Window {
    /// Starts a new window when this one has ended (or when `force`), keeping the codes it did
    /// not write every line of for the next summary.
    fn roll(&mut self, now: Instant, force: bool) {
        if !force && now.saturating_duration_since(self.started) < WINDOW {
            return;
        }
        self.started = now;
        let suppressed = std::mem::take(&mut self.seen)
            .into_iter()
            .filter(|(_, seen)| *seen > VERBATIM_PER_WINDOW)
            .map(|(code, seen)| Suppressed {
                code,
                count: seen - VERBATIM_PER_WINDOW,
            });
        self.pending.extend(suppressed);
    }
}

/// Writes each window's summary as it ends (checked four times a window), until aborted.
pub fn spawn_summaries(lines: Arc<RefusalLines>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(WINDOW / 4);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            lines.summarise(false);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_lines_of_each_code_are_written_and_the_rest_counted() {
        let start = Instant::now();
        let lines = RefusalLines::new(start);
        let written = |code| (0..25).filter(|_| lines.admit_at(code, start)).count();
        assert_eq!(written("cert_untrusted"), 10, "ten verbatim");
        assert_eq!(written("busy"), 10, "each code has its own ten");
        assert!(!lines.admit_at("cert_untrusted", start), "still counted");
        assert!(lines.is_over("busy") && lines.is_over("cert_untrusted"));
        assert!(!lines.is_over("cert_expired"), "a code not seen");
        assert_eq!(
            lines.finish_at(start + WINDOW, false),
            vec![
                Suppressed {
                    code: "busy",
                    count: 15
                },
                Suppressed {
                    code: "cert_untrusted",
                    count: 16
                },
            ],
            "one summary per code when the window ends, codes in order"
        );
    }

    #[test]
    fn a_new_window_writes_lines_again_and_summarises_the_last_one_once() {
        let start = Instant::now();
        let lines = RefusalLines::new(start);
        for _ in 0..12 {
            lines.admit_at("cert_not_allowed", start);
        }
        assert!(
            lines.finish_at(start + WINDOW / 2, false).is_empty(),
            "the window has not ended"
        );
        let second: Vec<bool> = (0..13)
            .map(|_| lines.admit_at("cert_not_allowed", start + WINDOW))
            .collect();
        assert!(second[..10].iter().all(|written| *written), "ten again");
        assert!(!second[10..].iter().any(|written| *written), "then counted");
        assert_eq!(
            lines.finish_at(start + WINDOW * 2, false),
            vec![Suppressed {
                code: "cert_not_allowed",
                count: 2 + 3
            }],
            "two ended windows, summarised together once"
        );
        assert!(
            lines.finish_at(start + WINDOW * 4, false).is_empty(),
            "nothing left"
        );
    }

    #[test]
    fn a_forced_summary_ends_the_window_at_once() {
        let start = Instant::now();
        let lines = RefusalLines::new(start);
        for _ in 0..11 {
            lines.admit_at("cert_malformed", start);
        }
        assert_eq!(
            lines.finish_at(start, true),
            vec![Suppressed {
                code: "cert_malformed",
                count: 1
            }]
        );
        assert!(lines.admit_at("cert_malformed", start), "a fresh window");
    }
}
