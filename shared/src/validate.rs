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
    /// The connection's label (`accountId`); `None`: the account's default connection for the platform.
    pub label: Option<String>,
}

/// A post's content as stored: `mediaType` always set (inferred when the request left it out), blank `text` and
/// `title` dropped, `platform` entries as given (an object without `accountId` becomes a bare name).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[schema(required = true)]
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
        label: String,
    },
}

/// Body of `POST /v1/posts` (for the API reference; the server validates the raw JSON, and refuses unknown fields
/// at every level). Null is absence for every optional field, here and in every request body: `"title": null` is
/// the same as no `title`; null for a required field is that field missing.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePostRequest {
    /// The post to publish.
    pub post: PostInput,
    /// When to publish, RFC 3339 with an explicit offset (`Z` or `+hh:mm`). Absent or null: publish now. A time
    /// without an offset is refused, never guessed. Up to 5 minutes in the past (the server's documented
    /// tolerance) publishes now; further in the past, or more than 365 days ahead, is refused with
    /// `invalid_scheduled_time`.
    #[schema(format = DateTime)]
    pub scheduled_time: Option<String>,
    /// Test mode only; described in `sandbox_schema`.
    #[schema(schema_with = sandbox_schema)]
    pub sandbox: Option<serde_json::Value>,
}

/// How the sandbox misbehaves for one platform (docs/sandbox.md).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SandboxBehavior {
    /// What the platform does.
    #[schema(schema_with = sandbox_behavior_names)]
    pub behavior: String,
    /// How many attempts misbehave (default 1).
    #[schema(minimum = 1, maximum = 100)]
    pub times: Option<u32>,
    /// `rate_limited`: seconds until the platform's reset (default 1).
    #[schema(minimum = 0, maximum = 3600)]
    pub retry_after_seconds: Option<u32>,
    /// `slow`: milliseconds before the platform answers (default 2000).
    #[schema(minimum = 0, maximum = 120000)]
    pub delay_ms: Option<u32>,
}

/// `sandbox` in the API reference: keyed by platform, each value a [`SandboxBehavior`] or null.
fn sandbox_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Ref, Schema, Type, schema::SchemaType};
    let names = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Platform::ALL.map(Platform::as_str)));
    let behavior = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(Ref::from_schema_name("SandboxBehavior"))
        .build();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some(
            "Test mode (`sk_test_` keys) only: make the sandbox behave like a platform in trouble, per target \
             platform (each key must be one of the post's targets), e.g. `{\"x\": {\"behavior\": \
             \"rate_limited\", \"times\": 2, \"retryAfterSeconds\": 3}}`. Behaviours: `rate_limited` (429 with a \
             reset time, `retryAfterSeconds`, default 1), `server_error` (503), `token_expired` (401; the refresh \
             fails too), `rejected` (a permanent refusal), `slow` (`delayMs`, default 2000, then success), \
             `unconfirmed` (the post is taken but never confirmed). `times`: how many attempts misbehave (default \
             1). See docs/sandbox.md.",
        ))
        .property_names(Some(names))
        .additional_properties(Some(Schema::OneOf(behavior)))
        .build()
}

fn sandbox_behavior_names() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(SANDBOX_BEHAVIORS.iter().copied()))
        .build()
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
    #[schema(
        example = "Just shipped our biggest update yet.",
        max_length = 63206,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    )]
    pub text: Option<String>,
    /// `text`, `image` or `video`. When absent it is inferred: `videoUrl` → video, `imageUrls` → image, else text.
    /// `text` takes no media, `image` needs `imageUrls`, `video` needs `videoUrl`.
    pub media_type: Option<MediaType>,
    /// Image URLs; the limits are in `image_urls_schema`.
    #[schema(schema_with = image_urls_schema)]
    pub image_urls: Option<Vec<String>>,
    /// Absolute http(s) URL of the one video (at most 2,048 characters), e.g. the `url` returned by
    /// `POST /v1/media`.
    #[schema(
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$"
    )]
    pub video_url: Option<String>,
    /// The targets; the limits are in `targets_schema`.
    #[schema(schema_with = targets_schema)]
    pub platform: Vec<PlatformEntry>,
    /// Title, at most 100 characters. Required by youtube (which also refuses `<` and `>` in it); when it is
    /// absent, youtube's title is the first line of the text.
    #[schema(max_length = 100, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
    pub title: Option<String>,
}

/// A target as a request may write it: a platform name, or `{"platform", "accountId"}` (an `accountId` that is
/// absent or null means the default connection, as a bare name does).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TargetInput {
    /// The account's default connection for this platform.
    Name(Platform),
    /// One connection, by the `accountId` it was registered with.
    Account(AccountTarget),
}

/// One connection of a platform, by its label.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountTarget {
    pub platform: Platform,
    /// The label the connection was registered with (`POST /v1/integrations`): 1..100 printable characters,
    /// spaces only inside.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?$"
    )]
    #[serde(rename = "accountId")]
    pub label: Option<String>,
}

/// A media URL in the API reference: `http://` or `https://` (any case), then no white space or control characters.
/// The server also parses it (WHATWG rules) and wants a host.
const MEDIA_URL_PATTERN: &str = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$";

fn image_urls_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type, schema::SchemaType};
    let url = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(2048))
        .pattern(Some(MEDIA_URL_PATTERN));
    ArrayBuilder::new()
        .description(Some(
            "Absolute http(s) URLs (at most 2,048 characters each), at most 35. Per platform: x 4, threads \
             20, instagram 10, facebook 10, linkedin 20, tiktok 35; youtube takes no images.",
        ))
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(url)
        .max_items(Some(35))
        .build()
}

fn targets_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, Ref};
    ArrayBuilder::new()
        .description(Some(
            "Targets, 1 to 50: a platform name (`threads`, `x`, `linkedin`, `instagram`, `facebook`, \
             `tiktok`, `youtube`) for the default connection, or `{\"platform\", \"accountId\"}` for one \
             connection. Duplicates are refused (also `\"x\"` beside `{\"platform\": \"x\"}`: both name x's default \
             connection).",
        ))
        .items(Ref::from_schema_name("TargetInput"))
        .min_items(Some(1))
        .max_items(Some(50))
        .unique_items(true)
        .build()
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
