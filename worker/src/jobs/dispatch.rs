//! The dispatch job: a queued post becomes `publishing` and one publish job per pending target goes to its
//! platform's queue. Running it twice does nothing the second time (the post is no longer `queued`).

use std::collections::BTreeMap;

use anyhow::Context;
use soku_shared::handoff::hand_over;
use soku_shared::jobs::{DispatchPost, PublishTarget};
use soku_shared::metrics;
use soku_shared::platform::Platform;
use soku_shared::redis_keys::publish_queue;
use soku_shared::store::publish::{self as store, Dispatched};

use crate::context::Ctx;
use crate::job::{Job, Outcome};

pub struct Dispatch;

impl Job for Dispatch {
    type Payload = DispatchPost;
    const NAME: &'static str = "dispatch";

    fn span(job: &DispatchPost) -> tracing::Span {
        tracing::info_span!("dispatch", post_id = %job.post_id)
    }

    async fn run(ctx: &Ctx, job: &DispatchPost) -> anyhow::Result<Outcome> {
        let Some(d) = store::dispatch(&ctx.db, &job.post_id)
            .await
            .context("marking the post publishing")?
        else {
            tracing::debug!("post not queued (already dispatched, or canceled): nothing to do");
            return Ok(Outcome::Skipped);
        };
        record_wait(&d);
        let mut later = 0;
        for (platform, jobs) in by_platform(job, d.targets) {
            let name = publish_queue(&ctx.prefix, platform);
            let taken = hand_over(&mut ctx.redis.clone(), &ctx.db, &name, &jobs)
                .await
                .context("marking targets Redis did not take")?;
            later += jobs.len() - taken;
        }
        tracing::info!(handed_over_later = later, "post dispatched");
        Ok(Outcome::Done)
    }
}

/// How long the post waited: past its scheduled time (lateness), or since it was accepted (pick-up).
fn record_wait(d: &Dispatched) {
    match d.scheduled_time {
        Some(at) if at <= d.dispatched_at && at > d.created_at => {
            metrics::lateness((d.dispatched_at - at).as_seconds_f64())
        }
        _ => metrics::pickup((d.dispatched_at - d.created_at).as_seconds_f64().max(0.0)),
    }
}

/// One publish job per target, grouped by the platform's queue.
fn by_platform(
    job: &DispatchPost,
    targets: Vec<(String, String)>,
) -> BTreeMap<Platform, Vec<PublishTarget>> {
    let mut grouped: BTreeMap<Platform, Vec<PublishTarget>> = BTreeMap::new();
    for (target_id, platform) in targets {
        let Some(p) = Platform::parse(&platform) else {
            tracing::error!(%target_id, %platform, "target of an unknown platform left alone");
            continue;
        };
        grouped.entry(p).or_default().push(PublishTarget {
            target_id,
            post_id: job.post_id.clone(),
            request_id: job.request_id.clone(),
        });
    }
    grouped
}
