//! Logging: tracing-subscriber writing plain or JSON lines to stdout, which the Functions host
//! collects. No ANSI colours unless stdout is a terminal.
//!
//! What is logged is decided where events are emitted; this module only installs the
//! subscriber.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call once; later calls are ignored.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::builder()
        .parse(filter)
        .unwrap_or_else(|_| EnvFilter::new(crate::config::server::DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(std::io::stdout().is_terminal());
    let result = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    // A second initialisation (tests, `dev` mode) keeps the first subscriber.
    drop(result);
}
