//! What `handler dev` prints when it is up: where the PKI is (made or reused), what listens
//! where, the settings in effect (or, in front of a running host, what its local.settings.json
//! needs), and the exact curl commands that work, one per function, plus one that shows a
//! refusal.
//!
//! The front-end line has a fixed shape ([`FRONT_END_PREFIX`]) so tools can find the address.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

use url::Url;
use warp::http::Method;

use super::local_settings::LocalSettings;
use super::pki::{CLIENT_CN, DevPki};
use super::settings::{ChangeKind, DevSettings};
use super::tls::ClientCertMode;
use super::{DevOptions, remote_api};
use crate::app::FunctionInfo;
use crate::host::route::RouteParams;

/// The start of the line that names the front end's address.
pub const FRONT_END_PREFIX: &str = "front end:      https://";

/// Everything the banner shows.
pub struct View<'a> {
    pub pki: &'a DevPki,
    pub options: &'a DevOptions,
    pub front_end: SocketAddr,
    pub backend: Backend<'a>,
    pub route_prefix: &'a str,
    /// The functions served (or, in front of a running host, its function folders).
    pub functions: &'a [FunctionInfo],
    pub settings: &'a DevSettings,
}

/// What the front end forwards to.
pub enum Backend<'a> {
    Handler {
        handler: SocketAddr,
        remote_api: SocketAddr,
    },
    Upstream {
        url: &'a Url,
        local_settings: &'a LocalSettings,
    },
}

/// The whole message, ready to print.
pub fn render(view: &View<'_>) -> String {
    let mut out = String::new();
    let made = if view.pki.created {
        "created"
    } else {
        "reused"
    };
    let mode = match view.options.client_cert_mode {
        ClientCertMode::Required => "client certificate required",
        ClientCertMode::Optional => "client certificate optional",
    };
    let _ = writeln!(
        out,
        "handler dev: development PKI {made} in {}",
        view.pki.dir.display()
    );
    let _ = writeln!(
        out,
        "  {FRONT_END_PREFIX}{} (like App Service: {mode}, forwarded in X-ARR-ClientCert)",
        view.front_end
    );
    match &view.backend {
        Backend::Handler {
            handler,
            remote_api,
        } => {
            let _ = writeln!(out, "  handler:        http://{handler}");
            let _ = writeln!(
                out,
                "  remote API:     https://localhost:{}/ (mutual TLS, dev CA; answers {:?})",
                remote_api.port(),
                remote_api::MESSAGE
            );
            let _ = writeln!(
                out,
                "\nSettings: your environment, with dev's added (`handler check --dev` judges with them):"
            );
            out.push_str(&view.settings.render());
        }
        Backend::Upstream {
            url,
            local_settings,
        } => {
            let _ = writeln!(
                out,
                "  upstream:       {} (a Functions host you started, e.g. `func start --port {}`)",
                url.as_str().trim_end_matches('/'),
                url.port_or_known_default().unwrap_or(80)
            );
            out.push_str(&local_settings_advice(view.settings, local_settings));
        }
    }
    curls(&mut out, view);
    let _ = write!(out, "\nCtrl-C stops everything.");
    out
}

/// The address in a front-end line of [`render`]'s output.
pub fn front_end_addr(line: &str) -> Option<SocketAddr> {
    let start = line.find(FRONT_END_PREFIX)? + FRONT_END_PREFIX.len();
    line[start..].split_whitespace().next()?.parse().ok()
}

