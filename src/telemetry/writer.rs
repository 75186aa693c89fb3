//! Where each line goes: warnings and errors to stderr, everything else to stdout.
//!
//! The Functions host records stdout lines at Information and stderr lines at Error, or at
//! Warning when the line contains "warn" (functions-host-protocol.md §1.2), so this split is
//! what grades our lines in Application Insights. Info never goes to stderr (it would become an
//! Error trace).
//!
//! In JSON, serde_json escapes C0 controls, quotes and backslashes; this writer escapes the rest
//! of what [`is_unsafe`] names (DEL, C1, line separators, bidi controls) as `\uXXXX`, which is
//! valid because such characters can only occur inside JSON strings.

use std::io::{self, Write};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use super::escape::{is_unsafe, json_escape};

/// Makes one [`LineWriter`] per event, on the stream its level belongs to.
#[derive(Debug, Clone, Copy)]
pub struct LevelWriter {
    json: bool,
}

/// Writes one formatted event to stdout or stderr.
pub struct LineWriter {
    to_stderr: bool,
    json: bool,
}

impl LevelWriter {
    pub fn new(json: bool) -> Self {
        Self { json }
    }
}

/// Whether events at `level` go to stderr.
pub fn goes_to_stderr(level: &Level) -> bool {
    *level <= Level::WARN
}

impl<'a> MakeWriter<'a> for LevelWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            to_stderr: false,
            json: self.json,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            to_stderr: goes_to_stderr(meta.level()),
            json: self.json,
        }
    }
}

impl Write for LineWriter {
    /// Takes a whole formatted event (tracing-subscriber writes each event with one
    /// `write_all`), so escaping never sees half a character.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let escaped;
        let bytes = match (self.json, std::str::from_utf8(buf)) {
            (true, Ok(text)) if text.chars().any(needs_json_escape) => {
                escaped = text
                    .chars()
                    .map(|c| {
                        if needs_json_escape(c) {
                            json_escape(c)
                        } else {
                            c.to_string()
                        }
                    })
                    .collect::<String>();
                escaped.as_bytes()
            }
            _ => buf,
        };
        if self.to_stderr {
            io::stderr().lock().write_all(bytes)?;
        } else {
            io::stdout().lock().write_all(bytes)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.to_stderr {
            io::stderr().flush()
        } else {
            io::stdout().flush()
        }
    }
}

/// What serde_json leaves raw but a log line must not carry.
fn needs_json_escape(c: char) -> bool {
    is_unsafe(c) && u32::from(c) >= 0x20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_and_errors_go_to_stderr_and_the_rest_to_stdout() {
        for (level, stderr) in [
            (Level::ERROR, true),
            (Level::WARN, true),
            (Level::INFO, false),
            (Level::DEBUG, false),
            (Level::TRACE, false),
        ] {
            assert_eq!(goes_to_stderr(&level), stderr, "{level}");
        }
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw() {
        for (c, escaped) in [
            ('\u{7f}', true),
            ('\u{85}', true),
            ('\u{2028}', true),
            ('\u{202e}', true),
            ('\n', false), // serde_json writes \n itself
            ('a', false),
        ] {
            assert_eq!(needs_json_escape(c), escaped, "{c:?}");
        }
        assert_eq!(json_escape('\u{2028}'), "\\u2028");
    }
}
