//! The reconciler: every `SOKU_RECONCILE_INTERVAL_MS` it re-derives from Postgres what Redis should hold.
//! - Redis lost its data (the sentinel key is gone): everything handed over is handed over again.
//! - Leases expired (a worker died mid-attempt): those targets become `unknown`.
//! - Scheduled posts that fell due go to the dispatch queue, in bounded batches (docs/architecture.md, queue note c).
//! - Queued posts and due targets never handed over, or handed over so long ago that the job was lost.
//! - `unknown` targets are checked against their platform before anything is sent again.
//! - Finished jobs are deleted from Redis in small steps, so its memory stays bounded (docs/architecture.md, queue note h).
//!
//! Any number of processes may run it: every step claims its rows with `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use soku_shared::handoff::hand_over;
use soku_shared::jobs::{DispatchPost, PublishTarget};
use soku_shared::platform::Platform;
use soku_shared::redis_keys::{dispatch_queue, publish_queue};
use soku_shared::status::TargetStatus;
use soku_shared::store::publish::{self as store, Handoff, Leased, Settle};
use soku_shared::{metrics, redis_queue};
use tokio::sync::watch;
use tracing::Instrument;

use crate::adapters::{Failure, Lookup};
use crate::backoff;
use crate::context::Ctx;

/// Most rows one step claims at a time.
const BATCH: usize = 1000;
/// Checks of an `unknown` target before it is left to the user.
const MAX_CHECKS: i32 = 10;
/// How often finished jobs are trimmed from Redis.
const TRIM_EVERY: Duration = Duration::from_secs(5);

