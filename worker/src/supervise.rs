//! Running one queue's apalis worker and keeping it running. The queue's fetcher (`queue`) rides out Redis
//! outages by itself; should the apalis worker end anyway, the loop here says so in the log and starts a fresh
//! one under a fresh name (a name per generation). At shutdown the worker lets its running jobs finish, and
//! jobs taken from Redis but not started are given back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use soku_shared::metrics;
use tokio::sync::watch;

use crate::context::Ctx;
use crate::job::{Job, handle};
use crate::queue::{self, Fetch, QueueBackend};

/// Most jobs a fetcher holds ahead of its worker.
const AHEAD: usize = 16;

async fn until_stopped(mut stop: watch::Receiver<bool>) -> Result<(), std::io::Error> {
    let _ = stop.wait_for(|s| *s).await;
    Ok(())
}

/// Serves job kind `J` from queue `queue`, `concurrency` jobs at once, until `stop`.
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
    let fetch = Fetch {
        queue: queue.clone(),
        label: label.clone(),
        redis_url: ctx.redis_url.clone(),
        ahead: AHEAD.min(concurrency),
        idle: Duration::from_millis(ctx.cfg.poll_interval_ms),
    };
    let inbox = match queue::start(fetch, stop.clone()) {
        Ok(inbox) => inbox,
        Err(e) => {
            tracing::error!(queue = %label, error = %e, "cannot serve the queue: bad Redis settings");
            return;
        }
    };
    let mut generation = 0u32;
    loop {
        generation += 1;
        let name = format!("{}-{}-{generation}", ctx.name, label.replace(':', "-"));
        let began = Instant::now();
        let worker = WorkerBuilder::new(name.clone())
            .backend(QueueBackend::new(inbox.clone()))
            .data(ctx.clone())
            .concurrency(concurrency)
            .build(handle::<J>);
        let result = worker.run_until(until_stopped(stop.clone())).await;
        if *stop.borrow() {
            break;
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
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    queue::give_back_inbox(&mut ctx.redis.clone(), &inbox).await;
}
