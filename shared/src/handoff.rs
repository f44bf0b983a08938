//! Handing work to Redis: the one place where a job is pushed, and where what Redis did not take is marked
//! "not handed over" in Postgres. Redis may refuse (its queue is at the cap, see `redis_queue`), fail, or lose
//! a job later; every job's row is in Postgres first, so the reconciler hands over whatever is marked, and a
//! push that fails delays work, never loses it. The API (a post to publish now, or retried) and the
//! reconciler (due, retried and stale work) both go through [`hand_over`].

use redis::aio::ConnectionManager;

use crate::jobs::{Payload, Row};
use crate::redis_queue;
use crate::store::{self, Db, publish};

/// Pushes `jobs` to queue `name`, as many as fit, and marks the rows of the rest for the reconciler. Returns
/// how many Redis took. Fails only when the marks could not be written (then the reconciler finds the rows
/// after `SOKU_REQUEUE_AFTER_SECS`).
pub async fn hand_over<T: Payload>(
    redis: &mut ConnectionManager,
    db: &Db,
    name: &str,
    jobs: &[T],
) -> anyhow::Result<usize> {
    let taken = match redis_queue::push(redis, name, jobs).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(queue = name, error = %e, "jobs not handed to Redis; the reconciler will hand them over");
            0
        }
    };
    if taken < jobs.len() {
        tracing::debug!(
            queue = name,
            left = jobs.len() - taken,
            "queue full: the rest waits in Postgres"
        );
        mark_not_handed_over(db, &jobs[taken..]).await?;
    }
    Ok(taken)
}

async fn mark_not_handed_over<T: Payload>(db: &Db, jobs: &[T]) -> Result<(), sqlx::Error> {
    let (mut targets, mut media, mut transcriptions) = (Vec::new(), Vec::new(), Vec::new());
    for job in jobs {
        match job.row() {
            Row::Target(id) => targets.push(id.to_string()),
            Row::Media(id) => media.push(id.to_string()),
            Row::Transcription(id) => transcriptions.push(id.to_string()),
        }
    }
    publish::unmark_targets(db, &targets).await?;
    store::media::unmark(db, &media).await?;
    store::transcriptions::unmark(db, &transcriptions).await
}
