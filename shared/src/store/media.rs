//! Media rows: written by the API when a file is received or a URL given, finished by the worker's media job
//! under a lease (as publish targets are), listed and deleted by the API. Every change the worker makes is
//! conditional on its lease, so a job that runs twice, or after another worker took over, changes nothing.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, types::Json};

use super::Db;
use crate::status::MediaStatus;

#[derive(Debug, Clone, FromRow)]
pub struct MediaRow {
    pub id: String,
    pub account_id: String,
    pub livemode: bool,
    pub status: MediaStatus,
    pub source: String,
    pub source_url: Option<String>,
    pub token: String,
    pub original_key: Option<String>,
    pub served_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<Vec<u8>>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<f64>,
    pub probe: Option<Json<serde_json::Value>>,
    pub template_slug: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub rendition_key: Option<String>,
    pub rendition_size: Option<i64>,
    pub rendition_probe: Option<Json<serde_json::Value>>,
    pub rendition_error: Option<String>,
}

const COLUMNS: &str = "id, account_id, livemode, status, source, source_url, token, original_key, served_key, \
     thumbnail_key, file_name, mime_type, size_bytes, sha256, width, height, duration_seconds, probe, \
     template_slug, error_code, error_message, attempts, request_id, created_at, ready_at, rendition_key, \
     rendition_size, rendition_probe, rendition_error";

/// A new media row. An upload arrives with its file stored (`original_key`, size and hash known); a URL
/// arrives with nothing but the URL; a rendered template arrives finished (`ready`).
pub struct NewMedia<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub livemode: bool,
    pub status: MediaStatus,
    pub source: &'a str,
    pub source_url: Option<&'a str>,
    pub token: &'a str,
    pub original_key: Option<&'a str>,
    /// A rendered template's thumbnail, stored with it.
    pub thumbnail_key: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub mime_type: Option<&'a str>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<&'a [u8]>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub template_slug: Option<&'a str>,
    pub request_id: &'a str,
}

/// Writes a new media row; a `processing` one is due for a hand-over at once.
pub async fn insert(db: &Db, m: &NewMedia<'_>) -> Result<MediaRow, sqlx::Error> {
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO media (id, account_id, livemode, status, source, source_url, token, original_key,
                            served_key, file_name, mime_type, size_bytes, sha256, width, height,
                            template_slug, request_id, thumbnail_key, handoff_at, ready_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $4 = 'ready' THEN $8 END, $9, $10, $11, $12,
                 $13, $14, $15, $16, $17,
                 CASE WHEN $4 = 'processing' THEN now() END, CASE WHEN $4 = 'ready' THEN now() END)
         RETURNING {COLUMNS}"
    )))
    .bind(m.id)
    .bind(m.account_id)
    .bind(m.livemode)
    .bind(m.status)
    .bind(m.source)
    .bind(m.source_url)
    .bind(m.token)
    .bind(m.original_key)
    .bind(m.file_name)
    .bind(m.mime_type)
    .bind(m.size_bytes)
    .bind(m.sha256)
    .bind(m.width)
    .bind(m.height)
    .bind(m.template_slug)
    .bind(m.request_id)
    .bind(m.thumbnail_key)
    .fetch_one(db)
    .await
}

pub async fn get(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Option<MediaRow>, sqlx::Error> {
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE id = $1 AND account_id = $2 AND livemode = $3"
    )))
    .bind(id)
    .bind(account_id)
    .bind(livemode)
    .fetch_optional(db)
    .await
}

/// The media a public file URL names.
pub async fn by_token(db: &Db, token: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE token = $1"
    )))
    .bind(token)
    .fetch_optional(db)
    .await
}

