//! `handler check`: loads every setting and file with [`Config::load`] (the code `serve` runs)
//! and prints the posture with values, then warnings, then errors; with `--cert` or `--header`
//! it explains the decision `serve` would make on one certificate, step by step.
//!
//! - `posture`: what is trusted and allowed, and the warnings (expiring CAs, CRLs near their
//!   nextUpdate, look-alike settings, an empty allowlist).
//! - `front_end`: the front end's client-certificate settings, read from ARM once as `serve`
//!   reads them, and the verdict.
//! - `daily`: the same file warnings logged by `serve` at startup and every day.
//! - `runbook`: what to change (a `--cert` file is sent as the front end would, with
//!   `client_cert::header::encode`).
//! - `decision`: the trace of one decision, from [`Authenticator::authorize`](crate::client_cert::Authenticator::authorize).
//!
//! Exit codes: 0 when `serve` would start (and, with a certificate, admit it), 1 when the
//! certificate is refused (or `--strict` and there are warnings), 64 on bad settings or input.

pub mod daily;
pub mod decision;
pub mod front_end;
pub mod posture;
pub mod runbook;

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::UnixTime;
use rustls_pki_types::pem::PemObject as _;

use crate::app::AppBuilder;
use crate::client_cert::Authenticator;
use crate::config::{self, Config, Env};
use crate::crl_source::fetch::Fetcher;
use crate::crl_source::{self, CrlUrls, SourceReport};
use crate::startup::App;

/// The largest `--cert` file or `--header` value read (a certificate is a few KiB).
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;
/// The longest `--at` accepted before parsing (an RFC 3339 time is about 30 characters).
pub const MAX_AT_CHARS: usize = 64;

/// `handler check` options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CheckOptions {
    /// A client certificate to judge: PEM or DER file, `-` for stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "header")]
    pub cert: Option<PathBuf>,
    /// A header value as the front end sends it, in CLIENT_CERT_HEADER_FORMAT.
    #[arg(long, value_name = "VALUE")]
    pub header: Option<String>,
    /// Judge at this time instead of now (RFC 3339, e.g. 2026-01-31T12:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print one JSON object (status, code, matchedRule, steps, advice).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when there are warnings.
    #[arg(long)]
    pub strict: bool,
    /// Judge with the settings `handler dev` adds: your environment plus the dev CA and the dev
    /// client's CN, from the development PKI in --dir.
    #[arg(long)]
    pub dev: bool,
    /// The development PKI's folder, with --dev (default .dev).
    #[arg(long, value_name = "DIR", requires = "dev")]
    pub dir: Option<PathBuf>,
}

/// What `check` printed and the exit code it ends with.
#[derive(Debug)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: u8,
}

/// Runs `handler check` against `env` (with `--dev`, against `env` as `handler dev` extends it)
/// for an app that adds `functions` to the built-in ones: the posture check judges their
/// routes too, as `serve` does.
pub fn run(
    options: &CheckOptions,
    env: &dyn Env,
    functions: impl FnOnce(AppBuilder) -> AppBuilder,
) -> Outcome {
    if !options.dev {
        return run_with(options, env, functions);
    }
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::dev::DEFAULT_DIR));
    let settings = match crate::dev::check_settings(&dir, env) {
        Ok(settings) => settings,
        Err(error) => return usage_error(&format!("--dev: {error}")),
    };
    let mut outcome = run_with(options, &settings.overlay(env), functions);
    if !options.json {
        outcome.stdout = format!(
            "with the settings handler dev adds (PKI in {}):\n{}{}",
            dir.display(),
            settings.render(),
            outcome.stdout
        );
    }
    outcome
}

