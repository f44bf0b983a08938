//! Connected platform accounts. Credentials arrive here already sealed; this module never sees plaintext.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;

#[derive(Debug, Clone, FromRow)]
pub struct IntegrationRow {
    pub id: String,
    pub platform: String,
    pub account_label: String,
    pub display_name: Option<String>,
    pub is_default: bool,
    pub status: String,
    pub livemode: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, platform, account_label, display_name, is_default, status, livemode, created_at, updated_at";

pub struct Upsert<'a> {
    pub account_id: &'a str,
    pub livemode: bool,
    pub platform: &'a str,
    pub account_label: &'a str,
    pub display_name: Option<&'a str>,
    pub make_default: bool,
}

/// Connects (or reconnects) an account. `seal(id)` seals the credentials for the row's id. Returns the row
/// and whether it was created. The first connection of a platform becomes its default; `make_default`
/// moves the default to this one.
pub async fn upsert(
    db: &Db,
    u: Upsert<'_>,
    new_id: &str,
    seal: impl Fn(&str) -> Vec<u8>,
) -> Result<(IntegrationRow, bool), sqlx::Error> {
    let mut tx = db.begin().await?;
    // Serialise connections of one account and platform so the default moves atomically.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || ':' || $2))")
        .bind(u.account_id)
        .bind(u.platform)
        .execute(&mut *tx)
        .await?;
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT id FROM integrations WHERE account_id = $1 AND livemode = $2 AND platform = $3 AND account_label = $4",
    )
    .bind(u.account_id)
    .bind(u.livemode)
    .bind(u.platform)
    .bind(u.account_label)
    .fetch_optional(&mut *tx)
    .await?;
    let has_default: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM integrations WHERE account_id = $1 AND livemode = $2 AND platform = $3
                        AND is_default AND account_label <> $4)",
    )
    .bind(u.account_id)
    .bind(u.livemode)
    .bind(u.platform)
    .bind(u.account_label)
    .fetch_one(&mut *tx)
    .await?;
    let is_default = u.make_default || !has_default;
    if u.make_default {
        sqlx::query(
            "UPDATE integrations SET is_default = false, updated_at = now()
             WHERE account_id = $1 AND livemode = $2 AND platform = $3 AND is_default AND account_label <> $4",
        )
        .bind(u.account_id)
        .bind(u.livemode)
        .bind(u.platform)
        .bind(u.account_label)
        .execute(&mut *tx)
        .await?;
    }
    let created = existing.is_none();
    let id = existing.unwrap_or_else(|| new_id.to_string());
    let row = sqlx::query_as::<_, IntegrationRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO integrations (id, account_id, livemode, platform, account_label, display_name, is_default,
                                   credentials_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET display_name = COALESCE(EXCLUDED.display_name, integrations.display_name),
             is_default = integrations.is_default OR EXCLUDED.is_default, status = 'active',
             credentials_sealed = EXCLUDED.credentials_sealed, updated_at = now()
         RETURNING {COLUMNS}"
    )))
    .bind(&id)
    .bind(u.account_id)
    .bind(u.livemode)
    .bind(u.platform)
    .bind(u.account_label)
    .bind(u.display_name)
    .bind(is_default)
    .bind(seal(&id))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((row, created))
}

pub async fn list(
    db: &Db,
    account_id: &str,
    livemode: bool,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    let (at, id) = after.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    sqlx::query_as::<_, IntegrationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations WHERE account_id = $1 AND livemode = $2
           AND (created_at, id) < (COALESCE($3::timestamptz, 'infinity'), COALESCE($4::text, ''))
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(account_id)
    .bind(livemode)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn get(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<Option<IntegrationRow>, sqlx::Error> {
    sqlx::query_as::<_, IntegrationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations WHERE account_id = $1 AND livemode = $2 AND id = $3"
    )))
    .bind(account_id)
    .bind(livemode)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn delete(
    db: &Db,
    account_id: &str,
    livemode: bool,
    id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM integrations WHERE account_id = $1 AND livemode = $2 AND id = $3")
        .bind(account_id)
        .bind(livemode)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}
