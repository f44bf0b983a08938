//! Posts and their targets. A post and all its targets (and, when the request carried an
//! Idempotency-Key, the stored response) are written by one statement, so they exist together or not at all.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, types::Json};

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
    pub waiting_for: Option<String>,
}

const POST_COLUMNS: &str = "id, livemode, status, content, scheduled_time, created_at";
const TARGET_COLUMNS: &str = "id, post_id, platform, account_label, status, attempts, platform_post_id, url, \
     published_at, error_code, error_message, error_retryable, waiting_for";

/// A target as the request names it: the platform and, optionally, which connection (`None`: the default).
pub struct WantedTarget {
    pub id: String,
    pub platform: String,
    pub account_label: Option<String>,
}

pub struct NewPost<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub livemode: bool,
    pub status: &'a str,
    pub content: &'a serde_json::Value,
    pub scheduled_time: Option<DateTime<Utc>>,
    /// `scheduledTime` as the response shows it.
    pub scheduled_time_text: Option<&'a str>,
    pub request_id: &'a str,
    pub targets: &'a [WantedTarget],
    /// Test mode's sandbox instructions, stored with the post.
    pub sandbox: Option<&'a serde_json::Value>,
    /// An immediate post's targets are handed over again this long after being pushed, should their jobs
    /// be lost (`SOKU_REQUEUE_AFTER_SECS`).
    pub handoff_after_secs: f64,
    /// The ids of Soku media the post names.
    pub media_ids: &'a [String],
    /// Some of that media is still processing: the targets wait (not handed over) until it is done.
    pub waits_for_media: bool,
}

/// The key a post request carried, recorded with the post.
pub struct IdemKey<'a> {
    pub scope: IdemScope<'a>,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a [u8],
}

/// A target that resolved to the same connection as an earlier one: its position, platform and connection.
pub type TwinTarget = (i32, String, String);

/// A target without its connection: its platform and the `accountId` it asked for (`None`: the default).
pub type MissingTarget = (String, Option<String>);

#[derive(Debug)]
pub enum Inserted {
    /// Stored: the `202` body, as also recorded for replays.
    Created { body: String },
    /// A live post names connections the account does not have: `(platform, accountId)` of each.
    Missing(Vec<MissingTarget>),
    /// Two targets resolve to one connection (a bare name and its default's label): it would publish twice.
    Twins(Vec<TwinTarget>),
    /// Another request holds the idempotency key (a concurrent twin, or another request): nothing stored.
    KeyTaken,
}

#[derive(FromRow)]
struct InsertResult {
    inserted: bool,
    all_found: bool,
    body: Option<String>,
    missing: Option<Json<Vec<MissingTarget>>>,
    twins: Option<Json<Vec<TwinTarget>>>,
}

const INSERT_POST: &str = include_str!("sql/insert_post.sql");

impl From<InsertResult> for Inserted {
    fn from(r: InsertResult) -> Inserted {
        match r {
            InsertResult {
                inserted: true,
                body: Some(body),
                ..
            } => Inserted::Created { body },
            InsertResult {
                all_found: false,
                missing,
                ..
            } => Inserted::Missing(missing.map(|m| m.0).unwrap_or_default()),
            InsertResult {
                twins: Some(twins), ..
            } => Inserted::Twins(twins.0),
            _ => Inserted::KeyTaken,
        }
    }
}

