//! Process-wide metrics in the Prometheus text format, without a metrics framework: a handful of counters and
//! histograms behind one mutex each, cheap next to the Postgres round trips they count. Gauges that describe
//! shared state (queue depths, targets by status) are read at scrape time by whoever serves `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// The Content-Type of the text `render` produces.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Bucket upper bounds in seconds, shared by every histogram here.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

struct Family<T> {
    help: &'static str,
    series: Mutex<BTreeMap<String, T>>,
}

impl<T: Default> Family<T> {
    const fn new(help: &'static str) -> Self {
        Family {
            help,
            series: Mutex::new(BTreeMap::new()),
        }
    }
    fn with(&self, labels: &[(&str, &str)], f: impl FnOnce(&mut T)) {
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(key).or_default());
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Registry {
    jobs: Family<u64>,
    attempts: Family<u64>,
    publish_seconds: Family<Histogram>,
    lateness_seconds: Family<Histogram>,
    pickup_seconds: Family<Histogram>,
    events: Family<u64>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    jobs: Family::new("Jobs run by this process, by queue and outcome."),
    attempts: Family::new("Publish attempts settled by this process, by platform and outcome."),
    publish_seconds: Family::new("Duration of publish attempts (the platform call), by platform."),
    lateness_seconds: Family::new(
        "Scheduling lateness: from a post's scheduledTime to its dispatch, for scheduled posts.",
    ),
    pickup_seconds: Family::new(
        "Pick-up latency: from acceptance of an immediate post to its dispatch.",
    ),
    events: Family::new(
        "Recovery events: Redis lost and re-derived, leases expired, jobs re-handed over, worker restarts.",
    ),
});

/// One job of `queue` ran with `outcome` (`ok`, `skipped`: nothing to do, `error`).
pub fn job(queue: &str, outcome: &str) {
    REGISTRY
        .jobs
        .with(&[("queue", queue), ("outcome", outcome)], |c| *c += 1);
}

/// One publish attempt (or check) on `platform` ended as `outcome`, after `seconds` in the adapter.
pub fn attempt(platform: &str, outcome: &str, seconds: f64) {
    REGISTRY
        .attempts
        .with(&[("platform", platform), ("outcome", outcome)], |c| *c += 1);
    REGISTRY
        .publish_seconds
        .with(&[("platform", platform)], |h| observe(h, seconds));
}

/// A scheduled post was dispatched `seconds` after its time.
pub fn lateness(seconds: f64) {
    REGISTRY.lateness_seconds.with(&[], |h| observe(h, seconds));
}

/// An immediate post was dispatched `seconds` after it was accepted.
pub fn pickup(seconds: f64) {
    REGISTRY.pickup_seconds.with(&[], |h| observe(h, seconds));
}

/// A recovery event happened `n` times.
pub fn event(kind: &str, n: u64) {
    if n > 0 {
        REGISTRY.events.with(&[("kind", kind)], |c| *c += n);
    }
}

fn observe(h: &mut Histogram, v: f64) {
    let v = v.max(0.0);
    for (i, b) in BUCKETS.iter().enumerate() {
        if v <= *b {
            h.counts[i] += 1;
        }
    }
    h.count += 1;
    h.sum += v;
}

fn counters(out: &mut String, name: &str, f: &Family<u64>) {
    let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} counter", f.help);
    for (labels, v) in f.series.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "{name}{{{labels}}} {v}");
    }
}

fn histograms(out: &mut String, name: &str, f: &Family<Histogram>) {
    let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} histogram", f.help);
    for (labels, h) in f.series.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
    }
}

/// Gauges read at scrape time: `(metric name, help, [(labels, value)])`.
pub type Gauge = (&'static str, &'static str, Vec<(String, f64)>);

/// Everything this process counted, plus `gauges`, in the Prometheus text format (version 0.0.4).
pub fn render(gauges: &[Gauge]) -> String {
    let r = &*REGISTRY;
    let mut out = String::new();
    counters(&mut out, "soku_jobs_total", &r.jobs);
    counters(&mut out, "soku_publish_attempts_total", &r.attempts);
    histograms(
        &mut out,
        "soku_publish_duration_seconds",
        &r.publish_seconds,
    );
    histograms(
        &mut out,
        "soku_scheduling_lateness_seconds",
        &r.lateness_seconds,
    );
    histograms(&mut out, "soku_pickup_latency_seconds", &r.pickup_seconds);
    counters(&mut out, "soku_recovery_events_total", &r.events);
    for (name, help, series) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, v) in series {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
    out
}

/// The shared gauges any process can read: jobs waiting in each queue (Redis), targets by status and overdue
/// scheduled posts (Postgres). A source that cannot be read is left out and reported in `soku_scrape_errors`.
pub async fn shared_gauges(
    db: &crate::store::Db,
    redis: &mut redis::aio::ConnectionManager,
    prefix: &str,
) -> Vec<Gauge> {
    let mut errors = 0.0;
    let mut depth = Vec::new();
    let mut queues = vec![crate::redis_keys::dispatch_queue(prefix)];
    queues.extend(
        crate::platform::Platform::ALL
            .iter()
            .map(|p| crate::redis_keys::publish_queue(prefix, *p)),
    );
    for q in &queues {
        match crate::redis_queue::depth(redis, q).await {
            Ok(n) => depth.push((
                format!(
                    "queue=\"{}\"",
                    escape(q.strip_prefix(&format!("{prefix}:")).unwrap_or(q))
                ),
                n as f64,
            )),
            Err(_) => errors += 1.0,
        }
    }
    let mut targets = Vec::new();
    match crate::store::publish::target_counts(db).await {
        Ok(rows) => {
            for s in ["pending", "publishing", "retrying", "unknown"] {
                let n = rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
                targets.push((format!("status=\"{s}\""), n as f64));
            }
        }
        Err(_) => errors += 1.0,
    }
    let mut overdue = Vec::new();
    match crate::store::publish::overdue_scheduled(db).await {
        Ok(n) => overdue.push((String::new(), n as f64)),
        Err(_) => errors += 1.0,
    }
    vec![
        (
            "soku_queue_depth",
            "Jobs waiting in each Redis queue (not yet taken by a worker).",
            depth,
        ),
        (
            "soku_targets",
            "Targets not yet settled, by status.",
            targets,
        ),
        (
            "soku_scheduled_overdue",
            "Scheduled posts whose time has come but that no worker has picked up yet.",
            overdue,
        ),
        (
            "soku_scrape_errors",
            "Sources of this scrape that could not be read.",
            vec![(String::new(), errors)],
        ),
    ]
}
