//! Posts and their targets. A post and all its targets (and, when the request carried an
//! Idempotency-Key, the stored response) are written by one statement, so they exist together or not at all.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, types::Json};

use super::{Db, idempotency::IdemScope};

#[derive(Debug, Clone, FromRow)]
pub struct PostRow {
    pub id: String,
    pub livemode: bool,
    pub status: String,
    pub content: Json<serde_json::Value>,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct TargetRow {
    pub id: String,
    pub post_id: String,
    pub platform: String,
    pub account_label: String,
    pub status: String,
    pub attempts: i32,
    pub platform_post_id: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_retryable: Option<bool>,
}

const POST_COLUMNS: &str = "id, livemode, status, content, scheduled_time, created_at";
const TARGET_COLUMNS: &str = "id, post_id, platform, account_label, status, attempts, platform_post_id, url, \
     published_at, error_code, error_message, error_retryable";

pub struct NewTarget {
    pub id: String,
    pub platform: String,
    pub account_label: String,
    pub integration_id: Option<String>,
}

pub struct NewPost<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub livemode: bool,
    pub status: &'a str,
    pub content: &'a serde_json::Value,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub request_id: &'a str,
    pub targets: &'a [NewTarget],
}

/// The idempotency record written with the post when the request carried a key.
pub struct IdemRecord<'a> {
    pub scope: IdemScope<'a>,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a [u8],
    pub status: u16,
    pub body: &'a [u8],
}

/// Inserts the post, its targets and (with a key) the finished idempotency record in one statement, so they
/// exist together or not at all. With a key, the record's unique index decides between concurrent requests:
/// the statement that loses inserts nothing and returns `false` (read the winner's record and replay it).
pub async fn insert(
    db: &Db,
    p: &NewPost<'_>,
    idem: Option<&IdemRecord<'_>>,
) -> Result<bool, sqlx::Error> {
    let ids: Vec<&str> = p.targets.iter().map(|t| t.id.as_str()).collect();
    let positions: Vec<i32> = (0..p.targets.len() as i32).collect();
    let platforms: Vec<&str> = p.targets.iter().map(|t| t.platform.as_str()).collect();
    let labels: Vec<&str> = p.targets.iter().map(|t| t.account_label.as_str()).collect();
    let integrations: Vec<Option<&str>> = p
        .targets
        .iter()
        .map(|t| t.integration_id.as_deref())
        .collect();
    sqlx::query_scalar::<_, bool>(
        "WITH claim AS (
            INSERT INTO idempotency_keys (account_id, livemode, key, method, path, request_hash, state,
                                          response_status, response_body)
            SELECT $2, $3, $13, $14, $15, $16, 'done', $17, $18 WHERE $13::text IS NOT NULL
            ON CONFLICT (account_id, livemode, key) DO UPDATE
              SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
                  state = 'done', response_status = EXCLUDED.response_status,
                  response_body = EXCLUDED.response_body, created_at = now(), locked_at = now()
              WHERE idempotency_keys.created_at < now() - make_interval(hours => $19)
            RETURNING 1
         ), p AS (
            INSERT INTO posts (id, account_id, livemode, status, content, scheduled_time, request_id)
            SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $13::text IS NULL OR EXISTS (SELECT 1 FROM claim)
            RETURNING id
         ), t AS (
            INSERT INTO post_targets (id, post_id, position, platform, account_label, integration_id)
            SELECT u.id, p.id, u.pos, u.platform, u.label, u.integration
            FROM p, UNNEST($8::text[], $9::int4[], $10::text[], $11::text[], $12::text[])
                 AS u(id, pos, platform, label, integration)
            RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM p) AND (SELECT count(*) FROM t) = cardinality($8::text[])",
    )
    .bind(p.id)
    .bind(p.account_id)
    .bind(p.livemode)
    .bind(p.status)
    .bind(Json(p.content))
    .bind(p.scheduled_time)
    .bind(p.request_id)
    .bind(&ids)
    .bind(&positions)
    .bind(&platforms)
    .bind(&labels)
    .bind(&integrations)
    .bind(idem.map(|i| i.scope.key))
    .bind(idem.map(|i| i.method))
    .bind(idem.map(|i| i.path))
    .bind(idem.map(|i| i.request_hash))
    .bind(idem.map(|i| i.status as i32))
    .bind(idem.map(|i| i.body))
    .bind(super::idempotency::RETENTION_HOURS as i32)
    .fetch_one(db)
    .await
}

