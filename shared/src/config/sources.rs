//! The layers, merged by figment into [`Raw`]: the declared defaults, then `soku.toml`, then the environment.
//!
//! The file and the environment are read here rather than by figment's own providers, to keep what the operator
//! is told: a missing `SOKU_CONFIG` file is an error (not an empty layer), a TOML syntax error is one line, an
//! empty variable counts as unset, a variable's number is parsed with our message, and text that looks like a
//! number (a hex master key, a Redis prefix) stays text.

use std::path::{Path, PathBuf};

use figment::{Figment, error::Kind as ErrorKind, providers::Serialized, value::Dict};

use super::ConfigError;
use super::declare::env_name;
use super::list::{Raw, SETTINGS};

/// A `soku.toml`, read and named as the operator named it.
pub(super) struct ConfigFile {
    pub name: String,
    pub text: String,
}

impl ConfigFile {
    /// The file `SOKU_CONFIG` names, else `./soku.toml` when it exists, else none.
    pub(super) fn find(
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ConfigFile>, ConfigError> {
        let path = match env("SOKU_CONFIG").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => match Path::new("soku.toml") {
                p if p.exists() => p.to_path_buf(),
                _ => return Ok(None),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
            name: "SOKU_CONFIG".into(),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Ok(Some(ConfigFile {
            name: path.display().to_string(),
            text,
        }))
    }

    fn table(&self) -> Result<toml::Table, ConfigError> {
        self.text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|at| self.text[..at.start].lines().count().max(1));
            let what = e.message().trim().replace('\n', "; ");
            ConfigError {
                name: self.name.clone(),
                message: match line {
                    Some(line) => format!("line {line}: {what}"),
                    None => what,
                },
            }
        })
    }

    /// A value of the file that does not fit its setting, named `file: key`.
    fn refusal(&self, e: figment::Error) -> ConfigError {
        let key = match &e.kind {
            ErrorKind::UnknownField(key, _) => key.clone(),
            _ => e.path.join("."),
        };
        ConfigError {
            name: format!("{}: {key}", self.name),
            message: e.kind.to_string(),
        }
    }
}

/// Merges the layers; a value of the wrong type (or an unknown key) in the file is refused even where the
/// environment overrides it.
pub(super) fn merge(
    file: Option<&ConfigFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Raw, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Raw::default()));
    if let Some(file) = file {
        figment = figment.merge(Serialized::defaults(file.table()?));
        figment.extract::<Raw>().map_err(|e| file.refusal(e))?;
    }
    figment
        .merge(Serialized::defaults(environment(env)?))
        .extract()
        .map_err(|e| ConfigError {
            name: env_name(&e.path.join(".")),
            message: e.kind.to_string(),
        })
}

/// The layer of environment variables: each declared setting's variable, when set and not empty.
fn environment(env: &dyn Fn(&str) -> Option<String>) -> Result<Dict, ConfigError> {
    let mut layer = Dict::new();
    for setting in SETTINGS {
        let name = env_name(setting.key);
        if let Some(text) = env(&name).filter(|v| !v.is_empty()) {
            let value =
                (setting.from_env)(&text).map_err(|message| ConfigError { name, message })?;
            layer.insert(setting.key.to_string(), value);
        }
    }
    Ok(layer)
}
