//! local.settings.json, read as `func start` reads it: the `Values` object becomes the handler's
//! environment. `handler dev --upstream` reads it to say what the running host's handler needs
//! in it to admit the dev client. Read only, and bounded.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The largest local.settings.json read.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The `Values` of an app's local.settings.json.
#[derive(Debug, Clone, Default)]
pub struct LocalSettings {
    pub path: PathBuf,
    /// Every string value of `Values` (others are skipped, as the host would not pass them).
    pub values: HashMap<String, String>,
    /// Why the file could not be used, when it could not (missing, too large, not JSON).
    pub problem: Option<String>,
}

impl LocalSettings {
    /// `<root>/local.settings.json`; a missing or unreadable file gives no values and says why.
    pub fn read(root: &Path) -> Self {
        let path = root.join("local.settings.json");
        let mut settings = Self {
            path: path.clone(),
            ..Self::default()
        };
        match parse(&path) {
            Ok(values) => settings.values = values,
            Err(problem) => settings.problem = Some(problem),
        }
        settings
    }
}

fn parse(path: &Path) -> Result<HashMap<String, String>, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_BYTES + 1).read_to_string(&mut text))
        .map_err(|error| format!("cannot read it: {error}"))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("not valid JSON: {error}"))?;
    let values = json
        .get("Values")
        .and_then(serde_json::Value::as_object)
        .ok_or("no Values object")?;
    Ok(values
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_local_settings_are_read_bounded_and_a_problem_is_said() {
        let root = std::env::temp_dir().join(format!("mtls-local-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("temp dir");
        let file = root.join("local.settings.json");
        let read = |text: &str| {
            std::fs::write(&file, text).expect("write");
            LocalSettings::read(&root)
        };

        let good = read(r#"{"IsEncrypted":false,"Values":{"A":"1","N":2}}"#);
        let not_json = read("{");
        let no_values = read("{}");
        let huge = read(&" ".repeat(MAX_BYTES as usize + 1));
        std::fs::remove_dir_all(&root).ok();
        let missing = LocalSettings::read(&root);

        assert_eq!(good.values.get("A").map(String::as_str), Some("1"));
        assert_eq!(
            good.values.len(),
            1,
            "a value that is not a string is skipped"
        );
        assert!(good.problem.is_none());
        for (settings, needle) in [
            (not_json, "not valid JSON"),
            (no_values, "no Values object"),
            (huge, "larger than"),
            (missing, "cannot read it"),
        ] {
            let problem = settings.problem.unwrap_or_default();
            assert!(problem.contains(needle), "{needle}: {problem}");
            assert!(settings.values.is_empty());
        }
    }
}
