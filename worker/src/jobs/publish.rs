//! The publish job: one attempt at one target. It takes a lease on the target in Postgres (only a pending or
//! due retrying target grants one, so a duplicate delivery does nothing), keeps the lease alive while the
//! platform call runs, and settles the attempt: published, retrying at a backoff that honours the
//! platform's reset, failed, or unknown (to be checked against the platform before anything is re-sent).
//! Leases and settles go through the process's batchers (`Ctx::lease`, `Ctx::settle`): many jobs' in one
//! statement, one attempt row per attempt all the same.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures::future::BoxFuture;
use serde_json::Value;
use soku_shared::jobs::PublishTarget;
use soku_shared::media::urls::{file_url, rendition_of, token_in};
use soku_shared::media_check::{self, Facts, VideoFacts};
use soku_shared::metrics;
use soku_shared::platform::Platform;
use soku_shared::status::MediaStatus;
use soku_shared::status::{PostStatus, TargetStatus};
use soku_shared::store::media as media_store;
use soku_shared::store::publish::{self as store, Leased, Settle};

use crate::adapters::{Credentials, Failure, FailureClass, PublishRequest, Published, StateSink};
use crate::backoff;
use crate::context::Ctx;
use crate::job::{Job, Outcome, renewing};

/// Longest a platform call may run before its outcome is treated as unknown.
const CALL_LIMIT: Duration = Duration::from_secs(300);

pub struct Publish;

impl Job for Publish {
    type Payload = PublishTarget;
    const NAME: &'static str = "publish";

    fn span(job: &PublishTarget) -> tracing::Span {
        tracing::info_span!("publish", post_id = %job.post_id, target_id = %job.target_id)
    }

    async fn run(ctx: &Ctx, job: &PublishTarget) -> anyhow::Result<Outcome> {
        let Some(t) = ctx
            .lease
            .call(job.target_id.clone())
            .await
            .context("taking a lease on the target")?
        else {
            tracing::debug!("target not due, taken, settled or canceled: nothing to do");
            return Ok(Outcome::Skipped);
        };
        if t.attempt == 1 {
            record_wait(&t);
        }
        attempt(ctx, t).await?;
        Ok(Outcome::Done)
    }
}

/// How long the target waited for its first attempt: past its scheduled time (lateness), or since the post
/// was accepted (pick-up).
fn record_wait(t: &Leased) {
    let now = Utc::now();
    match t.scheduled_time {
        Some(at) if at <= now && at > t.created_at => {
            metrics::lateness((now - at).as_seconds_f64())
        }
        _ => metrics::pickup((now - t.created_at).as_seconds_f64().max(0.0)),
    }
}

/// The request an adapter sees for a leased target.
pub fn request(t: &Leased) -> PublishRequest {
    PublishRequest {
        target_id: t.id.clone(),
        post_id: t.post_id.clone(),
        platform: t.platform.clone(),
        account_label: t.account_label.clone(),
        integration_id: t.integration_id.clone(),
        content: t.content.0.clone(),
        attempt: t.attempt,
        sandbox: t
            .sandbox
            .as_ref()
            .and_then(|s| s.0.get(&t.platform).cloned()),
    }
}

struct SaveState<'a> {
    ctx: &'a Ctx,
    target: &'a str,
}

impl StateSink for SaveState<'_> {
    fn save(&self, state: Value) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            anyhow::ensure!(
                store::save_platform_state(&self.ctx.db, self.target, &self.ctx.name, &state)
                    .await?,
                "the lease on the target was lost"
            );
            Ok(())
        })
    }
}

/// Calls the adapter while renewing the lease every third of its length.
async fn call_platform(ctx: &Ctx, t: &Leased, req: &PublishRequest) -> Result<Published, Failure> {
    let adapter = ctx.adapter(t.livemode, &t.platform);
    let sink = SaveState { ctx, target: &t.id };
    let call = tokio::time::timeout(CALL_LIMIT, adapter.publish(req, &t.platform_state.0, &sink));
    let every = Duration::from_secs_f64((ctx.cfg.lease_secs as f64 / 3.0).max(0.2));
    let renew = || async {
        store::renew_lease(&ctx.db, &t.id, &ctx.name, ctx.cfg.lease_secs as f64).await?;
        Ok(())
    };
    renewing(call, every, renew).await.unwrap_or_else(|_| {
        Err(Failure::new(
            FailureClass::Unknown,
            "no_confirmation",
            format!(
                "{} did not answer within {} s",
                t.platform,
                CALL_LIMIT.as_secs()
            ),
        ))
    })
}

