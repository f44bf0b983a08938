//! Small builders and checks the tests share: request bodies, random values, and the formats docs/api.md fixes
//! (ids with a type prefix, RFC 3339 UTC times with milliseconds).

use chrono::{Duration, SecondsFormat, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

/// The token that integration tests store as credentials; unique per call so a scan cannot match another test.
pub const TEST_TOKEN_PREFIX: &str = "secret-token-";

/// `{"post": {"content": {"text", "mediaType": "text", "platform"}}}`.
pub fn text_post(text: &str, platforms: Value) -> Value {
    json!({"post": {"content": {"text": text, "mediaType": "text", "platform": platforms}}})
}

/// Now plus `seconds` (negative: in the past), as `2026-02-28T12:00:00.000Z`.
pub fn time_from_now(seconds: i64) -> String {
    (Utc::now() + Duration::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(crate) fn random_lower(len: usize) -> String {
    random_alnum(len).to_ascii_lowercase()
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// A well-formed live key that no account has.
pub fn random_live_key() -> String {
    format!("sk_live_{}", random_alnum(40))
}

/// Panics unless `id` is `<prefix>` followed by at least 16 characters.
pub fn assert_id(id: &Value, prefix: &str) {
    let s = id
        .as_str()
        .unwrap_or_else(|| panic!("id {id} is not a string"));
    assert!(
        s.starts_with(prefix) && s.len() >= prefix.len() + 16,
        "id {s:?} should be {prefix:?} followed by at least 16 characters"
    );
}

/// Panics unless `t` is RFC 3339 UTC with milliseconds: `2026-02-28T12:00:00.000Z`.
pub fn assert_time_ms(t: &Value) {
    let s = t
        .as_str()
        .unwrap_or_else(|| panic!("time {t} is not a string"));
    let b = s.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    let ok = b.len() == 24
        && digits.iter().all(|&i| b[i].is_ascii_digit())
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ]
        .iter()
        .all(|&(i, c)| b[i] == c)
        && chrono::DateTime::parse_from_rfc3339(s).is_ok();
    assert!(ok, "time {s:?} should look like 2026-02-28T12:00:00.000Z");
}
