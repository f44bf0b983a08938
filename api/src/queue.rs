//! Handing work to the workers: a dispatch job per post, pushed to Redis after the post is committed.
//! Redis may lose it; the reconciler re-derives it from Postgres.

use apalis_core::task::builder::TaskBuilder;
use chrono::{DateTime, Utc};
use soku_shared::jobs::DispatchPost;
use tracing::Instrument;

use crate::state::AppState;

/// Pushes a dispatch job, due at `run_at` (now when `None`).
pub async fn enqueue_dispatch(
    state: &AppState,
    job: &DispatchPost,
    run_at: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    let payload = serde_json::to_vec(job)?;
    let mut builder = TaskBuilder::new(payload);
    if let Some(at) = run_at {
        builder = builder.run_at_timestamp(at.timestamp().max(0) as u64);
    }
    let task = builder.build();
    let mut conn = state.redis();
    apalis_redis::queries::push_tasks(&mut conn, &state.dispatch, &[task]).await?;
    Ok(())
}

/// Enqueues, logging instead of failing: the post is already durable and will be re-enqueued by the
/// reconciler if this push is lost. The push runs as its own task, so a client that hangs up after the commit
/// cannot cancel it halfway.
pub async fn enqueue_dispatch_or_log(
    state: &AppState,
    job: &DispatchPost,
    run_at: Option<DateTime<Utc>>,
) {
    let (state, job) = (state.clone(), job.clone());
    let push = tokio::spawn(
        async move {
            if let Err(e) = enqueue_dispatch(&state, &job, run_at).await {
                tracing::warn!(post_id = %job.post_id, error = %e, "dispatch job not enqueued; the reconciler will pick the post up");
            }
        }
        .instrument(tracing::Span::current()),
    );
    let _ = push.await;
}
