//! The Functions app as the host sees it: host.json and one function.json per folder, read from
//! the repository root exactly as `func start` would find them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One function folder.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub name: String,
    pub route: String,
    /// Upper-case methods; empty means every method.
    pub methods: Vec<String>,
    pub auth_level: String,
    pub trigger_name: String,
    pub output_name: String,
    pub input_bindings: usize,
    pub output_bindings: usize,
}

/// host.json plus the function folders.
#[derive(Debug, Clone)]
pub struct FunctionApp {
    pub root: PathBuf,
    pub host_json: Value,
    pub route_prefix: String,
    pub forwarding: bool,
    pub proxying: bool,
    pub executable: String,
    pub functions: Vec<FunctionDef>,
}

impl FunctionApp {
    /// Reads the app at the repository root.
    pub fn load() -> Self {
        Self::load_from(Path::new(env!("CARGO_MANIFEST_DIR")))
    }

    pub fn load_from(root: &Path) -> Self {
        let host_json = read_json(&root.join("host.json"));
        let route_prefix = host_json
            .pointer("/extensions/http/routePrefix")
            .and_then(Value::as_str)
            .unwrap_or("api")
            .trim_matches('/')
            .to_owned();
        let flag = |pointer: &str| {
            host_json
                .pointer(pointer)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let forwarding = flag("/customHandler/enableForwardingHttpRequest");
        let proxying = flag("/customHandler/enableProxyingHttpRequest");
        let executable = host_json
            .pointer("/customHandler/description/defaultExecutablePath")
            .and_then(Value::as_str)
            .expect("host.json names customHandler.description.defaultExecutablePath")
            .to_owned();
        let mut functions = Vec::new();
        for entry in std::fs::read_dir(root).expect("repository root is readable") {
            let path = entry.expect("directory entry").path();
            let function_json = path.join("function.json");
            if path.is_dir() && function_json.is_file() {
                let name = path
                    .file_name()
                    .expect("folder name")
                    .to_string_lossy()
                    .into_owned();
                functions.push(FunctionDef::parse(name, &read_json(&function_json)));
            }
        }
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            root: root.to_owned(),
            host_json,
            route_prefix,
            forwarding,
            proxying,
            executable,
            functions,
        }
    }

    /// The function whose route matches `path` (case-insensitively, as the host matches).
    pub fn route(&self, path: &str) -> Option<&FunctionDef> {
        let path = path.trim_end_matches('/');
        self.functions.iter().find(|function| {
            let expected = if self.route_prefix.is_empty() {
                format!("/{}", function.route)
            } else {
                format!("/{}/{}", self.route_prefix, function.route)
            };
            path.eq_ignore_ascii_case(&expected)
        })
    }
}

impl FunctionDef {
    fn parse(name: String, json: &Value) -> Self {
        let bindings = json["bindings"]
            .as_array()
            .expect("function.json has bindings");
        let trigger = bindings
            .iter()
            .find(|binding| binding["type"] == "httpTrigger")
            .expect("an httpTrigger binding");
        let output = bindings
            .iter()
            .find(|binding| binding["type"] == "http" && binding["direction"] == "out")
            .expect("an http output binding");
        let count = |direction: &str| {
            bindings
                .iter()
                .filter(|b| b["direction"] == direction)
                .count()
        };
        Self {
            route: trigger["route"].as_str().unwrap_or(&name).to_owned(),
            methods: trigger["methods"]
                .as_array()
                .map(|methods| {
                    methods
                        .iter()
                        .map(|m| m.as_str().expect("method is a string").to_ascii_uppercase())
                        .collect()
                })
                .unwrap_or_default(),
            auth_level: trigger["authLevel"]
                .as_str()
                .unwrap_or("function")
                .to_owned(),
            trigger_name: trigger["name"].as_str().expect("trigger name").to_owned(),
            output_name: output["name"].as_str().expect("output name").to_owned(),
            input_bindings: count("in"),
            output_bindings: count("out"),
            name,
        }
    }

    /// Whether the host would route `method` to this function.
    pub fn allows(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
