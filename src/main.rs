//! The `handler` executable that host.json names: parse the command line, load and check the
//! configuration (print every problem, exit 64), install logging, serve.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mtls_handler::config::{self, Config, ProcessEnv};
use mtls_handler::{startup, telemetry};

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
    Serve,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
    }
}

fn serve() -> ExitCode {
    let config = match Config::load(&ProcessEnv) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("handler: {error}");
            return ExitCode::from(config::EXIT_CONFIG as u8);
        }
    };
    telemetry::init(config.server.log_format, &config.server.log_filter);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("handler: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match startup::build(&config).await {
            Ok(app) => app,
            Err(error) => {
                tracing::error!(error = %error, "startup failed");
                eprintln!("handler: {error}");
                return ExitCode::FAILURE;
            }
        };
        if let Ok(addr) = app.local_addr() {
            tracing::info!(%addr, route_prefix = %config.server.host.route_prefix, "listening");
        }
        app.run(startup::shutdown_signal()).await;
        tracing::info!("stopped");
        ExitCode::SUCCESS
    })
}
