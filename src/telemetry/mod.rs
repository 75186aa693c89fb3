//! Logging: tracing-subscriber writing plain or JSON lines; info to stdout, warnings and errors
//! to stderr with the level word in the line, so the Functions host grades them (Information,
//! Warning, Error) in Application Insights. No ANSI colours unless both streams are terminals.
//!
//! - `escape`: control characters in caller-controlled text never reach a line raw.
//! - `fields`: the plain format's field formatter, escaping every value.
//! - `writer`: stdout or stderr by level; the JSON format's extra escaping.
//! - `filter`: `RUST_LOG` with the host's level names, checked at startup.
//! - `summary`: refusal lines beyond the first per code and minute, counted and summarised.
//!
//! What is logged is decided where events are emitted; this module only installs the
//! subscriber. warp's per-request trace events (a start and a finish line per request, 4xx at
//! WARN, 5xx at ERROR) are turned off: the request span is kept, and the decision line is the
//! one line a request writes at info.

pub mod escape;
pub mod fields;
pub mod filter;
pub mod summary;
pub mod writer;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub use escape::escape;

/// warp's trace events; see the module doc. A filter that names this target keeps its choice.
const WARP_TRACE_EVENTS: &str = "warp::filters::trace";

/// Installs the global subscriber with `directives` (a checked [`filter::LogFilter`]'s). Safe to
/// call once; later calls are ignored.
pub fn init(format: LogFormat, directives: &str) {
    let mut directives = directives.to_owned();
    if !directives.contains(WARP_TRACE_EVENTS) {
        directives.push_str(&format!(",{WARP_TRACE_EVENTS}=off"));
    }
    let filter = EnvFilter::builder()
        .parse(&directives)
        .unwrap_or_else(|_| EnvFilter::new(crate::config::server::DEFAULT_LOG_FILTER));
    let ansi = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let result = match format {
        LogFormat::Plain => builder
            .fmt_fields(fields::EscapedFields)
            .with_writer(writer::LevelWriter::new(false))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer::LevelWriter::new(true))
            .try_init(),
    };
    // A second initialisation (tests, `dev` mode) keeps the first subscriber.
    drop(result);
}
