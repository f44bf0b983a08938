//! Tests of `scheduledTime`: offsets, bad dates, the past tolerance, the future horizon, and which failure kind a
//! schedule problem produces.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::check;
use crate::validate::{ValidatedPost, ValidationFailure};

fn scheduled(at: Value) -> Result<ValidatedPost, ValidationFailure> {
    check(
        &json!({ "post": { "content": { "text": "t", "platform": ["x"] } }, "scheduledTime": at }),
    )
}

fn schedule_error(at: Value) -> String {
    match scheduled(at) {
        Err(ValidationFailure::ScheduledTime(errs)) => {
            assert_eq!(errs.len(), 1);
            assert_eq!(errs[0].field, "scheduledTime");
            errs[0].message.clone()
        }
        other => panic!("expected a scheduledTime failure, got {other:?}"),
    }
}

#[test]
fn scheduled_time_rules() {
    assert_eq!(scheduled(json!(null)).unwrap().scheduled_time, None);
    let t = scheduled(json!("2026-03-09T15:00:00+01:00"))
        .unwrap()
        .scheduled_time
        .unwrap();
    assert_eq!(t, "2026-03-09T14:00:00Z".parse::<DateTime<Utc>>().unwrap());
    let ex = "e.g. 2026-03-09T14:00:00.000Z";
    assert_eq!(
        schedule_error(json!("2026-03-09T14:00:00")),
        format!("must include a UTC offset, {ex}")
    );
    assert_eq!(
        schedule_error(json!("2026-03-09T14:00:00.000")),
        format!("must include a UTC offset, {ex}")
    );
    assert_eq!(
        schedule_error(json!("2026-03-09")),
        format!("must be a date and time with a UTC offset, {ex}")
    );
    assert_eq!(
        schedule_error(json!("2026-02-30T14:00:00Z")),
        format!("is not a valid RFC 3339 date-time, {ex}")
    );
    assert_eq!(
        schedule_error(json!("next monday")),
        format!("is not a valid RFC 3339 date-time, {ex}")
    );
    assert_eq!(
        schedule_error(json!(1772000000)),
        format!("must be a string in RFC 3339 format, {ex}; got a number")
    );
    // now() is 2026-03-01T12:00:00Z, the tolerance 5 minutes.
    assert_eq!(
        schedule_error(json!("2026-03-01T11:54:59Z")),
        "is in the past by more than 300 seconds (server time 2026-03-01T12:00:00.000Z)"
    );
    assert!(scheduled(json!("2026-03-01T11:55:00Z")).is_ok());
    assert!(scheduled(json!("2026-03-01T11:58:00.123Z")).is_ok());
    assert!(scheduled(json!("2027-03-01T12:00:00Z")).is_ok());
    assert_eq!(
        schedule_error(json!("2027-03-01T12:00:01Z")),
        "is more than 365 days in the future"
    );
}

#[test]
fn schedule_problems_join_other_errors_as_a_validation_error() {
    let body = json!({
        "post": { "content": { "text": "t", "platform": ["myspace"] } },
        "scheduledTime": "2026-03-09"
    });
    let failure = check(&body).unwrap_err();
    assert_eq!(failure.code(), "validation_error");
    let fields: Vec<&str> = failure.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["post.content.platform[0]", "scheduledTime"]);
    assert_eq!(
        ValidationFailure::ScheduledTime(vec![]).code(),
        "invalid_scheduled_time"
    );
}

#[test]
fn second_60_is_only_a_real_leap_second() {
    // now() is 2026-03-01T12:00:00Z: a real leap second is long past, so it fails as past, not as unreadable.
    for fake in [
        "2026-06-30T23:59:60Z",
        "2026-03-09T14:00:60Z",
        "2026-12-31T23:59:60.5Z",
        "2027-01-01T01:59:60+02:00",
    ] {
        let message = schedule_error(json!(fake));
        assert!(message.contains("second 60"), "{fake}: {message}");
    }
    for real in [
        "2016-12-31T23:59:60Z",
        "2017-01-01T01:59:60+02:00",
        "1972-06-30T23:59:60.999Z",
    ] {
        let message = schedule_error(json!(real));
        assert!(message.starts_with("is in the past"), "{real}: {message}");
    }
}

#[test]
fn scheduled_time_is_kept_to_the_millisecond() {
    let t = scheduled(json!("2026-03-09T15:00:00.123999999+01:00"))
        .unwrap()
        .scheduled_time
        .unwrap();
    assert_eq!(crate::post::fmt_time(t), "2026-03-09T14:00:00.123Z");
    assert_eq!(t.timestamp_subsec_nanos(), 123_000_000);
}
