//! Where settings come from: the `Env` trait (the process environment, or a map in tests)
//! and `Reader`, which parses one setting at a time and collects every mistake.
//!
//! It knows nothing of what the settings mean; `config/*.rs` give them meaning.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use super::SettingError;

/// A source of settings (App Settings arrive as environment variables).
pub trait Env {
    /// The raw value of `name`, if it is set.
    fn get(&self, name: &str) -> Option<String>;

    /// Every variable name, to notice look-alikes of settings (none by default).
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    }

    fn names(&self) -> Vec<String> {
        std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect()
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }

    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

impl Env for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|value| (*value).to_owned())
    }

    fn names(&self) -> Vec<String> {
        self.keys().map(|name| (*name).to_owned()).collect()
    }
}

/// Reads settings from an [`Env`], remembering every problem instead of stopping at the first.
pub struct Reader<'a> {
    env: &'a dyn Env,
    errors: Vec<SettingError>,
}

impl<'a> Reader<'a> {
    pub fn new(env: &'a dyn Env) -> Self {
        Self {
            env,
            errors: Vec::new(),
        }
    }

    /// The trimmed value of `name`; `None` when unset or blank.
    pub fn string(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// The raw value of `name`, untrimmed (for secrets, where whitespace may be meaningful).
    pub fn raw(&self, name: &str) -> Option<String> {
        self.env.get(name)
    }

    /// A comma-separated list: entries trimmed, empty entries dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.string(name)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|entry| !entry.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `name` parsed with `FromStr`, or `default` when unset; a bad value is recorded.
    pub fn parse<T>(&mut self, name: &'static str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.string(name) {
            None => default,
            Some(value) => match value.parse() {
                Ok(parsed) => parsed,
                Err(error) => {
                    self.invalid(name, format!("invalid value {value:?}: {error}"));
                    default
                }
            },
        }
    }

    /// A boolean: `true`/`false`/`1`/`0`/`yes`/`no`, any case.
    pub fn bool(&mut self, name: &'static str, default: bool) -> bool {
        match self.string(name) {
            None => default,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    self.invalid(
                        name,
                        format!("invalid value {value:?}: expected true or false"),
                    );
                    default
                }
            },
        }
    }

    /// A whole number within `range`.
    pub fn number(
        &mut self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        let value = self.parse::<u64>(name, default);
        if range.contains(&value) {
            value
        } else {
            self.invalid(
                name,
                format!(
                    "{value} is out of range: expected {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            default
        }
    }

    /// A duration given in milliseconds, within `range` (milliseconds).
    pub fn millis(
        &mut self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Duration {
        Duration::from_millis(self.number(name, default, range))
    }

    /// Records a problem with `name`.
    pub fn invalid(&mut self, name: &'static str, message: impl Into<String>) {
        self.errors.push(SettingError {
            setting: name,
            message: message.into(),
        });
    }

    /// Every problem recorded so far.
    pub fn into_errors(self) -> Vec<SettingError> {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn list_trims_entries_and_drops_empty_ones() {
        let env = env(&[("L", " a , ,b,, c ")]);
        let reader = Reader::new(&env);
        assert_eq!(reader.list("L"), vec!["a", "b", "c"]);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let env = env(&[("S", "   ")]);
        let mut reader = Reader::new(&env);
        assert_eq!(reader.string("S"), None);
        assert!(reader.bool("S", true));
        assert!(reader.into_errors().is_empty());
    }

    #[test]
    fn every_bad_value_is_recorded_with_its_setting() {
        let env = env(&[("B", "maybe"), ("N", "12x"), ("R", "900")]);
        let mut reader = Reader::new(&env);
        reader.bool("B", false);
        reader.parse::<u16>("N", 1);
        reader.number("R", 0, 0..=300);
        let settings: Vec<_> = reader.into_errors().iter().map(|e| e.setting).collect();
        assert_eq!(settings, vec!["B", "N", "R"]);
    }
}
