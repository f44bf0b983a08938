//! Credits: an account's balance, the part of it reserved for unsettled jobs, and the ledger. Nothing moves
//! either number without a `credit_ledger` row written in the same transaction, and the schema refuses what
//! must never be (`credits_balance >= 0`, `0 <= credits_reserved <= credits_balance`). A job's rows are unique
//! per (job, kind): a reserve, a charge or a release written twice fails instead of moving credits twice, and
//! the callers guard the whole settlement with `transcriptions.settled_at` so a second one is a no-op.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, Transaction};

use super::Db;
use crate::status::LedgerKind;

/// An account's credits as `GET /v1/credits` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Balance {
    pub balance: i64,
    pub reserved: i64,
}

impl Balance {
    /// What a new job may reserve.
    pub fn available(self) -> i64 {
        self.balance - self.reserved
    }
}

pub async fn balance(db: &Db, account_id: &str) -> Result<Option<Balance>, sqlx::Error> {
    sqlx::query_as(
        "SELECT credits_balance AS balance, credits_reserved AS reserved FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(db)
    .await
}

/// One ledger row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub kind: LedgerKind,
    /// How the balance moved.
    pub amount: i64,
    /// How the reserved part moved.
    pub reserved_change: i64,
    pub balance_after: i64,
    pub reserved_after: i64,
    pub job_id: Option<String>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// The account's ledger, newest first, after the `(created_at, id)` cursor.
pub async fn ledger(
    db: &Db,
    account_id: &str,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<LedgerRow>, sqlx::Error> {
    let (at, id) = after.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    sqlx::query_as(
        "SELECT id, kind, amount, reserved_change, balance_after, reserved_after, job_id, reason, created_at
           FROM credit_ledger WHERE account_id = $1
            AND (created_at, id) < (COALESCE($2::timestamptz, 'infinity'), COALESCE($3::bigint, 9223372036854775807))
          ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(account_id)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Moves `amount` (balance) and `reserved_change` (reserved part) of `account_id` and writes the ledger row,
/// on `conn` (the caller's transaction). `guard`: the least `balance - reserved` must be before the move for it
/// to happen (`None`: no condition beyond the schema's). Returns the balance after, or `None` when the guard
/// (or the account) refused it.
#[allow(clippy::too_many_arguments)]
pub async fn movement(
    conn: &mut PgConnection,
    account_id: &str,
    kind: LedgerKind,
    job_id: Option<&str>,
    amount: i64,
    reserved_change: i64,
    guard: Option<i64>,
    reason: &str,
) -> Result<Option<Balance>, sqlx::Error> {
    let after: Option<Balance> = sqlx::query_as(
        "UPDATE accounts SET credits_balance = credits_balance + $2,
                credits_reserved = credits_reserved + $3, updated_at = now()
          WHERE id = $1 AND ($4::bigint IS NULL OR credits_balance - credits_reserved >= $4)
          RETURNING credits_balance AS balance, credits_reserved AS reserved",
    )
    .bind(account_id)
    .bind(amount)
    .bind(reserved_change)
    .bind(guard)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(after) = after else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO credit_ledger
            (account_id, kind, job_id, amount, reserved_change, balance_after, reserved_after, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id)
    .bind(kind)
    .bind(job_id)
    .bind(amount)
    .bind(reserved_change)
    .bind(after.balance)
    .bind(after.reserved)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(Some(after))
}

/// Reserves `amount` for `job_id` with one conditional statement: it happens only if that much is available,
/// so concurrent reservations can never together exceed the balance. `Err(available)` when it is not.
pub async fn reserve(
    tx: &mut Transaction<'_, Postgres>,
    account_id: &str,
    job_id: &str,
    amount: i64,
) -> Result<Result<Balance, i64>, sqlx::Error> {
    let done = movement(
        tx,
        account_id,
        LedgerKind::Reserve,
        Some(job_id),
        0,
        amount,
        Some(amount),
        "reserved for a transcription",
    )
    .await?;
    match done {
        Some(b) => Ok(Ok(b)),
        None => {
            let available: Option<i64> = sqlx::query_scalar(
                "SELECT credits_balance - credits_reserved FROM accounts WHERE id = $1",
            )
            .bind(account_id)
            .fetch_optional(&mut **tx)
            .await?;
            Ok(Err(available.unwrap_or(0)))
        }
    }
}

/// Gives a job's whole reservation back (it failed, was canceled, or cost nothing).
pub async fn release(
    conn: &mut PgConnection,
    account_id: &str,
    job_id: &str,
    reserved: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    if reserved > 0 {
        movement(
            conn,
            account_id,
            LedgerKind::Release,
            Some(job_id),
            0,
            -reserved,
            None,
            reason,
        )
        .await?;
    }
    Ok(())
}

/// Charges a job `cost` against its reservation `reserved`: the cost leaves the balance, the reservation
/// leaves the reserved part, and what the job did not use is released (its own row). A cost above the
/// reservation takes the difference only if that much is available. `Ok(false)`: it is not, and nothing moved.
pub async fn charge(
    conn: &mut PgConnection,
    account_id: &str,
    job_id: &str,
    reserved: i64,
    cost: i64,
) -> Result<bool, sqlx::Error> {
    let covered = cost.min(reserved);
    let extra = cost - covered;
    if cost > 0 {
        let done = movement(
            conn,
            account_id,
            LedgerKind::Charge,
            Some(job_id),
            -cost,
            -covered,
            (extra > 0).then_some(extra),
            "transcription charged",
        )
        .await?;
        if done.is_none() {
            return Ok(false);
        }
    }
    release(
        conn,
        account_id,
        job_id,
        reserved - covered,
        "unused reservation released",
    )
    .await?;
    Ok(true)
}

/// What an operator's correction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corrected {
    Done(Balance),
    NoAccount,
    /// Taking that much would leave less than the reserved part: what is available.
    TooMuch(i64),
}

/// An operator's adjustment of `amount` (negative takes credits away, never into what jobs have reserved).
pub async fn adjust(
    db: &Db,
    account_id: &str,
    amount: i64,
    reason: &str,
) -> Result<Corrected, sqlx::Error> {
    let mut tx = db.begin().await?;
    let guard = (amount < 0).then_some(-amount);
    let done = movement(
        &mut tx,
        account_id,
        LedgerKind::Adjustment,
        None,
        amount,
        0,
        guard,
        reason,
    )
    .await?;
    let Some(after) = done else {
        drop(tx);
        return Ok(match balance(db, account_id).await? {
            Some(b) => Corrected::TooMuch(b.available()),
            None => Corrected::NoAccount,
        });
    };
    tx.commit().await?;
    Ok(Corrected::Done(after))
}

/// What refunding a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refunded {
    /// The job's charge went back to the balance.
    Done {
        account_id: String,
        refunded: i64,
        balance: i64,
    },
    /// The job has been refunded before (its ledger has a `refund` row).
    Already,
    /// No such job, or it charged nothing.
    NothingCharged,
}

/// Gives a transcription job's charge back (an operator's decision), once: the `refund` row is unique per job.
pub async fn refund(db: &Db, job_id: &str, reason: &str) -> Result<Refunded, sqlx::Error> {
    let mut tx = db.begin().await?;
    let job: Option<(String, i64)> = sqlx::query_as(
        "SELECT account_id, credits_charged FROM transcriptions
         WHERE id = $1 AND status = 'completed' FOR UPDATE",
    )
    .bind(job_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((account_id, charged)) = job.filter(|(_, c)| *c > 0) else {
        return Ok(Refunded::NothingCharged);
    };
    let before: Option<i64> =
        sqlx::query_scalar("SELECT id FROM credit_ledger WHERE job_id = $1 AND kind = 'refund'")
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
    if before.is_some() {
        return Ok(Refunded::Already);
    }
    let after = movement(
        &mut tx,
        &account_id,
        LedgerKind::Refund,
        Some(job_id),
        charged,
        0,
        None,
        reason,
    )
    .await?
    .map_or(0, |b| b.balance);
    tx.commit().await?;
    Ok(Refunded::Done {
        account_id,
        refunded: charged,
        balance: after,
    })
}
