//! The verdict on what ARM says about the front end: safe only when `clientCertEnabled` is true,
//! `clientCertMode` is exactly `Required` (absent is not safe: ARM leaves it out on some
//! plans), `httpsOnly` is true (plain HTTP never carries a certificate), and no entry of
//! `clientCertExclusionPaths` overlaps a protected route. `http20Enabled: true` is a warning.
//!
//! Overlap follows the front end's documented matching (a path that *starts with* an entry is
//! excluded, case-insensitively) in both directions: an entry overlaps a route when either is
//! a prefix of the other, compared ASCII-case-insensitively on the routes as the front end sees
//! them, route prefix included (`/api/cert-info`). So `/ap` and `/` cover `/api/cert-info`, and
//! so does `/api/cert-info/x` (it would exclude a longer spelling of the route). What the front
//! end does with an entry without a leading `/`, with escapes or with `*` is undocumented, so
//! each is also judged as read most broadly: `api/cert-info`, `/api/cert%2Dinfo` and `/api/*`
//! all cover `/api/cert-info`.
//!
//! Pure: values in, verdict out; the fixes it words name the site's resource id.

use std::fmt;

/// What ARM said, as read (absent stays absent: absent is not safe).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub client_cert_enabled: Option<bool>,
    pub client_cert_mode: Option<String>,
    /// The raw value, entries separated by `,` or `;`.
    pub client_cert_exclusion_paths: Option<String>,
    pub https_only: Option<bool>,
    /// From `config/web`.
    pub http20_enabled: Option<bool>,
    /// From `config/web`; reported, never judged.
    pub min_tls_version: Option<String>,
}

/// One reason the front end cannot vouch for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `clientCertEnabled` false or absent: the front end asks for no certificate.
    ClientCertDisabled,
    /// `clientCertMode` absent or other than `Required`.
    ModeNotRequired { mode: Option<String> },
    /// `httpsOnly` false or absent.
    HttpsOnlyOff,
    /// An exclusion entry overlaps a protected route.
    Excluded { entry: String, route: String },
}

/// The front end's verdict: safe when there is no problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub problems: Vec<Problem>,
    /// Not refusals: `http20Enabled: true`.
    pub warnings: Vec<String>,
}

impl Verdict {
    /// Whether the front end requires a client certificate on every protected route.
    pub fn is_safe(&self) -> bool {
        self.problems.is_empty()
    }

    /// How to fix each problem, with `az` commands for `site`.
    pub fn fixes(&self, site: &str, reading: &Reading) -> Vec<String> {
        let update = format!("az functionapp update --ids {site} --set");
        let mut fixes = Vec::new();
        if self.problems.contains(&Problem::ClientCertDisabled) {
            fixes.push(format!(
                "{update} clientCertEnabled=true clientCertMode=Required"
            ));
        } else if self
            .problems
            .iter()
            .any(|problem| matches!(problem, Problem::ModeNotRequired { .. }))
        {
            fixes.push(format!("{update} clientCertMode=Required"));
        }
        if self.problems.contains(&Problem::HttpsOnlyOff) {
            fixes.push(format!("{update} httpsOnly=true"));
        }
        let excluded: Vec<&str> = self
            .problems
            .iter()
            .filter_map(|problem| match problem {
                Problem::Excluded { entry, .. } => Some(entry.as_str()),
                _ => None,
            })
            .collect();
        if !excluded.is_empty() {
            let kept: Vec<&str> = entries(reading.client_cert_exclusion_paths.as_deref())
                .filter(|entry| !excluded.contains(entry))
                .collect();
            fixes.push(format!(
                "remove {} from clientCertExclusionPaths: {update} clientCertExclusionPaths=\"{}\"",
                quoted(&excluded),
                kept.join(";")
            ));
        }
        fixes
    }
}

/// The values as `handler check` and the log show them (`(absent)` for an absent one).
impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn show<T: fmt::Debug>(value: Option<&T>) -> String {
            value.map_or_else(|| "(absent)".to_owned(), |value| format!("{value:?}"))
        }
        write!(
            f,
            "clientCertEnabled={} clientCertMode={} clientCertExclusionPaths={} httpsOnly={} http20Enabled={} minTlsVersion={}",
            show(self.client_cert_enabled.as_ref()),
            show(self.client_cert_mode.as_ref()),
            show(self.client_cert_exclusion_paths.as_ref()),
            show(self.https_only.as_ref()),
            show(self.http20_enabled.as_ref()),
            show(self.min_tls_version.as_ref()),
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCertDisabled => f.write_str(
                "clientCertEnabled is not true: the front end asks for no client certificate",
            ),
            Self::ModeNotRequired { mode: Some(mode) } => write!(
                f,
                "clientCertMode is {mode:?}, not \"Required\": a request without a certificate gets through"
            ),
            Self::ModeNotRequired { mode: None } => {
                f.write_str("clientCertMode is absent, not \"Required\"")
            }
            Self::HttpsOnlyOff => f.write_str(
                "httpsOnly is not true: a plain HTTP request carries no client certificate",
            ),
            Self::Excluded { entry, route } => write!(
                f,
                "clientCertExclusionPaths entry {entry:?} covers the protected route {route}"
            ),
        }
    }
}

