//! What `handler dev` changes in the user's settings, and nothing more: it *adds* the dev CA
//! and the dev client's CN to the user's lists (so a partner the user allowlisted is still
//! admitted), and *replaces* only what must point at dev's own servers (the outbound identity,
//! `REMOTE_API_URL`, the header the front end sends), each replacement said out loud.
//!
//! The same [`DevSettings`] serve `handler dev`, `handler check --dev` (which judges with them)
//! and `handler dev --upstream` (which prints what to put in local.settings.json).

use std::collections::HashMap;

use crate::config::{Env, inbound, outbound, server};

use super::pki::{self, DevPki};

/// One setting `handler dev` sets, and how it relates to the user's own value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub setting: &'static str,
    /// The effective value.
    pub value: String,
    pub kind: ChangeKind,
    /// A password or an inline identity: its values are never printed.
    pub secret: bool,
    /// Set without mention (the handler's own port, behind the front end).
    pub quiet: bool,
}

/// How a dev setting relates to the user's value of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// The user had no value (or the same one).
    Set,
    /// A list the user had: dev's entry added to the user's.
    Added,
    /// The user's value is replaced; the text is the user's value as it may be printed.
    Replaced { yours: String },
}

/// The settings `handler dev` puts over an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevSettings {
    changes: Vec<Change>,
}

/// An [`Env`] where dev's settings win over `base`.
pub struct Overlay<'a> {
    base: &'a dyn Env,
    values: HashMap<&'static str, String>,
}

/// What each dev setting is, and whether its value is a list dev adds to.
enum Rule {
    /// A comma-separated list: dev's entry is appended when missing.
    Append(String),
    /// A single value: dev's wins.
    Replace(String),
    /// A value dev sets without mention (the handler's own port, behind the front end).
    Quiet(String),
}

impl DevSettings {
    /// Dev's settings over `env`: the inbound ones always (the dev CA and client CN added, the
    /// header the front end sends); with `remote_api_port`, the handler's as well (an ephemeral
    /// port, the dev outbound identity, trust in the dev CA, `REMOTE_API_URL`).
    pub fn over(env: &dyn Env, pki: &DevPki, remote_api_port: Option<u16>) -> Self {
        let path = |name: &str| pki.file(name).display().to_string();
        let mut rules = vec![
            (
                inbound::CLIENT_CERT_TRUSTED_CA_PATHS,
                Rule::Append(path("ca.pem")),
            ),
            (
                inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES,
                Rule::Append(pki::CLIENT_CN.to_owned()),
            ),
            (
                inbound::CLIENT_CERT_HEADER,
                Rule::Replace(inbound::DEFAULT_CLIENT_CERT_HEADER.to_owned()),
            ),
            (
                inbound::CLIENT_CERT_HEADER_FORMAT,
                Rule::Replace("base64-der".to_owned()),
            ),
        ];
        if let Some(port) = remote_api_port {
            rules.extend([
                (server::PORT, Rule::Quiet("0".to_owned())),
                (
                    outbound::CLIENT_CERT_PATH,
                    Rule::Replace(path("outbound.p12")),
                ),
                (
                    outbound::CLIENT_CERT_PASSWORD,
                    Rule::Replace(pki::OUTBOUND_PASSWORD.to_owned()),
                ),
                // The other identity sources would clash with dev's identity file.
                (
                    outbound::CLIENT_CERT_THUMBPRINT,
                    Rule::Replace(String::new()),
                ),
                (
                    outbound::CLIENT_CERT_COMMON_NAME,
                    Rule::Replace(String::new()),
                ),
                (outbound::CLIENT_CERT_BASE64, Rule::Replace(String::new())),
                (outbound::TRUSTED_CA_PATHS, Rule::Append(path("ca.pem"))),
                (
                    outbound::REMOTE_API_URL,
                    Rule::Replace(format!("https://localhost:{port}/")),
                ),
            ]);
        }
        let changes = rules
            .into_iter()
            .map(|(setting, rule)| change(env, setting, rule))
            .collect();
        Self { changes }
    }

