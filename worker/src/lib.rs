//! Soku's workers: dispatch (a post becomes one publish job per target), publish (one target, one queue per
//! platform), and the reconciler (due scheduled posts, retries, expired leases, unknown outcomes, Redis loss).
//!
//! Postgres is the truth and Redis only hands work out (docs/architecture.md): every job starts with a
//! conditional state change, so a job delivered twice, or re-run after its worker vanished, changes nothing.

pub mod adapters;
mod backoff;
mod dispatch;
mod publish;
mod reconcile;
mod supervise;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use soku_shared::config::{Settings, WorkerSettings};
use soku_shared::platform::Platform;
use soku_shared::store::Db;
use tokio::sync::watch;

use adapters::{PlatformAdapter, Unavailable, sandbox::Sandbox};

/// The queues a worker process can serve: `publish` means every platform's publish queue, `publish:<platform>`
/// one of them.
pub const QUEUES: &[&str] = &["dispatch", "publish", "reconcile"];

/// What every job of this process shares.
pub struct Ctx {
    pub db: Db,
    pub redis: ConnectionManager,
    pub prefix: String,
    pub cfg: WorkerSettings,
    /// This process's name: unique per process (host, pid, random), so that a restarted process never
    /// collides with the registration of the one before it (QUEUE-NOTES a). Also the owner of its leases.
    pub name: String,
    sandbox: Sandbox,
    unavailable: Unavailable,
}

impl Ctx {
    /// The adapter that publishes a target: the sandbox for test mode; live platforms' adapters come with
    /// their own issue, until then live targets fail plainly.
    pub fn adapter(&self, livemode: bool, _platform: &str) -> &dyn PlatformAdapter {
        if livemode {
            &self.unavailable
        } else {
            &self.sandbox
        }
    }
}

/// A name no other process has: host, pid and a random suffix.
fn process_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let suffix: u32 = rand::random();
    format!("{host}-{}-{suffix:08x}", std::process::id())
}

/// Parses `--queues`: `dispatch`, `publish`, `publish:<platform>`, `reconcile`.
fn parse_queues(queues: &[String]) -> anyhow::Result<(bool, Vec<Platform>, bool)> {
    let (mut dispatch, mut publish, mut reconcile) = (false, Vec::new(), false);
    for q in queues {
        match q.as_str() {
            "dispatch" => dispatch = true,
            "publish" => publish.extend(Platform::ALL),
            "reconcile" => reconcile = true,
            other => match other.strip_prefix("publish:").and_then(Platform::parse) {
                Some(p) => publish.push(p),
                None => anyhow::bail!(
                    "unknown queue `{other}`; expected some of dispatch, publish, publish:<platform>, reconcile"
                ),
            },
        }
    }
    publish.sort_by_key(|p| *p as usize);
    publish.dedup();
    Ok((dispatch, publish, reconcile))
}

/// Runs the workers for `queues` until `shutdown` resolves; then stops taking jobs and lets the running ones
/// finish (a job cut off by a hard kill is recovered through its lease).
pub async fn run(
    settings: Settings,
    queues: Vec<String>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (dispatch, publish, reconcile) = parse_queues(&queues)?;
    let db = soku_shared::store::connect_lazy(settings.database_url(), settings.db_pool_size)?;
    let redis = soku_shared::queue::redis_manager(settings.redis_url(), Duration::from_secs(5))?;
    let ctx = Arc::new(Ctx {
        sandbox: Sandbox::new(db.clone(), settings.worker.sandbox_sink_url.clone()),
        unavailable: Unavailable,
        db,
        redis,
        prefix: settings.redis_prefix.clone(),
        cfg: settings.worker.clone(),
        name: process_name(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    if dispatch {
        tasks.spawn(supervise::dispatch_worker(ctx.clone(), stop_rx.clone()));
    }
    for p in &publish {
        tasks.spawn(supervise::publish_worker(ctx.clone(), *p, stop_rx.clone()));
    }
    if reconcile {
        tasks.spawn(reconcile::run(ctx.clone(), stop_rx.clone()));
    }
    tracing::info!(
        worker = %ctx.name,
        queues = ?queues,
        prefix = %ctx.prefix,
        "worker started"
    );
    shutdown.await;
    tracing::info!(worker = %ctx.name, "stopping: no new jobs; waiting for the running ones");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!(worker = %ctx.name, "worker stopped");
    Ok(())
}

/// Everything `/metrics` shows for a process running workers: its own counters plus the shared gauges.
pub async fn metrics_text(db: &Db, redis: &mut ConnectionManager, prefix: &str) -> String {
    let gauges = soku_shared::metrics::shared_gauges(db, redis, prefix).await;
    soku_shared::metrics::render(&gauges)
}
