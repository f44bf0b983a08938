//! Transcription jobs and their chunks. A job row is written with its credit reservation (and its idempotency
//! record) in one transaction; the worker takes it with a lease, as media and publish targets are taken, so a
//! duplicate delivery or a second worker does nothing; every end (completed, failed, canceled) settles the
//! credits in the same transaction as the status, once, guarded by `settled_at IS NULL`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};

use super::Db;
use super::credits;
use crate::status::TranscriptionStatus;

const COLUMNS: &str = "id, account_id, livemode, media_id, status, language, detected_language, model,
    provider_model, credits_per_minute, declared_seconds, duration_seconds, credits_reserved, credits_charged,
    progress, text, segments, error_code, error_message, attempts, lease_owner, request_id, created_at,
    updated_at, completed_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TranscriptionRow {
    pub id: String,
    pub account_id: String,
    pub livemode: bool,
    pub media_id: String,
    pub status: TranscriptionStatus,
    pub language: Option<String>,
    pub detected_language: Option<String>,
    pub model: String,
    pub provider_model: String,
    pub credits_per_minute: i64,
    pub declared_seconds: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub credits_reserved: i64,
    pub credits_charged: i64,
    pub progress: f64,
    pub text: Option<String>,
    pub segments: Option<Json<Value>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub lease_owner: Option<String>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

pub struct NewTranscription<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub livemode: bool,
    pub media_id: &'a str,
    pub language: Option<&'a str>,
    pub model: &'a str,
    pub provider_model: &'a str,
    pub credits_per_minute: i64,
    pub declared_seconds: Option<f64>,
    pub credits_reserved: i64,
    /// Whether the media is ready (the job is due for a hand-over now) or still processing (it waits).
    pub media_ready: bool,
    pub request_id: &'a str,
}

/// Inserts the job on `tx` (whose caller reserved its credits in it).
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    t: &NewTranscription<'_>,
) -> Result<TranscriptionRow, sqlx::Error> {
    sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO transcriptions (id, account_id, livemode, media_id, status, language, model, provider_model,
             credits_per_minute, declared_seconds, credits_reserved, handoff_at, request_id)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, CASE WHEN $11 THEN now() END, $12)
         RETURNING {COLUMNS}"
    )))
    .bind(t.id)
    .bind(t.account_id)
    .bind(t.livemode)
    .bind(t.media_id)
    .bind(t.language)
    .bind(t.model)
    .bind(t.provider_model)
    .bind(t.credits_per_minute)
    .bind(t.declared_seconds)
    .bind(t.credits_reserved)
    .bind(t.media_ready)
    .bind(t.request_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn get(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Option<TranscriptionRow>, sqlx::Error> {
    sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM transcriptions WHERE id = $1 AND account_id = $2 AND livemode = $3"
    )))
    .bind(id)
    .bind(account_id)
    .bind(livemode)
    .fetch_optional(db)
    .await
}

