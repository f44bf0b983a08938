//! Handing jobs to Redis, in the layout apalis-redis 1.0 reads (`<queue>:data`, `<queue>:meta:<id>`,
//! `<queue>:scheduled`), with bounded admission.
//!
//! apalis promotes *every* due job of a queue with one Lua `unpack`, which fails for more than about 8,000
//! (docs/architecture.md, queue note c) and takes every worker of the queue down with it. So nothing here ever lets a queue's
//! scheduled set grow past [`QUEUE_CAP`]: a push only takes what fits, and what does not fit stays in Postgres,
//! where the reconciler hands it over as room frees up. Redis is a bounded buffer in front of Postgres, never
//! the only copy of any work.

use std::sync::LazyLock;

use apalis_redis::Config;
use redis::Script;
use redis::aio::ConnectionLike;
use serde::Serialize;

/// Most jobs one queue may hold waiting for promotion: far below the ~8,000 at which apalis's fetch fails,
/// leaving room for concurrent producers that each checked before the other pushed.
pub const QUEUE_CAP: usize = 4_000;

/// Pushes as many of `ids`/`payloads` as fit under the cap, in order; returns how many were taken.
static CAPPED_PUSH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: data hash, meta prefix, scheduled set. ARGV: cap, now (unix seconds), then id, payload pairs.
local room = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[3])
local taken = 0
for i = 3, #ARGV, 2 do
  if taken >= room then break end
  local id = ARGV[i]
  if redis.call('HSETNX', KEYS[1], id, ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[2] .. ':' .. id, 'attempts', 0, 'max_attempts', 1, 'status', 'Pending',
               'idempotency_key', '')
    redis.call('ZADD', KEYS[3], ARGV[2], id)
  end
  taken = taken + 1
end
return taken
"#,
    )
});

/// Deletes up to ARGV[1] finished jobs (done and dead sets) with their data and metadata; returns how many.
static TRIM_FINISHED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- KEYS: done set, dead set, data hash, meta prefix. ARGV: most to delete.
local n = 0
for _, set in ipairs({KEYS[1], KEYS[2]}) do
  local ids = redis.call('SPOP', set, tonumber(ARGV[1]) - n)
  for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[3], id)
    redis.call('DEL', KEYS[4] .. ':' .. id)
    n = n + 1
  end
  if n >= tonumber(ARGV[1]) then break end
end
return n
"#,
    )
});

/// The apalis configuration of a queue, as Soku runs it: no Redis-side locks (Postgres leases decide who
/// works on what; docs/architecture.md, queue note e), no pubsub events, results kept (acks depend on it; queue note f).
pub fn queue_config(name: &str) -> Config {
    Config::default()
        .queue(name)
        .lock_tasks(false)
        .emit_events(false)
        .persist_results(true)
}

/// Pushes jobs to queue `name`, at most as many as fit under [`QUEUE_CAP`]; returns how many (a prefix of
/// `jobs`) were taken. The rest must stay marked "not handed over" in Postgres.
pub async fn push<C: ConnectionLike, T: Serialize>(
    conn: &mut C,
    name: &str,
    jobs: &[T],
) -> anyhow::Result<usize> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let cfg = queue_config(name);
    let now = chrono::Utc::now().timestamp();
    let mut taken = 0;
    // Bounded script arguments: a few hundred jobs per call.
    for chunk in jobs.chunks(500) {
        let mut inv = CAPPED_PUSH.prepare_invoke();
        inv.key(cfg.job_data_hash())
            .key(cfg.job_meta_hash())
            .key(cfg.scheduled_jobs_set())
            .arg(QUEUE_CAP)
            .arg(now);
        for job in chunk {
            inv.arg(ulid::Ulid::generate().to_string())
                .arg(serde_json::to_vec(job)?);
        }
        let n: usize = inv.invoke_async(conn).await?;
        taken += n;
        if n < chunk.len() {
            break;
        }
    }
    Ok(taken)
}

/// Room left in queue `name` under the cap.
pub async fn room<C: ConnectionLike>(conn: &mut C, name: &str) -> anyhow::Result<usize> {
    let cfg = queue_config(name);
    let waiting: usize = redis::cmd("ZCARD")
        .arg(cfg.scheduled_jobs_set())
        .query_async(conn)
        .await?;
    Ok(QUEUE_CAP.saturating_sub(waiting))
}

/// Jobs of queue `name` not yet taken by a worker: waiting for promotion plus promoted and waiting.
pub async fn depth<C: ConnectionLike>(conn: &mut C, name: &str) -> anyhow::Result<u64> {
    let cfg = queue_config(name);
    let (scheduled, active): (u64, u64) = redis::pipe()
        .cmd("ZCARD")
        .arg(cfg.scheduled_jobs_set())
        .cmd("LLEN")
        .arg(cfg.active_jobs_list())
        .query_async(conn)
        .await?;
    Ok(scheduled + active)
}

/// Deletes up to `most` finished jobs of queue `name` (apalis keeps every one forever; docs/architecture.md, queue note h).
/// Postgres holds every outcome, so nothing is lost. Each call is one short script, never a scan.
pub async fn trim_finished<C: ConnectionLike>(
    conn: &mut C,
    name: &str,
    most: usize,
) -> anyhow::Result<usize> {
    let cfg = queue_config(name);
    let n: usize = TRIM_FINISHED
        .key(cfg.done_jobs_set())
        .key(cfg.dead_jobs_set())
        .key(cfg.job_data_hash())
        .key(cfg.job_meta_hash())
        .arg(most)
        .invoke_async(conn)
        .await?;
    Ok(n)
}

/// A Redis connection that reconnects by itself, connecting lazily (a process starts while Redis is down).
/// `response_timeout` bounds each command: long enough for a maintenance script, short enough that a
/// vanished Redis is noticed.
pub fn redis_manager(
    url: &str,
    response_timeout: std::time::Duration,
) -> anyhow::Result<redis::aio::ConnectionManager> {
    use std::time::Duration;
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    Ok(redis::aio::ConnectionManager::new_lazy_with_config(
        client, config,
    )?)
}
