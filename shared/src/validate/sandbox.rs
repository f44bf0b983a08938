//! `sandbox`: test mode's instructions to the sandbox platform, per target platform (docs/sandbox.md):
//! `{"x": {"behavior": "rate_limited", "times": 2, "retryAfterSeconds": 3}}`. Whether the post is in test
//! mode is the caller's check (the body does not say).

use serde_json::{Map, Value};

use super::fields::{Errors, kind};
use crate::platform::Platform;

/// How the sandbox can be told to behave, as a platform in trouble would.
pub const BEHAVIORS: &[&str] = &[
    "rate_limited",
    "server_error",
    "token_expired",
    "rejected",
    "slow",
    "unconfirmed",
];

const FIELDS: &[&str] = &["behavior", "times", "retryAfterSeconds", "delayMs"];

/// Checks `sandbox` against the post's target platforms; returns it as stored. Null (for `sandbox`, one platform's
/// entry, or an optional number) is absence, as everywhere in a request body; nulls are left out of what is stored.
pub(super) fn sandbox(
    errs: &mut Errors,
    v: Option<&Value>,
    platforms: &[Platform],
) -> Option<Value> {
    let v = v.filter(|v| !v.is_null())?;
    let Value::Object(map) = v else {
        errs.add(
            "sandbox",
            format!("must be an object keyed by platform; got {}", kind(v)),
        );
        return None;
    };
    let mut stored = Map::new();
    for (key, spec) in map {
        if spec.is_null() {
            continue;
        }
        stored.insert(key.clone(), without_nulls(spec));
        let key_text = super::excerpt(key);
        let path = format!("sandbox.{key_text}");
        match Platform::parse(key) {
            None => errs.add(
                &path,
                format!(
                    "`{key_text}` is not a platform; use one of {}",
                    Platform::ALL.map(|p| p.as_str()).join(", ")
                ),
            ),
            Some(p) if !platforms.contains(&p) => {
                errs.add(&path, format!("the post has no {p} target"))
            }
            Some(_) => one(errs, &path, spec),
        }
    }
    Some(Value::Object(stored))
}

fn without_nulls(spec: &Value) -> Value {
    match spec {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn one(errs: &mut Errors, path: &str, spec: &Value) {
    let Value::Object(spec) = spec else {
        errs.add(
            path,
            format!("must be an object with `behavior`; got {}", kind(spec)),
        );
        return;
    };
    errs.unknown_fields(path, spec, FIELDS);
    match spec.get("behavior") {
        None | Some(Value::Null) => errs.add(format!("{path}.behavior"), "is required"),
        Some(Value::String(b)) if BEHAVIORS.contains(&b.as_str()) => {}
        Some(other) => errs.add(
            format!("{path}.behavior"),
            format!(
                "must be one of {}; got {}",
                BEHAVIORS.join(", "),
                super::excerpt(&other.to_string())
            ),
        ),
    }
    whole(errs, path, spec, "times", 1, 100);
    whole(errs, path, spec, "retryAfterSeconds", 0, 3600);
    whole(errs, path, spec, "delayMs", 0, 120_000);
}

fn whole(errs: &mut Errors, path: &str, spec: &Map<String, Value>, key: &str, lo: u64, hi: u64) {
    if let Some(v) = spec.get(key).filter(|v| !v.is_null()) {
        match v.as_u64() {
            Some(n) if (lo..=hi).contains(&n) => {}
            _ => errs.add(
                format!("{path}.{key}"),
                format!("must be a whole number from {lo} to {hi}; got {v}"),
            ),
        }
    }
}
