//! Job payloads handed to the workers through Redis, and the queue names they travel on. Payloads carry ids,
//! never content: Postgres holds the truth and each job re-reads it.

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// Turn a post into one publish job per target. Safe to run twice: the worker starts with a conditional
/// state change in Postgres.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DispatchPost {
    pub post_id: String,
    pub livemode: bool,
    /// The request that created (or retried) the post, so one id follows it into every log line.
    pub request_id: String,
}

/// Publish one target. Safe to run twice: the worker first takes a lease on the target in Postgres, which
/// only a `pending` or due `retrying` target grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublishTarget {
    pub target_id: String,
    pub post_id: String,
    pub request_id: String,
}

/// The name of the dispatch queue under a Redis prefix.
pub fn dispatch_queue(prefix: &str) -> String {
    format!("{prefix}:dispatch")
}

/// The publish queue of one platform: each platform has its own, so a slow one cannot starve the others.
pub fn publish_queue(prefix: &str, platform: Platform) -> String {
    format!("{prefix}:publish:{}", platform.as_str())
}
