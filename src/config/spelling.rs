//! Settings that look like ours but are not: `CLIENT_CERT_CRL_PATH` (singular) is ignored by
//! the loader, so revocation would be quietly off. Names with one of our prefixes that are not
//! in [`SETTINGS`](super::SETTINGS) are reported with the nearest setting's name, as warnings
//! (an unrelated variable may share a prefix, so this never stops the start).

use super::{Env, SETTINGS};

/// Prefixes our settings use; another variable with one of them is probably a typo.
const PREFIXES: &[&str] = &[
    "CLIENT_CERT",
    "ALLOWED_CLIENT",
    "OUTBOUND_",
    "REMOTE_API",
    "CERT_INFO",
    "LOG_FORMAT",
    "SHUTDOWN_",
];

/// A variable that looks like a setting but is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookAlike {
    pub name: String,
    /// The setting with the smallest edit distance.
    pub nearest: &'static str,
}

impl std::fmt::Display for LookAlike {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not a setting and is ignored; did you mean {}? (`handler settings` lists them all)",
            self.name, self.nearest
        )
    }
}

/// Every variable of `env` that looks like one of ours but is not, with the nearest setting.
pub fn look_alikes(env: &dyn Env) -> Vec<LookAlike> {
    let mut found: Vec<LookAlike> = env
        .names()
        .into_iter()
        .filter(|name| name.len() <= 100)
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            PREFIXES.iter().any(|prefix| upper.starts_with(prefix))
                && !SETTINGS.contains(&name.as_str())
        })
        .filter_map(|name| {
            let nearest = nearest(&name)?;
            Some(LookAlike { name, nearest })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The setting nearest to `name` (case-insensitive edit distance).
pub fn nearest(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    SETTINGS
        .iter()
        .copied()
        .min_by_key(|setting| distance(&upper, setting))
}

/// Levenshtein distance over bytes (names are ASCII and short).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_misspelled_setting_is_reported_with_the_nearest_name() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("CLIENT_CERT_CRL_PATH", "/crl.pem"),
            ("ALLOWED_CLIENT_CERT_COMMON_NAME", "a"),
            ("outbound_client_cert_path", "/id.p12"),
            ("CLIENT_CERT_CRL_PATHS", "/crl.pem"),
            ("PATH", "/usr/bin"),
        ]);
        let found: Vec<(String, &str)> = look_alikes(&env)
            .into_iter()
            .map(|look_alike| (look_alike.name, look_alike.nearest))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "ALLOWED_CLIENT_CERT_COMMON_NAME".to_owned(),
                    "ALLOWED_CLIENT_CERT_COMMON_NAMES"
                ),
                ("CLIENT_CERT_CRL_PATH".to_owned(), "CLIENT_CERT_CRL_PATHS"),
                (
                    "outbound_client_cert_path".to_owned(),
                    "OUTBOUND_CLIENT_CERT_PATH"
                ),
            ]
        );
    }
}
