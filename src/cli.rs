//! The `handler` command line, for the handler's own binary and for an app's: [`main`] parses
//! the command, loads and checks the configuration (every problem printed, exit 64), installs
//! logging and runs `serve` (the default), `dev`, `check` or `settings`, with the functions the
//! app adds.
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     mtls_handler::cli::main(|app| app) // the built-in functions only: the `handler` binary
//! }
//! ```

use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::app::AppBuilder;
use crate::check::{self, CheckOptions};
use crate::config::{self, Config, ProcessEnv};
use crate::dev::{Dev, DevError, DevOptions};
use crate::startup::{self, App};
use crate::telemetry;

/// Azure Functions custom handler that admits callers by their TLS client certificate.
#[derive(Debug, Parser)]
#[command(name = "handler", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the functions on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT (the default command).
    #[command(
        after_help = "Settings are environment variables: `handler settings` lists each with its default and meaning; `handler check` validates them."
    )]
    Serve,
    /// Local development with real mutual TLS: a dev PKI, an HTTPS front end that forwards the
    /// client certificate like App Service, and a local mutual-TLS remote API; with --upstream,
    /// the front end alone, in front of a running `func start`.
    Dev(DevOptions),
    /// Load every setting as `serve` does and print the posture, warnings and errors; with
    /// --cert or --header, explain the decision `serve` would make on that certificate.
    Check(CheckOptions),
    /// Print every setting with its default and meaning.
    Settings,
}

/// Runs the command line with the functions `functions` adds to the built-in ones, and returns
/// the exit code: 0 after a clean stop, 64 for a configuration error, 1 for any other failure
/// to start (`check` has its own codes).
pub fn main(functions: impl FnOnce(AppBuilder) -> AppBuilder) -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(functions),
        Command::Dev(options) => dev(&options, functions),
        Command::Settings => {
            print!("{}", config::table::render());
            ExitCode::SUCCESS
        }
        Command::Check(options) => {
            let outcome = check::run(&options, &ProcessEnv, functions);
            print!("{}", outcome.stdout);
            eprint!("{}", outcome.stderr);
            ExitCode::from(outcome.exit_code)
        }
    }
}

fn serve(functions: impl FnOnce(AppBuilder) -> AppBuilder) -> ExitCode {
    let config = match Config::load(&ProcessEnv) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("handler: {error}");
            return ExitCode::from(config::EXIT_CONFIG as u8);
        }
    };
    telemetry::init(config.server.log_format, &config.server.log_filter);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let stop = Stop::new(config.server.shutdown_timeout);
    let code = runtime.block_on(async {
        let app = match functions(App::builder(config)).build().await {
            Ok(app) => app,
            Err(error) => {
                tracing::error!(error = %error, "startup failed");
                eprintln!("handler: {error}");
                return ExitCode::FAILURE;
            }
        };
        if let Ok(addr) = app.local_addr() {
            tracing::info!(%addr, route_prefix = %app.route_prefix(), "listening");
        }
        app.run(stop.signal()).await;
        tracing::info!("stopped");
        ExitCode::SUCCESS
    });
    stop.shut_down(runtime);
    code
}

fn dev(options: &DevOptions, functions: impl FnOnce(AppBuilder) -> AppBuilder) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let mut stop = None;
    let code = runtime.block_on(async {
        let dev = match Dev::prepare(options, &ProcessEnv).await {
            Ok(dev) => dev,
            Err(error @ DevError::Config(_)) => {
                eprintln!("handler: {error}");
                return ExitCode::from(config::EXIT_CONFIG as u8);
            }
            Err(error) => {
                eprintln!("handler: {error}");
                return ExitCode::FAILURE;
            }
        };
        let (format, filter) = dev.log_settings();
        telemetry::init(format, &filter);
        let dev_stop = stop.insert(Stop::new(dev.shutdown_timeout()));
        if let Err(error) = dev.run(functions, dev_stop.signal()).await {
            tracing::error!(error = %error, "startup failed");
            eprintln!("handler: {error}");
            return ExitCode::FAILURE;
        }
        tracing::info!("stopped");
        ExitCode::SUCCESS
    });
    match stop {
        Some(stop) => stop.shut_down(runtime),
        None => runtime.shutdown_background(),
    }
    code
}

/// When the process must be gone: `SHUTDOWN_TIMEOUT_MS` after the stop signal, whatever a
/// background task or the blocking pool is still doing (a CRL or identity reload stuck on a
/// file, a key derivation). Dropping a runtime waits for every blocking task without bound, so
/// the runtime is shut down with what is left of the timeout instead, and the work still
/// running is abandoned with the process.
struct Stop {
    timeout: Duration,
    signalled: Arc<OnceLock<Instant>>,
}

impl Stop {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            signalled: Arc::default(),
        }
    }

    /// SIGTERM or Ctrl-C, noting when it arrived.
    fn signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let signalled = Arc::clone(&self.signalled);
        async move {
            startup::shutdown_signal().await;
            signalled.set(Instant::now()).ok();
        }
    }

    /// Shuts `runtime` down, waiting for its remaining work at most until the deadline (at
    /// once when the server stopped for another reason than the signal).
    fn shut_down(self, runtime: tokio::runtime::Runtime) {
        let remaining = self.signalled.get().map_or(Duration::ZERO, |at| {
            (*at + self.timeout).saturating_duration_since(Instant::now())
        });
        runtime.shutdown_timeout(remaining);
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|error| {
        eprintln!("handler: cannot start the async runtime: {error}");
        ExitCode::FAILURE
    })
}
