//! Deploying to Azure: what can be checked without Azure. The Bicep template's security
//! properties, read from its text (`infra.rs`; no Bicep compiler here), and the deployable
//! package built by `scripts/package.sh` (`package.rs`).

mod infra;
mod package;
