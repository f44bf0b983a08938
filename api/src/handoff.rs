//! Handing a post's targets to the workers once they are committed: one publish job per target goes straight
//! to its platform's queue through `soku_shared::handoff`, which leaves a target Redis does not take due in
//! Postgres for the reconciler. There is no dispatch step in between.

use std::collections::BTreeMap;

use soku_shared::handoff::hand_over;
use soku_shared::jobs::PublishTarget;
use soku_shared::platform::Platform;
use soku_shared::redis_keys::publish_queue;
use tracing::Instrument;

use crate::state::AppState;

/// Hands the targets over (`(platform, target id)`), logging instead of failing: they are already durable. The
/// push runs as its own task, so a client that hangs up after the commit cannot cancel it halfway.
pub async fn hand_over_post(
    state: &AppState,
    post_id: &str,
    request_id: &str,
    targets: Vec<(Platform, String)>,
) {
    let mut by_queue: BTreeMap<Platform, Vec<PublishTarget>> = BTreeMap::new();
    for (platform, target_id) in targets {
        by_queue.entry(platform).or_default().push(PublishTarget {
            target_id,
            post_id: post_id.to_string(),
            request_id: request_id.to_string(),
        });
    }
    let state = state.clone();
    let push = tokio::spawn(
        async move {
            let mut redis = state.redis();
            for (platform, jobs) in by_queue {
                let name = publish_queue(&state.settings.redis_prefix, platform);
                if let Err(e) = hand_over(&mut redis, &state.db, &name, &jobs).await {
                    tracing::warn!(error = %e, "could not mark the targets; the reconciler will find them within SOKU_REQUEUE_AFTER_SECS");
                }
            }
        }
        .instrument(tracing::Span::current()),
    );
    let _ = push.await;
}

/// Hands `jobs` (already durable in Postgres) to queue `name` of the workers, as its own task; what Redis does
/// not take is marked for the reconciler, and a failure to mark is logged, never returned.
pub async fn hand_over_jobs<T: soku_shared::jobs::Payload>(
    state: &AppState,
    name: String,
    jobs: Vec<T>,
) {
    let state = state.clone();
    let push = tokio::spawn(
        async move {
            let mut redis = state.redis();
            if let Err(e) = hand_over(&mut redis, &state.db, &name, &jobs).await {
                tracing::warn!(error = %e, "could not mark the jobs; the reconciler will find them");
            }
        }
        .instrument(tracing::Span::current()),
    );
    let _ = push.await;
}
