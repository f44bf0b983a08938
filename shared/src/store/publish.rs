//! The publishing state machine in Postgres: releasing scheduled posts, handing targets to Redis, leases on work in progress,
//! attempts, settling. Every change is conditional on the state it expects, so a job that runs twice (or
//! after another worker took over) changes nothing.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, types::Json};

use super::Db;
use crate::status::{PostStatus, TargetStatus};

/// A target handed (or to hand) to Redis, with the request id that follows it into the logs.
#[derive(Debug, Clone, FromRow)]
pub struct Handoff {
    pub id: String,
    pub post_id: String,
    pub request_id: String,
}

/// A scheduled post released for publishing: how late it was released, for the lateness metric.
#[derive(Debug, Clone, FromRow)]
pub struct Released {
    pub lateness_secs: f64,
}

/// Releases up to `limit` due scheduled posts, oldest due first, in one statement: they become `publishing`
/// and their targets (whose hand-over time is the scheduled time) are handed over by
/// [`claim_targets_to_hand_over`]. Concurrent reconcilers split the work (`SKIP LOCKED`).
pub async fn release_due_scheduled(db: &Db, limit: i64) -> Result<Vec<Released>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE posts p SET status = 'publishing', dispatched_at = now(), updated_at = now()
         FROM (SELECT id FROM posts WHERE status = 'scheduled' AND scheduled_time <= now()
               ORDER BY scheduled_time LIMIT $1 FOR UPDATE SKIP LOCKED) due
         WHERE p.id = due.id
         RETURNING extract(epoch FROM now() - p.scheduled_time)::float8 AS lateness_secs",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks targets as due for a hand-over now (their push did not fit, failed, or Redis lost them), so the
/// next reconciler tick hands them over.
pub async fn unmark_targets(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE post_targets SET handoff_at = now() WHERE id = ANY($1) AND status IN ('pending', 'retrying')",
    )
    .bind(ids)
    .execute(db)
    .await?;
    Ok(())
}

/// Targets of `platform` due for a hand-over: pending or retrying, of a queued or publishing post, whose
/// hand-over time has come (never handed over, refused by Redis, handed over `requeue_secs` ago and still
/// not leased, or a retry whose time has come). Their next hand-over time becomes `requeue_secs` from now;
/// returns them, oldest due first.
pub async fn claim_targets_to_hand_over(
    db: &Db,
    platform: &str,
    requeue_secs: f64,
    limit: i64,
) -> Result<Vec<Handoff>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE post_targets t SET handoff_at = now() + make_interval(secs => $2)
         FROM (SELECT t.id, p.request_id FROM post_targets t JOIN posts p ON p.id = t.post_id
               WHERE t.platform = $1 AND t.status IN ('pending', 'retrying') AND t.handoff_at <= now()
                 AND p.status IN ('queued', 'publishing')
               ORDER BY t.handoff_at LIMIT $3 FOR UPDATE OF t SKIP LOCKED) due
         WHERE t.id = due.id
         RETURNING t.id, t.post_id, due.request_id",
    )
    .bind(platform)
    .bind(requeue_secs)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A target leased to one worker for one attempt (or one check), with all the publish job needs.
#[derive(Debug, Clone, FromRow)]
pub struct Leased {
    pub id: String,
    pub post_id: String,
    pub platform: String,
    pub account_label: String,
    pub integration_id: Option<String>,
    pub livemode: bool,
    pub request_id: String,
    pub content: Json<serde_json::Value>,
    pub sandbox: Option<Json<serde_json::Value>>,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// This attempt's number (all attempts of the target, manual retries included).
    pub attempt: i32,
    /// Attempts since the last manual retry, this one included.
    pub round_attempts: i32,
    pub platform_state: Json<serde_json::Value>,
    pub checks: i32,
}

const LEASED_COLUMNS: &str = "t.id, t.post_id, t.platform, t.account_label, t.integration_id, p.livemode, \
     p.request_id, p.content, p.sandbox, p.scheduled_time, p.created_at, t.attempts AS attempt, \
     t.round_attempts, t.platform_state, t.checks";

/// Takes the lease on each of `ids` for one attempt (see `soku_lease_targets` in the migrations): only a
/// `pending` target, or a `retrying` one whose time has come, of a post that is queued or publishing. Records
/// each attempt as started. A target not returned is someone else's, done, not due, or canceled.
pub async fn lease_targets(
    db: &Db,
    ids: &[String],
    owner: &str,
    lease_secs: f64,
) -> Result<Vec<Leased>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM soku_lease_targets($1, $2, $3)")
        .bind(ids)
        .bind(owner)
        .bind(lease_secs)
        .fetch_all(db)
        .await
}

/// Extends a lease this worker still holds; `false` when it no longer does.
pub async fn renew_lease(
    db: &Db,
    target_id: &str,
    owner: &str,
    lease_secs: f64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE post_targets SET lease_expires_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND lease_owner = $2 AND status IN ('publishing', 'unknown')",
    )
    .bind(target_id)
    .bind(owner)
    .bind(lease_secs)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Stores platform-side ids the moment they exist (merged into what is stored), so a retry resumes.