async fn attempt(ctx: &Ctx, t: Leased) -> anyhow::Result<()> {
    let mut req = request(&t);
    let started = Instant::now();
    let checked = match media_check(ctx, &t).await? {
        Checked::Fine => None,
        Checked::Rewrite { images, video } => {
            if let Some(images) = images {
                req.content["imageUrls"] = Value::from(images);
            }
            if let Some(video) = video {
                req.content["videoUrl"] = Value::String(video);
            }
            None
        }
        Checked::Refused(f) => Some(f),
    };
    let result = match checked {
        Some(refused) => Err(refused),
        None => match call_platform(ctx, &t, &req).await {
            Err(f) if f.class == FailureClass::NeedsReauth => Err(refresh(ctx, &t, f).await),
            other => other,
        },
    };
    let secs = started.elapsed().as_secs_f64();
    let (outcome, settle) = outcome(ctx, &t, &result);
    metrics::attempt(&t.platform, outcome, secs);
    let post_status = ctx
        .settle
        .call(settle.clone())
        .await
        .context("settling the attempt")?;
    log_settled(&t, &result, &settle, post_status, secs);
    Ok(())
}

/// What the media check decided for one target.
enum Checked {
    Fine,
    /// Publish these URLs instead of the post's: Soku's copies of imported URLs, and the video's
    /// platform-safe rendition where the platform takes only safe video (`None`: unchanged).
    Rewrite {
        images: Option<Vec<String>>,
        video: Option<String>,
    },
    Refused(Failure),
}

/// The post's Soku media against the platform's media rules, before anything is sent (live and sandbox
/// alike): a failure when a file failed, is still processing (a manual retry raced its media), or breaks a
/// rule; the rendition's URL when the platform takes only safe video and the original is not. URLs that are
/// not Soku's own are not checked here.
async fn media_check(ctx: &Ctx, t: &Leased) -> anyhow::Result<Checked> {
    let content = &t.content.0;
    let images: Vec<&str> = content["imageUrls"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u.as_str()).collect())
        .unwrap_or_default();
    let video = content["videoUrl"].as_str();
    if images.is_empty() && video.is_none() {
        return Ok(Checked::Fine);
    }
    let rows = media_store::of_post(&ctx.db, &t.post_id)
        .await
        .context("reading the post's media")?;
    if rows.is_empty() {
        return Ok(Checked::Fine);
    }
    // A URL of Soku's own names its media by token; an imported URL by the media's source URL.
    let find = |url: &str| {
        rows.iter()
            .find(|m| token_in(url) == Some(m.token.as_str()))
            .or_else(|| rows.iter().find(|m| m.source_url.as_deref() == Some(url)))
    };
    let mut published_images: Vec<String> = Vec::new();
    let mut published_video: Option<String> = None;
    let mut image_facts = Vec::new();
    let mut video_facts = None;
    let named = images
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("image {}", i + 1), *u))
        .chain(video.map(|u| ("the video".to_string(), u)));
    for (what, url) in named {
        let Some(m) = find(url) else {
            if what == "the video" {
                published_video = Some(url.to_string());
            } else {
                published_images.push(url.to_string());
            }
            continue;
        };
        // Soku's own URL of the file: the post's, when it named the file so; else (an imported URL) made from
        // SOKU_PUBLIC_URL, which the workers must share with the API.
        let own = if token_in(url) == Some(m.token.as_str()) {
            url.to_string()
        } else {
            file_url(&ctx.public_url, m)
        };
        if what == "the video" {
            published_video = Some(own.clone());
        } else {
            published_images.push(own.clone());
        }
        match m.status {
            MediaStatus::Failed => {
                let why = m
                    .error_message
                    .as_deref()
                    .unwrap_or("it could not be processed");
                return Ok(Checked::Refused(Failure::new(
                    FailureClass::Permanent,
                    "media_failed",
                    format!("{what} ({}) failed: {why}", m.id),
                )));
            }
            MediaStatus::Processing => {
                return Ok(Checked::Refused(Failure::new(
                    FailureClass::Retryable {
                        retry_after: Some(Duration::from_secs(5)),
                    },
                    "media_processing",
                    format!("{what} ({}) is still processing", m.id),
                )));
            }
            MediaStatus::Ready if what == "the video" => {
                video_facts = Some((VideoFacts::of(m), rendition_of(&own)));
            }
            MediaStatus::Ready => image_facts.push(Facts::of(m)),
        }
    }
    let platform = Platform::parse(&t.platform).context("a target of an unknown platform")?;
    let broken = media_check::check(platform, &image_facts, video_facts.as_ref().map(|(v, _)| v));
    if broken.is_empty() {
        if let Some((v, copy)) = &video_facts
            && v.uses_copy(platform)
        {
            published_video = Some(copy.clone());
        }
        let images = (published_images != images).then_some(published_images);
        let video = (published_video.as_deref() != video)
            .then_some(published_video)
            .flatten();
        return Ok(if images.is_none() && video.is_none() {
            Checked::Fine
        } else {
            Checked::Rewrite { images, video }
        });
    }
    Ok(Checked::Refused(Failure::new(
        FailureClass::Permanent,
        "media_rejected",
        format!(
            "{} refuses this post's media: {}",
            t.platform,
            broken.join("; ")
        ),
    )))
}

