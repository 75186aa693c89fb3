//! Server settings: the port the host gives us, where the app's files are, logging, shutdown.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::Reader;
use crate::host;

/// The port the Functions host assigns (`FUNCTIONS_HTTPWORKER_PORT` is its legacy name).
pub const PORT: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";
pub const PORT_LEGACY: &str = "FUNCTIONS_HTTPWORKER_PORT";
/// Used when the handler is run by hand, outside the host.
pub const DEFAULT_PORT: u16 = 3000;
/// The app root that holds host.json; the host sets it, the working directory otherwise.
pub const APP_ROOT: &str = "FUNCTIONS_APP_ROOT_PATH";
/// `plain` (default) or `json`.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// tracing's filter directives or a host level name (`Information`), `info` by default.
pub const RUST_LOG: &str = "RUST_LOG";
pub const DEFAULT_LOG_FILTER: &str = "info";
/// How long SIGTERM or Ctrl-C waits for in-flight requests before exiting anyway.
pub const SHUTDOWN_TIMEOUT_MS: &str = "SHUTDOWN_TIMEOUT_MS";
pub const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 20_000;

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Plain,
    Json,
}

impl FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "plain" | "text" => Ok(Self::Plain),
            "json" => Ok(Self::Json),
            _ => Err("expected plain or json"),
        }
    }
}

/// Where and how the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub port: u16,
    pub app_root: PathBuf,
    /// What host.json says: the route prefix and whether proxying or forwarding is on.
    pub host: host::HostSettings,
    pub log_format: LogFormat,
    /// `RUST_LOG` in tracing's syntax (host level names translated), checked.
    pub log_filter: String,
    pub shutdown_timeout: Duration,
}

impl ServerConfig {
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let port_setting = if reader.string(PORT).is_none() && reader.string(PORT_LEGACY).is_some()
        {
            PORT_LEGACY
        } else {
            PORT
        };
        let port = match reader.string(port_setting) {
            None => DEFAULT_PORT,
            Some(value) => value.parse::<u16>().unwrap_or_else(|_| {
                reader.invalid(
                    port_setting,
                    format!(
                        "{value:?} is not a port: a port is a whole number from 1 to 65535 (0 \
                         picks a free one); the Functions host sets this variable itself"
                    ),
                );
                DEFAULT_PORT
            }),
        };
        let app_root = reader
            .string(APP_ROOT)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let host = host::read_host_settings(&app_root).unwrap_or_else(|error| {
            reader.invalid(APP_ROOT, error.to_string());
            host::HostSettings::default()
        });
        let log_filter = reader
            .string(RUST_LOG)
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
        let log_filter = match crate::telemetry::filter::parse(&log_filter) {
            Ok(filter) => filter.directives,
            Err(message) => {
                reader.invalid(RUST_LOG, message);
                DEFAULT_LOG_FILTER.to_owned()
            }
        };
        Self {
            port,
            app_root,
            host,
            log_format: reader.parse(LOG_FORMAT, LogFormat::Plain),
            log_filter,
            shutdown_timeout: reader.millis(
                SHUTDOWN_TIMEOUT_MS,
                DEFAULT_SHUTDOWN_TIMEOUT_MS,
                0..=600_000,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_bad_port_says_what_a_port_is() {
        let env: HashMap<&str, &str> = HashMap::from([(PORT, "80a")]);
        let mut reader = Reader::new(&env);
        ServerConfig::read(&mut reader);
        let errors = reader.into_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].setting, PORT);
        assert!(
            errors[0].message.contains("whole number from 1 to 65535"),
            "{}",
            errors[0].message
        );
    }
}
