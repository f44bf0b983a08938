//! The platform adapter trait: what every platform's publisher speaks, so that the publish job, the retry
//! policy and the reconciler never know which platform they drive. The sandbox (test mode) implements it
//! here; the real platforms' adapters implement it in their own modules.

pub mod sandbox;

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

/// Everything an adapter needs to publish one target.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    pub target_id: String,
    pub post_id: String,
    pub platform: String,
    pub account_label: String,
    pub integration_id: Option<String>,
    /// The post's `content` as accepted (text, mediaType, imageUrls, videoUrl, platform options).
    pub content: Value,
    /// This attempt's number, starting at 1.
    pub attempt: i32,
    /// Test mode only: the sandbox behaviour asked for this platform (see docs/sandbox.md).
    pub sandbox: Option<Value>,
}

/// A post that exists on the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub platform_post_id: String,
    pub url: String,
}

/// Why an attempt did not publish, in the failure classes of docs/platforms.md.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureClass {
    /// Try again later: 429, 5xx, a network error before the request was sent, "still processing".
    /// `retry_after`: the platform's reset time, when it gave one.
    Retryable { retry_after: Option<Duration> },
    /// The connection's token is dead (and a refresh did not help): the user must reconnect.
    NeedsReauth,
    /// The platform refused the post itself; sending it again cannot help.
    Permanent,
    /// The request may have reached the platform but no answer came back: check before sending again.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub class: FailureClass,
    /// Stable, machine-readable (`rate_limited`, `platform_unavailable`, `token_expired`, ...).
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(class: FailureClass, code: &str, message: impl Into<String>) -> Self {
        Failure {
            class,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Where an adapter stores platform-side ids the moment they exist (container id, upload URI...). The
/// stored state comes back in the next attempt's `resume`, so that it continues instead of starting over.
pub trait StateSink: Send + Sync {
    fn save(&self, state: Value) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// What the reconciler learns when it asks a platform about a post whose outcome is unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The platform has it: the target is published.
    Found(Published),
    /// The platform certainly does not have it: sending it again is safe.
    NotFound,
    /// This platform offers no way to tell: the target stays `unknown` and is shown to the user.
    Unsupported,
}

/// A connection's credentials, opened from their sealed form for the duration of one call.
#[derive(Debug, Clone)]
pub struct Credentials(pub Value);

/// One platform's publisher.
pub trait PlatformAdapter: Send + Sync {
    /// Publishes, resuming from `resume` (the platform-side ids an earlier attempt stored).
    fn publish<'a>(
        &'a self,
        req: &'a PublishRequest,
        resume: &'a Value,
        state: &'a dyn StateSink,
    ) -> BoxFuture<'a, Result<Published, Failure>>;

    /// Checks whether the post of `req` exists on the platform (after an unknown outcome).
    fn lookup<'a>(&'a self, req: &'a PublishRequest) -> BoxFuture<'a, Result<Lookup, Failure>>;

    /// Exchanges a refresh token for a new access token; `NeedsReauth` when the refresh token is dead too.
    fn refresh_token<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Credentials, Failure>>;
}

/// The adapter behind live posts until a platform's real adapter exists: it fails every attempt plainly.
pub struct Unavailable;

impl PlatformAdapter for Unavailable {
    fn publish<'a>(
        &'a self,
        req: &'a PublishRequest,
        _resume: &'a Value,
        _state: &'a dyn StateSink,
    ) -> BoxFuture<'a, Result<Published, Failure>> {
        Box::pin(async move {
            Err(Failure::new(
                FailureClass::Permanent,
                "platform_not_available",
                format!(
                    "publishing to {} is not available on this server yet; the post is kept and can be \
                     retried (POST /v1/posts/{}/retry) once it is",
                    req.platform, req.post_id
                ),
            ))
        })
    }

    fn lookup<'a>(&'a self, _req: &'a PublishRequest) -> BoxFuture<'a, Result<Lookup, Failure>> {
        Box::pin(async { Ok(Lookup::Unsupported) })
    }

    fn refresh_token<'a>(
        &'a self,
        _credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Credentials, Failure>> {
        Box::pin(async {
            Err(Failure::new(
                FailureClass::NeedsReauth,
                "reauth_required",
                "no refresh is possible for this platform yet",
            ))
        })
    }
}
