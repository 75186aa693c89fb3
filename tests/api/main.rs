//! End-to-end tests: the built `handler` binary driven by a stand-in for the Functions host.

mod app_files;
mod auth;
mod check;
mod crl_files;
mod crl_urls;
mod dev;
mod faults;
mod hostile;
mod identity_renewal;
mod lifecycle;
mod logs;
mod modes;
mod outbound;
mod soak;
mod support;