/// Resolves every target to a connection, then inserts the post, its targets and (with a key) the finished
/// idempotency record, all in one statement: they exist together or not at all, in one round trip. Live
/// targets need a connection; test targets without one go to the sandbox (`sandbox_<platform>`). With a key,
/// the record's unique index decides between concurrent requests: the loser inserts nothing.
pub async fn insert(
    db: &Db,
    p: &NewPost<'_>,
    key: Option<&IdemKey<'_>>,
) -> Result<Inserted, sqlx::Error> {
    let ids: Vec<&str> = p.targets.iter().map(|t| t.id.as_str()).collect();
    let positions: Vec<i32> = (0..p.targets.len() as i32).collect();
    let platforms: Vec<&str> = p.targets.iter().map(|t| t.platform.as_str()).collect();
    let labels: Vec<Option<&str>> = p
        .targets
        .iter()
        .map(|t| t.account_label.as_deref())
        .collect();
    let r = sqlx::query_as::<_, InsertResult>(INSERT_POST)
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
        .bind(p.scheduled_time_text)
        .bind(key.map(|k| k.scope.key))
        .bind(key.map(|k| k.method))
        .bind(key.map(|k| k.path))
        .bind(key.map(|k| k.request_hash))
        .bind(super::idempotency::RETENTION_HOURS as i32)
        .bind(p.sandbox.map(Json))
        .bind(p.handoff_after_secs)
        .bind(p.waits_for_media)
        .bind(p.media_ids)
        .fetch_one(db)
        .await?;
    Ok(r.into())
}

pub async fn get(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Option<(PostRow, Vec<TargetRow>)>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    get_on(&mut conn, account_id, livemode, id).await
}

/// [`get`] on a given connection (inside a transaction, it sees the transaction's changes).
async fn get_on(
    conn: &mut PgConnection,
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
    .fetch_optional(&mut *conn)
    .await?;
    let Some(post) = post else { return Ok(None) };
    let targets = targets_of(conn, &[post.id.as_str()]).await?;
    Ok(Some((post, targets)))
}

async fn targets_of(
    conn: &mut PgConnection,
    post_ids: &[&str],
) -> Result<Vec<TargetRow>, sqlx::Error> {
    sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TARGET_COLUMNS} FROM post_targets WHERE post_id = ANY($1) ORDER BY post_id, position"
    )))
    .bind(post_ids)
    .fetch_all(conn)
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
    .await?;
    let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
    let mut targets = targets_of(&mut *db.acquire().await?, &ids).await?;
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

/// What a retry did: the `202` body (already stored under the request's idempotency key, if any), or why not.
pub enum Retried {
    /// The body, and the targets put back to pending: (target id, platform), to hand over.
    Done(Vec<u8>, Vec<(String, String)>),
    NotFound,
    Conflict(String),
}

/// Puts the failed targets of a settled post (`failed` or `partially_published`) back to `pending` and the post
/// to `queued`. The response, rendered by `render` from the post as changed, is stored under `key` in the same
/// transaction, so a retried request replays it instead of retrying twice.
pub async fn retry_failed(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
    key: Option<&IdemScope<'_>>,
    handoff_after_secs: f64,
    render: impl FnOnce(PostRow, Vec<TargetRow>) -> Vec<u8>,
) -> Result<Retried, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(status) = lock_status(&mut tx, account_id, livemode, id).await? else {
        return Ok(Retried::NotFound);
    };
    // A post still publishing has targets in flight: re-arming it could send them twice.
    if !matches!(status.as_str(), "failed" | "partially_published") {
        return Ok(Retried::Conflict(status));
    }
    let reset: Vec<(String, String)> = sqlx::query_as(
        "UPDATE post_targets SET status = 'pending', error_code = NULL, error_message = NULL,
                error_retryable = NULL, next_attempt_at = NULL, round_attempts = 0, checks = 0,
                handoff_at = now() + make_interval(secs => $2), updated_at = now()
         WHERE post_id = $1 AND status = 'failed'
         RETURNING id, platform",
    )
    .bind(id)
    .bind(handoff_after_secs)
    .fetch_all(&mut *tx)
    .await?;
    if reset.is_empty() {
        return Ok(Retried::Conflict(status));
    }
    sqlx::query("UPDATE posts SET status = 'queued', updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let Some((post, targets)) = get_on(&mut tx, account_id, livemode, id).await? else {
        return Ok(Retried::NotFound);
    };
    let body = render(post, targets);
    if let Some(scope) = key {
        super::idempotency::complete(&mut *tx, scope, 202, &body).await?;
    }
    tx.commit().await?;
    Ok(Retried::Done(body, reset))
}
