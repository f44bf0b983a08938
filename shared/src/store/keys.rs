//! API keys: looked up by SHA-256 hash only; the key itself is never stored.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;

/// What a request's key resolves to: the key and the subscription of its account, in one round trip.
#[derive(Debug, Clone, FromRow)]
pub struct KeyAuth {
    pub key_id: String,
    pub key_status: String,
    pub mode: String,
    pub account_id: String,
    pub plan: String,
    pub account_status: String,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn find_by_hash(db: &Db, hash: &[u8]) -> Result<Option<KeyAuth>, sqlx::Error> {
    sqlx::query_as::<_, KeyAuth>(
        "SELECT k.id AS key_id, k.status AS key_status, k.mode, a.id AS account_id, a.plan,
                a.status AS account_status, a.trial_ends_at, k.last_used_at
         FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1",
    )
    .bind(hash)
    .fetch_optional(db)
    .await
}

/// Marks a key used, at most once a minute per key (cheap enough to run on a request's tail).
pub async fn touch(db: &Db, key_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind(key_id)
    .execute(db)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub mode: String,
    pub preview: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

pub async fn create(
    db: &Db,
    id: &str,
    account_id: &str,
    name: &str,
    mode: &str,
    hash: &[u8],
    preview: &str,
) -> Result<KeyRow, sqlx::Error> {
    sqlx::query_as::<_, KeyRow>(
        "INSERT INTO api_keys (id, account_id, name, mode, key_hash, preview) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, account_id, name, mode, preview, status, created_at",
    )
    .bind(id)
    .bind(account_id)
    .bind(name)
    .bind(mode)
    .bind(hash)
    .bind(preview)
    .fetch_one(db)
    .await
}

pub async fn revoke(db: &Db, id: &str) -> Result<Option<KeyRow>, sqlx::Error> {
    sqlx::query_as::<_, KeyRow>(
        "UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
         RETURNING id, account_id, name, mode, preview, status, created_at",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A key as its account's people see it (never the key or its hash).
#[derive(Debug, Clone, FromRow)]
pub struct KeyListing {
    pub id: String,
    pub name: String,
    pub mode: String,
    pub preview: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The account's keys, newest first.
pub async fn list(db: &Db, account_id: &str) -> Result<Vec<KeyListing>, sqlx::Error> {
    sqlx::query_as::<_, KeyListing>(
        "SELECT id, name, mode, preview, status, created_at, last_used_at, revoked_at FROM api_keys
         WHERE account_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// Revokes a key of `account_id`'s (at once; revoking a revoked key changes nothing); `None`: no such key there.
pub async fn revoke_of(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<KeyListing>, sqlx::Error> {
    sqlx::query_as::<_, KeyListing>(
        "UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, now())
         WHERE id = $1 AND account_id = $2
         RETURNING id, name, mode, preview, status, created_at, last_used_at, revoked_at",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(db)
    .await
}
