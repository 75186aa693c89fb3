//! What to tell the operator about an outbound identity that does not load: the setting to
//! blame, the reason ([`Reason`]) and a message that says how to fix it, for mistakes whose raw
//! error misleads: a PKCS#12 password (named under the password setting, saying whether one was
//! given), a thumbprint file or certificate folder that is not there (App Service writes them
//! only for certificates loaded for code), a Key Vault reference the platform did not resolve.
//!
//! A pure function from an error to an [`Unavailable`], used at startup (`outbound.rs`) and by
//! the reloader on every failed attempt. Never the password itself, nor an inline value.

use secrecy::ExposeSecret;

use super::outbound::{
    CLIENT_CERT_BASE64, CLIENT_CERT_DIR, CLIENT_CERT_PASSWORD, CLIENT_CERT_THUMBPRINT,
};
use crate::cert_file::LoadError;
use crate::outbound::identity_source::{IdentitySource, SourceError};
use crate::outbound::{IdentityError, Reason, Unavailable};

/// The setting to blame for an identity that does not load, why, and what to do about it.
pub(crate) fn identity_problem(source: &IdentitySource, error: &SourceError) -> Unavailable {
    let retrying = source.can_change();
    let (reason, setting, message) = match error {
        SourceError::Identity {
            origin,
            source: identity_error,
        } => identity_advice(source, origin, identity_error),
        SourceError::Dir { dir, source: io } => {
            let reason = if io.kind() == std::io::ErrorKind::NotFound {
                Reason::IdentityMissing
            } else {
                Reason::IdentityUnreadable
            };
            let message = format!(
                "{error}: App Service creates {dir} when a certificate with its private key is \
                 loaded for code (list its thumbprint, or *, in WEBSITE_LOAD_CERTIFICATES); or \
                 point {CLIENT_CERT_DIR} at the folder that holds the .p12 files"
            );
            (reason, CLIENT_CERT_DIR, message)
        }
        SourceError::NoMatch { .. } => (
            Reason::NoMatchingCertificate,
            source.setting(),
            format!(
                "{error}: load the certificate for code (WEBSITE_LOAD_CERTIFICATES), or fix the \
                 CN; a renewal from another CA needs OUTBOUND_CLIENT_CERT_ALLOW_ANY_ISSUER=true"
            ),
        ),
        SourceError::UnresolvedKeyVaultReference { .. } => (
            Reason::KeyVaultReferenceUnresolved,
            CLIENT_CERT_BASE64,
            format!(
                "{error}: the platform could not fetch the secret. Give the app's managed \
                 identity read access to it (the Key Vault Secrets User role), check the \
                 reference's status in the portal (Environment variables), let the app through \
                 the vault's network rules, then restart the app: references are resolved when \
                 it starts"
            ),
        ),
        SourceError::NotBase64 | SourceError::InlineTooLarge { .. } => (
            Reason::IdentityInvalid,
            source.setting(),
            format!(
                "{error}: {} must hold base64 PKCS#12 (or of PEM) or PEM text",
                source.setting()
            ),
        ),
    };
    Unavailable::new(reason, setting, message, retrying)
}

fn identity_advice(
    source: &IdentitySource,
    path: &str,
    error: &IdentityError,
) -> (Reason, &'static str, String) {
    let no_password = source.password().expose_secret().is_empty();
    match error {
        IdentityError::WrongPassword | IdentityError::Decrypt { .. } if no_password => (
            Reason::WrongPassword,
            CLIENT_CERT_PASSWORD,
            format!(
                "{path} needs a password and none was given ({CLIENT_CERT_PASSWORD} is unset \
                 or empty): set it to the PKCS#12 file's password ({error})"
            ),
        ),
        IdentityError::WrongPassword | IdentityError::Decrypt { .. } => (
            Reason::WrongPassword,
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
                Reason::IdentityMissing,
                CLIENT_CERT_THUMBPRINT,
                format!(
                    "{path} does not exist: App Service writes <THUMBPRINT>.p12 there only for a \
                     certificate loaded for code: upload the certificate with its private key \
                     to the app and list its thumbprint (or *) in the WEBSITE_LOAD_CERTIFICATES \
                     app setting; or point {CLIENT_CERT_DIR} at the folder that holds it"
                ),
            )
        }
        IdentityError::Read(LoadError::Io { source: io, .. }) => {
            let (reason, hint) = match io.kind() {
                std::io::ErrorKind::NotFound => (
                    Reason::IdentityMissing,
                    "put the file there (it is taken as soon as it appears) or fix the path",
                ),
                std::io::ErrorKind::PermissionDenied => {
                    (Reason::IdentityUnreadable, "let the handler's user read it")
                }
                _ => (
                    Reason::IdentityUnreadable,
                    "replace it with a regular file holding the identity",
                ),
            };
            (reason, source.setting(), format!("{path}: {error}: {hint}"))
        }
        IdentityError::Expired { .. } => (
            Reason::IdentityExpired,
            source.setting(),
            format!("{path}: {error}: renew the certificate (the renewal is taken as it lands)"),
        ),
        IdentityError::NotYetValid { .. } => (
            Reason::IdentityNotYetValid,
            source.setting(),
            format!("{path}: {error}: it is taken once it is valid"),
        ),
        _ => (
            Reason::IdentityInvalid,
            source.setting(),
            format!("{path}: {error}"),
        ),
    }
}
