//! Per-account request budgets in fixed one-minute windows, counted in Redis so that every API process
//! spends from the same budget. The window comes from Redis' clock, not each process's. The same call reads
//! the auth epoch (`soku_shared::auth_epoch`), so checking cached keys costs no extra round trip.

use std::sync::LazyLock;

use redis::Script;
use soku_shared::{auth_epoch, redis_keys};

use crate::{error::ApiResult, state::AppState};

pub const WINDOW_SECS: u64 = 60;

static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[1])
local start = now - (now % window)
local key = KEYS[1] .. ':' .. start
local n = redis.call('INCR', key)
if n == 1 then redis.call('EXPIRE', key, window + 5) end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[2])
  epoch = ARGV[2]
end
return {n, start + window, now, epoch}
",
    )
});

pub struct Verdict {
    pub limit: u64,
    pub remaining: u64,
    /// Unix second at which the window ends.
    pub reset: u64,
    /// Seconds until then (at least 1), for `Retry-After`.
    pub retry_after: u64,
    pub allowed: bool,
    /// The auth epoch current in Redis.
    pub epoch: String,
}

/// Counts one request against `account_id`'s budget of `limit` per window.
pub async fn check(state: &AppState, account_id: &str, limit: u64) -> ApiResult<Verdict> {
    let prefix = &state.settings.redis_prefix;
    let mut conn = state.redis();
    let (count, reset, now, epoch): (u64, u64, u64, String) = COUNT
        .key(redis_keys::rate_limit(prefix, account_id))
        .key(redis_keys::auth_epoch(prefix))
        .arg(WINDOW_SECS)
        .arg(auth_epoch::fresh())
        .invoke_async(&mut conn)
        .await?;
    Ok(Verdict {
        limit,
        remaining: limit.saturating_sub(count),
        reset,
        retry_after: reset.saturating_sub(now).max(1),
        allowed: count <= limit,
        epoch,
    })
}
