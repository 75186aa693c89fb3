//! The function folders of an app, read from disk as the host reads them: every folder of the
//! app root that holds a `function.json`, its HTTP trigger's `route` (the folder name when
//! unset) and `methods` (every method when unset). [`differences`] compares them with the
//! functions served, so that a folder the handler has no route for, a route the host never
//! sends, or a method mismatch is said at startup instead of found as a 404 in Azure.
//!
//! Bounded: at most [`MAX_ENTRIES`] entries of the app root are looked at and a function.json
//! is read only up to [`MAX_FUNCTION_JSON_BYTES`]. Reading is best effort: a folder that cannot be read is a
//! difference to report, never a reason not to start.

use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use crate::app::FunctionInfo;

/// The most entries (files and folders) of the app root looked at.
pub const MAX_ENTRIES: usize = 1000;
/// The largest function.json read (a real one is a few hundred bytes).
pub const MAX_FUNCTION_JSON_BYTES: u64 = 64 * 1024;

/// One function folder's HTTP trigger, as its function.json declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFolder {
    /// The folder's name: the function's name.
    pub name: String,
    /// `route`, without surrounding slashes; the folder name when unset.
    pub route: String,
    /// `methods`, upper-case; empty means every method.
    pub methods: Vec<String>,
}

/// What the app root holds: its function folders and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    pub folders: Vec<FunctionFolder>,
    /// One sentence per folder or file that could not be read.
    pub problems: Vec<String>,
}

/// The function folders of `app_root`, sorted by name; `None` when it holds no host.json (the
/// handler is not running from a function app, e.g. by hand or in a test).
pub fn discover(app_root: &Path) -> Option<Discovered> {
    if !app_root.join("host.json").is_file() {
        return None;
    }
    let mut discovered = Discovered::default();
    let entries = match std::fs::read_dir(app_root) {
        Ok(entries) => entries,
        Err(error) => {
            discovered
                .problems
                .push(format!("cannot list {}: {error}", app_root.display()));
            return Some(discovered);
        }
    };
    for entry in entries.flatten().take(MAX_ENTRIES) {
        let path = entry.path();
        let function_json = path.join("function.json");
        if !path.is_dir() || !function_json.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        match read_function_json(&function_json, &name) {
            Ok(Some(folder)) => discovered.folders.push(folder),
            Ok(None) => {}
            Err(problem) => discovered
                .problems
                .push(format!("{}: {problem}", function_json.display())),
        }
    }
    discovered.folders.sort_by(|a, b| a.name.cmp(&b.name));
    Some(discovered)
}

/// Every difference between the folders and the functions served, one sentence each;
/// `switched_off` names functions a setting turned off, whose folders may stay.
pub fn differences(
    discovered: &Discovered,
    served: &[FunctionInfo],
    switched_off: &[String],
) -> Vec<String> {
    let mut differences = discovered.problems.clone();
    for folder in &discovered.folders {
        let Some(function) = served
            .iter()
            .find(|function| function.name().eq_ignore_ascii_case(&folder.name))
        else {
            if !switched_off
                .iter()
                .any(|off| off.eq_ignore_ascii_case(&folder.name))
            {
                differences.push(format!(
                    "function folder {} has no function in the handler: the host routes /{} to it and the handler answers 404",
                    folder.name, folder.route
                ));
            }
            continue;
        };
        let route = function.route();
        if !folder.route.eq_ignore_ascii_case(route.template()) {
            differences.push(format!(
                "function {}: function.json's route is {:?} but the handler serves {:?}",
                folder.name,
                folder.route,
                route.template()
            ));
        }
        let mut served_methods: Vec<String> = route
            .allowed_methods()
            .iter()
            .map(|method| method.as_str().to_owned())
            .collect();
        served_methods.sort();
        let mut declared = folder.methods.clone();
        declared.sort();
        if served_methods != declared {
            let list = |methods: &[String]| {
                if methods.is_empty() {
                    "every method".to_owned()
                } else {
                    methods.join(",")
                }
            };
            differences.push(format!(
                "function {}: function.json's methods are {} but the handler answers {}",
                folder.name,
                list(&declared),
                list(&served_methods)
            ));
        }
    }
    for function in served {
        let has_folder = discovered
            .folders
            .iter()
            .any(|folder| folder.name.eq_ignore_ascii_case(function.name()));
        if !has_folder {
            differences.push(format!(
                "function {} has no function folder with a function.json: the host never routes a request to it",
                function.name()
            ));
        }
    }
    differences
}

