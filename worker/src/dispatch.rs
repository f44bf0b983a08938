//! The dispatch job: a queued post becomes `publishing` and one publish job per pending target goes to its
//! platform's queue. Running it twice does nothing the second time (the post is no longer `queued`).

use std::collections::BTreeMap;

use soku_shared::jobs::{DispatchPost, PublishTarget, publish_queue};
use soku_shared::platform::Platform;
use soku_shared::store::publish as store;
use soku_shared::{metrics, queue};

use crate::Ctx;

pub async fn run(ctx: &Ctx, job: &DispatchPost) -> anyhow::Result<()> {
    let Some(d) = store::dispatch(&ctx.db, &job.post_id).await? else {
        metrics::job("dispatch", "skipped");
        tracing::debug!("post not queued (already dispatched, or canceled): nothing to do");
        return Ok(());
    };
    match d.scheduled_time {
        Some(at) if at <= d.dispatched_at && at > d.created_at => {
            metrics::lateness((d.dispatched_at - at).as_seconds_f64())
        }
        _ => metrics::pickup((d.dispatched_at - d.created_at).as_seconds_f64().max(0.0)),
    }
    let mut by_platform: BTreeMap<String, Vec<PublishTarget>> = BTreeMap::new();
    for (target_id, platform) in d.targets {
        by_platform
            .entry(platform)
            .or_default()
            .push(PublishTarget {
                target_id,
                post_id: job.post_id.clone(),
                request_id: job.request_id.clone(),
            });
    }
    let mut conn = ctx.redis.clone();
    let mut left = Vec::new();
    for (platform, jobs) in by_platform {
        let Some(p) = Platform::parse(&platform) else {
            continue;
        };
        let taken = match queue::push(&mut conn, &publish_queue(&ctx.prefix, p), &jobs).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, %platform, "publish jobs not handed to Redis; the reconciler will");
                0
            }
        };
        left.extend(jobs[taken..].iter().map(|j| j.target_id.clone()));
    }
    // What Redis did not take (full queue, or Redis away) is marked so the reconciler's next tick hands it over.
    store::unmark_targets(&ctx.db, &left).await?;
    metrics::job("dispatch", "ok");
    tracing::info!(handed_over_later = left.len(), "post dispatched");
    Ok(())
}