    /// Every setting dev sets that it tells the user about, in a fixed order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|change| !change.quiet)
    }

    /// The settings whose user value dev replaces.
    pub fn replaced(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|change| matches!(change.kind, ChangeKind::Replaced { .. }))
    }

    /// `base` with these settings over it.
    pub fn overlay<'a>(&self, base: &'a dyn Env) -> Overlay<'a> {
        Overlay {
            base,
            values: self
                .changes
                .iter()
                .map(|change| (change.setting, change.value.clone()))
                .collect(),
        }
    }

    /// One line per setting: `NAME=value`, then whose it is (passwords hidden).
    pub fn render(&self) -> String {
        let width = self
            .changes()
            .map(|change| change.setting.len() + shown(change).len() + 1)
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for change in self.changes() {
            let assignment = format!("{}={}", change.setting, shown(change));
            let whose = match &change.kind {
                ChangeKind::Set => "dev's".to_owned(),
                ChangeKind::Added => "yours, plus dev's".to_owned(),
                ChangeKind::Replaced { yours } if change.value.is_empty() => {
                    format!("cleared by dev; yours was {yours}")
                }
                ChangeKind::Replaced { yours } => format!("dev's; replaces yours ({yours})"),
            };
            text.push_str(&format!("  {assignment:<width$}  {whose}\n"));
        }
        text
    }
}

impl Env for Overlay<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .cloned()
            .or_else(|| self.base.get(name))
    }

    fn names(&self) -> Vec<String> {
        self.base.names()
    }
}

fn change(env: &dyn Env, setting: &'static str, rule: Rule) -> Change {
    let yours = env
        .get(setting)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty());
    // A password, or an identity given inline (a PKCS#12 file in base64).
    let secret =
        setting == outbound::CLIENT_CERT_PASSWORD || setting == outbound::CLIENT_CERT_BASE64;
    // Clearing what the user never set is not worth a line.
    let quiet = match &rule {
        Rule::Quiet(_) => true,
        Rule::Replace(ours) => ours.is_empty() && yours.is_none(),
        Rule::Append(_) => false,
    };
    let (value, kind) = match (rule, yours) {
        (Rule::Quiet(ours), _) => (ours, ChangeKind::Set),
        (Rule::Append(ours) | Rule::Replace(ours), None) => (ours, ChangeKind::Set),
        (Rule::Append(ours), Some(yours)) => {
            let entries: Vec<&str> = yours.split(',').map(str::trim).collect();
            if entries.contains(&ours.as_str()) {
                (yours, ChangeKind::Set)
            } else {
                (format!("{yours},{ours}"), ChangeKind::Added)
            }
        }
        (Rule::Replace(ours), Some(yours)) if same(setting, &ours, &yours) => {
            (ours, ChangeKind::Set)
        }
        (Rule::Replace(ours), Some(yours)) => {
            let yours = if secret {
                "hidden".to_owned()
            } else if setting == outbound::REMOTE_API_URL {
                printable_url(&yours)
            } else {
                yours
            };
            (ours, ChangeKind::Replaced { yours })
        }
    };
    Change {
        setting,
        value,
        kind,
        secret,
        quiet,
    }
}

fn same(setting: &str, ours: &str, yours: &str) -> bool {
    if setting == inbound::CLIENT_CERT_HEADER || setting == inbound::CLIENT_CERT_HEADER_FORMAT {
        ours.eq_ignore_ascii_case(yours)
    } else {
        ours == yours
    }
}

fn shown(change: &Change) -> String {
    if change.secret && !change.value.is_empty() {
        "(hidden)".to_owned()
    } else {
        change.value.clone()
    }
}

