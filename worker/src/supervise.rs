//! Running apalis workers and keeping them running. An apalis-redis worker dies on the first Redis error
//! (QUEUE-NOTES i: a response timeout is fatal to the whole pool), and after a flush its registration is gone
//! ("worker not registered"). So each queue's worker runs under a loop that notices it ended, says so in
//! the log, waits for Redis to answer again and starts a fresh worker under a fresh name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use soku_shared::jobs::{DispatchPost, PublishTarget, dispatch_queue, publish_queue};
use soku_shared::platform::Platform;
use soku_shared::{metrics, queue};
use tokio::sync::watch;
use tracing::Instrument;

use crate::Ctx;

/// The apalis configuration of one of our queues for a worker running `concurrency` jobs at once.
fn config(name: &str, concurrency: usize) -> apalis_redis::Config {
    queue::queue_config(name)
        .batch_size(concurrency.clamp(1, 100))
        // A dead process's jobs go back to the queue after 30 s; leases in Postgres decide the rest.
        .heartbeat_interval(Duration::from_secs(5))
        .missed_heartbeats(6)
}

async fn handle_dispatch(job: DispatchPost, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    let span =
        tracing::info_span!("dispatch", request_id = %job.request_id, post_id = %job.post_id);
    crate::dispatch::run(&ctx, &job)
        .instrument(span.clone())
        .await
        .map_err(|e| {
            metrics::job("dispatch", "error");
            span.in_scope(|| tracing::error!(error = %e, "dispatch failed; it will run again"));
            e.into()
        })
}

async fn handle_publish(job: PublishTarget, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    let span = tracing::info_span!(
        "publish",
        request_id = %job.request_id,
        post_id = %job.post_id,
        target_id = %job.target_id
    );
    crate::publish::run(&ctx, &job)
        .instrument(span.clone())
        .await
        .map_err(|e| {
            metrics::job("publish", "error");
            span.in_scope(|| tracing::error!(error = %e, "publish job failed; it will run again"));
            e.into()
        })
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

pub async fn dispatch_worker(ctx: Arc<Ctx>, stop: watch::Receiver<bool>) {
    let queue = dispatch_queue(&ctx.prefix);
    let n = ctx.cfg.concurrency_dispatch;
    let c = ctx.clone();
    supervise(ctx, "dispatch".into(), stop, move |name, stop| {
        let ctx = c.clone();
        let storage = RedisStorage::<DispatchPost>::new(ctx.redis.clone())
            .with_config(config(&queue, n))
            .poll_with_interval(Duration::from_millis(ctx.cfg.poll_interval_ms));
        let worker = WorkerBuilder::new(name)
            .backend(storage)
            .data(ctx)
            .concurrency(n)
            .build(handle_dispatch);
        worker.run_until(until_stopped(stop))
    })
    .await
}

pub async fn publish_worker(ctx: Arc<Ctx>, platform: Platform, stop: watch::Receiver<bool>) {
    let queue = publish_queue(&ctx.prefix, platform);
    let n = ctx.cfg.concurrency_for(platform);
    let c = ctx.clone();
    supervise(
        ctx,
        format!("publish:{platform}"),
        stop,
        move |name, stop| {
            let ctx = c.clone();
            let storage = RedisStorage::<PublishTarget>::new(ctx.redis.clone())
                .with_config(config(&queue, n))
                .poll_with_interval(Duration::from_millis(ctx.cfg.poll_interval_ms));
            let worker = WorkerBuilder::new(name)
                .backend(storage)
                .data(ctx)
                .concurrency(n)
                .build(handle_publish);
            worker.run_until(until_stopped(stop))
        },
    )
    .await
}
