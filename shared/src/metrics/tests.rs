//! Tests of the scrape text. The counters are process-wide, so each test uses label values of its own.

use super::*;

fn scrape() -> String {
    render(&[])
}

/// The value of the sample line that starts with `series` (name and labels), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a sample value is a number"))
}

#[test]
fn content_type_is_prometheus_text_0_0_4() {
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

#[test]
fn counters_keep_their_names_help_and_label_order() {
    job("t-counters", "ok");
    job("t-counters", "ok");
    job("t-counters", "error");
    let text = scrape();
    assert!(text.contains(
        "# HELP soku_jobs_total Jobs run by this process, by queue and outcome.\n\
         # TYPE soku_jobs_total counter\n"
    ));
    let ok = "soku_jobs_total{queue=\"t-counters\",outcome=\"ok\"}";
    assert_eq!(sample(&text, ok), Some(2.0));
    let error = "soku_jobs_total{queue=\"t-counters\",outcome=\"error\"}";
    assert_eq!(sample(&text, error), Some(1.0));
}

#[test]
fn attempts_count_and_time_the_platform_call() {
    attempt("t-attempts", "published", 0.3);
    let text = scrape();
    let attempts = "soku_publish_attempts_total{platform=\"t-attempts\",outcome=\"published\"}";
    assert_eq!(sample(&text, attempts), Some(1.0));
    let bucket = |le: &str| {
        let series =
            format!("soku_publish_duration_seconds_bucket{{platform=\"t-attempts\",le=\"{le}\"}}");
        sample(&text, &series)
    };
    assert_eq!(bucket("0.25"), Some(0.0));
    assert_eq!(bucket("0.5"), Some(1.0));
    assert_eq!(bucket("+Inf"), Some(1.0));
    let sum = "soku_publish_duration_seconds_sum{platform=\"t-attempts\"}";
    assert_eq!(sample(&text, sum), Some(0.3));
    let count = "soku_publish_duration_seconds_count{platform=\"t-attempts\"}";
    assert_eq!(sample(&text, count), Some(1.0));
}

#[test]
fn histograms_keep_the_bucket_layout() {
    attempt("t-layout", "published", 1.0);
    let text = scrape();
    let prefix = "soku_publish_duration_seconds_bucket{platform=\"t-layout\",le=\"";
    let bounds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(prefix)?.split('"').next())
        .collect();
    let expected = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
        "300", "+Inf",
    ];
    assert_eq!(bounds, expected);
    assert!(text.contains("# TYPE soku_publish_duration_seconds histogram\n"));
}

#[test]
fn unlabelled_histograms_are_always_there_and_clamp_negative_times() {
    let first_bucket = "soku_scheduling_lateness_seconds_bucket{le=\"0.005\"}";
    let before = sample(&scrape(), first_bucket).expect("lateness is rendered before any post");
    assert!(sample(&scrape(), "soku_pickup_latency_seconds_count").is_some());
    lateness(-5.0); // a clock step: counted as no lateness, never below zero
    let text = scrape();
    assert_eq!(sample(&text, first_bucket), Some(before + 1.0));
    assert!(sample(&text, "soku_scheduling_lateness_seconds_sum").unwrap() >= 0.0);
}

#[test]
fn recovery_events_count_n_and_skip_zero() {
    event("t-events-none", 0);
    event("t-events", 3);
    event("t-events", 2);
    let text = scrape();
    assert_eq!(
        sample(&text, "soku_recovery_events_total{kind=\"t-events\"}"),
        Some(5.0)
    );
    assert!(!text.contains("t-events-none"));
}

#[test]
fn gauges_render_with_escaped_labels_and_empty_ones_are_left_out() {
    let gauges = [
        Gauge {
            name: "soku_t_gauge",
            help: "A gauge of the tests",
            series: vec![
                (labels([("queue", "a\"b\\c\nd")]), 3),
                (labels([("queue", "e")]), 0),
            ],
        },
        Gauge {
            name: "soku_t_unlabelled",
            help: "One series without labels",
            series: vec![(Labels::new(), 7)],
        },
        Gauge {
            name: "soku_t_empty",
            help: "No series",
            series: Vec::new(),
        },
    ];
    let text = render(&gauges);
    assert!(
        text.contains("# HELP soku_t_gauge A gauge of the tests.\n# TYPE soku_t_gauge gauge\n")
    );
    assert!(text.contains("soku_t_gauge{queue=\"a\\\"b\\\\c\\nd\"} 3\n"));
    assert!(text.contains("soku_t_gauge{queue=\"e\"} 0\n"));
    assert!(text.contains("\nsoku_t_unlabelled 7\n"));
    assert!(!text.contains("soku_t_empty"));
}

#[test]
fn requests_in_flight_count_while_their_guard_lives() {
    let gauge = "soku_http_requests_in_flight";
    let before = sample(&scrape(), gauge).expect("rendered with no request");
    let (a, b) = (http_request_started(), http_request_started());
    assert_eq!(sample(&scrape(), gauge), Some(before + 2.0));
    drop(a);
    assert_eq!(sample(&scrape(), gauge), Some(before + 1.0));
    drop(b);
    assert_eq!(sample(&scrape(), gauge), Some(before));
}