pub async fn run(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(ctx.cfg.reconcile_interval_ms);
    let mut last_trim = Instant::now() - TRIM_EVERY;
    let mut failing = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let result = tick(&ctx, &mut last_trim).await;
        match (&result, failing) {
            (Err(e), false) => {
                tracing::warn!(error = %e, "reconciler step failed; retrying every tick until it works")
            }
            (Ok(()), true) => tracing::info!("reconciler working again"),
            _ => {}
        }
        failing = result.is_err();
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn tick(ctx: &Ctx, last_trim: &mut Instant) -> anyhow::Result<()> {
    redis_lost(ctx).await?;
    let expired = store::expire_leases(&ctx.db, BATCH as i64).await?;
    if !expired.is_empty() {
        metrics::event("lease_expired", expired.len() as u64);
        tracing::warn!(
            targets = expired.len(),
            "leases expired (a worker stopped mid-attempt): checking those targets against their platforms"
        );
    }
    hand_over_posts(ctx).await?;
    for p in Platform::ALL {
        hand_over_targets(ctx, p).await?;
    }
    check_unknown(ctx).await?;
    if last_trim.elapsed() >= TRIM_EVERY {
        *last_trim = Instant::now();
        trim(ctx).await?;
    }
    Ok(())
}

/// A sentinel key lives in Redis; when it is gone, Redis was flushed or restarted empty, and every job it
/// held is gone too. Postgres knows which: hand all of it over again (running a job twice is harmless).
async fn redis_lost(ctx: &Ctx) -> anyhow::Result<()> {
    let key = soku_shared::redis_keys::sentinel(&ctx.prefix);
    let mut conn = ctx.redis.clone();
    let present: bool = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await?;
    if present {
        return Ok(());
    }
    let (posts, targets) = store::forget_handoffs(&ctx.db).await?;
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(Utc::now().to_rfc3339())
        .query_async(&mut conn)
        .await?;
    if posts + targets > 0 {
        metrics::event("redis_lost", 1);
        tracing::warn!(
            posts,
            targets,
            "Redis has lost its data (flushed or restarted empty): handing the work over again from Postgres"
        );
    }
    Ok(())
}

/// Due scheduled posts, and queued posts whose dispatch job is missing, go to the dispatch queue, never
/// more than the queue has room for.
async fn hand_over_posts(ctx: &Ctx) -> anyhow::Result<()> {
    let name = dispatch_queue(&ctx.prefix);
    let mut conn = ctx.redis.clone();
    let stale = ctx.cfg.requeue_after_secs as i64;
    let mut stale_done = false;
    loop {
        let room = redis_queue::room(&mut conn, &name).await?.min(BATCH);
        if room == 0 {
            return Ok(());
        }
        let mut posts = store::claim_due_scheduled(&ctx.db, room as i64).await?;
        let due = posts.len();
        if posts.len() < room && !stale_done {
            let more =
                store::claim_stale_queued(&ctx.db, stale, (room - posts.len()) as i64).await?;
            stale_done = more.len() < room - posts.len();
            if !more.is_empty() {
                metrics::event("rehanded_posts", more.len() as u64);
            }
            posts.extend(more);
        }
        if posts.is_empty() {
            return Ok(());
        }
        let jobs: Vec<DispatchPost> = posts
            .iter()
            .map(|p| DispatchPost {
                post_id: p.post_id.clone(),
                livemode: p.livemode,
                request_id: p.request_id.clone(),
            })
            .collect();
        let taken = hand_over(&mut conn, &ctx.db, &name, &jobs).await?;
        if due > 0 {
            tracing::debug!(due, handed_over = taken, "scheduled posts fell due");
        }
        if taken < jobs.len() || (due < room && stale_done) {
            return Ok(());
        }
    }
}

/// Targets due for an attempt whose job is not in Redis go to their platform's queue.
async fn hand_over_targets(ctx: &Ctx, platform: Platform) -> anyhow::Result<()> {
    let name = publish_queue(&ctx.prefix, platform);
    let mut conn = ctx.redis.clone();
    loop {
        let room = redis_queue::room(&mut conn, &name).await?.min(BATCH);
        if room == 0 {
            return Ok(());
        }
        let targets: Vec<Handoff> = store::claim_targets_to_enqueue(
            &ctx.db,
            platform.as_str(),
            ctx.cfg.requeue_after_secs as i64,
            room as i64,
        )
        .await?;
        if targets.is_empty() {
            return Ok(());
        }
        let jobs: Vec<PublishTarget> = targets
            .iter()
            .map(|t| PublishTarget {
                target_id: t.id.clone(),
                post_id: t.post_id.clone(),
                request_id: t.request_id.clone(),
            })
            .collect();
        let taken = hand_over(&mut conn, &ctx.db, &name, &jobs).await?;
        if taken < jobs.len() || targets.len() < room {
            return Ok(());
        }
    }
}

/// Asks the platform about every `unknown` target that is due for a check.
async fn check_unknown(ctx: &Ctx) -> anyhow::Result<()> {
    let leased = store::lease_for_check(&ctx.db, &ctx.name, ctx.cfg.lease_secs as f64, 200).await?;
    futures::stream::iter(leased)
        .for_each_concurrent(16, |t| async move {
            let span = tracing::info_span!(
                "check",
                request_id = %t.request_id,
                post_id = %t.post_id,
                target_id = %t.id
            );
            if let Err(e) = check(ctx, &t).instrument(span.clone()).await {
                span.in_scope(|| tracing::warn!(error = %e, "check failed; it will be made again"));
            }
        })
        .await;
    Ok(())
}

async fn check(ctx: &Ctx, t: &Leased) -> anyhow::Result<()> {
    let req = crate::jobs::publish::request(t);
    let adapter = ctx.adapter(t.livemode, &t.platform);
    let started = Instant::now();
    let found = adapter.lookup(&req).await;
    let message = match &found {
        Err(Failure { message: m, .. }) if t.checks >= MAX_CHECKS => Some(format!(
            "the platform could not be asked after {} tries: {m}",
            t.checks
        )),
        Err(Failure { message: m, .. }) => Some(format!("could not ask the platform yet: {m}")),
        Ok(_) => None,
    };
    let settle = settle_check(t, &found, message.as_deref());
    let outcome = match &found {
        Ok(Lookup::Found(_)) => "check_found",
        Ok(Lookup::NotFound) => "check_not_found",
        Ok(Lookup::Unsupported) => "check_unsupported",
        Err(_) => "check_error",
    };
    metrics::attempt(&t.platform, outcome, started.elapsed().as_secs_f64());
    let status = store::settle(&ctx.db, &t.id, &ctx.name, None, &settle).await?;
    tracing::info!(
        outcome,
        target_status = %settle.status,
        post_status = ?status,
        "unknown outcome checked against the platform"
    );
    Ok(())
}

/// What a check settles: published (found), retrying (certainly absent: sending again is safe), or still
/// unknown (cannot be asked, or asking failed: checked again later, up to [`MAX_CHECKS`] times).
fn settle_check<'a>(
    t: &Leased,
    found: &'a Result<Lookup, Failure>,
    failure_message: Option<&'a str>,
) -> Settle<'a> {
    let unknown = Settle {
        status: TargetStatus::Unknown,
        platform_post_id: None,
        url: None,
        error_code: Some("outcome_unknown"),
        error_message: None,
        retryable: None,
        next_attempt_at: None,
    };
    match found {
        Ok(Lookup::Found(p)) => Settle {
            status: TargetStatus::Published,
            platform_post_id: Some(&p.platform_post_id),
            url: Some(&p.url),
            error_code: None,
            ..unknown
        },
        Ok(Lookup::NotFound) => Settle {
            status: TargetStatus::Retrying,
            error_message: Some("the platform has no such post: it is sent again"),
            retryable: Some(true),
            next_attempt_at: Some(Utc::now()),
            ..unknown
        },
        Ok(Lookup::Unsupported) => Settle {
            error_message: Some(
                "the platform may have published this post but cannot be asked; check the account before retrying",
            ),
            ..unknown
        },
        Err(_) => {
            let wait = backoff::delay(t.checks, Duration::from_secs(1), None);
            Settle {
                error_message: failure_message,
                next_attempt_at: (t.checks < MAX_CHECKS)
                    .then(|| Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()),
                ..unknown
            }
        }
    }
}

/// Deletes finished jobs from Redis (their outcome is in Postgres), a few thousand per queue at a time.
async fn trim(ctx: &Ctx) -> anyhow::Result<()> {
    let mut conn = ctx.redis.clone();
    let mut names = vec![dispatch_queue(&ctx.prefix)];
    names.extend(Platform::ALL.iter().map(|p| publish_queue(&ctx.prefix, *p)));
    for name in names {
        for _ in 0..10 {
            if redis_queue::trim_finished(&mut conn, &name, 2000).await? < 2000 {
                break;
            }
        }
    }
    Ok(())
}
