//! People who log in to an account's dashboard (docs/dashboard.md), their sessions and refresh tokens. Only hashes
//! are stored: argon2id for passwords, SHA-256 for the dashboard cookie's secret and for refresh tokens.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use super::Db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, account_id, email, password_hash, role, created_at";

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("a user with this email exists already")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn create(
    db: &Db,
    id: &str,
    account_id: &str,
    email: &str,
    password_hash: &str,
    role: &str,
) -> Result<UserRow, AddUserError> {
    let row = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (id, account_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)
         RETURNING {USER_COLUMNS}"
    )))
    .bind(id)
    .bind(account_id)
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .fetch_one(db)
    .await;
    match row {
        Ok(r) => Ok(r),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AddUserError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"
    )))
    .bind(email)
    .fetch_optional(db)
    .await
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A session that is live (not revoked, not expired), with who it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionAuth {
    pub session_id: String,
    pub kind: String,
    pub csrf_token: Option<String>,
    pub last_seen_at: DateTime<Utc>,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub account_id: String,
    pub account_name: String,
    pub plan: String,
    pub account_status: String,
    pub trial_ends_at: Option<DateTime<Utc>>,
}

const SESSION_AUTH: &str = "SELECT s.id AS session_id, s.kind, s.csrf_token, s.last_seen_at, u.id AS user_id,
        u.email, u.role, a.id AS account_id, a.name AS account_name, a.plan, a.status AS account_status,
        a.trial_ends_at
    FROM sessions s JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = u.account_id
    WHERE s.revoked_at IS NULL AND s.expires_at > now()";

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub cookie_hash: Option<&'a [u8]>,
    pub csrf_token: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub ttl_secs: f64,
}

async fn insert_session(
    tx: &mut Transaction<'_, Postgres>,
    s: &NewSession<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, kind, cookie_hash, csrf_token, user_agent, client_ip, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.kind)
    .bind(s.cookie_hash)
    .bind(s.csrf_token)
    .bind(s.user_agent.map(|u| u.chars().take(300).collect::<String>()))
    .bind(s.client_ip)
    .bind(s.ttl_secs)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A new session; for an API session, its first refresh token (`refresh`: hash and lifetime).
pub async fn start_session(
    db: &Db,
    s: &NewSession<'_>,
    refresh: Option<(&[u8], f64)>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    insert_session(&mut tx, s).await?;
    if let Some((hash, ttl)) = refresh {
        insert_refresh(&mut tx, s.id, hash, ttl).await?;
    }
    tx.commit().await
}

async fn insert_refresh(
    tx: &mut Transaction<'_, Postgres>,
    session_id: &str,
    hash: &[u8],
    ttl: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(hash)
    .bind(session_id)
    .bind(ttl)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The live session `id`.
pub async fn session(db: &Db, id: &str) -> Result<Option<SessionAuth>, sqlx::Error> {
    sqlx::query_as::<_, SessionAuth>(sqlx::AssertSqlSafe(format!("{SESSION_AUTH} AND s.id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The live dashboard session whose cookie secret hashes to `hash`.
pub async fn by_cookie(db: &Db, hash: &[u8]) -> Result<Option<SessionAuth>, sqlx::Error> {
    sqlx::query_as::<_, SessionAuth>(sqlx::AssertSqlSafe(format!(
        "{SESSION_AUTH} AND s.cookie_hash = $1 AND s.kind = 'dashboard'"
    )))
    .bind(hash)
    .fetch_optional(db)
    .await
}

/// Notes that the session was used, and slides a dashboard session's end `ttl_secs` from now.
pub async fn touch(db: &Db, id: &str, ttl_secs: f64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now(),
                expires_at = CASE WHEN kind = 'dashboard' THEN now() + make_interval(secs => $2) ELSE expires_at END
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(ttl_secs)
    .execute(db)
    .await
    .map(|_| ())
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Refreshed {
    /// Used up; the new one is stored. The session, live.
    Rotated(Box<SessionAuth>),
    /// It had been used before: the session is revoked, every token of it with it.
    Reused,
    /// Unknown, expired, or of a session that has ended.
    Refused,
}

/// Uses up the refresh token `old` and stores `new` (lifetime `ttl` s) in its place, in one transaction.
pub async fn rotate_refresh(
    db: &Db,
    old: &[u8],
    new: &[u8],
    ttl: f64,
) -> Result<Refreshed, sqlx::Error> {
    let mut tx = db.begin().await?;
    let found: Option<(String, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "SELECT session_id, used_at, expires_at > now() FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(old)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, used_at, live)) = found else {
        return Ok(Refreshed::Refused);
    };
    if used_at.is_some() {
        revoke_in(
            &mut tx,
            &session_id,
            "a used refresh token was presented again",
        )
        .await?;
        tx.commit().await?;
        return Ok(Refreshed::Reused);
    }
    if !live {
        return Ok(Refreshed::Refused);
    }
    let auth: Option<SessionAuth> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SESSION_AUTH} AND s.id = $1 FOR UPDATE OF s"
    )))
    .bind(&session_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(auth) = auth else {
        return Ok(Refreshed::Refused);
    };
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
        .bind(old)
        .execute(&mut *tx)
        .await?;
    insert_refresh(&mut tx, &session_id, new, ttl).await?;
    sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE id = $1")
        .bind(&session_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Refreshed::Rotated(Box::new(auth)))
}

async fn revoke_in(
    tx: &mut Transaction<'_, Postgres>,
    session_id: &str,
    why: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_why = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(why)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Ends a session (logout): its cookie and every token of it stop working at once.
pub async fn revoke(db: &Db, session_id: &str, why: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    revoke_in(&mut tx, session_id, why).await?;
    tx.commit().await
}

/// Changes a user's password and ends every session of theirs but `keep`, in one transaction.
pub async fn change_password(
    db: &Db,
    user_id: &str,
    new_hash: &str,
    keep: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1")
        .bind(user_id)
        .bind(new_hash)
        .execute(&mut *tx)
        .await?;
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_why = 'password changed'
         WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(ended)
}