/// What local.settings.json's `Values` need for the host's handler to admit the dev client.
fn local_settings_advice(settings: &DevSettings, local: &LocalSettings) -> String {
    let mut out = String::new();
    let path = local.path.display();
    if let Some(problem) = &local.problem {
        let _ = writeln!(out, "\n{path}: {problem}");
    }
    let needed: Vec<String> = settings
        .changes()
        .filter(|change| local.values.get(change.setting).map(|v| v.trim()) != Some(&change.value))
        .map(|change| {
            let mut line = format!(
                "    {}: {},",
                json_string(change.setting),
                json_string(&change.value)
            );
            if let ChangeKind::Replaced { yours } = &change.kind {
                let _ = write!(line, "    (replaces {})", json_string(yours));
            }
            line
        })
        .collect();
    if needed.is_empty() {
        let _ = writeln!(
            out,
            "\n{path} already admits the dev client (CN={CLIENT_CN}, signed by the dev CA)."
        );
    } else {
        let _ = writeln!(
            out,
            "\nFor the host's handler to admit the dev client, put in {path} under \"Values\" (func start passes them to the handler; restart it after editing):"
        );
        for line in needed {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// One curl per function, with the dev client certificate, and one refused without it.
fn curls(out: &mut String, view: &View<'_>) {
    let base = format!("https://localhost:{}", view.front_end.port());
    let file = |name: &str| quote(&view.pki.file(name));
    let identity = format!(
        "--cert {} --key {} --cacert {}",
        file("client.pem"),
        file("client.key"),
        file("ca.pem")
    );
    let _ = writeln!(out, "\nWith the dev client certificate (CN={CLIENT_CN}):");
    if view.functions.is_empty() {
        let _ = writeln!(out, "  (no function folders found here)");
    }
    for function in view.functions {
        let _ = writeln!(
            out,
            "  {}",
            curl(&identity, &base, view.route_prefix, function)
        );
    }
    let refused_path = view
        .functions
        .iter()
        .find(|function| function.name() == crate::functions::cert_info::NAME)
        .or_else(|| {
            view.functions
                .iter()
                .find(|function| function.name() != crate::functions::health::NAME)
        })
        .and_then(|function| example_path(view.route_prefix, function))
        .unwrap_or_else(|| format!("{}/cert-info", prefix_path(view.route_prefix)));
    let refused = format!("curl --cacert {} {base}{refused_path}", file("ca.pem"));
    let _ = match view.options.client_cert_mode {
        ClientCertMode::Optional => writeln!(
            out,
            "\nWithout one (refused by the handler: 403 cert_missing):\n  {refused}"
        ),
        ClientCertMode::Required => writeln!(
            out,
            "\nWithout one (refused by the front end: the TLS handshake fails):\n  {refused}"
        ),
    };
}

/// `curl <identity> [-X METHOD ...] <url>` for one function: GET when it answers GET, else its
/// first method (with an empty JSON body for methods that take one).
fn curl(identity: &str, base: &str, route_prefix: &str, function: &FunctionInfo) -> String {
    let route = function.route();
    let path = example_path(route_prefix, function).unwrap_or_default();
    let method = if route.allows(&Method::GET) {
        None
    } else {
        route.allowed_methods().first()
    };
    match method {
        None => format!("curl {identity} {base}{path}"),
        Some(method) if [Method::POST, Method::PUT, Method::PATCH].contains(method) => format!(
            "curl {identity} -X {method} -H 'content-type: application/json' -d '{{}}' {base}{path}"
        ),
        Some(method) => format!("curl {identity} -X {method} {base}{path}"),
    }
}

/// The function's path with `1` for each parameter (`/api/orders/1`), percent-encoded.
fn example_path(route_prefix: &str, function: &FunctionInfo) -> Option<String> {
    let route = function.route();
    let names = template_parameters(route.template());
    route.path_with(
        route_prefix,
        &RouteParams::from_pairs(names.into_iter().map(|name| (name, "1"))),
    )
}

/// The names of a template's parameters, `{id}`, `{id?}` and `{*rest}` alike.
fn template_parameters(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|inner| inner.trim_start_matches('*').trim_end_matches('?'))
        .collect()
}

fn prefix_path(route_prefix: &str) -> String {
    if route_prefix.is_empty() {
        String::new()
    } else {
        format!("/{route_prefix}")
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A path as a shell word: as is when it is plain, single-quoted otherwise.
fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;
    use crate::config::inbound;
    use crate::host::route::Route;

    fn options(mode: ClientCertMode, dir: &str) -> DevOptions {
        DevOptions {
            dir: PathBuf::from(dir),
            port: 0,
            client_cert_mode: mode,
            upstream: None,
        }
    }

    fn functions() -> Vec<FunctionInfo> {
        vec![
            FunctionInfo::new("health", Route::get("health")),
            FunctionInfo::new("cert-info", Route::get("cert-info")),
            FunctionInfo::new("orders", Route::get("orders")),
            FunctionInfo::new("order-update", Route::post("orders/{id}")),
        ]
    }

    fn rendered(mode: ClientCertMode, dir: &str, env: &HashMap<&str, &str>) -> String {
        let pki = DevPki {
            dir: PathBuf::from(dir),
            created: true,
        };
        let settings = DevSettings::over(env, &pki, Some(4443));
        let options = options(mode, dir);
        let functions = functions();
        render(&View {
            pki: &pki,
            options: &options,
            front_end: "127.0.0.1:7071".parse().expect("addr"),
            backend: Backend::Handler {
                handler: "127.0.0.1:3000".parse().expect("addr"),
                remote_api: "127.0.0.1:4443".parse().expect("addr"),
            },
            route_prefix: "api",
            functions: &functions,
            settings: &settings,
        })
    }

    #[test]
    fn dev_the_banner_names_the_front_end_and_one_curl_per_function_served() {
        let text = rendered(ClientCertMode::Required, ".dev", &HashMap::new());
        let addr = text.lines().find_map(front_end_addr);
        assert_eq!(
            addr,
            Some("127.0.0.1:7071".parse().expect("addr")),
            "{text}"
        );
        let identity = "curl --cert .dev/client.pem --key .dev/client.key --cacert .dev/ca.pem";
        for expected in [
            format!("{identity} https://localhost:7071/api/orders\n"),
            format!(
                "{identity} -X POST -H 'content-type: application/json' -d '{{}}' https://localhost:7071/api/orders/1\n"
            ),
        ] {
            assert!(text.contains(&expected), "{expected}\n{text}");
        }
        assert!(
            !text.contains("outbound-mtls"),
            "only the functions served: {text}"
        );
        assert!(text.contains("the TLS handshake fails"), "{text}");
        assert!(text.contains("created in .dev"), "{text}");
    }

    #[test]
    fn dev_the_banner_prints_the_effective_settings() {
        let env = HashMap::from([(
            inbound::ALLOWED_CLIENT_CERT_COMMON_NAMES,
            "partner-gw.example",
        )]);
        let text = rendered(ClientCertMode::Required, ".dev", &env);
        assert!(
            text.contains(
                "ALLOWED_CLIENT_CERT_COMMON_NAMES=partner-gw.example,dev-client.mtls-handler.local"
            ),
            "{text}"
        );
        assert!(text.contains("yours, plus dev's"), "{text}");
        assert!(text.contains("handler check --dev"), "{text}");
    }

    #[test]
    fn dev_optional_mode_shows_the_403_and_odd_paths_are_quoted() {
        let text = rendered(ClientCertMode::Optional, "/tmp/my dev", &HashMap::new());
        assert!(text.contains("403 cert_missing"), "{text}");
        assert!(
            text.contains("--cacert '/tmp/my dev/ca.pem' https://localhost:7071/api/cert-info"),
            "{text}"
        );
    }

    #[test]
    fn dev_in_front_of_a_host_the_banner_says_what_local_settings_need() {
        let pki = DevPki {
            dir: PathBuf::from("/abs/.dev"),
            created: false,
        };
        let local = LocalSettings {
            path: PathBuf::from("local.settings.json"),
            values: HashMap::from([
                (
                    inbound::CLIENT_CERT_HEADER_FORMAT.to_owned(),
                    "pem".to_owned(),
                ),
                (
                    inbound::CLIENT_CERT_HEADER.to_owned(),
                    "X-ARR-ClientCert".to_owned(),
                ),
            ]),
            problem: None,
        };
        let settings = DevSettings::over(&local.values, &pki, None);
        let options = options(ClientCertMode::Required, "/abs/.dev");
        let url = Url::parse("http://127.0.0.1:7072").expect("url");
        let functions = functions();
        let text = render(&View {
            pki: &pki,
            options: &options,
            front_end: "127.0.0.1:7071".parse().expect("addr"),
            backend: Backend::Upstream {
                url: &url,
                local_settings: &local,
            },
            route_prefix: "api",
            functions: &functions,
            settings: &settings,
        });
        for expected in [
            "upstream:       http://127.0.0.1:7072",
            r#"    "CLIENT_CERT_TRUSTED_CA_PATHS": "/abs/.dev/ca.pem","#,
            r#"    "ALLOWED_CLIENT_CERT_COMMON_NAMES": "dev-client.mtls-handler.local","#,
            r#"    "CLIENT_CERT_HEADER_FORMAT": "base64-der",    (replaces "pem")"#,
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        assert!(
            !text.contains(r#""CLIENT_CERT_HEADER":"#),
            "already right: {text}"
        );
        assert!(!text.contains("remote API"), "{text}");
    }
}
