//! Taking jobs from one of Soku's Redis queues (`soku_shared::redis_queue`) and feeding them to an apalis
//! worker. A fetcher task per queue takes jobs as the worker has room for them (a small channel between the
//! two is the only buffer), and when the queue is empty it waits on the queue's wake list with a blocking pop,
//! so a job pushed to an idle queue starts within a round trip, not a polling interval. [`QueueBackend`] is
//! the apalis `Backend` reading that channel: apalis stays the runtime (concurrency, shutdown, the handler).
//!
//! The fetcher rides out Redis outages itself: it logs the outage once, retries every half second, logs the
//! recovery once and goes on. A job it took and could not hand to the worker (the process is stopping) goes
//! back to Redis; one lost with a killed process is handed over again by the reconciler (Postgres knows).

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apalis_core::backend::finalize::Ephemeral;
use apalis_core::backend::{Backend, BackendConfig};
use apalis_core::task::Task;
use apalis_core::task::task_id::RandomId;
use apalis_core::worker::context::WorkerContext;
use soku_shared::redis_queue;
use tokio::sync::{mpsc, watch};
use tower_layer::Identity;

/// One job as taken from Redis: its queue and its payload, as pushed.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub queue: Arc<str>,
    pub raw: String,
}

/// The receiving end of a fetcher, shared so that whatever the worker did not take can be given back.
pub type Inbox = Arc<Mutex<mpsc::Receiver<Delivery>>>;

/// The apalis backend of one queue: the jobs its fetcher took.
pub struct QueueBackend {
    inbox: Inbox,
}

impl QueueBackend {
    pub fn new(inbox: Inbox) -> QueueBackend {
        QueueBackend { inbox }
    }
}

impl Backend for QueueBackend {
    type Task = Task<Delivery>;
    type Error = std::io::Error;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        inbox
            .poll_recv(cx)
            .map(|next| next.map(|d| Ok(Task::new(d))))
    }

    fn poll_close(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

impl BackendConfig for QueueBackend {
    type Args = Delivery;
    type Id = RandomId;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = Identity;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        Identity::new()
    }
}

/// What a fetcher needs: its queue, Redis, how many jobs it may hold ahead of the worker, and how long it
/// waits on an idle queue before looking again (the fallback when a wake-up token is lost).
pub struct Fetch {
    pub queue: String,
    /// The queue's name without the deployment's prefix, for the logs.
    pub label: String,
    pub redis_url: String,
    pub ahead: usize,
    pub idle: Duration,
}

/// Starts the fetcher of `f.queue`; it runs until `stop`. Returns the inbox to build the worker on.
pub fn start(f: Fetch, stop: watch::Receiver<bool>) -> anyhow::Result<Inbox> {
    let (tx, rx) = mpsc::channel(f.ahead.max(1));
    let conn = redis_queue::redis_manager(&f.redis_url, Duration::from_secs(5))?;
    // The blocking pop holds its connection: it gets one of its own.
    let waiter = redis_queue::redis_manager(&f.redis_url, f.idle + Duration::from_secs(3))?;
    tokio::spawn(fetch_loop(f, tx, conn, waiter, stop));
    Ok(Arc::new(Mutex::new(rx)))
}

/// Whether Redis answers, with the outage logged once when it begins and once when it ends.
struct Health {
    queue: String,
    down_since: Option<Instant>,
}

impl Health {
    fn failed(&mut self, e: &redis::RedisError) {
        if self.down_since.is_none() {
            tracing::warn!(queue = %self.queue, error = %e, "Redis is unreachable; waiting for it to come back");
            self.down_since = Some(Instant::now());
        }
    }

    fn worked(&mut self) {
        if let Some(since) = self.down_since.take() {
            tracing::info!(
                queue = %self.queue,
                after_secs = since.elapsed().as_secs(),
                "Redis is reachable again; resuming"
            );
        }
    }
}

async fn fetch_loop(
    f: Fetch,
    tx: mpsc::Sender<Delivery>,
    mut conn: redis::aio::ConnectionManager,
    mut waiter: redis::aio::ConnectionManager,
    mut stop: watch::Receiver<bool>,
) {
    let queue: Arc<str> = f.queue.as_str().into();
    let mut health = Health {
        queue: f.label.clone(),
        down_since: None,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        // Room for at least one more job in the worker's inbox.
        let permit = tokio::select! {
            p = tx.reserve() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        let most = tx.capacity() + 1;
        let jobs = match redis_queue::fetch(&mut conn, &f.queue, most).await {
            Ok(jobs) => {
                health.worked();
                jobs
            }
            Err(e) => {
                health.failed(&e);
                drop(permit);
                pause(&mut stop, Duration::from_millis(500)).await;
                continue;
            }
        };
        let mut jobs = jobs.into_iter();
        let Some(first) = jobs.next() else {
            drop(permit);
            let waited = tokio::select! {
                w = redis_queue::wait(&mut waiter, &f.queue, f.idle.as_secs_f64()) => w,
                _ = stop.changed() => return,
            };
            if let Err(e) = waited {
                health.failed(&e);
                pause(&mut stop, Duration::from_millis(500)).await;
            }
            continue;
        };
        permit.send(Delivery {
            queue: queue.clone(),
            raw: first,
        });
        let mut rest: Vec<String> = jobs.collect();
        while !rest.is_empty() {
            let raw = rest.remove(0);
            let sent = tokio::select! {
                s = tx.send(Delivery { queue: queue.clone(), raw: raw.clone() }) => s.is_ok(),
                _ = stop.changed() => false,
            };
            if !sent {
                rest.insert(0, raw);
                give_back(&mut conn, &f.queue, &rest).await;
                return;
            }
        }
    }
}

async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

/// Puts jobs taken but not run back in their queue, to run at once.
pub async fn give_back(conn: &mut redis::aio::ConnectionManager, queue: &str, jobs: &[String]) {
    if jobs.is_empty() {
        return;
    }
    match redis_queue::give_back(conn, queue, jobs, 0).await {
        Ok(()) => tracing::debug!(queue, jobs = jobs.len(), "jobs not started given back"),
        Err(e) => tracing::warn!(
            queue,
            jobs = jobs.len(),
            error = %e,
            "could not give jobs back; the reconciler hands them over again"
        ),
    }
}

/// Gives back whatever is left in `inbox` (the worker stopped before taking it).
pub async fn give_back_inbox(conn: &mut redis::aio::ConnectionManager, inbox: &Inbox) {
    let mut left: Vec<(Arc<str>, String)> = Vec::new();
    {
        let mut rx = inbox.lock().unwrap_or_else(|e| e.into_inner());
        while let Ok(d) = rx.try_recv() {
            left.push((d.queue, d.raw));
        }
    }
    if let Some((queue, _)) = left.first() {
        let queue = queue.clone();
        let jobs: Vec<String> = left.into_iter().map(|(_, raw)| raw).collect();
        give_back(conn, &queue, &jobs).await;
    }
}
