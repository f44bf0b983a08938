//! The reconciler: every `SOKU_RECONCILE_INTERVAL_MS` it re-derives from Postgres what Redis should hold.
//! - Redis lost its data (the sentinel key is gone): everything handed over is handed over again.
//! - Leases expired (a worker died mid-attempt): those targets become `unknown`.
//! - Scheduled posts that fell due are released, a thousand per statement: they become `publishing`.
//! - Targets due for a hand-over go to their platform's queue, as far as it has room: released posts'
//!   targets, retries whose time has come, and jobs Redis refused, lost, or that were taken by a worker that
//!   died before leasing (their hand-over time came round: `SOKU_REQUEUE_AFTER_SECS`).
//! - `unknown` targets are checked against their platform before anything is sent again.
//! - Targets that waited for media that is now done are due (the media job releases them itself; this catches
//!   a post accepted while its media was finishing).
//! - Processing media due for a hand-over goes to the `media` queue (new, refused by Redis, or taken by a
//!   worker that died: its lease ran out and its hand-over time came round).
//! - Once a minute, failed media older than `SOKU_MEDIA_FAILED_RETENTION_HOURS` is deleted with its files,
//!   and temporary files a dead worker left are swept.
//!
//! Any number of processes may run it: every step claims its rows with `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use soku_shared::handoff::hand_over;
use soku_shared::jobs::Transcribe;
use soku_shared::jobs::{ProcessMedia, PublishTarget};
use soku_shared::platform::Platform;
use soku_shared::redis_keys::{media_queue, publish_queue, transcribe_queue};
use soku_shared::status::TargetStatus;
use soku_shared::storage::media_prefix;
use soku_shared::store::media as media_store;
use soku_shared::store::publish::{self as store, Handoff, Leased, Settle};
use soku_shared::store::transcriptions;
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
/// How often failed media and stale temporary files are cleaned up.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
/// How often storage is listed for files whose media row is gone.
const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Files younger than this are never orphans (an upload's files are written before its row).
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(6 * 3600);
/// A temporary file older than this belongs to no running job (the longest, a fetch, is bounded far below).
const TMP_MAX_AGE: Duration = Duration::from_secs(6 * 3600);

pub async fn run(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(ctx.cfg.reconcile_interval_ms);
    let mut failing = false;
    let mut last_cleanup: Option<Instant> = None;
    let mut last_sweep: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut result = tick(&ctx).await;
        if result.is_ok() && last_cleanup.is_none_or(|t| t.elapsed() >= CLEANUP_EVERY) {
            result = cleanup(&ctx).await;
            if result.is_ok() {
                last_cleanup = Some(Instant::now());
            }
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= ORPHAN_SWEEP_EVERY) {
            // On a task of its own: listing a big bucket must not hold back due posts.
            last_sweep = Some(Instant::now());
            let ctx = ctx.clone();
            tokio::spawn(async move {
                if let Err(e) = sweep_orphans(&ctx).await {
                    tracing::warn!(error = %e, "the orphan sweep failed; it runs again in an hour");
                }
            });
        }
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

async fn tick(ctx: &Ctx) -> anyhow::Result<()> {
    redis_lost(ctx).await?;
    let expired = store::expire_leases(&ctx.db, BATCH as i64).await?;
    if !expired.is_empty() {
        metrics::event("lease_expired", expired.len() as u64);
        tracing::warn!(
            targets = expired.len(),
            "leases expired (a worker stopped mid-attempt): checking those targets against their platforms"
        );
    }
    release_scheduled(ctx).await?;
    media_store::release_waiting(&ctx.db, None).await?;
    for p in Platform::ALL {
        hand_over_targets(ctx, p).await?;
    }
    check_unknown(ctx).await?;
    hand_over_media(ctx).await?;
    hand_over_transcriptions(ctx).await?;
    Ok(())
}

/// Transcription jobs due for a hand-over go to the transcribe queue, as far as it has room.
async fn hand_over_transcriptions(ctx: &Ctx) -> anyhow::Result<()> {
    let name = transcribe_queue(&ctx.prefix);
    let mut conn = ctx.redis.clone();
    let room = redis_queue::room(&mut conn, &name).await?.min(BATCH);
    if room == 0 {
        return Ok(());
    }
    let due =
        transcriptions::claim_to_hand_over(&ctx.db, ctx.cfg.requeue_after_secs as f64, room as i64)
            .await?;
    let jobs: Vec<Transcribe> = due
        .into_iter()
        .map(|(job_id, request_id)| Transcribe { job_id, request_id })
        .collect();
    if !jobs.is_empty() {
        hand_over(&mut conn, &ctx.db, &name, &jobs).await?;
    }
    Ok(())
}

/// Processing media due for a hand-over goes to the media queue, as far as it has room.
async fn hand_over_media(ctx: &Ctx) -> anyhow::Result<()> {
    let name = media_queue(&ctx.prefix);
    let mut conn = ctx.redis.clone();
    let room = redis_queue::room(&mut conn, &name).await?.min(BATCH);
    if room == 0 {
        return Ok(());
    }
    let due =
        media_store::claim_to_hand_over(&ctx.db, ctx.cfg.requeue_after_secs as f64, room as i64)
            .await?;
    let jobs: Vec<ProcessMedia> = due
        .into_iter()
        .map(|(media_id, request_id)| ProcessMedia {
            media_id,
            request_id,
        })
        .collect();
    if !jobs.is_empty() {
        hand_over(&mut conn, &ctx.db, &name, &jobs).await?;
    }
    Ok(())
}

/// Deletes failed media past its retention, with its files, and temporary files no job owns.
async fn cleanup(ctx: &Ctx) -> anyhow::Result<()> {
    let hours = ctx.media.failed_retention_hours as f64;
    loop {
        let purged = media_store::purge_failed(&ctx.db, hours, 100).await?;
        for id in &purged {
            ctx.storage.delete_prefix(&media_prefix(id)).await?;
        }
        if !purged.is_empty() {
            metrics::event("media_purged", purged.len() as u64);
            tracing::info!(
                media = purged.len(),
                retention_hours = hours,
                "failed media deleted"
            );
        }
        if purged.len() < 100 {
            break;
        }
    }
    // A safety net for transcription jobs whose media finished while they were being accepted.
    crate::jobs::transcribe::media_settled(ctx, None).await?;
    let swept = ctx.storage.sweep_tmp(TMP_MAX_AGE).await?;
    if swept > 0 {
        tracing::info!(files = swept, "stale temporary media files removed");
    }
    Ok(())
}

/// Deletes files in storage whose media row is gone and that nothing wrote for [`ORPHAN_MIN_AGE`]: a delete
/// whose file removal failed (the row goes first, in its transaction), a crash between an upload and its row,
/// a rendition finished after its media was deleted. Lists the whole `media/` prefix, so it runs hourly.
async fn sweep_orphans(ctx: &Ctx) -> anyhow::Result<()> {
    let quiet = ctx.storage.quiet_media_ids(ORPHAN_MIN_AGE).await?;
    let mut removed = 0;
    for ids in quiet.chunks(1000) {
        for id in media_store::missing(&ctx.db, ids).await? {
            ctx.storage.delete_prefix(&media_prefix(&id)).await?;
            removed += 1;
        }
    }
    if removed > 0 {
        metrics::event("media_orphans_removed", removed);
        tracing::info!(
            media = removed,
            "files of deleted media removed from storage"
        );
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
    let targets = store::forget_handoffs(&ctx.db).await?;
    let media = media_store::forget_handoffs(&ctx.db).await?
        + transcriptions::forget_handoffs(&ctx.db).await?;
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(Utc::now().to_rfc3339())
        .query_async(&mut conn)
        .await?;
    if targets > 0 || media > 0 {
        metrics::event("redis_lost", 1);
        tracing::warn!(
            targets,
            media,
            "Redis has lost its data (flushed or restarted empty): handing the work over again from Postgres"
        );
    }
    Ok(())
}

/// Releases every due scheduled post, [`BATCH`] per statement; their targets are due for a hand-over now.
async fn release_scheduled(ctx: &Ctx) -> anyhow::Result<()> {
    loop {
        let released = store::release_due_scheduled(&ctx.db, BATCH as i64).await?;
        if let Some(latest) = released.iter().map(|r| r.lateness_secs).reduce(f64::max) {
            tracing::debug!(
                posts = released.len(),
                most_late_secs = latest,
                "scheduled posts fell due"
            );
        }
        if released.len() < BATCH {
            return Ok(());
        }
    }
}

/// Targets due for a hand-over go to their platform's queue, as far as it has room.
async fn hand_over_targets(ctx: &Ctx, platform: Platform) -> anyhow::Result<()> {
    let name = publish_queue(&ctx.prefix, platform);
    let mut conn = ctx.redis.clone();
    loop {
        let room = redis_queue::room(&mut conn, &name).await?.min(BATCH);
        if room == 0 {
            return Ok(());
        }
        let targets: Vec<Handoff> = store::claim_targets_to_hand_over(
            &ctx.db,
            platform.as_str(),
            ctx.cfg.requeue_after_secs as f64,
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
    let status = store::settle(&ctx.db, &ctx.name, &settle).await?;
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
fn settle_check(
    t: &Leased,
    found: &Result<Lookup, Failure>,
    failure_message: Option<&str>,
) -> Settle {
    let unknown = Settle {
        target_id: t.id.clone(),
        attempt: None,
        status: TargetStatus::Unknown,
        platform_post_id: None,
        url: None,
        error_code: Some("outcome_unknown".into()),
        error_message: None,
        retryable: None,
        next_attempt_at: None,
    };
    match found {
        Ok(Lookup::Found(p)) => Settle {
            status: TargetStatus::Published,
            platform_post_id: Some(p.platform_post_id.clone()),
            url: Some(p.url.clone()),
            error_code: None,
            ..unknown
        },
        Ok(Lookup::NotFound) => Settle {
            status: TargetStatus::Retrying,
            error_message: Some("the platform has no such post: it is sent again".into()),
            retryable: Some(true),
            next_attempt_at: Some(Utc::now()),
            ..unknown
        },
        Ok(Lookup::Unsupported) => Settle {
            error_message: Some(
                "the platform may have published this post but cannot be asked; check the account before retrying"
                    .into(),
            ),
            ..unknown
        },
        Err(_) => {
            let wait = backoff::delay(t.checks, Duration::from_secs(1), None);
            Settle {
                error_message: failure_message.map(str::to_string),
                next_attempt_at: (t.checks < MAX_CHECKS)
                    .then(|| Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()),
                ..unknown
            }
        }
    }
}
