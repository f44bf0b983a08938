//! Handing a post to the workers once it is committed: its dispatch job goes to Redis through
//! `soku_shared::handoff`, which marks the post for the reconciler when Redis does not take it.

use soku_shared::handoff::hand_over;
use soku_shared::jobs::DispatchPost;
use soku_shared::redis_keys::dispatch_queue;
use tracing::Instrument;

use crate::state::AppState;

/// Hands the post over, logging instead of failing: the post is already durable. The push runs as its own
/// task, so a client that hangs up after the commit cannot cancel it halfway.
pub async fn hand_over_post(state: &AppState, job: DispatchPost) {
    let state = state.clone();
    let push = tokio::spawn(
        async move {
            let name = dispatch_queue(&state.settings.redis_prefix);
            if let Err(e) = hand_over(&mut state.redis(), &state.db, &name, &[job]).await {
                tracing::warn!(error = %e, "could not mark the post; the reconciler will find it within SOKU_REQUEUE_AFTER_SECS");
            }
        }
        .instrument(tracing::Span::current()),
    );
    let _ = push.await;
}
