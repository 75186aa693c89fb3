//! Why the outbound client cannot call anyone right now ([`Unavailable`]): the reason as a
//! stable word for `health` and the 503's code, the setting to fix, and the operator's message.
//!
//! Outbound is one function's dependency, so nothing about it stops the process: an identity
//! that is not there yet, cannot be read or opened, has expired, or settings that make no client
//! possible leave the client unavailable with one of these, and everything else serves. Which
//! setting to blame and what to advise is decided where the settings are known
//! (`config::advice`); this module only carries it. The message may name files and settings,
//! never a secret, and only goes to logs: callers and `health` see [`Reason::public_message`].

use std::fmt;

/// Why the outbound client is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// No outbound setting is set (or the demo has no `REMOTE_API_URL` to call).
    NotConfigured,
    /// An upstream URL is set but no client identity.
    IdentityNotConfigured,
    /// The identity file (or folder) is not there, yet.
    IdentityMissing,
    /// The identity file exists but cannot be read.
    IdentityUnreadable,
    /// The password does not open the identity.
    WrongPassword,
    /// The identity's certificate has expired.
    IdentityExpired,
    /// The identity's certificate is not valid yet.
    IdentityNotYetValid,
    /// No certificate in the folder qualifies for the configured CN.
    NoMatchingCertificate,
    /// The setting holds a Key Vault reference the platform could not resolve.
    KeyVaultReferenceUnresolved,
    /// The file is not a usable identity (no key, a key that does not match, too costly, ...).
    IdentityInvalid,
    /// Loading the identity did not finish in time.
    LoadTimedOut,
    /// An outbound setting is invalid; nothing is retried until the settings change.
    SettingInvalid,
}

/// The outbound client is unavailable: why, which setting to fix, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    reason: Reason,
    setting: &'static str,
    message: String,
    retrying: bool,
}

// === impl Reason ===

impl Reason {
    /// A stable word for `health` and logs, e.g. `identity_missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::IdentityNotConfigured => "identity_not_configured",
            Self::IdentityMissing => "identity_missing",
            Self::IdentityUnreadable => "identity_unreadable",
            Self::WrongPassword => "wrong_password",
            Self::IdentityExpired => "identity_expired",
            Self::IdentityNotYetValid => "identity_not_yet_valid",
            Self::NoMatchingCertificate => "no_matching_certificate",
            Self::KeyVaultReferenceUnresolved => "key_vault_reference_unresolved",
            Self::IdentityInvalid => "identity_invalid",
            Self::LoadTimedOut => "load_timed_out",
            Self::SettingInvalid => "setting_invalid",
        }
    }

    /// What anyone may be told: no path, no name, no value.
    pub fn public_message(self) -> &'static str {
        match self {
            Self::NotConfigured => "outbound mutual TLS is not configured",
            Self::IdentityNotConfigured => "no outbound client identity is configured",
            Self::IdentityMissing => "the outbound client identity is not there (yet)",
            Self::IdentityUnreadable => "the outbound client identity cannot be read",
            Self::WrongPassword => "the password does not open the outbound client identity",
            Self::IdentityExpired => "the outbound client certificate has expired",
            Self::IdentityNotYetValid => "the outbound client certificate is not valid yet",
            Self::NoMatchingCertificate => {
                "no certificate qualifies as the outbound client identity"
            }
            Self::KeyVaultReferenceUnresolved => {
                "the Key Vault reference for the outbound identity is not resolved"
            }
            Self::IdentityInvalid => "the outbound client identity is not usable",
            Self::LoadTimedOut => "loading the outbound client identity did not finish in time",
            Self::SettingInvalid => "an outbound setting is invalid",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl Unavailable ===

impl Unavailable {
    /// `reason`, blaming `setting`, with the operator's `message` (no secrets). `retrying`:
    /// whether the identity's source is looked at again without a restart.
    pub fn new(
        reason: Reason,
        setting: &'static str,
        message: impl Into<String>,
        retrying: bool,
    ) -> Self {
        Self {
            reason,
            setting,
            message: message.into(),
            retrying,
        }
    }

    /// Why.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The setting to fix.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// What happened and how to fix it, for the operator's log (may name files; no secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the source is checked again (a file or folder), so that fixing it needs no
    /// restart.
    pub fn retrying(&self) -> bool {
        self.retrying
    }

    /// The stable code of a 503 for a call that needs the client.
    pub fn code(&self) -> &'static str {
        match self.reason {
            Reason::NotConfigured => "outbound_not_configured",
            Reason::SettingInvalid => "outbound_misconfigured",
            _ => "outbound_identity_unavailable",
        }
    }

    /// The same, not retried any more (an inline value, or settings that stop everything).
    pub(crate) fn without_retry(mut self) -> Self {
        self.retrying = false;
        self
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

impl std::error::Error for Unavailable {}
