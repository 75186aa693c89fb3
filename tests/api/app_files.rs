//! host.json and every function.json parse, say what `func` needs, and agree with the routes the
//! handler serves.

use std::time::Duration;

use mtls_handler::App;

use crate::support::{FunctionApp, FunctionsHost};

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
fn every_function_folder_is_an_http_in_out_function_the_handler_serves_as_declared() {
    let app = FunctionApp::load();
    let builder = App::builder(app.config());
    let served: Vec<_> = builder.functions().cloned().collect();
    app.assert_serves_what_folders_declare(&served);
    for function in &app.functions {
        let expected_level = if function.name == "health" {
            "anonymous"
        } else {
            "function"
        };
        assert_eq!(
            function.auth_level, expected_level,
            "{}: authLevel (a protected function also needs the host's key)",
            function.name
        );
    }
}

#[test]
fn a_function_folder_the_handler_does_not_serve_is_warned_about_at_startup() {
    // Arrange: the app's host.json and folders, plus one the handler has no function for.
    let root = std::env::temp_dir().join(format!("mtls-app-files-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let app = FunctionApp::load();
    std::fs::create_dir_all(root.join("orders")).expect("mkdir");
    std::fs::copy(app.root.join("host.json"), root.join("host.json")).expect("host.json");
    for function in &app.functions {
        let folder = root.join(&function.name);
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::copy(
            app.root.join(&function.name).join("function.json"),
            folder.join("function.json"),
        )
        .expect("function.json");
    }
    std::fs::write(
        root.join("orders/function.json"),
        r#"{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get"]},{"type":"http","direction":"out","name":"res"}]}"#,
    )
    .expect("write");
    let root_text = root.to_str().expect("UTF-8").to_owned();

    // Act
    let handler = crate::support::HandlerProcess::spawn(
        crate::support::free_port(),
        &[("FUNCTIONS_APP_ROOT_PATH", &root_text)],
    );
    let output = handler.wait_for_output("function folder orders", Duration::from_secs(10));
    drop(handler);
    std::fs::remove_dir_all(&root).ok();

    // Assert
    let line = output
        .lines()
        .find(|line| line.contains("function folder orders"))
        .unwrap_or_else(|| panic!("no warning about orders/:\n{output}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("has no function in the handler"), "{line}");
    assert!(
        !output.contains("function folder health"),
        "served folders are not warned about:\n{output}"
    );
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
    host.assert_every_route_reaches_the_handler().await;
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
