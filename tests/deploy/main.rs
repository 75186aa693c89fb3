//! Deploying to Azure: what can be checked without Azure. The Bicep template's security and
//! platform rules, read from its text (`infra.rs`; no Bicep compiler here), the deployable
//! package built by `scripts/package.sh` (`package.rs`), and the proof after deploying,
//! `scripts/verify-deployment.sh`, run against `handler dev` playing the front end (`verify.rs`).

mod infra;
mod package;
// The api suite's way of starting the built binary as the host does; only part of it is used here.
#[allow(dead_code)]
#[path = "../api/support/process.rs"]
mod process;
mod temp;
mod verify;

/// What `process.rs` starts: this repository's app root and its `handler`.
struct AppUnderTest {
    root: &'static str,
    binary: &'static str,
}

const APP: AppUnderTest = AppUnderTest {
    root: env!("CARGO_MANIFEST_DIR"),
    binary: env!("CARGO_BIN_EXE_handler"),
};
