//! `scheduledTime`: RFC 3339 with an explicit offset, converted to UTC, no further in the past than the server's
//! tolerance and no more than [`MAX_DAYS_AHEAD`] days ahead (a longer horizon is almost always a typo in the year,
//! and platform tokens would not live that long anyway). A time without an offset is refused, never guessed.
//! A second of `60` is refused unless it is one of the published leap seconds, and the time is kept to the
//! millisecond: what the 202 echoes is exactly what is stored and what a later GET returns.

use chrono::{
    DateTime, Datelike, Duration, DurationRound, NaiveDate, NaiveDateTime, SecondsFormat, Timelike,
    Utc,
};
use serde_json::Value;

use super::fields::{Errors, kind};

pub(super) const FIELD: &str = "scheduledTime";
/// How far ahead a post may be scheduled.
pub const MAX_DAYS_AHEAD: i64 = 365;
const EXAMPLE: &str = "2026-03-09T14:00:00.000Z";
/// Every leap second ever inserted (IERS Bulletin C): each at 23:59:60 UTC on these dates. None is scheduled.
const LEAP_SECOND_DAYS: [(i32, u32, u32); 27] = [
    (1972, 6, 30),
    (1972, 12, 31),
    (1973, 12, 31),
    (1974, 12, 31),
    (1975, 12, 31),
    (1976, 12, 31),
    (1977, 12, 31),
    (1978, 12, 31),
    (1979, 12, 31),
    (1981, 6, 30),
    (1982, 6, 30),
    (1983, 6, 30),
    (1985, 6, 30),
    (1987, 12, 31),
    (1989, 12, 31),
    (1990, 12, 31),
    (1992, 6, 30),
    (1993, 6, 30),
    (1994, 6, 30),
    (1995, 12, 31),
    (1997, 6, 30),
    (1998, 12, 31),
    (2005, 12, 31),
    (2008, 12, 31),
    (2012, 6, 30),
    (2015, 6, 30),
    (2016, 12, 31),
];

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
    // chrono reads `:60` on any day, at any minute: only a real leap second is a time.
    if t.nanosecond() >= 1_000_000_000 && !is_leap_second(t) {
        errs.add(
            FIELD,
            format!(
                "has second 60, which only a leap second has (23:59:60 UTC on the days IERS announced, the \
                 last on 2016-12-31); this is not one, e.g. {EXAMPLE}"
            ),
        );
        return None;
    }
    // Kept (and so stored, echoed and listed) to the millisecond, like every time the API writes.
    let t = t.duration_trunc(Duration::milliseconds(1)).unwrap_or(t);
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

/// Whether `t` (whose second reads 60) is 23:59:60 UTC on a day a leap second was inserted.
fn is_leap_second(t: DateTime<Utc>) -> bool {
    (t.hour(), t.minute(), t.second()) == (23, 59, 59)
        && LEAP_SECOND_DAYS.contains(&(t.year(), t.month(), t.day()))
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
