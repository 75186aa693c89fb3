//! End-to-end tests: the built `handler` binary driven by a stand-in for the Functions host.

mod app_files;
mod auth;
mod check;
mod crl_urls;
mod dev;
mod faults;
mod hostile;
mod identity_renewal;
mod lifecycle;
mod logs;
mod modes;
mod outbound;
mod posture;
mod soak;
mod support;
