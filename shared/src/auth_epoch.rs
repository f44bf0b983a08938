//! The auth epoch: one Redis value that every API process reads on every authenticated request (in the same
//! round trip as the rate limit). API processes cache key lookups under the epoch they saw; whoever changes
//! what a key may do (revocation, a subscription change) writes a new epoch after committing, and every
//! cache entry is stale from the next request on. A Redis that lost the value gets a fresh random one, which
//! invalidates everything too.

/// The Redis key holding the epoch under a prefix.
pub fn key(prefix: &str) -> String {
    format!("{prefix}:auth-epoch")
}

/// A new epoch value: random, so that a reset Redis never repeats an old one.
pub fn fresh() -> String {
    crate::ids::random_base62(16)
}