/// The caller's media, newest first, optionally of one status.
pub async fn list(
    db: &Db,
    account_id: &str,
    livemode: bool,
    status: Option<MediaStatus>,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<MediaRow>, sqlx::Error> {
    let (at, after_id) = after.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE account_id = $1 AND livemode = $2
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

/// What `DELETE /v1/media/{id}` did.
pub enum Deleted {
    /// The row is gone; its files are to be removed.
    Done(Box<MediaRow>),
    NotFound,
    /// Posts that will still publish use the file: their ids.
    InUse(Vec<String>),
}

/// Deletes a media row unless a post that has not finished publishing (scheduled, queued or publishing)
/// names its URL. The row is locked first, so a concurrent delete sees it once.
pub async fn delete(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
    url: impl Fn(&MediaRow) -> String,
) -> Result<Deleted, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row: Option<MediaRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE id = $1 AND account_id = $2 AND livemode = $3 FOR UPDATE"
    )))
    .bind(id)
    .bind(account_id)
    .bind(livemode)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Deleted::NotFound);
    };
    let users: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM posts WHERE account_id = $1 AND livemode = $2
           AND status IN ('scheduled', 'queued', 'publishing')
           AND (content -> 'imageUrls' ? $3 OR content ->> 'videoUrl' = $3)
         ORDER BY created_at LIMIT 20",
    )
    .bind(account_id)
    .bind(livemode)
    .bind(url(&row))
    .fetch_all(&mut *tx)
    .await?;
    if !users.is_empty() {
        return Ok(Deleted::InUse(users));
    }
    sqlx::query("DELETE FROM media WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Deleted::Done(Box::new(row)))
}

/// Processing media due for a hand-over to the `media` queue (never handed over, refused or lost by Redis,
/// or handed over `requeue_secs` ago and not leased); their next hand-over time becomes `requeue_secs` from
/// now. Returns `(id, request_id)`, oldest due first.
pub async fn claim_to_hand_over(
    db: &Db,
    requeue_secs: f64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE media m SET handoff_at = now() + make_interval(secs => $1)
         FROM (SELECT id FROM media WHERE status = 'processing' AND handoff_at <= now()
               ORDER BY handoff_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
         WHERE m.id = due.id
         RETURNING m.id, m.request_id",
    )
    .bind(requeue_secs)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks media as due for a hand-over now (Redis did not take its job).
pub async fn unmark(db: &Db, ids: &[String]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE media SET handoff_at = now() WHERE id = ANY($1) AND status = 'processing'")
        .bind(ids)
        .execute(db)
        .await?;
    Ok(())
}

/// Redis lost its data: every processing media is due for a hand-over now.
pub async fn forget_handoffs(db: &Db) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE media SET handoff_at = now() WHERE status = 'processing'")
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Takes the lease on a processing media for one attempt: only when nobody holds a live lease. A worker that
/// died mid-job lets its lease run out, and the next hand-over takes over.
pub async fn lease(
    db: &Db,
    id: &str,
    owner: &str,
    secs: f64,
) -> Result<Option<MediaRow>, sqlx::Error> {
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE media SET attempts = attempts + 1, lease_owner = $2,
                lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1 AND status = 'processing'
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(owner)
    .bind(secs)
    .fetch_optional(db)
    .await
}

/// Extends a lease still held.
pub async fn renew(db: &Db, id: &str, owner: &str, secs: f64) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE media SET lease_expires_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(secs)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// What the worker found in a file it accepted.
pub struct Ready<'a> {
    pub original_key: &'a str,
    pub served_key: &'a str,
    pub thumbnail_key: Option<&'a str>,
    pub mime_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<f64>,
    pub probe: serde_json::Value,
    /// The platform-safe copy, when the video needed one: its key, size and probe; or why it could not be made.
    pub rendition: Option<(String, i64, serde_json::Value)>,
    pub rendition_error: Option<String>,
}

/// The media is ready, if this worker still holds its lease.
pub async fn finish_ready(
    db: &Db,
    id: &str,
    owner: &str,
    r: &Ready<'_>,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE media SET status = 'ready', original_key = $3, served_key = $4, thumbnail_key = $5,
                mime_type = $6, size_bytes = $7, sha256 = $8, width = $9, height = $10,
                duration_seconds = $11, probe = $12, error_code = NULL, error_message = NULL,
                rendition_key = $13, rendition_size = $14, rendition_probe = $15, rendition_error = $16,
                lease_owner = NULL, lease_expires_at = NULL, handoff_at = NULL, ready_at = now(),
                updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(r.original_key)
    .bind(r.served_key)
    .bind(r.thumbnail_key)
    .bind(r.mime_type)
    .bind(r.size_bytes)
    .bind(r.sha256)
    .bind(r.width)
    .bind(r.height)
    .bind(r.duration_seconds)
    .bind(Json(&r.probe))
    .bind(r.rendition.as_ref().map(|x| x.0.as_str()))
    .bind(r.rendition.as_ref().map(|x| x.1))
    .bind(r.rendition.as_ref().map(|x| Json(&x.2)))
    .bind(r.rendition_error.as_deref())
    .execute(db)
    .await
    .map(|res| res.rows_affected() == 1)
}

