//! A template's fields: one table per template gives both the validation of a config and its JSON Schema, so the
//! two cannot disagree.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ConfigError;
use super::canvas::Theme;

/// Longest accepted URL, in characters.
pub(crate) const URL_MAX: usize = 2048;

/// What a field holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// Free text of at most `max` characters (Unicode scalar values, as JSON Schema's `maxLength` counts).
    Text { max: usize },
    /// `dark` or `light`.
    Theme,
    /// An absolute http:// or https:// URL.
    HttpUrl,
    /// A colour written `#rrggbb`.
    Color,
}

/// One field of a template's config.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    pub(crate) description: &'static str,
}

impl Field {
    pub(crate) const fn required_text(
        name: &'static str,
        max: usize,
        description: &'static str,
    ) -> Field {
        Field {
            name,
            kind: Kind::Text { max },
            required: true,
            description,
        }
    }

    pub(crate) const fn text(name: &'static str, max: usize, description: &'static str) -> Field {
        Field {
            name,
            kind: Kind::Text { max },
            required: false,
            description,
        }
    }

    pub(crate) const THEME: Field = Field {
        name: "theme",
        kind: Kind::Theme,
        required: false,
        description: "Colour scheme: \"dark\" (near-black background, the default) or \"light\" (off-white).",
    };
}

/// A config's values after validation: present, non-blank strings only.
#[derive(Clone, Debug, Default)]
pub(crate) struct Values(BTreeMap<&'static str, String>);

impl Values {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required field's value (validation made sure it is there).
    pub(crate) fn required(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    pub(crate) fn theme(&self) -> Theme {
        Theme::parse(self.get("theme"))
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn invalid(field: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        message,
    }
}

/// Validates `config` against `fields` of template `slug`.
pub(crate) fn validate(
    slug: &str,
    fields: &[Field],
    config: &Value,
) -> Result<Values, ConfigError> {
    let Value::Object(map) = config else {
        return Err(invalid(
            "config",
            format!("config must be a JSON object, not {}.", json_type(config)),
        ));
    };
    for key in map.keys() {
        if !fields.iter().any(|f| f.name == key) {
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            return Err(invalid(
                &format!("config.{key}"),
                format!(
                    "config.{key} is not a field of {slug}; its fields are {}.",
                    names.join(", ")
                ),
            ));
        }
    }
    let mut values = Values::default();
    for field in fields {
        let path = format!("config.{}", field.name);
        let value = match map.get(field.name) {
            None | Some(Value::Null) if field.required => {
                return Err(invalid(&path, format!("{path} is required.")));
            }
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(invalid(
                    &path,
                    format!("{path} must be a string, not {}.", json_type(other)),
                ));
            }
        };
        if value.trim().is_empty() {
            if field.required {
                return Err(invalid(&path, format!("{path} must not be empty.")));
            }
            continue;
        }
        check(field, &path, value)?;
        values.0.insert(field.name, value.clone());
    }
    Ok(values)
}

fn check(field: &Field, path: &str, value: &str) -> Result<(), ConfigError> {
    match field.kind {
        Kind::Text { max } => {
            let n = value.chars().count();
            if n > max {
                return Err(invalid(
                    path,
                    format!("{path} must be at most {max} characters long; it has {n}."),
                ));
            }
        }
        Kind::Theme => {
            if !Theme::NAMES.contains(&value) {
                return Err(invalid(
                    path,
                    format!(
                        "{path} must be one of \"dark\", \"light\"; \"{}\" is not.",
                        value.escape_debug()
                    ),
                ));
            }
        }
        Kind::HttpUrl => {
            let n = value.chars().count();
            if n > URL_MAX {
                return Err(invalid(
                    path,
                    format!("{path} must be at most {URL_MAX} characters long; it has {n}."),
                ));
            }
            let ok = url::Url::parse(value).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
            if !ok {
                return Err(invalid(
                    path,
                    format!("{path} must be an absolute http:// or https:// URL."),
                ));
            }
        }
        Kind::Color => {
            let b = value.as_bytes();
            if !(b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit)) {
                return Err(invalid(
                    path,
                    format!("{path} must be a colour written as #rrggbb, e.g. \"#3b82f6\"."),
                ));
            }
        }
    }
    Ok(())
}

/// The JSON Schema (draft 2020-12) of a config with `fields`.
pub(crate) fn schema(name: &str, description: &str, fields: &[Field]) -> Value {
    let mut properties = Map::new();
    for field in fields {
        let ty = if field.required {
            json!("string")
        } else {
            json!(["string", "null"])
        };
        let mut p = Map::new();
        p.insert("type".into(), ty);
        p.insert("description".into(), json!(field.description));
        match field.kind {
            Kind::Text { max } => {
                if field.required {
                    p.insert("minLength".into(), json!(1));
                    // Not only whitespace.
                    p.insert("pattern".into(), json!("\\S"));
                }
                p.insert("maxLength".into(), json!(max));
            }
            Kind::Theme => {
                p.insert("enum".into(), json!(["dark", "light", null]));
                p.insert("default".into(), json!("dark"));
            }
            Kind::HttpUrl => {
                p.insert("format".into(), json!("uri"));
                p.insert("pattern".into(), json!("^[Hh][Tt][Tt][Pp][Ss]?://"));
                p.insert("maxLength".into(), json!(URL_MAX));
            }
            Kind::Color => {
                p.insert("pattern".into(), json!("^#[0-9A-Fa-f]{6}$"));
            }
        }
        properties.insert(field.name.into(), Value::Object(p));
    }
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name,
        "description": description,
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}
