//! Running apalis workers and keeping them running. An apalis-redis worker dies on the first Redis error
//! (docs/architecture.md, queue note i: a response timeout is fatal to the whole pool), and after a flush its registration is gone
//! ("worker not registered"). So each queue's worker runs under a loop that notices it ended, says so in
//! the log, waits for Redis to answer again and starts a fresh worker under a fresh name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use soku_shared::{metrics, redis_queue};
use tokio::sync::watch;

use crate::context::Ctx;
use crate::job::{Job, handle};

/// The apalis configuration of one of our queues for a worker running `concurrency` jobs at once.
fn config(name: &str, concurrency: usize) -> apalis_redis::Config {
    redis_queue::queue_config(name)
        .batch_size(concurrency.clamp(1, 100))
        // A dead process's jobs go back to the queue after 30 s; leases in Postgres decide the rest.
        .heartbeat_interval(Duration::from_secs(5))
        .missed_heartbeats(6)
}

/// Waits until Redis answers (or shutdown); logs the outage once and the recovery once.
async fn wait_for_redis(ctx: &Ctx, queue: &str, stop: &mut watch::Receiver<bool>) -> bool {
    let mut conn = ctx.redis.clone();
    let mut down_since: Option<Instant> = None;
    loop {
        let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
        match pong {
            Ok(_) => {
                if let Some(since) = down_since {
                    tracing::info!(
                        queue,
                        after_secs = since.elapsed().as_secs(),
                        "Redis is reachable again; resuming"
                    );
                }
                return true;
            }
            Err(e) => {
                if down_since.is_none() {
                    tracing::warn!(queue, error = %e, "Redis is unreachable; waiting for it to come back");
                    down_since = Some(Instant::now());
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return false,
        }
    }
}

/// Runs generation after generation of one queue's worker until shutdown.
async fn supervise<F, Fut>(
    ctx: Arc<Ctx>,
    label: String,
    mut stop: watch::Receiver<bool>,
    mut start: F,
) where
    F: FnMut(String, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = Result<(), WorkerError>>,
{
    let mut generation = 0u32;
    loop {
        if *stop.borrow() || !wait_for_redis(&ctx, &label, &mut stop).await {
            return;
        }
        generation += 1;
        let name = format!("{}-{}-{generation}", ctx.name, label.replace(':', "-"));
        let began = Instant::now();
        let result = start(name.clone(), stop.clone()).await;
        if *stop.borrow() {
            return;
        }
        metrics::event("worker_restart", 1);
        match result {
            Ok(()) => {
                tracing::warn!(queue = %label, worker = %name, "worker ended unexpectedly; starting a new one")
            }
            Err(e) => {
                tracing::warn!(queue = %label, worker = %name, error = %e, "worker stopped on an error; starting a new one")
            }
        }
        // A worker that keeps dying at once is not restarted in a tight loop.
        if began.elapsed() < Duration::from_secs(5) {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

async fn until_stopped(mut stop: watch::Receiver<bool>) -> Result<(), std::io::Error> {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    Ok(())
}

/// Serves job kind `J` from queue `queue`, `concurrency` jobs at once, until `stop`; a worker that dies (a
/// Redis error, a flushed registration) is replaced by a new generation under a new name.
pub async fn serve<J: Job>(
    ctx: Arc<Ctx>,
    queue: String,
    concurrency: usize,
    stop: watch::Receiver<bool>,
) {
    let label = queue
        .strip_prefix(&soku_shared::redis_keys::queue_prefix(&ctx.prefix))
        .unwrap_or(&queue)
        .to_string();
    let c = ctx.clone();
    supervise(ctx, label, stop, move |name, stop| {
        let ctx = c.clone();
        let storage = RedisStorage::<J::Payload>::new(ctx.redis.clone())
            .with_config(config(&queue, concurrency))
            .poll_with_interval(Duration::from_millis(ctx.cfg.poll_interval_ms));
        let worker = WorkerBuilder::new(name)
            .backend(storage)
            .data(ctx)
            .concurrency(concurrency)
            .build(handle::<J>);
        worker.run_until(until_stopped(stop))
    })
    .await
}
