//! Handing work to the workers: a dispatch job per immediate (or retried) post, pushed to Redis after the
//! post is committed. Redis may refuse it (its queue is full) or lose it; the reconciler then hands the post
//! over from Postgres.

use soku_shared::jobs::{DispatchPost, dispatch_queue};
use soku_shared::store::publish::unmark_posts;
use tracing::Instrument;

use crate::state::AppState;

/// Pushes a dispatch job; `false` when Redis did not take it (a full queue).
pub async fn enqueue_dispatch(state: &AppState, job: &DispatchPost) -> anyhow::Result<bool> {
    let mut conn = state.redis();
    let name = dispatch_queue(&state.settings.redis_prefix);
    Ok(soku_shared::queue::push(&mut conn, &name, std::slice::from_ref(job)).await? == 1)
}

/// Enqueues, logging instead of failing: the post is already durable. When the push fails or does not fit,
/// the post is marked "not handed over", so the reconciler's next tick hands it over. The push runs as its
/// own task, so a client that hangs up after the commit cannot cancel it halfway.
pub async fn enqueue_dispatch_or_log(state: &AppState, job: &DispatchPost) {
    let (state, job) = (state.clone(), job.clone());
    let push = tokio::spawn(
        async move {
            let why = match enqueue_dispatch(&state, &job).await {
                Ok(true) => return,
                Ok(false) => "the dispatch queue is full".to_string(),
                Err(e) => e.to_string(),
            };
            tracing::warn!(post_id = %job.post_id, reason = %why, "dispatch job not enqueued; the reconciler will hand the post over");
            if let Err(e) = unmark_posts(&state.db, std::slice::from_ref(&job.post_id)).await {
                tracing::warn!(post_id = %job.post_id, error = %e, "could not mark the post; the reconciler will find it within SOKU_REQUEUE_AFTER_SECS");
            }
        }
        .instrument(tracing::Span::current()),
    );
    let _ = push.await;
}
