//! Soku's workers (dispatch, publish, reconciler). This is the skeleton the intake issue needs: the
//! process starts, checks its settings and stays up until told to stop. It consumes no job yet, so dispatch
//! jobs wait in Redis (and their posts in Postgres) for the publishing workers of the next issue.

use std::future::Future;

use soku_shared::config::Settings;

/// The queues a worker process can serve.
pub const QUEUES: &[&str] = &["dispatch", "publish", "reconcile"];

/// Runs the workers for `queues` until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    queues: Vec<String>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    for q in &queues {
        anyhow::ensure!(
            QUEUES.contains(&q.as_str()),
            "unknown queue `{q}`; expected some of {}",
            QUEUES.join(", ")
        );
    }
    tracing::info!(queues = ?queues, prefix = %settings.redis_prefix, "worker started (no job handlers yet)");
    shutdown.await;
    tracing::info!("worker stopped");
    Ok(())
}
