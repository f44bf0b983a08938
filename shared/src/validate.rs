//! Intake validation of a `POST /v1/posts` body. The body is walked as a `serde_json::Value` rather than
//! deserialized, so that every problem is found in one pass and reported together, each naming its JSON path
//! (`post.content.imageUrls[2]`): wrong JSON types, unknown fields, bad URLs, media that contradicts `mediaType`,
//! every target platform's rules from [`crate::rules`], and `scheduledTime`. A valid body comes back as a
//! [`ValidatedPost`] whose [`Content`] is the normalized form that is stored and returned by `GET /v1/posts`.
//!
//! Not checked here, because nothing is known about the media yet: file sizes, types and video durations. Those
//! rules are in the same table and are applied when the media has been fetched and probed.

mod content;
mod entries;
pub use entries::account_id_problem;
mod fields;
mod hints;
mod sandbox;
pub use sandbox::BEHAVIORS as SANDBOX_BEHAVIORS;
mod schedule;
mod targets;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::{MediaType, Platform};

pub use schedule::MAX_DAYS_AHEAD;

/// How many characters of a client's input an error message may quote.
pub const EXCERPT_CHARS: usize = 64;

/// A client's text as an error message may quote it: at most [`EXCERPT_CHARS`] characters, `…` when cut, and
/// control and invisible formatting characters (bidi overrides, zero-width, line separators) escaped as `\u{…}`,
/// so that an echo can neither grow a response nor hide or reorder text where it is displayed.
pub fn excerpt(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}');
        if c.is_control() || invisible {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// One thing wrong with a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// JSON path of the failing field, e.g. `post.content.platform[1].accountId`.
    pub field: String,
    /// What is wrong, naming the limit that was crossed.
    pub message: String,
    /// The target platform whose rule failed, when the rule is a platform's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// Why a post body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationFailure {
    /// One or more fields are wrong (400 `validation_error`); `scheduledTime` problems are included here too when
    /// anything else is wrong.
    Fields(Vec<FieldError>),
    /// The only problem is `scheduledTime` (400 `invalid_scheduled_time`); every entry names `scheduledTime`.
    ScheduledTime(Vec<FieldError>),
}

impl ValidationFailure {
    /// The API error code: `validation_error` or `invalid_scheduled_time`.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationFailure::Fields(_) => "validation_error",
            ValidationFailure::ScheduledTime(_) => "invalid_scheduled_time",
        }
    }

    /// The failing fields, in the order they were found.
    pub fn errors(&self) -> &[FieldError] {
        match self {
            ValidationFailure::Fields(e) | ValidationFailure::ScheduledTime(e) => e,
        }
    }
}

/// A post body that passed intake validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedPost {
    /// Normalized content, stored as JSON and returned by `GET /v1/posts`.
    pub content: Content,
    /// One per `platform` entry, in request order.
    pub targets: Vec<TargetRequest>,
    /// In UTC. May be up to the past tolerance before `now` (the caller publishes such a post at once).
    pub scheduled_time: Option<DateTime<Utc>>,
    /// Test mode only: how the sandbox should misbehave, per platform (docs/sandbox.md).
    pub sandbox: Option<serde_json::Value>,
}

/// One target of a post: a platform and, optionally, which connection of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRequest {
    pub platform: Platform,
    /// `None`: the account's default connection for the platform.
    pub account_id: Option<String>,
}

/// A post's content as stored: `mediaType` always set (inferred when the request left it out), blank `text` and
/// `title` dropped, `platform` entries as given (an object without `accountId` becomes a bare name).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub text: Option<String>,
    pub media_type: MediaType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub platform: Vec<PlatformEntry>,
}

/// A target as written in `platform`: a bare platform name (the default connection) or one named connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PlatformEntry {
    /// The account's default connection for this platform.
    Name(Platform),
    /// One connection, by the `accountId` it was registered with.
    Account {
        platform: Platform,
        #[serde(rename = "accountId")]
        account_id: String,
    },
}

