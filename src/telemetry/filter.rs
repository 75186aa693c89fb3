//! `RUST_LOG`: tracing's filter directives, also accepting the level names host.json and
//! Application Insights use (`Information`, `Warning`, `Critical`, `None`, ...), and refusing
//! a filter that would silence the handler's own warnings (the startup posture and the refusal
//! reasons are warnings an operator needs).
//!
//! Without this, `RUST_LOG=Information` parses as a *target* named `Information` and silences
//! every line. What is parsed here is only the level part of each directive; targets, spans and
//! fields are passed to tracing-subscriber unchanged.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// The target prefix of every event the handler itself emits.
const OWN_TARGET: &str = "mtls_handler";

/// A `RUST_LOG` value translated to tracing's syntax and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// Directives in tracing-subscriber's syntax, e.g. `info,warp=warn`.
    pub directives: String,
}

/// Translates and checks `spec`.
///
/// # Errors
/// A message (for `RUST_LOG`) when a directive does not parse or the handler's own warnings
/// would be silenced.
pub fn parse(spec: &str) -> Result<LogFilter, String> {
    let directives: Vec<String> = spec
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .map(translate)
        .collect();
    let directives = directives.join(",");
    if let Err(error) = EnvFilter::builder().parse(&directives) {
        return Err(format!(
            "{spec:?} is not a filter ({error}); use a level (Trace, Debug, Information, \
             Warning, Error) or tracing directives such as info,warp=warn"
        ));
    }
    check_own_warnings(&directives)?;
    Ok(LogFilter { directives })
}

/// A host or tracing level name, case-insensitive, as tracing writes it.
fn level_name(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_lowercase().as_str() {
        "trace" | "verbose" => "trace",
        "debug" => "debug",
        "info" | "information" => "info",
        "warn" | "warning" => "warn",
        "error" | "critical" => "error",
        "off" | "none" => "off",
        _ => return None,
    })
}

/// One directive with its level word in tracing's spelling.
fn translate(directive: &str) -> String {
    match directive.rsplit_once('=') {
        Some((target, level)) => match level_name(level.trim()) {
            Some(level) => format!("{}={level}", target.trim()),
            None => directive.to_owned(),
        },
        None => level_name(directive).map_or_else(|| directive.to_owned(), str::to_owned),
    }
}

/// Refuses directives that leave the handler's warnings off: a bare level, or a target that
/// covers the handler's modules, at `error` or `off`; or no directive covering them at all.
fn check_own_warnings(directives: &str) -> Result<(), String> {
    let mut covered = false;
    for directive in directives.split(',').filter(|d| !d.is_empty()) {
        if directive.contains('[') {
            continue; // span-scoped directives only add to what is enabled
        }
        let (target, level) = match directive.rsplit_once('=') {
            Some((target, level)) => (Some(target), level),
            None if level_name(directive).is_some() => (None, directive),
            None => (Some(directive), "trace"),
        };
        let applies = match target {
            None => true,
            Some(target) => OWN_TARGET.starts_with(target) || target.starts_with(OWN_TARGET),
        };
        if !applies {
            continue;
        }
        covered |= target.is_none_or(|target| OWN_TARGET.starts_with(target));
        let level: LevelFilter = level.parse().unwrap_or(LevelFilter::TRACE);
        if level < LevelFilter::WARN {
            return Err(format!(
                "{directive:?} would hide the handler's own alerts (its startup posture and \
                 refusal reasons, logged at that level); use Warning or a more verbose level, \
                 e.g. RUST_LOG=info"
            ));
        }
    }
    if covered {
        Ok(())
    } else {
        Err(format!(
            "{directives:?} sets no level for the handler itself, which hides its own alerts \
             (startup posture, refusal reasons); add a level, e.g. RUST_LOG=info,{directives}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_level_names_are_accepted_in_any_case() {
        let cases = [
            ("Information", "info"),
            ("information", "info"),
            ("Warning", "warn"),
            ("Trace", "trace"),
            ("Debug", "debug"),
            ("verbose", "trace"),
            ("info", "info"),
            ("Information,warp=Warning", "info,warp=warn"),
            (
                "warp=debug, mtls_handler=Information",
                "warp=debug,mtls_handler=info",
            ),
            (
                "mtls_handler[request{path=x}]=debug,info",
                "mtls_handler[request{path=x}]=debug,info",
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                parse(spec).map(|filter| filter.directives),
                Ok(expected.to_owned()),
                "{spec}"
            );
        }
    }

    #[test]
    fn filters_that_silence_the_handlers_warnings_are_refused() {
        for spec in [
            "Error",
            "Critical",
            "None",
            "off",
            "info,mtls_handler=error",
            "info,mtls_handler::client_cert=off",
            "warp=debug",
            "Informational",
            "",
        ] {
            let error = parse(spec).expect_err(spec);
            assert!(error.contains("refusal reasons"), "{spec}: {error}");
        }
    }

    #[test]
    fn malformed_directives_are_refused_with_the_accepted_names() {
        let error = parse("info,warp=loud[").expect_err("not a filter");
        assert!(error.contains("Information"), "{error}");
    }
}