pub async fn save_platform_state(
    db: &Db,
    target_id: &str,
    owner: &str,
    state: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE post_targets SET platform_state = platform_state || $3
         WHERE id = $1 AND lease_owner = $2 AND status IN ('publishing', 'unknown')",
    )
    .bind(target_id)
    .bind(owner)
    .bind(Json(state))
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// How an attempt (or check) of one target ended, as stored.
#[derive(Debug, Clone)]
pub struct Settle {
    pub target_id: String,
    /// The attempt to close (`None` for a check, which has no attempt row).
    pub attempt: Option<i32>,
    pub status: TargetStatus,
    pub platform_post_id: Option<String>,
    pub url: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retryable: Option<bool>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Settles many targets in one statement (see `soku_settle_targets` in the migrations); returns, for each
/// target settled, the post's status after it. A target missing from the answer was no longer this worker's,
/// and nothing changed for it.
pub async fn settle_many(
    db: &Db,
    owner: &str,
    settles: &[Settle],
) -> Result<Vec<(String, PostStatus)>, sqlx::Error> {
    fn col<T>(settles: &[Settle], f: impl Fn(&Settle) -> T) -> Vec<T> {
        settles.iter().map(f).collect()
    }
    sqlx::query_as(
        "SELECT target_id, post_status FROM soku_settle_targets($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(col(settles, |s| s.target_id.clone()))
    .bind(owner)
    .bind(col(settles, |s| s.attempt))
    .bind(col(settles, |s| s.status.as_str()))
    .bind(col(settles, |s| s.platform_post_id.clone()))
    .bind(col(settles, |s| s.url.clone()))
    .bind(col(settles, |s| s.error_code.clone()))
    .bind(col(settles, |s| s.error_message.clone()))
    .bind(col(settles, |s| s.retryable))
    .bind(col(settles, |s| s.next_attempt_at))
    .fetch_all(db)
    .await
}

/// Settles one target; the post's status after it, or `None` when the target was no longer this worker's.
pub async fn settle(db: &Db, owner: &str, s: &Settle) -> Result<Option<PostStatus>, sqlx::Error> {
    let settled = settle_many(db, owner, std::slice::from_ref(s)).await?;
    Ok(settled.into_iter().next().map(|(_, status)| status))
}

/// Targets whose worker vanished mid-attempt (lease expired): the platform may have taken the post, so they
/// become `unknown`, to be checked against the platform before anything is sent again. Returns their ids.
pub async fn expire_leases(db: &Db, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH x AS (
            UPDATE post_targets t SET status = 'unknown', next_attempt_at = now(), lease_owner = NULL,
                   lease_expires_at = NULL, error_code = 'outcome_unknown',
                   error_message = 'the worker stopped during the attempt; checking the platform before any retry',
                   error_retryable = NULL, updated_at = now()
            FROM (SELECT id FROM post_targets WHERE status = 'publishing' AND lease_expires_at < now()
                  ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) e
            WHERE t.id = e.id
            RETURNING t.id, t.attempts
         ), a AS (
            UPDATE publish_attempts a SET finished_at = clock_timestamp(),
                   duration_ms = (extract(epoch FROM clock_timestamp() - a.started_at) * 1000)::integer,
                   outcome = 'interrupted', error_code = 'worker_lost',
                   error_message = 'the lease expired before the attempt reported back'
            FROM x WHERE a.target_id = x.id AND a.attempt = x.attempts AND a.finished_at IS NULL
         )
         SELECT id FROM x",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Leases up to `limit` `unknown` targets that are due for a check against their platform. The lease is also
/// the next check time, so a checker that dies leaves them to be checked again.
pub async fn lease_for_check(
    db: &Db,
    owner: &str,
    lease_secs: f64,
    limit: i64,
) -> Result<Vec<Leased>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH t AS (
            UPDATE post_targets t SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2),
                   next_attempt_at = now() + make_interval(secs => $2), checks = t.checks + 1,
                   updated_at = now()
            FROM (SELECT id FROM post_targets WHERE status = 'unknown' AND next_attempt_at <= now()
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) d
            WHERE t.id = d.id
            RETURNING t.*
         )
         SELECT {LEASED_COLUMNS} FROM t JOIN posts p ON p.id = t.post_id"
    )))
    .bind(owner)
    .bind(lease_secs)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// After Redis lost its data: every target handed over and not yet leased is handed over again at the next
/// tick. Returns how many.
pub async fn forget_handoffs(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE post_targets t SET handoff_at = now()
         FROM posts p
         WHERE p.id = t.post_id AND p.status IN ('queued', 'publishing')
           AND t.status IN ('pending', 'retrying') AND t.handoff_at > now()
           AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())",
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Targets by status, for `/metrics`.
pub async fn target_counts(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, count(*) FROM post_targets
         WHERE status IN ('pending', 'publishing', 'retrying', 'unknown') GROUP BY status",
    )
    .fetch_all(db)
    .await
}

/// Scheduled posts already due (not yet picked up), for `/metrics`.
pub async fn overdue_scheduled(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM posts WHERE status = 'scheduled' AND scheduled_time <= now()",
    )
    .fetch_one(db)
    .await
}
