//! Process-wide metrics through `prometheus-client`, the Prometheus project's own Rust client: counters and
//! histograms live for the whole process; gauges that describe shared state (queue depths, targets by status,
//! overdue scheduled posts) are read at scrape time by whoever serves `/metrics` and rendered with them, in the
//! Prometheus text format (version 0.0.4).

use std::sync::LazyLock;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`render`]'s output: `text/plain; version=0.0.4; charset=utf-8`.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Bucket upper bounds in seconds, shared by every histogram here (`+Inf` is implicit).
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// One series' labels, in the order they are written.
pub type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

struct Metrics {
    jobs: Family<Labels, Counter>,
    attempts: Family<Labels, Counter>,
    publish_seconds: Family<Labels, Histogram>,
    lateness_seconds: Histogram,
    pickup_seconds: Histogram,
    events: Family<Labels, Counter>,
    http_in_flight: gauge::Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    jobs: Family::default(),
    attempts: Family::default(),
    publish_seconds: Family::new_with_constructor(histogram),
    lateness_seconds: histogram(),
    pickup_seconds: histogram(),
    events: Family::default(),
    http_in_flight: gauge::Gauge::default(),
});

fn labels<const N: usize>(pairs: [(&'static str, &str); N]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// One job of `queue` ran with `outcome` (`ok`, `skipped`: nothing to do, `error`).
pub fn job(queue: &str, outcome: &str) {
    let series = labels([("queue", queue), ("outcome", outcome)]);
    METRICS.jobs.get_or_create(&series).inc();
}

/// One publish attempt (or check) on `platform` ended as `outcome`, after `seconds` in the adapter.
pub fn attempt(platform: &str, outcome: &str, seconds: f64) {
    let series = labels([("platform", platform), ("outcome", outcome)]);
    METRICS.attempts.get_or_create(&series).inc();
    let series = labels([("platform", platform)]);
    METRICS
        .publish_seconds
        .get_or_create(&series)
        .observe(seconds.max(0.0));
}

/// A scheduled post's target was first attempted `seconds` after its time.
pub fn lateness(seconds: f64) {
    METRICS.lateness_seconds.observe(seconds.max(0.0));
}

/// An immediate post's target was first attempted `seconds` after the post was accepted.
pub fn pickup(seconds: f64) {
    METRICS.pickup_seconds.observe(seconds.max(0.0));
}

/// A recovery event happened `n` times.
pub fn event(kind: &str, n: u64) {
    if n > 0 {
        METRICS
            .events
            .get_or_create(&labels([("kind", kind)]))
            .inc_by(n);
    }
}

/// An HTTP request being served: counted in `soku_http_requests_in_flight` until the guard is dropped (when
/// its response has been produced, or its handler was dropped).
pub fn http_request_started() -> InFlight {
    METRICS.http_in_flight.inc();
    InFlight(())
}

/// Holds one request in `soku_http_requests_in_flight`; see [`http_request_started`].
pub struct InFlight(());

impl Drop for InFlight {
    fn drop(&mut self) {
        METRICS.http_in_flight.dec();
    }
}

/// A gauge read at scrape time: its name, its help (the library ends it with a period) and its series. A gauge
/// with no series is left out of the scrape.
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub series: Vec<(Labels, i64)>,
}

/// Everything this process counted, plus `gauges`, in the Prometheus text format (version 0.0.4; see
/// [`CONTENT_TYPE`]). Help texts are given without their final period: the library adds it.
pub fn render(gauges: &[Gauge]) -> String {
    let m = &*METRICS;
    let mut registry = Registry::default();
    // Counters are registered without `_total`: the library appends it.
    let jobs_help = "Jobs run by this process, by queue and outcome";
    registry.register("soku_jobs", jobs_help, m.jobs.clone());
    let attempts_help = "Publish attempts settled by this process, by platform and outcome";
    registry.register("soku_publish_attempts", attempts_help, m.attempts.clone());
    let publish_help = "Duration of publish attempts (the platform call), by platform";
    let publish = m.publish_seconds.clone();
    registry.register("soku_publish_duration_seconds", publish_help, publish);
    let lateness_help = "Scheduling lateness: from a post's scheduledTime to the first attempt of each of its targets";
    let lateness = m.lateness_seconds.clone();
    registry.register("soku_scheduling_lateness_seconds", lateness_help, lateness);
    let pickup_help = "Pick-up latency: from acceptance of an immediate post to the first attempt of each of its targets";
    let pickup = m.pickup_seconds.clone();
    registry.register("soku_pickup_latency_seconds", pickup_help, pickup);
    let events_help = "Recovery events: Redis lost and re-derived, leases expired, jobs re-handed \
                       over, worker restarts";
    registry.register("soku_recovery_events", events_help, m.events.clone());
    let in_flight_help = "HTTP requests this process is serving now (this scrape included)";
    registry.register(
        "soku_http_requests_in_flight",
        in_flight_help,
        m.http_in_flight.clone(),
    );
    for g in gauges {
        let family = Family::<Labels, gauge::Gauge>::default();
        for (series, value) in &g.series {
            family.get_or_create(series).set(*value);
        }
        registry.register(g.name, g.help, family);
    }
    let mut out = String::new();
    prometheus_text::encode(&mut out, &registry).expect("writing to a String cannot fail");
    out
}

/// The shared gauges any process can read: jobs waiting in each queue (Redis), targets by status and overdue
/// scheduled posts (Postgres). A source that cannot be read is left out and reported in `soku_scrape_errors`.
pub async fn shared_gauges(
    db: &crate::store::Db,
    redis: &mut redis::aio::ConnectionManager,
    prefix: &str,
) -> Vec<Gauge> {
    let mut errors = 0;
    let (depth, failed) = queue_depths(redis, prefix).await;
    errors += failed;
    let targets = target_counts(db).await.unwrap_or_else(|| {
        errors += 1;
        Vec::new()
    });
    let overdue = match crate::store::publish::overdue_scheduled(db).await {
        Ok(n) => vec![(Labels::new(), n)],
        Err(_) => {
            errors += 1;
            Vec::new()
        }
    };
    vec![
        Gauge {
            name: "soku_queue_depth",
            help: "Jobs waiting in each Redis queue (not yet taken by a worker)",
            series: depth,
        },
        Gauge {
            name: "soku_targets",
            help: "Targets not yet settled, by status",
            series: targets,
        },
        Gauge {
            name: "soku_scheduled_overdue",
            help: "Scheduled posts whose time has come but that no worker has picked up yet",
            series: overdue,
        },
        Gauge {
            name: "soku_scrape_errors",
            help: "Sources of this scrape that could not be read",
            series: vec![(Labels::new(), errors)],
        },
    ]
}

/// `soku_queue_depth` series (`queue` without the key prefix), and how many queues could not be read.
async fn queue_depths(
    redis: &mut redis::aio::ConnectionManager,
    prefix: &str,
) -> (Vec<(Labels, i64)>, i64) {
    let queues: Vec<String> = crate::platform::Platform::ALL
        .iter()
        .map(|p| crate::redis_keys::publish_queue(prefix, *p))
        .collect();
    let (mut depth, mut errors) = (Vec::new(), 0);
    for q in &queues {
        match crate::redis_queue::depth(redis, q).await {
            Ok(n) => {
                let name = q
                    .strip_prefix(&crate::redis_keys::queue_prefix(prefix))
                    .unwrap_or(q);
                depth.push((labels([("queue", name)]), gauge_value(n)));
            }
            Err(_) => errors += 1,
        }
    }
    (depth, errors)
}

/// `soku_targets` series, one per unsettled status (0 when none), or `None` when Postgres cannot be read.
async fn target_counts(db: &crate::store::Db) -> Option<Vec<(Labels, i64)>> {
    let rows = crate::store::publish::target_counts(db).await.ok()?;
    let series = ["pending", "publishing", "retrying", "unknown"]
        .into_iter()
        .map(|s| {
            let n = rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
            (labels([("status", s)]), gauge_value(n))
        })
        .collect();
    Some(series)
}

fn gauge_value(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