fn run_with(
    options: &CheckOptions,
    env: &dyn Env,
    functions: impl FnOnce(AppBuilder) -> AppBuilder,
) -> Outcome {
    let at = match options.at.as_deref().map(parse_at).transpose() {
        Ok(at) => at,
        Err(message) => return usage_error(&format!("--at: {message}")),
    };
    let now = at.unwrap_or_else(UnixTime::now);
    let input = match read_input(options) {
        Ok(input) => input,
        Err(message) => return usage_error(&message),
    };
    let config = match Config::load(env) {
        Ok(config) => config,
        Err(error) => {
            // The posture needs a loaded configuration; the look-alikes often explain the errors.
            let mut stdout = String::new();
            let look_alikes = config::spelling::look_alikes(env);
            if !look_alikes.is_empty() {
                stdout.push_str(&format!("warnings: {}\n", look_alikes.len()));
                for look_alike in look_alikes {
                    stdout.push_str(&format!("  - {look_alike}\n"));
                }
            }
            return Outcome {
                stdout,
                stderr: format!("errors:\n{error}\n"),
                exit_code: config::EXIT_CONFIG as u8,
            };
        }
    };
    // serve builds the outbound client after the settings load; a failure there stops it too.
    if let Some(settings) = &config.outbound.settings
        && let Err(error) = crate::outbound::OutboundClient::build(settings)
    {
        return Outcome {
            stdout: String::new(),
            stderr: format!("errors:\n  - outbound client: {error}\n"),
            exit_code: config::EXIT_CONFIG as u8,
        };
    }
    let (authenticator, sources) = match as_serve_starts(&config) {
        Ok(started) => started,
        Err(error) => {
            return Outcome {
                stdout: String::new(),
                stderr: format!("errors:\n  - {error}\n"),
                exit_code: config::EXIT_CONFIG as u8,
            };
        }
    };
    match input {
        Some(Input::Header(value)) => judge(options, &config, &authenticator, &value, now),
        Some(Input::Der(der)) => {
            let value = crate::client_cert::header::encode(&der, config.inbound.header_format);
            judge(options, &config, &authenticator, &value, now)
        }
        None => {
            // The app's functions, as `serve` registers them; the builder takes a
            // configuration of its own, loaded the same way (it loaded once already).
            let protected = match Config::load(env) {
                Ok(own) => crate::functions::protected_prefixes(
                    functions(App::builder(own)).functions(),
                    &config.server.host.route_prefix,
                ),
                Err(_) => Vec::new(),
            };
            describe(options, &config, env, protected, &sources, now)
        }
    }
}

/// The authenticator `serve` has when it starts answering: with CRL distribution points
/// configured, each is fetched once, waiting at most as long as `serve` waits, so that `check`
/// judges with the CRLs `serve` would hold. Returns each source as it then stands.
fn as_serve_starts(config: &Config) -> Result<(Arc<Authenticator>, Vec<SourceReport>), String> {
    let authenticator = Arc::new(Authenticator::new(&config.inbound));
    if config.inbound.crl_urls.is_empty() {
        return Ok((authenticator, Vec::new()));
    }
    let fetcher = Fetcher::new().map_err(|error| format!("crl fetcher: {error}"))?;
    let urls = CrlUrls::new(
        &config.inbound.crl_urls,
        config.inbound.crl_issuers.clone(),
        config.inbound.crl_reload,
        fetcher,
        Arc::clone(&authenticator),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("could not start the runtime that fetches crls: {error}"))?;
    runtime.block_on(urls.fetch_once());
    Ok((authenticator, urls.report()))
}

