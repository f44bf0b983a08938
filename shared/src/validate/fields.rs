//! The error collector and the field-level checks every part of post validation shares: JSON type checks,
//! unknown fields (with hints from `hints`), free text (control characters, length) and media URLs.
//!
//! The null rule, the same for every field of every request body: an optional field sent as `null` is the field
//! left out (so a post read back with `GET` can be sent again as it is); a required field sent as `null` is
//! missing ("is required"). An array item is never optional: `null` there is a wrong type.

use serde_json::{Map, Value};

use super::hints::{LEVELS, unknown_field_message};
use super::{FieldError, excerpt};
use crate::platform::Platform;

/// Longest `text` accepted before any platform's own limit (Facebook's, the largest).
pub(super) const MAX_TEXT_CHARS: usize = 63_206;
pub(super) const MAX_TITLE_CHARS: usize = 100;
const MAX_URL_CHARS: usize = 2048;

/// A field as found in the body.
pub(super) enum Slot<T> {
    Absent,
    /// Present with the wrong JSON type (already reported).
    WrongType,
    /// Present with the right type but a bad value (already reported).
    Invalid,
    Ok(T),
}

impl<T> Slot<T> {
    /// Whether the field was given: `None` when its type was wrong, so presence cannot be judged.
    pub(super) fn present(&self) -> Option<bool> {
        match self {
            Slot::Absent => Some(false),
            Slot::WrongType => None,
            Slot::Invalid | Slot::Ok(_) => Some(true),
        }
    }

    pub(super) fn ok(self) -> Option<T> {
        match self {
            Slot::Ok(v) => Some(v),
            _ => None,
        }
    }
}

/// Collects every failure of one body.
#[derive(Default)]
pub(super) struct Errors(Vec<FieldError>);

impl Errors {
    pub(super) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
            platform: None,
        });
    }

    pub(super) fn add_for(&mut self, p: Platform, field: &str, message: String) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message,
            platform: Some(p),
        });
    }

    pub(super) fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    pub(super) fn top_object<'a>(&mut self, body: &'a Value) -> Option<&'a Map<String, Value>> {
        let Value::Object(map) = body else {
            self.add("body", format!("must be a JSON object; got {}", kind(body)));
            return None;
        };
        self.unknown_fields("", map, LEVELS[0].1);
        Some(map)
    }

    /// A required object field (`post`, `post.content`), its unknown fields reported. Null is absence.
    pub(super) fn object_field<'a>(
        &mut self,
        parent: &str,
        key: &str,
        v: Option<&'a Value>,
    ) -> Option<&'a Map<String, Value>> {
        let path = join(parent, key);
        match v {
            None | Some(Value::Null) => self.add(path, "is required"),
            Some(Value::Object(map)) => {
                let known = LEVELS.iter().find(|l| l.0 == path).map_or(&[][..], |l| l.1);
                self.unknown_fields(&path, map, known);
                return Some(map);
            }
            Some(other) => self.add(path, format!("must be an object; got {}", kind(other))),
        }
        None
    }

    pub(super) fn unknown_fields(&mut self, path: &str, map: &Map<String, Value>, known: &[&str]) {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            self.add(join(path, &excerpt(key)), unknown_field_message(key, known));
        }
    }

    /// A string field: absent (missing or null: the one null rule, see the module docs), wrong type (reported),
    /// or the string.
    pub(super) fn string<'a>(&mut self, field: &str, v: Option<&'a Value>) -> Slot<&'a str> {
        match v {
            None | Some(Value::Null) => Slot::Absent,
            Some(Value::String(s)) => Slot::Ok(s),
            Some(other) => {
                self.add(field, format!("must be a string; got {}", kind(other)));
                Slot::WrongType
            }
        }
    }

    /// Free text (`text`, `title`): no control characters but newline, carriage return and tab, and a length cap.
    pub(super) fn free_text(
        &mut self,
        field: &str,
        v: Option<&Value>,
        max_chars: usize,
    ) -> Slot<String> {
        let s = match self.string(field, v) {
            Slot::Ok(s) => s,
            Slot::Absent => return Slot::Absent,
            _ => return Slot::WrongType,
        };
        let bad = s
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_ascii_control() && !matches!(c, '\n' | '\r' | '\t'));
        if let Some((at, c)) = bad {
            let what = if c == '\0' {
                "NUL"
            } else {
                "control characters"
            };
            self.add(
                field,
                format!(
                    "must not contain {what} (only newline, carriage return and tab are \
                     allowed); found U+{:04X} at character {}",
                    c as u32,
                    at + 1
                ),
            );
            return Slot::Invalid;
        }
        let n = s.chars().count();
        if n > max_chars {
            self.add(
                field,
                format!("is {n} characters long; the limit is {max_chars}"),
            );
            return Slot::Invalid;
        }
        Slot::Ok(s.to_owned())
    }

    pub(super) fn url(&mut self, field: &str, v: Option<&Value>) -> Slot<String> {
        match self.string(field, v) {
            Slot::Ok(s) => match url_problem(s) {
                None => Slot::Ok(s.to_owned()),
                Some(message) => {
                    self.add(field, message);
                    Slot::Invalid
                }
            },
            Slot::Absent => Slot::Absent,
            _ => Slot::WrongType,
        }
    }
}

/// What is wrong with an image or video URL, if anything.
fn url_problem(s: &str) -> Option<String> {
    let n = s.chars().count();
    if n > MAX_URL_CHARS {
        return Some(format!(
            "is {n} characters long; the limit is {MAX_URL_CHARS}"
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain whitespace or control characters".to_owned());
    }
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Some("must be an absolute http:// or https:// URL".to_owned());
    }
    match url::Url::parse(s) {
        Err(e) => Some(format!("is not a valid URL: {e}")),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("must have a host".to_owned()),
        Ok(_) => None,
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// "a string", "null", … for type errors.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
