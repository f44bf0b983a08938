//! The publishing state machine in Postgres: handing posts and targets to Redis, leases on work in progress,
//! attempts, settling. Every change is conditional on the state it expects, so a job that runs twice (or
//! after another worker took over) changes nothing.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, types::Json};

use super::Db;
use crate::status::TargetStatus;

/// A post or target handed (or to hand) to Redis, with the request id that follows it into the logs.
#[derive(Debug, Clone, FromRow)]
pub struct Handoff {
    pub id: String,
    pub post_id: String,
    pub livemode: bool,
    pub request_id: String,
}

/// Moves up to `limit` due scheduled posts to `queued`, oldest due first, and returns them. Concurrent
/// reconcilers split the work (`SKIP LOCKED`).
pub async fn claim_due_scheduled(db: &Db, limit: i64) -> Result<Vec<Handoff>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE posts p SET status = 'queued', enqueued_at = now(), updated_at = now()
         FROM (SELECT id FROM posts WHERE status = 'scheduled' AND scheduled_time <= now()
               ORDER BY scheduled_time LIMIT $1 FOR UPDATE SKIP LOCKED) due
         WHERE p.id = due.id
         RETURNING p.id, p.id AS post_id, p.livemode, p.request_id",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Queued posts whose dispatch job was never handed over, or so long ago that it was lost: marks them
/// handed over now and returns them.
pub async fn claim_stale_queued(
    db: &Db,
    stale_secs: i64,
    limit: i64,
) -> Result<Vec<Handoff>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE posts p SET enqueued_at = now()
         FROM (SELECT id FROM posts WHERE status = 'queued'
                 AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => $1))
               ORDER BY enqueued_at NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED) s
         WHERE p.id = s.id
         RETURNING p.id, p.id AS post_id, p.livemode, p.request_id",
    )
    .bind(stale_secs as f64)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks posts as not handed over (their push did not fit or failed), so the next reconciler tick retries.
pub async fn unmark_posts(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE posts SET enqueued_at = NULL WHERE id = ANY($1) AND status = 'queued'")
        .bind(ids)
        .execute(db)
        .await?;
    Ok(())
}

/// A post fanned out by its dispatch job.
#[derive(Debug, Clone)]
pub struct Dispatched {
    pub scheduled_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub dispatched_at: DateTime<Utc>,
    /// Its pending targets: (target id, platform).
    pub targets: Vec<(String, String)>,
}

/// The dispatch job's state change: a `queued` post becomes `publishing` and its pending targets are marked
/// handed over. `None`: the post is not queued (already dispatched, canceled, gone): nothing to do.
pub async fn dispatch(db: &Db, post_id: &str) -> Result<Option<Dispatched>, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        scheduled_time: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        dispatched_at: DateTime<Utc>,
        targets: Json<Vec<(String, String)>>,
    }
    let row: Option<Row> = sqlx::query_as(
        "WITH p AS (
            UPDATE posts SET status = 'publishing', dispatched_at = COALESCE(dispatched_at, now()),
                   updated_at = now()
            WHERE id = $1 AND status = 'queued'
            RETURNING id, scheduled_time, created_at, dispatched_at
         ), t AS (
            UPDATE post_targets t SET enqueued_at = now()
            FROM p WHERE t.post_id = p.id AND t.status = 'pending'
            RETURNING t.id, t.platform, t.position
         )
         SELECT p.scheduled_time, p.created_at, p.dispatched_at,
                COALESCE((SELECT json_agg(json_build_array(id, platform) ORDER BY position) FROM t), '[]')
                  AS targets
         FROM p",
    )
    .bind(post_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Dispatched {
        scheduled_time: r.scheduled_time,
        created_at: r.created_at,
        dispatched_at: r.dispatched_at,
        targets: r.targets.0,
    }))
}

/// Marks targets as not handed over, so the next reconciler tick hands them over.
pub async fn unmark_targets(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE post_targets SET enqueued_at = NULL WHERE id = ANY($1) AND status IN ('pending', 'retrying')",
    )
    .bind(ids)
    .execute(db)
    .await?;
    Ok(())
}