fn describe(
    options: &CheckOptions,
    config: &Config,
    env: &dyn Env,
    protected: Vec<String>,
    sources: &[SourceReport],
    now: UnixTime,
) -> Outcome {
    let mut posture = posture::describe(config, now.as_secs());
    front_end::describe(config, env, protected, &mut posture);
    for source in sources {
        posture.line(format!(
            "crl source: {} (last fetch {}: {}; thisUpdate {}, nextUpdate {})",
            source.url,
            crl_source::at(source.last_fetch),
            source.outcome,
            crl_source::at(source.this_update),
            crl_source::at(source.next_update),
        ));
        if source.this_update.is_none() {
            posture.warnings.push(format!(
                "crl source {} has no crl yet: certificates it covers are refused as unknown",
                source.url
            ));
        }
    }
    let mut stdout = posture.text;
    stdout.push_str(&format!("warnings: {}\n", posture.warnings.len()));
    for warning in &posture.warnings {
        stdout.push_str(&format!("  - {warning}\n"));
    }
    stdout.push_str("errors: 0 (serve would start)\n");
    let exit_code = u8::from(options.strict && !posture.warnings.is_empty());
    Outcome {
        stdout,
        stderr: String::new(),
        exit_code,
    }
}

fn judge(
    options: &CheckOptions,
    config: &Config,
    authenticator: &Authenticator,
    header_value: &str,
    now: UnixTime,
) -> Outcome {
    let trace = decision::explain(config, authenticator, &[header_value.as_bytes()], now);
    let exit_code = u8::from(trace.code.is_some());
    let stdout = if options.json {
        let mut json = serde_json::to_string(&trace).unwrap_or_default();
        json.push('\n');
        json
    } else {
        let mut text = String::new();
        for step in &trace.steps {
            text.push_str(&format!(
                "{:<20} {:<12} {}\n",
                step.step, step.outcome, step.detail
            ));
        }
        match (trace.code, &trace.matched_rule) {
            (None, Some(rule)) => text.push_str(&format!(
                "answer: {} admitted by rule {rule}\n",
                trace.status
            )),
            (code, _) => text.push_str(&format!(
                "answer: {} {}\nto change: {}\n",
                trace.status,
                code.unwrap_or("-"),
                trace.advice.as_deref().unwrap_or("-")
            )),
        }
        text
    };
    Outcome {
        stdout,
        stderr: String::new(),
        exit_code,
    }
}

/// `--at`, parsed by the `time` crate's RFC 3339 parser after a length bound.
fn parse_at(text: &str) -> Result<UnixTime, String> {
    use time::format_description::well_known::Rfc3339;
    if text.len() > MAX_AT_CHARS {
        return Err(format!(
            "too long ({} bytes): expected an RFC 3339 time such as 2026-01-31T12:00:00Z",
            text.len()
        ));
    }
    let at = time::OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| "not an RFC 3339 time: expected e.g. 2026-01-31T12:00:00Z".to_owned())?;
    let seconds = u64::try_from(at.unix_timestamp())
        .map_err(|_| "before 1970: certificates are judged from 1970 on".to_owned())?;
    Ok(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        seconds,
    )))
}

/// What to judge: a header value as given, or a certificate to encode as the front end would.
enum Input {
    Header(String),
    Der(Vec<u8>),
}

/// `--header` or `--cert` (bounded in bytes); `None` for a posture check.
fn read_input(options: &CheckOptions) -> Result<Option<Input>, String> {
    if let Some(value) = &options.header {
        if value.len() > MAX_INPUT_BYTES {
            return Err(format!("--header: longer than {MAX_INPUT_BYTES} bytes"));
        }
        return Ok(Some(Input::Header(value.clone())));
    }
    let Some(path) = &options.cert else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_INPUT_BYTES + 1).unwrap_or(u64::MAX);
    let read = if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|error| format!("--cert {}: {error}", path.display()))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(format!(
            "--cert {}: larger than {MAX_INPUT_BYTES} bytes",
            path.display()
        ));
    }
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let der = rustls_pki_types::CertificateDer::from_pem_slice(&bytes)
            .map_err(|_| format!("--cert {}: no PEM CERTIFICATE block", path.display()))?;
        return Ok(Some(Input::Der(der.to_vec())));
    }
    Ok(Some(Input::Der(bytes)))
}

fn usage_error(message: &str) -> Outcome {
    Outcome {
        stdout: String::new(),
        stderr: format!("handler check: {message}\n"),
        exit_code: config::EXIT_CONFIG as u8,
    }
}