/// A dead token: refresh once; when that works, the next attempt goes out at once.
async fn refresh(ctx: &Ctx, t: &Leased, f: Failure) -> Failure {
    let adapter = ctx.adapter(t.livemode, &t.platform);
    match adapter.refresh_token(&Credentials(Value::Null)).await {
        Err(refresh) => Failure {
            message: format!(
                "{}; refreshing the token failed: {}",
                f.message, refresh.message
            ),
            ..f
        },
        Ok(_) => Failure::new(
            FailureClass::Retryable {
                retry_after: Some(Duration::ZERO),
            },
            &f.code,
            "the token was refreshed; trying again",
        ),
    }
}

fn log_settled(
    t: &Leased,
    result: &Result<Published, Failure>,
    settle: &Settle,
    post_status: Option<PostStatus>,
    secs: f64,
) {
    match (result, post_status) {
        (_, None) => tracing::warn!(
            attempt = t.attempt,
            "the lease was lost before the attempt settled; its outcome is left to whoever holds it"
        ),
        (Ok(p), Some(status)) => tracing::info!(
            platform = %t.platform,
            attempt = t.attempt,
            platform_post_id = %p.platform_post_id,
            post_status = %status,
            ms = (secs * 1000.0) as u64,
            "target published"
        ),
        (Err(f), Some(status)) => tracing::warn!(
            platform = %t.platform,
            attempt = t.attempt,
            code = %f.code,
            message = %f.message,
            target_status = %settle.status,
            next_attempt_at = ?settle.next_attempt_at,
            post_status = %status,
            "attempt did not publish"
        ),
    }
}

/// How an attempt's result is stored: the metric outcome and the settle arguments.
fn outcome(ctx: &Ctx, t: &Leased, result: &Result<Published, Failure>) -> (&'static str, Settle) {
    let f = match result {
        Ok(p) => {
            let published = Settle {
                target_id: t.id.clone(),
                attempt: Some(t.attempt),
                status: TargetStatus::Published,
                platform_post_id: Some(p.platform_post_id.clone()),
                url: Some(p.url.clone()),
                error_code: None,
                error_message: None,
                retryable: None,
                next_attempt_at: None,
            };
            return ("published", published);
        }
        Err(f) => f,
    };
    let failed = Settle {
        target_id: t.id.clone(),
        attempt: Some(t.attempt),
        status: TargetStatus::Failed,
        platform_post_id: None,
        url: None,
        error_code: Some(f.code.clone()),
        error_message: Some(f.message.clone()),
        retryable: Some(false),
        next_attempt_at: None,
    };
    match &f.class {
        FailureClass::Retryable { retry_after } => retry_or_fail(ctx, t, *retry_after, failed),
        FailureClass::NeedsReauth | FailureClass::Permanent => ("failed", failed),
        FailureClass::Unknown => {
            let unknown = Settle {
                status: TargetStatus::Unknown,
                retryable: None,
                next_attempt_at: Some(Utc::now() + chrono::Duration::seconds(1)),
                ..failed
            };
            ("unknown", unknown)
        }
    }
}

/// A retryable failure: another attempt after the backoff (never before the platform's reset), or `failed`
/// once the round's automatic attempts are spent (still retryable by hand).
fn retry_or_fail(
    ctx: &Ctx,
    t: &Leased,
    retry_after: Option<Duration>,
    failed: Settle,
) -> (&'static str, Settle) {
    let retryable = Settle {
        retryable: Some(true),
        ..failed
    };
    if t.round_attempts >= ctx.cfg.publish_max_attempts as i32 {
        return ("failed", retryable);
    }
    let base = Duration::from_millis(ctx.cfg.retry_base_ms);
    let wait = backoff::delay(t.round_attempts, base, retry_after);
    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    let retrying = Settle {
        status: TargetStatus::Retrying,
        next_attempt_at: Some(next),
        ..retryable
    };
    ("retrying", retrying)
}
