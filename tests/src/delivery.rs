//! The check every durability test ends with (docs/architecture.md "Durability rules": nothing lost, nothing
//! twice), on outside behaviour only: the sink in the test process (what the "platform" received), and what
//! Soku stored for its clients in `post_targets`. Plus the worker settings that make a crashed attempt re-run
//! within seconds, so that a test can wait for any re-run to have happened.

use std::collections::HashMap;
use std::time::Duration;

use crate::env::TestEnv;
use crate::sink::Sink;
use crate::worker::WorkerSpec;

/// How long the sink must stay silent once every post has settled, before deliveries are counted: a re-run of
/// work that was already done (a lost job handed over again, an interrupted attempt re-sent) would land in
/// this window. With [`rerun_quickly`] anything left over is re-run within lease + re-hand-over + a few
/// reconciler ticks (about 3 s), so 4 s covers it.
pub const QUIET_PERIOD: Duration = Duration::from_secs(4);

/// Worker settings under which a crashed attempt is re-run within seconds: a killed worker's lease expires
/// after 2 s (then the target is checked against the sink and sent again only if absent), a job taken from
/// Redis and never leased is handed over again 1 s after its hand-over, and the reconciler looks every 100 ms.
pub fn rerun_quickly(spec: WorkerSpec) -> WorkerSpec {
    spec.env("SOKU_LEASE_SECS", "2")
        .env("SOKU_REQUEUE_AFTER_SECS", "1")
        .env("SOKU_RECONCILE_INTERVAL_MS", "100")
}

/// Waits up to `settle_within` for every post to settle, then [`QUIET_PERIOD`] more, and asserts: no delivery
/// during the quiet period; `expected` targets, every one `published`; each delivered exactly once, and no
/// other delivery (the sink's total is `expected`); and the `platform_post_id` and `url` stored for each are
/// the ones the sink recorded at its first delivery.
pub async fn assert_delivered_exactly_once(
    env: &TestEnv,
    sink: &Sink,
    expected: usize,
    settle_within: Duration,
) {
    env.wait_all_settled(settle_within).await;
    let settled_at = sink.deliveries();
    // The one sleep on purpose: a window in which nothing may happen, so there is no condition to wait for.
    tokio::time::sleep(QUIET_PERIOD).await;
    let after_quiet = sink.deliveries();
    assert_eq!(
        after_quiet,
        settled_at,
        "{} deliveries came in during the {QUIET_PERIOD:?} after every post had settled (a late re-run)",
        after_quiet - settled_at
    );

    let db = env.db().await;
    let targets: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, status, platform_post_id, url FROM post_targets ORDER BY id")
            .fetch_all(&db)
            .await
            .expect("read the targets");
    db.close().await;
    assert_eq!(targets.len(), expected, "targets stored");

    let not_published: Vec<_> = targets.iter().filter(|t| t.1 != "published").collect();
    assert!(
        not_published.is_empty(),
        "{} targets not published (the sink can be asked, so none may stay unknown): {:?}",
        not_published.len(),
        &not_published[..not_published.len().min(5)]
    );

    let mut dups = sink.duplicates();
    dups.sort();
    assert!(
        dups.is_empty(),
        "{} targets delivered more than once: {:?}",
        dups.len(),
        &dups[..dups.len().min(10)]
    );
    let undelivered: Vec<&String> = targets
        .iter()
        .map(|t| &t.0)
        .filter(|id| sink.count(id) != 1)
        .collect();
    assert!(
        undelivered.is_empty(),
        "{} targets published but never delivered: {:?}",
        undelivered.len(),
        &undelivered[..undelivered.len().min(5)]
    );
    assert_eq!(
        sink.deliveries(),
        expected as u64,
        "deliveries in the sink (one per target, none for anything else)"
    );

    let mismatched: Vec<_> = targets
        .iter()
        .filter_map(|(id, _, post_id, url)| {
            let first = sink.first(id);
            let stored = post_id.clone().zip(url.clone());
            (first != stored).then(|| format!("{id}: stored {stored:?}, first delivered {first:?}"))
        })
        .collect();
    assert!(
        mismatched.is_empty(),
        "{} targets store other ids than the platform gave at its first delivery: {:?}",
        mismatched.len(),
        &mismatched[..mismatched.len().min(5)]
    );
}

/// Attempts recorded in `publish_attempts`, by the worker that made them.
pub async fn attempts_by_worker(env: &TestEnv) -> HashMap<String, i64> {
    let db = env.db().await;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT worker, count(*) FROM publish_attempts GROUP BY worker")
            .fetch_all(&db)
            .await
            .expect("attempts by worker");
    db.close().await;
    rows.into_iter().collect()
}

/// Attempts recorded in `publish_attempts`, by outcome (`None`: not finished).
pub async fn attempts_by_outcome(env: &TestEnv) -> HashMap<Option<String>, i64> {
    let db = env.db().await;
    let rows: Vec<(Option<String>, i64)> =
        sqlx::query_as("SELECT outcome, count(*) FROM publish_attempts GROUP BY outcome")
            .fetch_all(&db)
            .await
            .expect("attempts by outcome");
    db.close().await;
    rows.into_iter().collect()
}