/// Logs each difference between `app_root`'s folders and `served` as a warning.
pub fn warn_about_differences(app_root: &Path, served: &[FunctionInfo], switched_off: &[String]) {
    let Some(discovered) = discover(app_root) else {
        return;
    };
    for difference in differences(&discovered, served, switched_off) {
        tracing::warn!("{difference}");
    }
}

/// The HTTP trigger of one function.json; `Ok(None)` for a function that is not HTTP-triggered.
fn read_function_json(path: &Path, name: &str) -> Result<Option<FunctionFolder>, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(MAX_FUNCTION_JSON_BYTES + 1)
                .read_to_string(&mut text)
        })
        .map_err(|error| format!("cannot read it: {error}"))?;
    if text.len() as u64 > MAX_FUNCTION_JSON_BYTES {
        return Err(format!("larger than {MAX_FUNCTION_JSON_BYTES} bytes"));
    }
    let json: Value =
        serde_json::from_str(&text).map_err(|error| format!("not valid JSON: {error}"))?;
    let Some(bindings) = json.get("bindings").and_then(Value::as_array) else {
        return Err("no bindings array".to_owned());
    };
    let Some(trigger) = bindings
        .iter()
        .find(|binding| binding.get("type").and_then(Value::as_str) == Some("httpTrigger"))
    else {
        return Ok(None);
    };
    let route = match trigger.get("route") {
        None | Some(Value::Null) => name.to_owned(),
        Some(Value::String(route)) => route.trim_matches('/').to_owned(),
        Some(_) => return Err("route is not a string".to_owned()),
    };
    let methods = match trigger.get("methods") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(methods)) => methods
            .iter()
            .map(|method| method.as_str().map(str::to_ascii_uppercase))
            .collect::<Option<Vec<_>>>()
            .ok_or("methods are not all strings")?,
        Some(_) => return Err("methods is not an array".to_owned()),
    };
    Ok(Some(FunctionFolder {
        name: name.to_owned(),
        route,
        methods,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::route::Route;

    fn folder(name: &str, route: &str, methods: &[&str]) -> FunctionFolder {
        FunctionFolder {
            name: name.to_owned(),
            route: route.to_owned(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn each_difference_between_folders_and_functions_is_one_sentence() {
        let discovered = Discovered {
            folders: vec![
                folder("health", "health", &["GET"]),
                folder("orders", "orders", &["GET", "POST"]),
                folder("order", "orders/{id}", &["PUT"]),
                folder("stray", "stray", &[]),
                folder("cert-info", "cert-info", &["GET"]),
            ],
            problems: vec!["broken/function.json: not valid JSON".to_owned()],
        };
        let served = [
            FunctionInfo::new("health", Route::get("health")),
            FunctionInfo::new("Orders", Route::get("orders")),
            FunctionInfo::new("order", Route::put("orders/{ID}")),
            FunctionInfo::new("hidden", Route::get("hidden")),
        ];
        let found = differences(&discovered, &served, &["cert-info".to_owned()]);
        let expected = [
            "broken/function.json: not valid JSON",
            "function orders: function.json's methods are GET,POST but the handler answers GET",
            "function folder stray has no function in the handler",
            "function hidden has no function folder",
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (found, expected) in found.iter().zip(expected) {
            assert!(found.starts_with(expected), "{found} / {expected}");
        }
    }

    #[test]
    fn folders_are_read_with_the_hosts_defaults_and_bounds() {
        let root = std::env::temp_dir().join(format!("mtls-folders-{}", std::process::id()));
        std::fs::remove_dir_all(&root).ok();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        assert_eq!(discover(&root), None, "no host.json, no function app");
        write("host.json", "{}");
        write(
            "plain/function.json",
            r#"{"bindings":[{"type":"httpTrigger","name":"req"},{"type":"http","direction":"out","name":"res"}]}"#,
        );
        write(
            "orders/function.json",
            r#"{"bindings":[{"type":"httpTrigger","route":"/orders/{id}/","methods":["post","Put"]}]}"#,
        );
        write(
            "timer/function.json",
            r#"{"bindings":[{"type":"timerTrigger"}]}"#,
        );
        write("broken/function.json", "{");
        write(
            "huge/function.json",
            &" ".repeat(MAX_FUNCTION_JSON_BYTES as usize + 1),
        );
        write("not-a-function/readme.txt", "");
        let found = discover(&root).expect("a function app");
        std::fs::remove_dir_all(&root).ok();
        assert_eq!(
            found.folders,
            vec![
                folder("orders", "orders/{id}", &["POST", "PUT"]),
                folder("plain", "plain", &[]),
            ]
        );
        assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
        assert!(found.problems.iter().any(|p| p.contains("not valid JSON")));
        assert!(found.problems.iter().any(|p| p.contains("larger than")));
    }
}
