//! The `post.content.platform` list: platform names or `{platform, accountId}` objects, 1 to 50 of them, each
//! name known, each accountId printable, and no target named twice.

use std::collections::HashMap;

use serde_json::Value;

use super::PlatformEntry;
use super::fields::{Errors, Slot, kind};
use super::hints::LEVELS;
use crate::platform::Platform;

const MAX_TARGETS: usize = 50;
const MAX_ACCOUNT_ID_CHARS: usize = 100;

/// The valid entries of `post.content.platform`, in order (invalid ones and duplicates reported and left out).
pub(super) fn platform_entries(errs: &mut Errors, v: Option<&Value>) -> Vec<PlatformEntry> {
    const FIELD: &str = "post.content.platform";
    let items = match v {
        None | Some(Value::Null) => {
            errs.add(FIELD, "is required: name at least one platform");
            return Vec::new();
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            errs.add(
                FIELD,
                format!(
                    "must be an array, e.g. [\"x\", \"threads\"]; got {}",
                    kind(other)
                ),
            );
            return Vec::new();
        }
    };
    if items.is_empty() {
        errs.add(FIELD, "must name at least one platform");
    } else if items.len() > MAX_TARGETS {
        // One error for the list; checking each of thousands of entries would only bury it.
        errs.add(
            FIELD,
            format!("has {} entries; the limit is {MAX_TARGETS}", items.len()),
        );
        return Vec::new();
    }
    let mut first_seen: HashMap<(Platform, Option<&str>), usize> = HashMap::new();
    let mut entries = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{FIELD}[{i}]");
        let Some(entry) = platform_entry(errs, &path, item) else {
            continue;
        };
        let key = match &entry {
            PlatformEntry::Name(p) => (*p, None),
            PlatformEntry::Account { platform, .. } => {
                (*platform, item.get("accountId").and_then(Value::as_str))
            }
        };
        if let Some(j) = first_seen.get(&key) {
            let what = match key.1 {
                Some(id) => format!("`{}` account `{}`", key.0, super::excerpt(id)),
                None => format!("`{}` (default connection)", key.0),
            };
            errs.add(
                path,
                format!("duplicate target: {what} is already named by {FIELD}[{j}]"),
            );
            continue;
        }
        first_seen.insert(key, i);
        entries.push(entry);
    }
    entries
}

fn platform_entry(errs: &mut Errors, path: &str, item: &Value) -> Option<PlatformEntry> {
    match item {
        Value::String(name) => platform_name(errs, path, name).map(PlatformEntry::Name),
        Value::Object(map) => {
            errs.unknown_fields(path, map, LEVELS[3].1);
            let platform_path = format!("{path}.platform");
            let platform = match errs.string(&platform_path, map.get("platform")) {
                Slot::Ok(name) => platform_name(errs, &platform_path, name),
                Slot::Absent => {
                    errs.add(platform_path, "is required");
                    None
                }
                _ => None,
            };
            let account_path = format!("{path}.accountId");
            let account_id = match errs.string(&account_path, map.get("accountId")) {
                Slot::Ok(id) => match account_id_problem(id) {
                    None => Some(Some(id.to_owned())),
                    Some(message) => {
                        errs.add(account_path, message);
                        None
                    }
                },
                Slot::Absent => Some(None),
                _ => None,
            };
            match (platform?, account_id?) {
                (p, None) => Some(PlatformEntry::Name(p)),
                (platform, Some(label)) => Some(PlatformEntry::Account { platform, label }),
            }
        }
        other => {
            let message = format!(
                "must be a platform name or an object {{\"platform\", \"accountId\"}}; got {}",
                kind(other)
            );
            errs.add(path, message);
            None
        }
    }
}

fn platform_name(errs: &mut Errors, path: &str, name: &str) -> Option<Platform> {
    if let Some(p) = Platform::parse(name) {
        return Some(p);
    }
    let folded = name.trim().to_lowercase();
    let hint = match Platform::parse(&folded) {
        Some(p) => format!("did you mean `{p}`? (platform names are lowercase)"),
        None if folded == "twitter" => "did you mean `x`?".to_owned(),
        None => {
            let known: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();
            format!("known platforms: {}", known.join(", "))
        }
    };
    let name = super::excerpt(name);
    errs.add(path, format!("unknown platform `{name}`; {hint}"));
    None
}

pub(super) fn entry_platform(e: &PlatformEntry) -> Platform {
    match e {
        PlatformEntry::Name(p) | PlatformEntry::Account { platform: p, .. } => *p,
    }
}

/// What is wrong with a connection label (`accountId`), if anything: the one rule for posts and integrations.
pub fn account_id_problem(id: &str) -> Option<String> {
    let n = id.chars().count();
    if id.trim().is_empty() {
        Some("must not be empty".to_owned())
    } else if n > MAX_ACCOUNT_ID_CHARS {
        Some(format!(
            "is {n} characters long; the limit is {MAX_ACCOUNT_ID_CHARS}"
        ))
    } else if id
        .chars()
        .any(|c| c.is_control() || (c.is_whitespace() && c != ' '))
    {
        Some(
            "must contain printable characters only (no control characters, tabs or line breaks)"
                .to_owned(),
        )
    } else if id.trim() != id {
        Some("must not start or end with a space".to_owned())
    } else {
        None
    }
}