/// The media failed for good (`code`, `message` as the API shows them), if this worker still holds its lease.
/// `size_bytes`/`mime_type` are kept when known, to say what was received.
pub async fn finish_failed(
    db: &Db,
    id: &str,
    owner: &str,
    code: &str,
    message: &str,
    size_bytes: Option<i64>,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE media SET status = 'failed', error_code = $3, error_message = $4,
                size_bytes = COALESCE($5, size_bytes), lease_owner = NULL, lease_expires_at = NULL,
                handoff_at = NULL, updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(code)
    .bind(message)
    .bind(size_bytes)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// A transient failure (a fetch timed out, the host answered 503): the lease is given up and the media is
/// handed over again after `after_secs`; the error is kept so that GET shows why it is still processing.
pub async fn retry_later(
    db: &Db,
    id: &str,
    owner: &str,
    after_secs: f64,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE media SET lease_owner = NULL, lease_expires_at = NULL, error_code = $4, error_message = $5,
                handoff_at = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'",
    )
    .bind(id)
    .bind(owner)
    .bind(after_secs)
    .bind(code)
    .bind(message)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Failed media older than `hours`, at most `limit`, removed from the table; returns their ids, whose files
/// the caller then deletes (a file left behind by a crash in between is only storage, never served: its
/// token is gone).
pub async fn purge_failed(db: &Db, hours: f64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM media WHERE id IN (
             SELECT id FROM media WHERE status = 'failed'
               AND updated_at < now() - make_interval(secs => $1 * 3600)
             ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(hours)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Which of `ids` have no media row (their files are orphans).
pub async fn missing(db: &Db, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM unnest($1::text[]) AS i(id)
         WHERE NOT EXISTS (SELECT 1 FROM media m WHERE m.id = i.id)",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The caller's media named by `tokens` (the tokens of public file URLs).
pub async fn by_tokens(
    db: &Db,
    account_id: &str,
    livemode: bool,
    tokens: &[String],
) -> Result<Vec<MediaRow>, sqlx::Error> {
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE token = ANY($1) AND account_id = $2 AND livemode = $3"
    )))
    .bind(tokens)
    .bind(account_id)
    .bind(livemode)
    .fetch_all(db)
    .await
}

/// The media a post names (`post_media`), as they are now.
pub async fn of_post(db: &Db, post_id: &str) -> Result<Vec<MediaRow>, sqlx::Error> {
    sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE id IN (SELECT media_id FROM post_media WHERE post_id = $1)"
    )))
    .bind(post_id)
    .fetch_all(db)
    .await
}

/// Targets that waited for media and have nothing left to wait for (none of their post's media is still
/// processing) are due for a hand-over: now, or at a scheduled post's time. `media_id`: only the posts naming
/// that media (a media job that just finished); `None`: all of them (the reconciler's safety net, for a post
/// accepted while its media was finishing). Returns how many targets were released.
pub async fn release_waiting(db: &Db, media_id: Option<&str>) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE post_targets t SET waiting_for = NULL,
                handoff_at = CASE WHEN p.status = 'scheduled' THEN p.scheduled_time ELSE now() END
         FROM posts p
         WHERE t.post_id = p.id AND t.waiting_for IS NOT NULL AND t.status = 'pending'
           AND ($1::text IS NULL OR t.post_id IN (SELECT post_id FROM post_media WHERE media_id = $1))
           AND NOT EXISTS (SELECT 1 FROM post_media pm JOIN media m ON m.id = pm.media_id
                           WHERE pm.post_id = t.post_id AND m.status = 'processing')",
    )
    .bind(media_id)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}
