//! host.json and every function.json parse, say what `func` needs, and agree with the routes the
//! handler serves.

use mtls_handler::functions;

use crate::support::{ClientRequest, FunctionApp, FunctionsHost, MODES};

#[test]
fn host_json_names_the_handler_and_enables_proxying() {
    let app = FunctionApp::load();
    assert_eq!(app.host_json["version"], "2.0");
    assert_eq!(app.executable, "handler", "the binary the host starts");
    assert!(
        app.proxying,
        "enableProxyingHttpRequest must be true (the mode Microsoft documents today)"
    );
    assert!(
        !app.forwarding,
        "enableForwardingHttpRequest is the host's legacy mode; a host without proxying uses payload mode"
    );
    let bundle = &app.host_json["extensionBundle"];
    assert_eq!(bundle["id"], "Microsoft.Azure.Functions.ExtensionBundle");
    assert!(
        bundle["version"]
            .as_str()
            .unwrap_or_default()
            .starts_with("[4."),
        "a v4 bundle range"
    );
    let read =
        mtls_handler::host::read_host_settings(&app.root).expect("the handler reads host.json");
    assert_eq!(
        app.route_prefix, read.route_prefix,
        "the handler reads the same prefix"
    );
    assert!(read.proxying, "the handler sees proxying on");
    assert!(
        read.serves_payload_mode(),
        "with a prefix, payload mode cannot be reached from outside"
    );
}

#[test]
fn every_function_folder_is_an_http_in_out_function_the_handler_knows() {
    let app = FunctionApp::load();
    let folders: Vec<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
    let mut served: Vec<&str> = functions::NAMES.to_vec();
    served.sort_unstable();
    assert_eq!(
        folders, served,
        "function folders and handler routes must be the same set"
    );
    for function in &app.functions {
        let name = &function.name;
        assert_eq!(function.trigger_name, "req", "{name}: trigger binding name");
        assert_eq!(function.output_name, "res", "{name}: output binding name");
        assert_eq!(
            (function.input_bindings, function.output_bindings),
            (1, 1),
            "{name}: one in, one out, so proxying applies"
        );
        assert_eq!(function.route, *name, "{name}: route is the folder name");
        let expected_level = if name == "health" {
            "anonymous"
        } else {
            "function"
        };
        assert_eq!(function.auth_level, expected_level, "{name}: authLevel");
        assert_eq!(function.methods, vec!["GET"], "{name}: methods");
    }
}

#[test]
fn local_settings_name_the_custom_runtime_and_storage() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/local.settings.json"))
        .expect("local.settings.json exists");
    let json: serde_json::Value = serde_json::from_str(&text).expect("local.settings.json is JSON");
    assert_eq!(json["Values"]["FUNCTIONS_WORKER_RUNTIME"], "custom");
    assert!(json["Values"]["AzureWebJobsStorage"].is_string());
    assert!(json["IsEncrypted"] == false);
}

#[test]
fn local_settings_list_every_setting_and_load_as_they_are() {
    use mtls_handler::config::{SETTINGS, server};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/local.settings.json"))
        .expect("local.settings.json exists");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let values = json["Values"].as_object().expect("Values");
    // The host's own variables are not the user's to set.
    let host_set = [server::PORT, server::PORT_LEGACY, server::APP_ROOT];
    let settings = SETTINGS
        .iter()
        .filter(|setting| !host_set.contains(setting));
    for setting in settings {
        assert!(
            values.contains_key(*setting),
            "local.settings.json lacks {setting}"
        );
    }
    let env: std::collections::HashMap<String, String> = values
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    if let Err(error) = mtls_handler::config::Config::load(&env) {
        panic!("local.settings.json values do not load: {error}");
    }
}

#[tokio::test]
async fn every_function_route_reaches_a_handler_route_in_every_mode() {
    let host = FunctionsHost::start(&[]).await;
    for function in host.app.functions.clone() {
        let path = format!("/{}/{}", host.app.route_prefix, function.route);
        for mode in MODES {
            let response = host.send(mode, ClientRequest::get(&path)).await;
            assert_ne!(
                response.status, 404,
                "{mode:?} {path}: the handler has no route for it"
            );
            assert_ne!(response.status, 500, "{mode:?} {path}: {}", response.body);
        }
    }
}

#[test]
fn the_readme_settings_tables_name_every_setting() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md exists");
    for setting in mtls_handler::config::SETTINGS {
        assert!(
            readme.contains(&format!("| `{setting}` |")),
            "README.md has no settings-table row for {setting}"
        );
    }
}

#[test]
fn the_readme_rows_and_handler_settings_come_from_one_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md exists");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("settings")
        .env_clear()
        .output()
        .expect("run handler settings");
    assert!(output.status.success());
    let printed = String::from_utf8_lossy(&output.stdout);
    for setting in mtls_handler::config::table::TABLE {
        let row = format!(
            "| `{}` | {} | {} |",
            setting.name, setting.default, setting.meaning
        );
        assert!(
            readme.lines().any(|line| line == row),
            "README.md's row for {} differs from config::table::TABLE:\n{row}",
            setting.name
        );
        assert!(
            printed.contains(&format!("{}\n    default: ", setting.name)),
            "handler settings lists {}",
            setting.name
        );
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(["serve", "--help"])
        .output()
        .expect("run handler serve --help");
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("handler settings"),
        "serve --help points at handler settings"
    );
}
