//! Test support: the Functions app's files, the handler process, and the host emulator.
#![allow(dead_code)]

pub mod app;
pub mod host;
pub mod process;

pub use app::FunctionApp;
pub use host::{ClientRequest, FunctionsHost, MODES, Mode};
pub use process::{HandlerProcess, free_port};
pub mod pki;
pub mod upstream;
