//! Accounts, their subscription and their credit balance (moved only with a ledger entry).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;

#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub status: String,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub credits_balance: i64,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, plan, status, trial_ends_at, credits_balance, email, created_at";

pub struct NewAccount<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub plan: &'a str,
    pub status: &'a str,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub credits: i64,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

pub async fn create(db: &Db, a: NewAccount<'_>) -> Result<AccountRow, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row = sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO accounts (id, name, plan, status, trial_ends_at, credits_balance, email, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    )))
    .bind(a.id)
    .bind(a.name)
    .bind(a.plan)
    .bind(a.status)
    .bind(a.trial_ends_at)
    .bind(a.credits)
    .bind(a.email)
    .bind(a.password_hash)
    .fetch_one(&mut *tx)
    .await?;
    if a.credits > 0 {
        sqlx::query(
            "INSERT INTO credit_ledger (account_id, amount, reason, balance_after) VALUES ($1, $2, 'initial grant', $2)",
        )
        .bind(a.id)
        .bind(a.credits)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Whether account `id` exists.
pub async fn get(db: &Db, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn exists(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)")
        .bind(id)
        .fetch_one(db)
        .await
}

pub async fn update(
    db: &Db,
    id: &str,
    plan: Option<&str>,
    status: Option<&str>,
    trial_ends_at: Option<DateTime<Utc>>,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE accounts SET plan = COALESCE($2, plan), status = COALESCE($3, status),
                trial_ends_at = CASE
                    -- A trial always ends: moving to trialing without a date gives the usual 14 days.
                    WHEN COALESCE($3, status) = 'trialing' AND COALESCE($4, trial_ends_at) IS NULL
                        THEN now() + interval '14 days'
                    ELSE COALESCE($4, trial_ends_at) END,
                updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(plan)
    .bind(status)
    .bind(trial_ends_at)
    .fetch_optional(db)
    .await
}

/// Adds `amount` credits with a ledger entry (`grant`) in the same transaction; returns the new balance.
pub async fn grant_credits(
    db: &Db,
    id: &str,
    amount: i64,
    reason: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let after = super::credits::movement(
        &mut tx,
        id,
        crate::status::LedgerKind::Grant,
        None,
        amount,
        0,
        None,
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(after.map(|b| b.balance))
}
