//! Startup messages that say how to fix a problem, for mistakes whose raw error misleads: a
//! PKCS#12 password (named under the password setting, saying whether one was given) and a
//! thumbprint file that is not there (App Service writes it only when the certificate is
//! loaded for code).
//!
//! Pure functions from an error to `(setting, message)`; `outbound.rs` records them. Never the
//! password itself, nor an inline identity's value.

use secrecy::ExposeSecret;

use super::outbound::{CLIENT_CERT_DIR, CLIENT_CERT_PASSWORD, CLIENT_CERT_THUMBPRINT};
use crate::cert_file::LoadError;
use crate::outbound::IdentityError;
use crate::outbound::identity_source::{IdentitySource, SourceError};

/// The setting to blame for an identity that does not load, and what to do about it.
pub(super) fn identity_problem(
    source: &IdentitySource,
    error: &SourceError,
) -> (&'static str, String) {
    let SourceError::Identity {
        origin: path,
        source: error,
    } = error
    else {
        return (source.setting(), error.to_string());
    };
    let no_password = source.password().expose_secret().is_empty();
    match error {
        IdentityError::WrongPassword | IdentityError::Decrypt { .. } if no_password => (
            CLIENT_CERT_PASSWORD,
            format!(
                "{path} needs a password and none was given ({CLIENT_CERT_PASSWORD} is unset \
                 or empty): set it to the PKCS#12 file's password ({error})"
            ),
        ),
        IdentityError::WrongPassword | IdentityError::Decrypt { .. } => (
            CLIENT_CERT_PASSWORD,
            format!(
                "the password given does not open {path}: check {CLIENT_CERT_PASSWORD} \
                 ({error})"
            ),
        ),
        IdentityError::Read(LoadError::Io { source: io, .. })
            if source.setting() == CLIENT_CERT_THUMBPRINT
                && io.kind() == std::io::ErrorKind::NotFound =>
        {
            (
                CLIENT_CERT_THUMBPRINT,
                format!(
                    "{path} does not exist: App Service writes <THUMBPRINT>.p12 there only for a \
                     certificate loaded for code: upload the certificate with its private key \
                     to the app and list its thumbprint (or *) in the WEBSITE_LOAD_CERTIFICATES \
                     app setting; or point {CLIENT_CERT_DIR} at the folder that holds it"
                ),
            )
        }
        _ => (source.setting(), format!("{path}: {error}")),
    }
}
