//! End-to-end tests: the built `handler` binary driven by a stand-in for the Functions host.

mod app_files;
mod auth;
mod check;
mod crl_files;
mod crl_urls;
mod dev;
mod faults;
mod hostile;
// A PKCS#12 file built to cost key derivations (only this suite needs its crates).
mod hostile_p12;
mod identity_renewal;
mod lifecycle;
mod logs;
mod modes;
mod outbound;
mod posture;
mod soak;
mod support;

/// The app under test: this repository's own function app and its `handler`.
const APP: support::AppUnderTest = support::AppUnderTest {
    root: env!("CARGO_MANIFEST_DIR"),
    binary: env!("CARGO_BIN_EXE_handler"),
};
