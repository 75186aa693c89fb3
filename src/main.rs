//! The `handler` executable that host.json names: the command line of `mtls_handler::cli` with
//! the built-in functions only. An app that adds functions has a main just like this one, with
//! its functions in the closure (see `examples/orders-api`).

fn main() -> std::process::ExitCode {
    mtls_handler::cli::main(|app| app)
}