pub async fn get(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Option<(PostRow, Vec<TargetRow>)>, sqlx::Error> {
    let post = sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {POST_COLUMNS} FROM posts WHERE id = $1 AND account_id = $2 AND livemode = $3"
    )))
    .bind(id)
    .bind(account_id)
    .bind(livemode)
    .fetch_optional(db)
    .await?;
    let Some(post) = post else { return Ok(None) };
    let targets = targets_of(db, &[post.id.as_str()]).await?;
    Ok(Some((post, targets)))
}

async fn targets_of(db: &Db, post_ids: &[&str]) -> Result<Vec<TargetRow>, sqlx::Error> {
    sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TARGET_COLUMNS} FROM post_targets WHERE post_id = ANY($1) ORDER BY post_id, position"
    )))
    .bind(post_ids)
    .fetch_all(db)
    .await
}

/// One page of an account's posts, newest first, starting after the cursor `(created_at, id)`.
pub async fn list(
    db: &Db,
    account_id: &str,
    livemode: bool,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<(PostRow, Vec<TargetRow>)>, sqlx::Error> {
    let (at, after_id) = after.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    let posts = sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {POST_COLUMNS} FROM posts WHERE account_id = $1 AND livemode = $2
           AND ($3::text IS NULL OR status = $3)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
         ORDER BY created_at DESC, id DESC LIMIT $6"
    )))
    .bind(account_id)
    .bind(livemode)
    .bind(status)
    .bind(at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
    let mut targets = targets_of(db, &ids).await?;
    Ok(posts
        .into_iter()
        .map(|p| {
            let (mine, rest): (Vec<_>, Vec<_>) = targets.drain(..).partition(|t| t.post_id == p.id);
            targets = rest;
            (p, mine)
        })
        .collect())
}

/// The result of a state change asked for by a client.
pub enum Change {
    Done(PostRow, Vec<TargetRow>),
    NotFound,
    /// The post is in a state where the change no longer applies; carries its status.
    Conflict(String),
}

/// Locks the post for a state change and reads its status (`None`: not this caller's post).
async fn lock_status(
    tx: &mut sqlx::PgConnection,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT status FROM posts WHERE id = $1 AND account_id = $2 AND livemode = $3 FOR UPDATE",
    )
    .bind(id)
    .bind(account_id)
    .bind(livemode)
    .fetch_optional(tx)
    .await
}

/// Cancels a post none of whose targets has started.
pub async fn cancel(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Change, sqlx::Error> {
    let mut tx = db.begin().await?;
    let status = lock_status(&mut tx, account_id, livemode, id).await?;
    let Some(status) = status else {
        return Ok(Change::NotFound);
    };
    let started: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM post_targets WHERE post_id = $1 AND status <> 'pending')",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if !matches!(status.as_str(), "scheduled" | "queued") || started {
        return Ok(Change::Conflict(status));
    }
    sqlx::query("UPDATE posts SET status = 'canceled', updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE post_targets SET status = 'canceled', updated_at = now() WHERE post_id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match get(db, account_id, livemode, id).await? {
        Some((p, t)) => Change::Done(p, t),
        None => Change::NotFound,
    })
}

/// Puts the failed targets of a post back to `pending` and the post back to `queued`.
pub async fn retry_failed(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Change, sqlx::Error> {
    let mut tx = db.begin().await?;
    let status = lock_status(&mut tx, account_id, livemode, id).await?;
    let Some(status) = status else {
        return Ok(Change::NotFound);
    };
    if status == "canceled" {
        return Ok(Change::Conflict(status));
    }
    let reset = sqlx::query(
        "UPDATE post_targets SET status = 'pending', error_code = NULL, error_message = NULL,
                error_retryable = NULL, next_attempt_at = NULL, updated_at = now()
         WHERE post_id = $1 AND status = 'failed'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if reset.rows_affected() == 0 {
        return Ok(Change::Conflict(status));
    }
    sqlx::query("UPDATE posts SET status = 'queued', updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(match get(db, account_id, livemode, id).await? {
        Some((p, t)) => Change::Done(p, t),
        None => Change::NotFound,
    })
}
