//! Soku's job queues on Redis. A queue is two keys (`redis_keys::ready`, `redis_keys::wake`):
//!
//! - `<queue>:ready`, a sorted set whose members are the jobs' payloads, scored by the time (ms) a job may run
//!   from. A payload holds ids only, so the same job handed over twice is one member: Redis never holds two
//!   copies of a job.
//! - `<queue>:wake`, a short list of tokens: a push adds a few, and idle workers wait on it with a blocking pop
//!   instead of polling (`SOKU_POLL_INTERVAL_MS` is only the idle fallback).
//!
//! A worker takes jobs with [`fetch`], which removes them from the set. Redis is a bounded buffer in front of
//! Postgres, never the only copy of any work: a push only takes what fits under [`QUEUE_CAP`] and what does
//! not fit stays due in Postgres; a job lost after it was taken (a worker killed before it leased the target)
//! is handed over again by the reconciler once its target's hand-over time comes round
//! (`SOKU_REQUEUE_AFTER_SECS`). Every job is safe to run twice.

use redis::aio::ConnectionLike;
use redis::{RedisResult, Script};
use serde::Serialize;

use crate::redis_keys::{ready, wake};

/// Most jobs one queue holds: a bound on Redis's memory and on how far it runs ahead of the workers; the rest
/// waits in Postgres.
pub const QUEUE_CAP: usize = 4_000;
/// Most wake-up tokens a queue keeps: enough to wake every idle worker of a burst.
const WAKE_TOKENS: usize = 8;

/// Adds as many payloads as fit under the cap (ZADD NX: a job already there stays as it is), then wakes up to
/// `WAKE_TOKENS` workers. KEYS: ready, wake. ARGV: cap, score, wake tokens, payloads. Returns how many were taken.
const PUSH: &str = r#"
local room = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local taken = 0
for i = 4, #ARGV do
  if taken >= room then break end
  redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[i])
  taken = taken + 1
end
if taken > 0 then
  local wake = math.min(taken, tonumber(ARGV[3]))
  for _ = 1, wake do redis.call('RPUSH', KEYS[2], '1') end
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) * 2 - 1)
end
return taken
"#;

/// Takes up to ARGV[1] jobs whose time has come (by Redis's clock), oldest first. KEYS: ready.
const FETCH: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #jobs > 0 then redis.call('ZREM', KEYS[1], unpack(jobs)) end
return jobs
"#;

/// Puts jobs back to run `ARGV[1]` ms from now (a job that could not reach a decision, or one taken by a
/// worker that is stopping), and wakes a worker. KEYS: ready, wake.
const GIVE_BACK: &str = r#"
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], at, ARGV[i]) end
redis.call('RPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, 15)
return #ARGV - 1
"#;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Pushes jobs to queue `queue`, as many as fit under [`QUEUE_CAP`]; returns how many (a prefix of `jobs`)
/// were taken. The caller leaves the rest due in Postgres.
pub async fn push<C: ConnectionLike, T: Serialize>(
    conn: &mut C,
    queue: &str,
    jobs: &[T],
) -> anyhow::Result<usize> {
    let mut taken = 0;
    // Bounded script arguments: a few hundred jobs per call.
    for chunk in jobs.chunks(500) {
        let script = Script::new(PUSH);
        let mut s = script.prepare_invoke();
        s.key(ready(queue))
            .key(wake(queue))
            .arg(QUEUE_CAP)
            .arg(now_ms())
            .arg(WAKE_TOKENS);
        for job in chunk {
            s.arg(serde_json::to_string(job)?);
        }
        let n: usize = s.invoke_async(conn).await?;
        taken += n;
        if n < chunk.len() {
            break;
        }
    }
    Ok(taken)
}

/// Takes up to `most` jobs of `queue` that may run now; they are no longer in Redis.
pub async fn fetch<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    most: usize,
) -> RedisResult<Vec<String>> {
    Script::new(FETCH)
        .key(ready(queue))
        .arg(most)
        .invoke_async(conn)
        .await
}

/// Waits up to `secs` for a wake-up token of `queue`; `true` when one came. Blocks the connection: give it
/// one of its own.
pub async fn wait<C: ConnectionLike>(conn: &mut C, queue: &str, secs: f64) -> RedisResult<bool> {
    let got: Option<(String, String)> = redis::cmd("BLPOP")
        .arg(wake(queue))
        .arg(secs)
        .query_async(conn)
        .await?;
    Ok(got.is_some())
}

/// Puts taken jobs back, to run `delay_ms` from now.
pub async fn give_back<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    jobs: &[String],
    delay_ms: u64,
) -> RedisResult<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let script = Script::new(GIVE_BACK);
    let mut s = script.prepare_invoke();
    s.key(ready(queue)).key(wake(queue)).arg(delay_ms);
    for job in jobs {
        s.arg(job);
    }
    s.invoke_async(conn).await
}

/// Room left in queue `queue` under the cap.
pub async fn room<C: ConnectionLike>(conn: &mut C, queue: &str) -> anyhow::Result<usize> {
    Ok(QUEUE_CAP.saturating_sub(depth(conn, queue).await? as usize))
}

/// Jobs of `queue` waiting to be taken.
pub async fn depth<C: ConnectionLike>(conn: &mut C, queue: &str) -> RedisResult<u64> {
    redis::cmd("ZCARD")
        .arg(ready(queue))
        .query_async(conn)
        .await
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