/// A URL as it may be printed: no userinfo, no query (either may carry a secret).
fn printable_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
                None => format!("{}://{host}{}", url.scheme(), url.path()),
            }
        }
        Err(_) => "not a URL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn pki() -> DevPki {
        DevPki {
            dir: PathBuf::from("/tmp/dev-pki"),
            created: false,
        }
    }

    fn kind_of<'a>(settings: &'a DevSettings, setting: &str) -> Option<&'a ChangeKind> {
        settings
            .changes()
            .find(|change| change.setting == setting)
            .map(|change| &change.kind)
    }

    #[test]
    fn dev_adds_its_ca_and_client_to_the_users_lists() {
        let env: HashMap<&str, &str> = HashMap::from([
            (
                inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES,
                "partner-gw.example",
            ),
            (inbound::CLIENT_CERT_TRUSTED_CA_PATHS, "/etc/partner-ca.pem"),
        ]);
        let settings = DevSettings::over(&env, &pki(), Some(4443));
        let overlay = settings.overlay(&env);
        assert_eq!(
            overlay
                .get(inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES)
                .as_deref(),
            Some("partner-gw.example,dev-client.mtls-handler.local")
        );
        assert_eq!(
            overlay
                .get(inbound::CLIENT_CERT_TRUSTED_CA_PATHS)
                .as_deref(),
            Some("/etc/partner-ca.pem,/tmp/dev-pki/ca.pem")
        );
        assert_eq!(
            kind_of(&settings, inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES),
            Some(&ChangeKind::Added)
        );
        assert_eq!(
            settings.replaced().count(),
            0,
            "nothing of the user's replaced"
        );
        assert_eq!(overlay.get(server::PORT).as_deref(), Some("0"));
        assert!(
            settings
                .changes()
                .all(|change| change.setting != server::PORT),
            "the port is set without mention"
        );
    }

    #[test]
    fn dev_says_which_of_the_users_values_it_replaces_without_printing_secrets() {
        let env: HashMap<&str, &str> = HashMap::from([
            (
                outbound::REMOTE_API_URL,
                "https://user:pw@partner.example/api?sig=1",
            ),
            (outbound::CLIENT_CERT_THUMBPRINT, "AB".repeat(20).leak()),
            (outbound::CLIENT_CERT_PASSWORD, "s3cret"),
            (outbound::CLIENT_CERT_BASE64, "MIIKsecretp12"),
            (inbound::CLIENT_CERT_HEADER, "x-arr-clientcert"),
            (inbound::CLIENT_CERT_HEADER_FORMAT, "pem"),
        ]);
        let settings = DevSettings::over(&env, &pki(), Some(4443));
        let replaced: Vec<&str> = settings.replaced().map(|change| change.setting).collect();
        assert_eq!(
            replaced,
            vec![
                inbound::CLIENT_CERT_HEADER_FORMAT,
                outbound::CLIENT_CERT_PASSWORD,
                outbound::CLIENT_CERT_THUMBPRINT,
                outbound::CLIENT_CERT_BASE64,
                outbound::REMOTE_API_URL,
            ],
            "the header's name differs only in case, so it is not replaced"
        );
        let text = settings.render();
        assert!(!text.contains("s3cret") && !text.contains("MIIK"), "{text}");
        assert!(
            !text.contains("user:pw") && !text.contains("sig=1"),
            "{text}"
        );
        assert!(
            text.contains("replaces yours (https://partner.example/api)"),
            "{text}"
        );
        let overlay = settings.overlay(&env);
        assert_eq!(
            overlay.get(outbound::CLIENT_CERT_THUMBPRINT).as_deref(),
            Some("")
        );
    }

    #[test]
    fn without_a_remote_api_only_the_inbound_settings_are_set() {
        let env: HashMap<&str, &str> = HashMap::from([(outbound::REMOTE_API_URL, "https://p/")]);
        let settings = DevSettings::over(&env, &pki(), None);
        assert_eq!(
            settings
                .overlay(&env)
                .get(outbound::REMOTE_API_URL)
                .as_deref(),
            Some("https://p/")
        );
        assert!(
            settings
                .changes()
                .all(|change| change.setting.starts_with("CLIENT_CERT")
                    || change.setting.starts_with("ALLOWED"))
        );
    }
}
