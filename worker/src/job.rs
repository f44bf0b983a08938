//! The job model. A job kind is one type implementing [`Job`]: its payload (declared in `soku_shared::jobs`),
//! its name, the span its log lines carry and its handler. [`crate::supervise::serve`] runs any kind on a
//! queue with a concurrency, under supervision; that, the request-id span, the outcome metrics and error
//! logging are written once here and in `supervise`, never per job. A new kind is one file under `jobs/` plus
//! one registration line in `lib.rs`.
//!
//! Every handler must be safe to run twice: it starts with a conditional state change in Postgres and does
//! nothing when the work is done or taken. It returns an error only when it could not reach a decision
//! (Postgres failed); the job then goes back to its queue, to run again a second later.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use soku_shared::jobs::Payload;
use soku_shared::metrics;
use soku_shared::redis_queue;
use tracing::Instrument;

use crate::context::Ctx;
use crate::queue::Delivery;

/// What a run of a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The work was done.
    Done,
    /// Nothing to do: already done, taken by another run, or canceled.
    Skipped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "ok",
            Outcome::Skipped => "skipped",
        }
    }
}

pub trait Job: Send + Sync + 'static {
    type Payload: Payload;
    /// The kind's name in logs and metrics.
    const NAME: &'static str;

    /// The span of one run, with the ids it concerns; [`handle`] puts it inside one carrying the request id.
    fn span(job: &Self::Payload) -> tracing::Span;

    fn run(ctx: &Ctx, job: &Self::Payload) -> impl Future<Output = anyhow::Result<Outcome>> + Send;
}

/// How long a job that could not reach a decision waits before it runs again.
const AGAIN_AFTER_MS: u64 = 1000;

/// The apalis handler of every job kind: the payload read, a span with the request id, the outcome counted,
/// failures logged and the job put back to run again.
pub async fn handle<J: Job>(d: Delivery, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    let job: J::Payload = match serde_json::from_str(&d.raw) {
        Ok(job) => job,
        Err(e) => {
            metrics::job(J::NAME, "error");
            tracing::error!(queue = %d.queue, error = %e, payload = %d.raw, "unreadable job dropped");
            return Ok(());
        }
    };
    let outer = tracing::info_span!("job", request_id = %job.request_id());
    let span = outer.in_scope(|| J::span(&job));
    match J::run(&ctx, &job).instrument(span.clone()).await {
        Ok(outcome) => {
            metrics::job(J::NAME, outcome.as_str());
        }
        Err(e) => {
            metrics::job(J::NAME, "error");
            span.in_scope(|| {
                tracing::error!(error = format!("{e:#}"), "job failed; it will run again")
            });
            let mut redis = ctx.redis.clone();
            tokio::spawn(async move {
                let again = [d.raw];
                if let Err(e) =
                    redis_queue::give_back(&mut redis, &d.queue, &again, AGAIN_AFTER_MS).await
                {
                    tracing::warn!(error = %e, "could not put the job back; the reconciler hands it over again");
                }
            });
        }
    }
    Ok(())
}

/// Runs `work` while calling `renew` every `every`: a job that may run long keeps its lease in Postgres alive
/// this way, so that nobody takes the work over while it is still being done.
pub async fn renewing<T, R, F>(work: impl Future<Output = T>, every: Duration, mut renew: R) -> T
where
    R: FnMut() -> F,
    F: Future<Output = anyhow::Result<()>>,
{
    tokio::pin!(work);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tick.tick() => {
                if let Err(e) = renew().await {
                    tracing::warn!(error = %e, "could not renew the lease; the work goes on");
                }
            }
        }
    }
}
