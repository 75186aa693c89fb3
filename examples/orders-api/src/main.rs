//! The executable host.json names: mtls-handler's command line (`serve`, `dev`, `check`,
//! `settings`) with this app's functions added to the built-in ones.

fn main() -> std::process::ExitCode {
    mtls_handler::cli::main(orders_api::functions)
}
