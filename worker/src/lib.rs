//! Soku's workers: publish (one target, one queue per platform), media (fetch, probe and thumbnail one media
//! file), transcribe (speech to text of one media's audio, settled in credits) and the reconciler (due scheduled posts, hand-overs, retries, expired leases, unknown outcomes, Redis
//! loss, media cleanup). The API pushes an immediate post's
//! targets straight to their queues; there is no dispatch step.
//!
//! Postgres is the truth and Redis only hands work out (docs/architecture.md): every job starts with a
//! conditional state change, so a job delivered twice, or re-run after its worker vanished, changes nothing.
//! Job kinds follow one model (`job`): a new kind is a file under `jobs/` and a registration line in [`run`].

pub mod adapters;
mod backoff;
mod batch;
pub mod context;
pub mod job;
pub mod jobs;
mod metrics_listener;
mod queue;
mod reconcile;
mod supervise;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use soku_shared::config::Settings;
use soku_shared::platform::Platform;
use soku_shared::redis_keys::{media_queue, publish_queue, transcribe_queue};
use soku_shared::storage::Storage;
use soku_shared::store::Db;
use tokio::sync::watch;

use context::Ctx;
use jobs::media::ProcessMediaJob;
use jobs::publish::Publish;
use jobs::transcribe::TranscribeJob;
use supervise::serve;

/// The queues a worker process can serve: `publish` means every platform's publish queue, `publish:<platform>`
/// one of them.
pub const QUEUES: &[&str] = &["publish", "media", "transcribe", "reconcile"];

/// What `--queues` asked for.
struct Served {
    publish: Vec<Platform>,
    media: bool,
    transcribe: bool,
    reconcile: bool,
}

/// Parses `--queues`: `publish`, `publish:<platform>`, `reconcile`. `dispatch`, the queue that once moved posts
/// to publishing, is still accepted and served as `reconcile`, which now does that job (releasing due scheduled
/// posts and handing their targets over), so commands written for it keep a complete pipeline.
fn parse_queues(queues: &[String]) -> anyhow::Result<Served> {
    let mut served = Served {
        publish: Vec::new(),
        media: false,
        transcribe: false,
        reconcile: false,
    };
    for q in queues {
        match q.as_str() {
            "publish" => served.publish.extend(Platform::ALL),
            "reconcile" => served.reconcile = true,
            "media" => served.media = true,
            "transcribe" => served.transcribe = true,
            "dispatch" => {
                tracing::info!(
                    "queue `dispatch` is served as `reconcile` (there is no dispatch step any more)"
                );
                served.reconcile = true;
            }
            other => match other.strip_prefix("publish:").and_then(Platform::parse) {
                Some(p) => served.publish.push(p),
                None => anyhow::bail!(
                    "unknown queue `{other}`; expected some of publish, publish:<platform>, media, transcribe, reconcile (dispatch: an old name of reconcile)"
                ),
            },
        }
    }
    served.publish.sort();
    served.publish.dedup();
    Ok(served)
}

/// Runs the workers for `queues` until `shutdown` resolves; then stops taking jobs and lets the running ones
/// finish (a job cut off by a hard kill is recovered through its lease).
pub async fn run(
    settings: Settings,
    queues: Vec<String>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let served = parse_queues(&queues)?;
    let db = soku_shared::store::connect_lazy(settings.database_url(), settings.db_pool_size)?;
    let redis =
        soku_shared::redis_queue::redis_manager(settings.redis_url(), Duration::from_secs(5))?;
    let ctx = Arc::new(Ctx::new(
        db,
        redis,
        &settings,
        Storage::from_settings(&settings)?,
    ));
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let (c, prefix) = (&ctx.cfg, &ctx.prefix);
    for p in served.publish {
        let queue = publish_queue(prefix, p);
        tasks.spawn(serve::<Publish>(
            ctx.clone(),
            queue,
            c.concurrency_for(p),
            stop.clone(),
        ));
    }
    if served.media {
        tasks.spawn(serve::<ProcessMediaJob>(
            ctx.clone(),
            media_queue(prefix),
            ctx.media.concurrency,
            stop.clone(),
        ));
    }
    if served.transcribe {
        tasks.spawn(serve::<TranscribeJob>(
            ctx.clone(),
            transcribe_queue(prefix),
            ctx.transcription.concurrency,
            stop.clone(),
        ));
    }
    if served.reconcile {
        tasks.spawn(reconcile::run(ctx.clone(), stop.clone()));
    }
    tracing::info!(worker = %ctx.name, queues = ?queues, prefix = %ctx.prefix, "worker started");
    shutdown.await;
    tracing::info!(worker = %ctx.name, "stopping: no new jobs; waiting for the running ones");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!(worker = %ctx.name, "worker stopped");
    Ok(())
}

/// `soku worker`: the workers of `queues` and this process's `/metrics` listener, until `shutdown`.
pub async fn run_process(
    settings: Settings,
    queues: Vec<String>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let listener = metrics_listener::bind(&settings, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    })
    .await?;
    let listener = tokio::spawn(listener);
    let result = run(settings, queues, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = listener.await;
    result
}

/// Everything `/metrics` shows for a process running workers: its own counters plus the shared gauges.
pub async fn metrics_text(db: &Db, redis: &mut ConnectionManager, prefix: &str) -> String {
    let gauges = soku_shared::metrics::shared_gauges(db, redis, prefix).await;
    soku_shared::metrics::render(&gauges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> anyhow::Result<Served> {
        parse_queues(&list.iter().map(|q| q.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn queues_parse_to_what_is_served() {
        let all = parse(&["publish", "reconcile"]).unwrap();
        assert_eq!(all.publish, Platform::ALL.to_vec());
        assert!(all.reconcile);
        let one = parse(&["publish:x", "publish:x"]).unwrap();
        assert_eq!(one.publish, vec![Platform::X]);
        assert!(!one.reconcile);
        assert!(!all.media && parse(&["media"]).unwrap().media);
        let old = parse(&["dispatch"]).unwrap();
        assert!(old.reconcile && old.publish.is_empty());
        let err = parse(&["publish:myspace"]).err().unwrap().to_string();
        assert!(err.contains("unknown queue `publish:myspace`"), "{err}");
    }
}