/// Targets of `platform` due for an attempt whose job is not (or no longer believably) in Redis: pending
/// targets of publishing posts never handed over or handed over more than `stale_secs` ago, and retrying
/// targets whose time has come. Marks them handed over and returns them.
pub async fn claim_targets_to_enqueue(
    db: &Db,
    platform: &str,
    stale_secs: i64,
    limit: i64,
) -> Result<Vec<Handoff>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE post_targets t SET enqueued_at = now()
         FROM (SELECT t.id, p.livemode, p.request_id FROM post_targets t JOIN posts p ON p.id = t.post_id
               WHERE t.status IN ('pending', 'retrying') AND t.platform = $1
                 AND p.status = 'publishing'
                 AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())
                 AND (t.enqueued_at IS NULL OR t.enqueued_at < now() - make_interval(secs => $2))
               ORDER BY t.next_attempt_at NULLS FIRST LIMIT $3 FOR UPDATE OF t SKIP LOCKED) due
         WHERE t.id = due.id
         RETURNING t.id, t.post_id, due.livemode, due.request_id",
    )
    .bind(platform)
    .bind(stale_secs as f64)
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
    pub dispatched_at: Option<DateTime<Utc>>,
    /// This attempt's number (all attempts of the target, manual retries included).
    pub attempt: i32,
    /// Attempts since the last manual retry, this one included.
    pub round_attempts: i32,
    pub platform_state: Json<serde_json::Value>,
    pub checks: i32,
}

const LEASED_COLUMNS: &str = "t.id, t.post_id, t.platform, t.account_label, t.integration_id, p.livemode, \
     p.request_id, p.content, p.sandbox, p.scheduled_time, p.dispatched_at, t.attempts AS attempt, \
     t.round_attempts, t.platform_state, t.checks";

/// Takes the lease on a target for one attempt: only a `pending` target, or a `retrying` one whose time has
/// come, of a post that is publishing. Records the attempt as started. `None`: someone else has it, it is
/// done, not due, or canceled; the job has nothing to do.
pub async fn lease_for_attempt(
    db: &Db,
    target_id: &str,
    owner: &str,
    lease_secs: f64,
) -> Result<Option<Leased>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH t AS (
            UPDATE post_targets t SET status = 'publishing', attempts = t.attempts + 1,
                   round_attempts = t.round_attempts + 1, lease_owner = $2,
                   lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
            FROM posts p
            WHERE t.id = $1 AND p.id = t.post_id AND p.status = 'publishing'
              AND t.status IN ('pending', 'retrying')
              AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())
            RETURNING t.*
         ), a AS (
            INSERT INTO publish_attempts (target_id, attempt, worker)
            SELECT id, attempts, $2 FROM t
            ON CONFLICT (target_id, attempt) DO NOTHING
         )
         SELECT {LEASED_COLUMNS} FROM t JOIN posts p ON p.id = t.post_id"
    )))
    .bind(target_id)
    .bind(owner)
    .bind(lease_secs)
    .fetch_optional(db)
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

/// How an attempt (or check) ended, as stored.
#[derive(Debug, Clone)]
pub struct Settle<'a> {
    pub status: TargetStatus,
    pub platform_post_id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub retryable: Option<bool>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Settles the target (see `soku_settle_target` in the migrations) and returns the post's status after it;
/// `None` when the target was no longer this worker's, and nothing changed.
pub async fn settle(
    db: &Db,
    target_id: &str,
    owner: &str,
    attempt: Option<i32>,
    s: &Settle<'_>,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT soku_settle_target($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(target_id)
        .bind(owner)
        .bind(attempt)
        .bind(s.status.as_str())
        .bind(s.platform_post_id)
        .bind(s.url)
        .bind(s.error_code)
        .bind(s.error_message)
        .bind(s.retryable)
        .bind(s.next_attempt_at)
        .fetch_one(db)
        .await
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

/// After Redis lost its data: everything handed over is handed over again at the next tick.
pub async fn forget_handoffs(db: &Db) -> Result<(u64, u64), sqlx::Error> {
    let posts = sqlx::query(
        "UPDATE posts SET enqueued_at = NULL WHERE status = 'queued' AND enqueued_at IS NOT NULL",
    )
    .execute(db)
    .await?
    .rows_affected();
    let targets = sqlx::query(
        "UPDATE post_targets SET enqueued_at = NULL
         WHERE status IN ('pending', 'retrying') AND enqueued_at IS NOT NULL",
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok((posts, targets))
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
