//! Job payloads handed from the API to the workers through Redis, and the queue names they travel on.
//! Payloads carry ids, never content: Postgres holds the truth and each job re-reads it.

use serde::{Deserialize, Serialize};

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

/// The name of the dispatch queue under a Redis prefix.
pub fn dispatch_queue(prefix: &str) -> String {
    format!("{prefix}:dispatch")
}
