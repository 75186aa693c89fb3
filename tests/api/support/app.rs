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
    /// Reads the app under test (`crate::APP`).
    pub fn load() -> Self {
        Self::load_from(Path::new(crate::APP.root))
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

    /// The function whose route template matches `path` (literals ignoring case, as the host
    /// matches), with its route values; the first such function in name order.
    pub fn route(&self, path: &str) -> Option<&FunctionDef> {
        self.route_with_params(path).map(|(function, _)| function)
    }

    /// Like [`FunctionApp::route`], with the route values the host puts in `Params`.
    pub fn route_with_params(&self, path: &str) -> Option<(&FunctionDef, Vec<(String, String)>)> {
        self.route_for(path, None)
    }

    /// The function the host routes `method path` to: its route matches and it allows the method.
    pub fn route_for(
        &self,
        path: &str,
        method: Option<&str>,
    ) -> Option<(&FunctionDef, Vec<(String, String)>)> {
        let path = path.trim_end_matches('/');
        let prefix_path = if self.route_prefix.is_empty() {
            String::new()
        } else {
            format!("/{}", self.route_prefix)
        };
        let rest = strip_prefix_ignore_case(path, &prefix_path)?;
        self.functions
            .iter()
            .filter(|function| method.is_none_or(|method| function.allows(method)))
            .find_map(|function| Some((function, template_values(&function.route, rest)?)))
    }

    /// A path of `function`'s route, with `1` for each parameter.
    pub fn example_path(&self, function: &FunctionDef) -> String {
        let route: Vec<String> = function
            .route
            .split('/')
            .filter(|segment| !segment.is_empty())
            .filter(|segment| !(segment.ends_with("?}") || segment.starts_with("{*")))
            .map(|segment| {
                if segment.starts_with('{') {
                    "1".to_owned()
                } else {
                    segment.to_owned()
                }
            })
            .collect();
        let mut path = if self.route_prefix.is_empty() {
            String::new()
        } else {
            format!("/{}", self.route_prefix)
        };
        for segment in route {
            path.push('/');
            path.push_str(&segment);
        }
        path
    }
}

fn strip_prefix_ignore_case<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let head = path.get(..prefix.len())?;
    let rest = &path[prefix.len()..];
    (head.eq_ignore_ascii_case(prefix) && (rest.is_empty() || rest.starts_with('/')))
        .then_some(rest)
}

/// The route values when `rest` (after the prefix, starting with `/` or empty) matches
/// `template`: `{name}` takes one non-empty segment, `{name?}` (last) one or none, `{*name}`
/// (last) the rest; literals compare ignoring ASCII case.
fn template_values(template: &str, rest: &str) -> Option<Vec<(String, String)>> {
    let mut parts: Vec<&str> = rest.split('/').skip(1).collect();
    if rest.is_empty() {
        parts.clear();
    }
    let segments: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let mut values = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        if let Some(name) = segment.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
            let tail = parts.get(index..).unwrap_or_default().join("/");
            values.push((name.trim_start_matches('*').to_owned(), tail));
            return Some(values);
        }
        let Some(part) = parts.get(index) else {
            let optional = segment.starts_with('{') && segment.ends_with("?}");
            return (optional && index + 1 == segments.len()).then_some(values);
        };
        if part.is_empty() {
            return None;
        }
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => values.push((name.trim_end_matches('?').to_owned(), (*part).to_owned())),
            None if segment.eq_ignore_ascii_case(part) => {}
            None => return None,
        }
    }
    (parts.len() == segments.len()).then_some(values)
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

impl FunctionApp {
    /// Asserts that the function folders and `served` (the functions the handler serves) are
    /// the same functions, each with function.json's route and methods, and that each folder is
    /// an HTTP in/out function (one `req` trigger in, one `res` out: what proxying needs).
    pub fn assert_serves_what_folders_declare(&self, served: &[mtls_handler::app::FunctionInfo]) {
        let mut folders: Vec<String> = self.functions.iter().map(|f| f.name.clone()).collect();
        let mut names: Vec<String> = served.iter().map(|f| f.name().to_owned()).collect();
        folders.sort_unstable();
        names.sort_unstable();
        assert_eq!(
            folders, names,
            "function folders and the handler's functions must be the same set"
        );
        for function in &self.functions {
            let name = &function.name;
            assert_eq!(function.trigger_name, "req", "{name}: trigger binding name");
            assert_eq!(function.output_name, "res", "{name}: output binding name");
            assert_eq!(
                (function.input_bindings, function.output_bindings),
                (1, 1),
                "{name}: one in, one out, so proxying applies"
            );
            let served = served
                .iter()
                .find(|served| served.name() == name)
                .expect("the same set");
            assert_eq!(
                function.route.trim_matches('/').to_ascii_lowercase(),
                served.route().template().to_ascii_lowercase(),
                "{name}: function.json's route is the route the handler serves"
            );
            let mut declared = function.methods.clone();
            declared.sort_unstable();
            let mut answered: Vec<String> = served
                .route()
                .allowed_methods()
                .iter()
                .map(|method| method.as_str().to_owned())
                .collect();
            answered.sort_unstable();
            assert_eq!(
                declared, answered,
                "{name}: function.json's methods are the ones the handler answers (none: all)"
            );
        }
    }

    /// The app's settings as the host hands them over (its root, nothing else), for building it.
    pub fn config(&self) -> mtls_handler::config::Config {
        let env: std::collections::HashMap<&str, &str> = [(
            "FUNCTIONS_APP_ROOT_PATH",
            self.root.to_str().expect("a UTF-8 root"),
        )]
        .into_iter()
        .collect();
        mtls_handler::config::Config::load(&env).expect("the app root's defaults load")
    }
}
