//! The checks a setting's declaration names: each takes the raw value and gives the checked one, or the message
//! that follows the setting's name in the error (`SOKU_LISTEN: `nonsense` is not an address like …`).

use std::net::SocketAddr;

use super::MasterKey;
use super::StorageBackend;
use crate::address_policy::AddressPolicy;

type Outcome<T> = Result<T, String>;

/// Any value is accepted as it is (or converted, as text to a path).
pub(super) fn plain<T, U: From<T>>(value: T) -> Outcome<U> {
    Ok(U::from(value))
}

/// An unset setting stays unset; a set one passes `check`.
pub(super) fn optional<T, U>(
    check: impl Fn(T) -> Outcome<U>,
) -> impl Fn(Option<T>) -> Outcome<Option<U>> {
    move |value| value.map(&check).transpose()
}

/// A whole number from `low` to `high`, both included.
pub(super) fn between<T: TryFrom<u64>>(low: u64, high: u64) -> impl Fn(u64) -> Outcome<T> {
    move |value| {
        (low..=high)
            .contains(&value)
            .then(|| T::try_from(value).ok())
            .flatten()
            .ok_or_else(|| format!("must be between {low} and {high}"))
    }
}

/// A whole number of at least `low`.
pub(super) fn at_least(low: u64) -> impl Fn(u64) -> Outcome<u64> {
    move |value| {
        (value >= low)
            .then_some(value)
            .ok_or_else(|| format!("must be at least {low}"))
    }
}

/// At most a day's worth of seconds.
pub(super) fn up_to_a_day(value: u64) -> Outcome<u64> {
    (value <= 86_400)
        .then_some(value)
        .ok_or_else(|| "must be at most 86400 (one day)".to_string())
}

/// Text starting with one of `schemes` (`postgres://`, …), kept as `T` (a secret, for a URL with a password).
pub(super) fn starting_with<T: From<String>>(
    schemes: &'static [&'static str],
) -> impl Fn(String) -> Outcome<T> {
    move |value| {
        if schemes.iter().any(|s| value.starts_with(s)) {
            Ok(T::from(value))
        } else {
            Err(format!("must start with {}", schemes.join(" or ")))
        }
    }
}

/// An http:// or https:// URL, without its trailing slashes.
pub(super) fn http_url(value: String) -> Outcome<String> {
    let url = value.trim_end_matches('/');
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.to_string())
    } else {
        Err("must be an http:// or https:// URL".to_string())
    }
}

/// A socket address; `example` shows the expected shape in the message.
pub(super) fn address(example: &'static str) -> impl Fn(String) -> Outcome<SocketAddr> {
    move |value| {
        value
            .parse()
            .map_err(|_| format!("`{value}` is not an address like {example}"))
    }
}

/// 1 to 64 characters that are safe in a Redis key.
pub(super) fn redis_prefix(value: String) -> Outcome<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if (1..=64).contains(&value.len()) && value.chars().all(safe) {
        Ok(value)
    } else {
        Err("must be 1..64 characters of [A-Za-z0-9_-]".to_string())
    }
}

/// 64 hexadecimal characters: the 32 bytes of the master key.
pub(super) fn master_key(value: String) -> Outcome<MasterKey> {
    hex::decode(value.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(MasterKey)
        .ok_or_else(|| "must be 64 hexadecimal characters (32 bytes)".to_string())
}

/// A comma-separated list of CIDRs (`127.0.0.1/32, ::1/128`); empty allows nothing.
pub(super) fn cidr_list(value: String) -> Outcome<AddressPolicy> {
    AddressPolicy::parse(&value)
}

/// Text that is not empty (nor only spaces), kept as it is.
pub(super) fn not_empty(value: String) -> Outcome<String> {
    if value.trim().is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(value)
    }
}

/// `local` or `s3`.
pub(super) fn storage_backend(value: String) -> Outcome<StorageBackend> {
    match value.trim() {
        "local" => Ok(StorageBackend::Local),
        "s3" => Ok(StorageBackend::S3),
        other => Err(format!("`{other}` is neither `local` nor `s3`")),
    }
}

/// An S3 bucket name: 3 to 63 characters of lower-case letters, digits, `.` and `-`, starting and ending with
/// a letter or digit.
pub(super) fn bucket_name(value: String) -> Outcome<String> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let bytes = value.as_bytes();
    if (3..=63).contains(&bytes.len())
        && bytes.iter().all(|&b| allowed(b))
        && edge(bytes.first())
        && edge(bytes.last())
    {
        Ok(value)
    } else {
        Err("must be a bucket name: 3..63 characters of [a-z0-9.-], starting and ending with a letter or digit"
            .to_string())
    }
}

/// `on` or `off` (also `true`/`false`, `1`/`0`).
pub(super) fn on_off(value: String) -> Outcome<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        other => Err(format!("`{other}` is neither `on` nor `off`")),
    }
}

/// `name=provider_name,…`: the API's model names, each mapped to the provider's; at least one, names unique.
pub(super) fn model_map(value: String) -> Outcome<Vec<(String, String)>> {
    let pairs = pairs(&value, "whisper-1=tiny.en")?;
    if pairs.is_empty() {
        return Err("must name at least one model, as `whisper-1=tiny.en`".into());
    }
    Ok(pairs)
}

/// `model=credits,…`: credits per started minute by model.
pub(super) fn price_map(value: String) -> Outcome<Vec<(String, u64)>> {
    pairs(&value, "whisper-1=1")?
        .into_iter()
        .map(|(model, price)| match price.parse::<u64>() {
            Ok(n) if n <= 1_000_000 => Ok((model, n)),
            _ => Err(format!(
                "the price of `{model}` must be a whole number of credits from 0 to 1000000, not `{price}`"
            )),
        })
        .collect()
}

fn pairs(value: &str, example: &str) -> Outcome<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("`{item}` is not `name=value` (as `{example}`)"));
        };
        let (k, v) = (k.trim(), v.trim());
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
        };
        if !ok(k) || !ok(v) {
            return Err(format!(
                "`{item}`: names are letters, digits and - _ . : / (as `{example}`)"
            ));
        }
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(format!("`{k}` is named twice"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Comma-separated secrets, each at least 32 characters (`openssl rand -hex 32` makes one).
pub(super) fn secret_list(value: String) -> Outcome<secrecy::SecretString> {
    let keys: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err("must hold at least one secret".into());
    }
    if let Some(n) = keys.iter().position(|k| k.len() < 32) {
        return Err(format!(
            "secret {} is shorter than 32 characters; make one with `openssl rand -hex 32`",
            n + 1
        ));
    }
    Ok(secrecy::SecretString::from(value))
}