/// A job by id alone (the worker's view).
pub async fn by_id(db: &Db, id: &str) -> Result<Option<TranscriptionRow>, sqlx::Error> {
    sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM transcriptions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The caller's jobs, newest first, optionally of one status.
pub async fn list(
    db: &Db,
    account_id: &str,
    livemode: bool,
    status: Option<TranscriptionStatus>,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<TranscriptionRow>, sqlx::Error> {
    let (at, after_id) = after.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM transcriptions WHERE account_id = $1 AND livemode = $2
           AND ($3::text IS NULL OR status = $3)
           AND (created_at, id) < (COALESCE($4::timestamptz, 'infinity'), COALESCE($5::text, ''))
         ORDER BY created_at DESC, id DESC LIMIT $6"
    )))
    .bind(account_id)
    .bind(livemode)
    .bind(status)
    .bind(at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Jobs due for a hand-over to the `transcribe` queue; their next hand-over becomes `requeue_secs` from now.
/// Returns `(id, request_id)`.
pub async fn claim_to_hand_over(
    db: &Db,
    requeue_secs: f64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE transcriptions t SET handoff_at = now() + make_interval(secs => $1)
         FROM (SELECT id FROM transcriptions WHERE status IN ('queued', 'processing') AND handoff_at <= now()
               ORDER BY handoff_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
         WHERE t.id = due.id
         RETURNING t.id, t.request_id",
    )
    .bind(requeue_secs)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks jobs as due for a hand-over now (Redis did not take them).
pub async fn unmark(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE transcriptions SET handoff_at = now()
         WHERE id = ANY($1) AND status IN ('queued', 'processing') AND handoff_at IS NOT NULL",
    )
    .bind(ids)
    .execute(db)
    .await?;
    Ok(())
}

/// Redis lost its data: every unfinished job that is not waiting for its media is due now.
pub async fn forget_handoffs(db: &Db) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE transcriptions SET handoff_at = now()
         WHERE status IN ('queued', 'processing') AND handoff_at IS NOT NULL",
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Jobs that waited for their media, whose media is ready now, become due (`media_id`: only that media's).
pub async fn release_waiting(db: &Db, media_id: Option<&str>) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE transcriptions t SET handoff_at = now()
         FROM media m
         WHERE m.id = t.media_id AND m.status = 'ready' AND t.status = 'queued' AND t.handoff_at IS NULL
           AND ($1::text IS NULL OR t.media_id = $1)",
    )
    .bind(media_id)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Jobs that waited for media that failed (or was deleted): their ids, to be failed.
pub async fn waiting_on_failed_media(db: &Db, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT t.id FROM transcriptions t LEFT JOIN media m ON m.id = t.media_id
         WHERE t.status = 'queued' AND t.handoff_at IS NULL AND (m.id IS NULL OR m.status = 'failed')
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Takes the lease for one run: only an unfinished job nobody holds a live lease on; it becomes `processing`.
pub async fn lease(
    db: &Db,
    id: &str,
    owner: &str,
    secs: f64,
) -> Result<Option<TranscriptionRow>, sqlx::Error> {
    sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE transcriptions SET status = 'processing', attempts = attempts + 1, lease_owner = $2,
                lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'processing') AND handoff_at IS NOT NULL
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(owner)
    .bind(secs)
    .fetch_optional(db)
    .await
}

/// Extends a lease still held; `false` when the job was canceled or taken over (the run should stop).
pub async fn renew(db: &Db, id: &str, owner: &str, secs: f64) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE transcriptions SET lease_expires_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(secs)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Records the measured duration and the progress so far, while the lease is held.
pub async fn set_progress(
    db: &Db,
    id: &str,
    owner: &str,
    progress: f64,
    duration: Option<f64>,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE transcriptions SET progress = GREATEST(progress, LEAST($3, 0.99)),
                duration_seconds = COALESCE($4, duration_seconds), updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(progress)
    .bind(duration)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// One piece of a job's recording.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChunkRow {
    pub idx: i32,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub segments: Option<Json<Value>>,
    pub text: Option<String>,
    pub language: Option<String>,
}

impl ChunkRow {
    pub fn is_done(&self) -> bool {
        self.segments.is_some()
    }
}

/// The job's chunks: the plan already stored (a run before this one made it), or `ranges` stored as the plan.
pub async fn plan_chunks(
    db: &Db,
    job_id: &str,
    ranges: &[(f64, f64)],
) -> Result<Vec<ChunkRow>, sqlx::Error> {
    let existing = chunks(db, job_id).await?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    let idx: Vec<i32> = (0..ranges.len() as i32).collect();
    let starts: Vec<f64> = ranges.iter().map(|r| r.0).collect();
    let ends: Vec<f64> = ranges.iter().map(|r| r.1).collect();
    sqlx::query(
        "INSERT INTO transcription_chunks (job_id, idx, start_seconds, end_seconds)
         SELECT $1, * FROM unnest($2::int[], $3::float8[], $4::float8[])
         ON CONFLICT DO NOTHING",
    )
    .bind(job_id)
    .bind(&idx)
    .bind(&starts)
    .bind(&ends)
    .execute(db)
    .await?;
    chunks(db, job_id).await
}

pub async fn chunks(db: &Db, job_id: &str) -> Result<Vec<ChunkRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT idx, start_seconds, end_seconds, segments, text, language FROM transcription_chunks
         WHERE job_id = $1 ORDER BY idx",
    )
    .bind(job_id)
    .fetch_all(db)
    .await
}

/// Stores a chunk's transcript (its segments on the recording's clock), once.
pub async fn chunk_done(
    db: &Db,
    job_id: &str,
    idx: i32,
    segments: &Value,
    text: &str,
    language: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE transcription_chunks SET segments = $3, text = $4, language = $5, done_at = now(),
                attempts = attempts + 1
         WHERE job_id = $1 AND idx = $2 AND done_at IS NULL",
    )
    .bind(job_id)
    .bind(idx)
    .bind(Json(segments))
    .bind(text)
    .bind(language)
    .execute(db)
    .await
    .map(|_| ())
}

/// The transcript of a finished run.
pub struct Transcript<'a> {
    pub text: &'a str,
    pub segments: &'a Value,
    pub language: Option<&'a str>,
    pub duration_seconds: f64,
    pub cost: i64,
}

/// How settling a finished run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Completed, charged `cost`, the rest released.
    Completed,
    /// The real cost was above the reservation and the balance could not cover the difference: failed,
    /// everything released, no transcript kept. `available` is what the account had.
    Insufficient { available: i64 },
    /// Nothing to settle: canceled, settled already, or no longer this worker's.
    Gone,
}