/// Body of `POST /v1/posts` (for the API reference; the server validates the raw JSON, and refuses unknown fields
/// at every level).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePostRequest {
    /// The post to publish.
    pub post: PostInput,
    /// When to publish, RFC 3339 with an explicit offset (`Z` or `+hh:mm`), e.g. `2026-03-09T14:00:00.000Z`.
    /// Absent or null: publish now. A time without an offset is refused, never guessed. Up to 5 minutes in the
    /// past (the server's documented tolerance) publishes now; further in the past, or more than 365 days ahead,
    /// is refused with `invalid_scheduled_time`.
    #[schema(format = DateTime, example = "2026-03-09T14:00:00.000Z")]
    pub scheduled_time: Option<String>,
    /// Test mode (`sk_test_` keys) only: make the sandbox behave like a platform in trouble, per target
    /// platform, e.g. `{"x": {"behavior": "rate_limited", "times": 2, "retryAfterSeconds": 3}}`. Behaviours:
    /// `rate_limited` (429 with a reset time, `retryAfterSeconds`, default 1), `server_error` (503),
    /// `token_expired` (401; the refresh fails too), `rejected` (a permanent refusal), `slow` (`delayMs`,
    /// default 2000, then success), `unconfirmed` (the post is taken but never confirmed). `times`: how many
    /// attempts misbehave (default 1). See docs/sandbox.md.
    #[schema(value_type = Option<Object>)]
    pub sandbox: Option<serde_json::Value>,
}

/// The post itself.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostInput {
    /// What to publish, and where.
    pub content: ContentInput,
}

/// What to publish and where. Every target is checked against its platform's rules at intake, and every failure
/// is reported in one 400.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentInput {
    /// The post's text (the caption; YouTube's description). Required for a text post. At most 63,206 characters,
    /// and each platform's own limit as that platform counts it: x 280 weighted (CJK and emoji count 2, every
    /// URL 23), threads 500, instagram 2,200 with at most 30 hashtags, facebook 63,206, linkedin 3,000, tiktok
    /// 2,200 UTF-16 code units, youtube 5,000 bytes without `<` or `>`. Control characters other than newline,
    /// carriage return and tab are refused.
    #[schema(example = "Just shipped our biggest update yet.")]
    pub text: Option<String>,
    /// `text`, `image` or `video`. When absent it is inferred: `videoUrl` → video, `imageUrls` → image, else text.
    /// `text` takes no media, `image` needs `imageUrls`, `video` needs `videoUrl`.
    pub media_type: Option<MediaType>,
    /// Absolute http(s) URLs (at most 2,048 characters each), at most 35. Per platform: x 4, threads 20,
    /// instagram 10, facebook 10, linkedin 20, tiktok 35; youtube takes no images.
    pub image_urls: Option<Vec<String>>,
    /// Absolute http(s) URL of the one video, e.g. the `url` returned by `POST /v1/media`.
    pub video_url: Option<String>,
    /// Targets, 1 to 50: a platform name (`threads`, `x`, `linkedin`, `instagram`, `facebook`, `tiktok`,
    /// `youtube`) for the default connection, or `{"platform", "accountId"}` for one connection. Duplicates are
    /// refused.
    pub platform: Vec<PlatformEntry>,
    /// Title, at most 100 characters. Required by youtube (which also refuses `<` and `>` in it).
    pub title: Option<String>,
}

/// Validates a `POST /v1/posts` body against the API contract and the rules of every target platform.
///
/// `now` is the server's clock; a `scheduledTime` more than `past_tolerance` before it is refused.
pub fn validate_post(
    body: &serde_json::Value,
    now: DateTime<Utc>,
    past_tolerance: Duration,
) -> Result<ValidatedPost, ValidationFailure> {
    let mut errs = fields::Errors::default();
    let mut walked = None;
    let mut scheduled_time = None;
    let mut sandbox = None;
    if let Some(top) = errs.top_object(body) {
        let post = errs.object_field("", "post", top.get("post"));
        let fields = post.and_then(|p| errs.object_field("post", "content", p.get("content")));
        walked = fields.map(|c| content::content(&mut errs, c));
        scheduled_time =
            schedule::scheduled_time(&mut errs, top.get("scheduledTime"), now, past_tolerance);
        if let Some((_, targets)) = &walked {
            let platforms: Vec<Platform> =
                targets.iter().map(|t: &TargetRequest| t.platform).collect();
            sandbox = sandbox::sandbox(&mut errs, top.get("sandbox"), &platforms);
        } else if top.get("sandbox").is_some_and(|v| !v.is_null()) {
            sandbox = sandbox::sandbox(&mut errs, top.get("sandbox"), &Platform::ALL);
        }
    }
    let errors = errs.into_vec();
    match walked {
        Some((content, targets)) if errors.is_empty() => Ok(ValidatedPost {
            content,
            targets,
            scheduled_time,
            sandbox,
        }),
        _ if !errors.is_empty() && errors.iter().all(|e| e.field == schedule::FIELD) => {
            Err(ValidationFailure::ScheduledTime(errors))
        }
        _ => Err(ValidationFailure::Fields(errors)),
    }
}