/// Judges `reading` for the protected routes (`/api/cert-info`, as the front end sees them).
pub fn judge(reading: &Reading, protected_routes: &[String]) -> Verdict {
    let mut problems = Vec::new();
    if reading.client_cert_enabled != Some(true) {
        problems.push(Problem::ClientCertDisabled);
    }
    if reading.client_cert_mode.as_deref() != Some("Required") {
        problems.push(Problem::ModeNotRequired {
            mode: reading.client_cert_mode.clone(),
        });
    }
    if reading.https_only != Some(true) {
        problems.push(Problem::HttpsOnlyOff);
    }
    for entry in entries(reading.client_cert_exclusion_paths.as_deref()) {
        if let Some(route) = protected_routes.iter().find(|route| overlaps(entry, route)) {
            problems.push(Problem::Excluded {
                entry: entry.to_owned(),
                route: route.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    if reading.http20_enabled == Some(true) {
        warnings.push(
            "http20Enabled is true: the portal and Azure Policy treat client certificates as \
             unsupported over HTTP/2; keep HTTP/1.1 (az functionapp config set --http20-enabled false) \
             unless you have checked that certificates are required over HTTP/2"
                .to_owned(),
        );
    }
    Verdict { problems, warnings }
}

/// The entries of `clientCertExclusionPaths`: split on `,` and `;`, trimmed, empty ones dropped.
pub fn entries(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or_default()
        .split([',', ';'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

/// Whether `entry` could exclude requests for `route`: either is a prefix of the other,
/// ignoring ASCII case, for any reading of the entry the front end might make (see
/// [`readings`]).
fn overlaps(entry: &str, route: &str) -> bool {
    readings(entry).iter().any(|reading| {
        let (entry, route) = (reading.as_bytes(), route.as_bytes());
        let shorter = entry.len().min(route.len());
        entry[..shorter].eq_ignore_ascii_case(&route[..shorter])
    })
}

/// The entry as written, and as the front end might read it more broadly than its letters
/// (how it treats these is undocumented, and the handler itself matches routes
/// percent-decoded, so `/api/cert%2Dinfo` reaches `cert-info`): percent-decoded, cut at a `*`
/// (a wildcard), and with a leading `/` when it has none.
fn readings(entry: &str) -> Vec<String> {
    let decoded = percent_encoding::percent_decode_str(entry)
        .decode_utf8_lossy()
        .into_owned();
    let mut readings = Vec::with_capacity(4);
    for text in [entry.to_owned(), decoded] {
        let cut = text.split('*').next().unwrap_or_default().to_owned();
        for reading in [text, cut] {
            if !reading.starts_with('/') {
                readings.push(format!("/{reading}"));
            }
            readings.push(reading);
        }
    }
    readings
}

fn quoted(entries: &[&str]) -> String {
    entries
        .iter()
        .map(|entry| format!("{entry:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<String> {
        vec!["/api/cert-info".to_owned(), "/api/outbound-mtls".to_owned()]
    }

    fn safe() -> Reading {
        Reading {
            client_cert_enabled: Some(true),
            client_cert_mode: Some("Required".to_owned()),
            client_cert_exclusion_paths: None,
            https_only: Some(true),
            http20_enabled: Some(false),
            min_tls_version: Some("1.2".to_owned()),
        }
    }

    fn excluding(paths: &str) -> Reading {
        Reading {
            client_cert_exclusion_paths: Some(paths.to_owned()),
            ..safe()
        }
    }

    fn mode(mode: Option<&str>) -> Reading {
        Reading {
            client_cert_mode: mode.map(str::to_owned),
            ..safe()
        }
    }

    fn excluded(entry: &str, route: &str) -> Problem {
        Problem::Excluded {
            entry: entry.to_owned(),
            route: route.to_owned(),
        }
    }

    #[test]
    fn the_rules_judge_each_setting() {
        let not_required = |mode: Option<&str>| Problem::ModeNotRequired {
            mode: mode.map(str::to_owned),
        };
        let cases: Vec<(&str, Reading, Vec<Problem>)> = vec![
            ("every setting right", safe(), vec![]),
            (
                "certificates disabled",
                Reading {
                    client_cert_enabled: Some(false),
                    ..safe()
                },
                vec![Problem::ClientCertDisabled],
            ),
            (
                "enabled absent",
                Reading {
                    client_cert_enabled: None,
                    ..safe()
                },
                vec![Problem::ClientCertDisabled],
            ),
            (
                "mode Optional",
                mode(Some("Optional")),
                vec![not_required(Some("Optional"))],
            ),
            (
                "mode OptionalInteractiveUser",
                mode(Some("OptionalInteractiveUser")),
                vec![not_required(Some("OptionalInteractiveUser"))],
            ),
            ("mode absent", mode(None), vec![not_required(None)]),
            (
                "mode in another case is not exactly Required",
                mode(Some("required")),
                vec![not_required(Some("required"))],
            ),
            (
                "httpsOnly false",
                Reading {
                    https_only: Some(false),
                    ..safe()
                },
                vec![Problem::HttpsOnlyOff],
            ),
            (
                "httpsOnly absent",
                Reading {
                    https_only: None,
                    ..safe()
                },
                vec![Problem::HttpsOnlyOff],
            ),
            (
                "the route prefix excluded",
                excluding("/api"),
                vec![excluded("/api", "/api/cert-info")],
            ),
            (
                "a route in another case",
                excluding("/API/Cert-Info"),
                vec![excluded("/API/Cert-Info", "/api/cert-info")],
            ),
            (
                "the second of two entries",
                excluding("/api/health;/api/cert-info"),
                vec![excluded("/api/cert-info", "/api/cert-info")],
            ),
            (
                "comma separated, spaces trimmed",
                excluding("/api/health , /api/outbound-mtls"),
                vec![excluded("/api/outbound-mtls", "/api/outbound-mtls")],
            ),
            (
                "the root",
                excluding("/"),
                vec![excluded("/", "/api/cert-info")],
            ),
            (
                "a string prefix, not a segment",
                excluding("/ap"),
                vec![excluded("/ap", "/api/cert-info")],
            ),
            (
                "a longer spelling of a route",
                excluding("/api/cert-info/x"),
                vec![excluded("/api/cert-info/x", "/api/cert-info")],
            ),
            ("health alone", excluding("/api/health"), vec![]),
            ("empty entries only", excluding(" ;, ;"), vec![]),
            ("another path", excluding("/public"), vec![]),
        ];
        for (reason, reading, expected) in cases {
            let verdict = judge(&reading, &routes());
            assert_eq!(verdict.problems, expected, "{reason}");
            assert_eq!(verdict.is_safe(), expected.is_empty(), "{reason}");
        }
    }

    #[test]
    fn review_an_entry_the_front_end_may_read_more_broadly_than_its_letters_is_unsafe() {
        // The handler matches literal segments percent-decoded (`/api/cert%2Dinfo` reaches
        // cert-info), and the front end's treatment of an entry without a leading slash, of
        // escapes and of `*` is undocumented: an entry that could cover a protected route is
        // judged as if it does.
        for entry in [
            "api/cert-info",
            "api",
            "/api/cert%2Dinfo",
            "/%61pi",
            "/api/*",
            "*",
        ] {
            let verdict = judge(&excluding(entry), &routes());
            assert!(!verdict.is_safe(), "{entry:?} judged safe");
        }
        for entry in ["/api/health", "api/health", "/public", "/api/health*"] {
            assert!(
                judge(&excluding(entry), &routes()).is_safe(),
                "{entry:?} covers no protected route"
            );
        }
    }

    #[test]
    fn everything_wrong_at_once_is_reported_at_once() {
        let verdict = judge(&Reading::default(), &routes());
        assert_eq!(
            verdict.problems,
            vec![
                Problem::ClientCertDisabled,
                Problem::ModeNotRequired { mode: None },
                Problem::HttpsOnlyOff
            ]
        );
    }

    #[test]
    fn routes_are_compared_with_their_prefix() {
        let bare = vec!["/cert-info".to_owned()];
        assert!(judge(&excluding("/cert-info"), &bare).problems.len() == 1);
        assert!(
            judge(&excluding("/cert-info"), &routes()).is_safe(),
            "the front end sees /api/cert-info"
        );
    }

    #[test]
    fn http2_is_a_warning_not_a_refusal() {
        let verdict = judge(
            &Reading {
                http20_enabled: Some(true),
                ..safe()
            },
            &routes(),
        );
        assert!(verdict.is_safe());
        assert_eq!(verdict.warnings.len(), 1);
        assert!(verdict.warnings[0].contains("http20Enabled"));
    }

    #[test]
    fn fixes_name_the_site_and_keep_the_harmless_exclusions() {
        let reading = Reading {
            client_cert_mode: Some("Optional".to_owned()),
            https_only: Some(false),
            ..excluding("/api/health;/api")
        };
        let verdict = judge(&reading, &routes());
        let fixes = verdict.fixes("/subscriptions/x/sites/app", &reading);
        assert_eq!(
            fixes,
            vec![
                "az functionapp update --ids /subscriptions/x/sites/app --set clientCertMode=Required",
                "az functionapp update --ids /subscriptions/x/sites/app --set httpsOnly=true",
                "remove \"/api\" from clientCertExclusionPaths: az functionapp update --ids /subscriptions/x/sites/app --set clientCertExclusionPaths=\"/api/health\"",
            ]
        );
    }
}
