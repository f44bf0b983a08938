//! Idempotency records: a claim per (account, mode, key) taken before any work, completed with the
//! response in the same transaction as the work where the work is a database write.

use sqlx::FromRow;

use super::Db;

/// Who owns an idempotency key.
#[derive(Debug, Clone)]
pub struct IdemScope<'a> {
    pub account_id: &'a str,
    pub livemode: bool,
    pub key: &'a str,
}

pub enum Claim {
    /// This request owns the key: do the work, then complete or release.
    Claimed,
    /// Another request with this key is still running.
    InProgress,
    /// The key was used for a different method, path or body.
    Mismatch,
    /// The first request finished: replay its response.
    Done { status: u16, body: Vec<u8> },
}

#[derive(FromRow)]
struct Existing {
    method: String,
    path: String,
    request_hash: Vec<u8>,
    state: String,
    response_status: Option<i32>,
    response_body: Option<Vec<u8>>,
}

/// Records older than this are forgotten; a claim left `in_progress` longer than the stale limit (its
/// process died before committing anything) may be taken over by the same request.
pub const RETENTION_HOURS: i64 = 24;
pub const STALE_CLAIM_SECS: i64 = 60;

pub async fn claim(
    db: &Db,
    scope: &IdemScope<'_>,
    method: &str,
    path: &str,
    hash: &[u8],
) -> Result<Claim, sqlx::Error> {
    for _ in 0..3 {
        let claimed: Option<bool> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (account_id, livemode, key, method, path, request_hash, state)
             VALUES ($1, $2, $3, $4, $5, $6, 'in_progress')
             ON CONFLICT (account_id, livemode, key) DO UPDATE
               SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
                   state = 'in_progress', response_status = NULL, response_body = NULL,
                   created_at = now(), locked_at = now()
             WHERE idempotency_keys.created_at < now() - make_interval(hours => $7)
                OR (idempotency_keys.state = 'in_progress'
                    AND idempotency_keys.locked_at < now() - make_interval(secs => $8)
                    AND idempotency_keys.method = EXCLUDED.method AND idempotency_keys.path = EXCLUDED.path
                    AND idempotency_keys.request_hash = EXCLUDED.request_hash)
             RETURNING true",
        )
        .bind(scope.account_id)
        .bind(scope.livemode)
        .bind(scope.key)
        .bind(method)
        .bind(path)
        .bind(hash)
        .bind(RETENTION_HOURS as i32)
        .bind(STALE_CLAIM_SECS as f64)
        .fetch_optional(db)
        .await?;
        if claimed.is_some() {
            return Ok(Claim::Claimed);
        }
        let existing = sqlx::query_as::<_, Existing>(
            "SELECT method, path, request_hash, state, response_status, response_body FROM idempotency_keys
             WHERE account_id = $1 AND livemode = $2 AND key = $3",
        )
        .bind(scope.account_id)
        .bind(scope.livemode)
        .bind(scope.key)
        .fetch_optional(db)
        .await?;
        // The row can vanish between the two statements (released by its owner): try again.
        let Some(e) = existing else { continue };
        return Ok(verdict(e, method, path, hash));
    }
    Ok(Claim::InProgress)
}

/// The record of a key, if one is live (younger than the retention): what a request with that key must do.
/// `None`: the key is free.
pub async fn lookup(
    db: &Db,
    scope: &IdemScope<'_>,
    method: &str,
    path: &str,
    hash: &[u8],
) -> Result<Option<Claim>, sqlx::Error> {
    let existing = sqlx::query_as::<_, Existing>(
        "SELECT method, path, request_hash, state, response_status, response_body FROM idempotency_keys
         WHERE account_id = $1 AND livemode = $2 AND key = $3
           AND created_at >= now() - make_interval(hours => $4)",
    )
    .bind(scope.account_id)
    .bind(scope.livemode)
    .bind(scope.key)
    .bind(RETENTION_HOURS as i32)
    .fetch_optional(db)
    .await?;
    Ok(existing.map(|e| verdict(e, method, path, hash)))
}

fn verdict(e: Existing, method: &str, path: &str, hash: &[u8]) -> Claim {
    if e.method != method || e.path != path || e.request_hash != hash {
        return Claim::Mismatch;
    }
    match (e.state.as_str(), e.response_status, e.response_body) {
        ("done", Some(status), Some(body)) => Claim::Done {
            status: status as u16,
            body,
        },
        _ => Claim::InProgress,
    }
}

/// Stores the response of a claimed key, on the pool or inside the transaction that did the work.
pub async fn complete<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    scope: &IdemScope<'_>,
    status: u16,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', response_status = $4, response_body = $5
         WHERE account_id = $1 AND livemode = $2 AND key = $3 AND state = 'in_progress'",
    )
    .bind(scope.account_id)
    .bind(scope.livemode)
    .bind(scope.key)
    .bind(status as i32)
    .bind(body)
    .execute(executor)
    .await
    .map(|_| ())
}

/// Gives a claimed key back (the request failed before doing anything): the client may retry with it.
pub async fn release(db: &Db, scope: &IdemScope<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND livemode = $2 AND key = $3 AND state = 'in_progress'")
        .bind(scope.account_id)
        .bind(scope.livemode)
        .bind(scope.key)
        .execute(db)
        .await
        .map(|_| ())
}

/// Deletes records past their retention; returns how many.
pub async fn purge_expired(db: &Db) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
    )
    .bind(RETENTION_HOURS as i32)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}