/// Settles a finished run in one transaction: charge the real cost and release the rest (or fail it when the
/// balance cannot cover a cost above the reservation), store the transcript, end the job. Test mode charges 0.
pub async fn complete(
    db: &Db,
    id: &str,
    owner: &str,
    t: &Transcript<'_>,
) -> Result<Settled, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(row) = lock_unsettled(&mut tx, id, Some(owner)).await? else {
        return Ok(Settled::Gone);
    };
    let cost = if row.livemode { t.cost } else { 0 };
    let charged = credits::charge(&mut tx, &row.account_id, id, row.credits_reserved, cost).await?;
    if !charged {
        tx.rollback().await?;
        let available = credits::balance(db, &row.account_id)
            .await?
            .map_or(0, |b| b.available());
        let message = format!(
            "The recording is {:.1} s long, which costs {cost} credits; {} were reserved and the account has {available} more available. Add credits and transcribe it again.",
            t.duration_seconds, row.credits_reserved
        );
        let failed = fail(
            db,
            id,
            Some(owner),
            "insufficient_credits",
            &message,
            Some(t.duration_seconds),
        )
        .await?;
        return Ok(if failed {
            Settled::Insufficient { available }
        } else {
            Settled::Gone
        });
    }
    sqlx::query(
        "UPDATE transcriptions SET status = 'completed', text = $2, segments = $3, detected_language = $4,
                duration_seconds = $5, credits_charged = $6, progress = 1, error_code = NULL,
                error_message = NULL, lease_owner = NULL, lease_expires_at = NULL, handoff_at = NULL,
                settled_at = now(), completed_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(t.text)
    .bind(Json(t.segments))
    .bind(t.language)
    .bind(t.duration_seconds)
    .bind(cost)
    .execute(&mut *tx)
    .await?;
    drop_chunks(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Settled::Completed)
}

/// The unsettled job, locked; `owner`: only while that worker holds it.
async fn lock_unsettled(
    tx: &mut Transaction<'_, Postgres>,
    id: &str,
    owner: Option<&str>,
) -> Result<Option<TranscriptionRow>, sqlx::Error> {
    sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM transcriptions
         WHERE id = $1 AND settled_at IS NULL AND status IN ('queued', 'processing')
           AND ($2::text IS NULL OR lease_owner = $2)
         FOR UPDATE"
    )))
    .bind(id)
    .bind(owner)
    .fetch_optional(&mut **tx)
    .await
}

/// Fails an unfinished job for good, releasing its whole reservation and keeping no transcript, in one
/// transaction. `owner`: only while that worker holds it (`None`: whoever does). `false`: nothing to fail.
pub async fn fail(
    db: &Db,
    id: &str,
    owner: Option<&str>,
    code: &str,
    message: &str,
    duration: Option<f64>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(row) = lock_unsettled(&mut tx, id, owner).await? else {
        return Ok(false);
    };
    credits::release(
        &mut tx,
        &row.account_id,
        id,
        row.credits_reserved,
        "transcription failed: reservation released",
    )
    .await?;
    sqlx::query(
        "UPDATE transcriptions SET status = 'failed', error_code = $2, error_message = $3, text = NULL,
                segments = NULL, duration_seconds = COALESCE($4, duration_seconds), credits_charged = 0,
                lease_owner = NULL, lease_expires_at = NULL, handoff_at = NULL, settled_at = now(),
                completed_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .bind(duration)
    .execute(&mut *tx)
    .await?;
    drop_chunks(&mut tx, id).await?;
    tx.commit().await?;
    Ok(true)
}

/// What `POST /v1/ai/transcribe/{id}/cancel` did.
pub enum Canceled {
    /// Canceled now, its reservation released.
    Done(Box<TranscriptionRow>),
    /// Already final: as it is.
    Final(Box<TranscriptionRow>),
    NotFound,
}

/// Cancels an unfinished job of the caller's and releases its reservation, in one transaction. A worker in
/// the middle of it notices at its next step (its lease is gone) and stops; what it finishes settles nothing.
pub async fn cancel(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Canceled, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(row) = lock_unsettled(&mut tx, id, None).await? else {
        drop(tx);
        return Ok(match get(db, account_id, livemode, id).await? {
            Some(row) => Canceled::Final(Box::new(row)),
            None => Canceled::NotFound,
        });
    };
    if row.account_id != account_id || row.livemode != livemode {
        return Ok(Canceled::NotFound);
    }
    credits::release(
        &mut tx,
        account_id,
        id,
        row.credits_reserved,
        "transcription canceled: reservation released",
    )
    .await?;
    let row = sqlx::query_as::<_, TranscriptionRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE transcriptions SET status = 'canceled', lease_owner = NULL, lease_expires_at = NULL,
                handoff_at = NULL, settled_at = now(), completed_at = now(), updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    drop_chunks(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Canceled::Done(Box::new(row)))
}

/// A run that hit a transient failure (the provider unavailable, our storage failing): the job stays
/// `processing`, its chunks done are kept, and it is handed over again after `after_secs`.
pub async fn retry_later(
    db: &Db,
    id: &str,
    owner: &str,
    after_secs: f64,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE transcriptions SET lease_owner = NULL, lease_expires_at = NULL, error_code = $3,
                error_message = $4, handoff_at = now() + make_interval(secs => $5), updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(code)
    .bind(message)
    .bind(after_secs)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// A finished job's chunks are of no more use.
async fn drop_chunks(tx: &mut Transaction<'_, Postgres>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM transcription_chunks WHERE job_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
