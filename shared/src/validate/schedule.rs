//! `scheduledTime`: RFC 3339 with an explicit offset, converted to UTC, no further in the past than the server's
//! tolerance and no more than [`MAX_DAYS_AHEAD`] days ahead (a longer horizon is almost always a typo in the year,
//! and platform tokens would not live that long anyway). A time without an offset is refused, never guessed.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::fields::{Errors, kind};

pub(super) const FIELD: &str = "scheduledTime";
/// How far ahead a post may be scheduled.
pub const MAX_DAYS_AHEAD: i64 = 365;
const EXAMPLE: &str = "2026-03-09T14:00:00.000Z";

/// The scheduled time in UTC; `None` when absent, null, or wrong (reported).
pub(super) fn scheduled_time(
    errs: &mut Errors,
    v: Option<&Value>,
    now: DateTime<Utc>,
    past_tolerance: Duration,
) -> Option<DateTime<Utc>> {
    let s = match v {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            let message = format!(
                "must be a string in RFC 3339 format, e.g. {EXAMPLE}; got {}",
                kind(other)
            );
            errs.add(FIELD, message);
            return None;
        }
    };
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            errs.add(FIELD, parse_failure(s));
            return None;
        }
    };
    if now - t > past_tolerance {
        let now = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let message = format!(
            "is in the past by more than {} seconds (server time {now})",
            past_tolerance.num_seconds()
        );
        errs.add(FIELD, message);
        return None;
    }
    if t - now > Duration::days(MAX_DAYS_AHEAD) {
        errs.add(
            FIELD,
            format!("is more than {MAX_DAYS_AHEAD} days in the future"),
        );
        return None;
    }
    Some(t)
}

/// Why `s` is not an RFC 3339 date-time, naming the common mistakes.
fn parse_failure(s: &str) -> String {
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ];
    if local
        .iter()
        .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok())
    {
        format!("must include a UTC offset, e.g. {EXAMPLE}")
    } else if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        format!("must be a date and time with a UTC offset, e.g. {EXAMPLE}")
    } else {
        format!("is not a valid RFC 3339 date-time, e.g. {EXAMPLE}")
    }
}
