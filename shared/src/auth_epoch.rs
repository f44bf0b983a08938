//! The auth epoch: one Redis value that every API process reads on every authenticated request (in the same
//! round trip as the rate limit). API processes cache key lookups under the epoch they saw; whoever changes
//! what a key may do (revocation, a subscription change) writes a new epoch after committing, and every
//! cache entry is stale from the next request on. A Redis that lost the value gets a fresh random one, which
//! invalidates everything too. The key is `redis_keys::auth_epoch`.

use std::time::Duration;

use crate::redis_keys;

/// A new epoch value: random, so that a reset Redis never repeats an old one.
pub fn fresh() -> String {
    crate::ids::random_base62(16)
}

/// Writes a new epoch, telling every API process that its cached key lookups are stale. Fails (after at most
/// 3 s) when Redis cannot be reached; the change is in Postgres by then, and API processes see it within 5 s
/// anyway (their cache's age limit).
pub async fn announce(redis_url: &str, prefix: &str) -> anyhow::Result<()> {
    let write = async {
        let client = redis::Client::open(redis_url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("SET")
            .arg(redis_keys::auth_epoch(prefix))
            .arg(fresh())
            .query_async::<()>(&mut conn)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(3), write).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("timed out"),
    }
}
