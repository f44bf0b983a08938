//! The store: every SQL statement Soku runs lives under this module, one file per aggregate.

pub mod accounts;
pub mod credits;
pub mod idempotency;
pub mod integrations;
pub mod keys;
pub mod media;
pub mod posts;
pub mod publish;
pub mod sandbox;
pub mod transcriptions;
pub mod users;

use std::time::Duration;

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub type Db = PgPool;

/// Migrations compiled into the binary from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens a pool; the first connection is made lazily so that a process can start (and answer
/// `/healthz`) while Postgres is still coming up.
pub fn connect_lazy(url: &str, size: u32) -> Result<Db, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options(url)?))
}

pub async fn connect(url: &str, size: u32) -> Result<Db, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options(url)?)
        .await
}

/// Every statement Soku runs is prepared once per connection and looks rows up by key, so a generic plan is
/// always right; without this setting Postgres re-plans the big insert on every execution (measured: most of
/// its CPU under load went to planning).
fn options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(url
        .parse::<PgConnectOptions>()?
        .options([("plan_cache_mode", "force_generic_plan")]))
}

/// One round trip to Postgres (readiness checks).
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

/// Whether an error means "the database cannot serve right now" rather than "this statement is wrong":
/// unreachable, out of connections, starting up, shutting down or refusing connections.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // 08: connection exceptions; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now;
            // 53300: too many connections; 55000: database not accepting connections.
            code.starts_with("08") || code.starts_with("57P") || code == "53300" || code == "55000"
        }),
        _ => false,
    }
}

/// Whether an error is a unique-constraint violation (SQLSTATE 23505).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}
