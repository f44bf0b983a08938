//! Every Redis key Soku writes is named here, and only here. All of them live under the operator's prefix
//! (`SOKU_REDIS_PREFIX`), so that several deployments, or parallel test runs, can share one Redis. A queue is
//! two keys under its name: [`ready`] and [`wake`] (see `redis_queue`).

use crate::platform::Platform;

/// The publish queue of one platform: each platform has its own, so a slow one cannot starve the others.
pub fn publish_queue(prefix: &str, platform: Platform) -> String {
    format!("{prefix}:publish:{}", platform.as_str())
}

/// The queue of media jobs (fetch, check, probe, thumbnails).
pub fn media_queue(prefix: &str) -> String {
    format!("{prefix}:media")
}

/// The transcription jobs' queue.
pub fn transcribe_queue(prefix: &str) -> String {
    format!("{prefix}:transcribe")
}

/// A queue's jobs waiting to be taken: a sorted set of payloads, scored by the time (ms) they may run from.
pub fn ready(queue: &str) -> String {
    format!("{queue}:ready")
}

/// A queue's wake-up tokens: a short list idle workers wait on with a blocking pop.
pub fn wake(queue: &str) -> String {
    format!("{queue}:wake")
}

/// The start of every queue's name, as `/metrics` strips it.
pub fn queue_prefix(prefix: &str) -> String {
    format!("{prefix}:")
}

/// The auth epoch every API process reads with each request (see `auth_epoch`).
pub fn auth_epoch(prefix: &str) -> String {
    format!("{prefix}:auth-epoch")
}

/// One account's request counters; the rate-limit script appends the window's start (`:<unix second>`).
pub fn rate_limit(prefix: &str, account_id: &str) -> String {
    format!("{prefix}:rl:{account_id}")
}

/// The key whose absence tells that Redis lost its data (flushed, or restarted empty) since it was set.
pub fn sentinel(prefix: &str) -> String {
    format!("{prefix}:sentinel")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_under_the_prefix() {
        let keys = [
            publish_queue("p", Platform::X),
            ready(&publish_queue("p", Platform::X)),
            wake(&publish_queue("p", Platform::X)),
            auth_epoch("p"),
            rate_limit("p", "acct_1"),
            sentinel("p"),
        ];
        for k in keys {
            assert!(k.starts_with(&queue_prefix("p")), "{k}");
        }
        assert_eq!(publish_queue("p", Platform::Youtube), "p:publish:youtube");
    }
}
