//! End-to-end tests: the built `handler` binary driven by a stand-in for the Functions host.

mod app_files;
mod auth;
mod check;
mod dev;
mod faults;
mod hostile;
mod lifecycle;
mod logs;
mod modes;
mod outbound;
mod soak;
mod support;
