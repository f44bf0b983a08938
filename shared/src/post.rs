//! What the API says about a post: the 202 of `POST /v1/posts` and the post with its targets.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::Platform;
use crate::store::posts::{PostRow, TargetRow};
use crate::validate::Content;

/// RFC 3339 UTC with milliseconds, the one time format of the API.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub use crate::status::{PostStatus, TargetStatus};

/// The status of a post at creation: `queued` (publish now) or `scheduled`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreatedStatus {
    Queued,
    Scheduled,
}

/// `202` body of `POST /v1/posts`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPost {
    #[schema(example = "post_3hT9kQ2mZx8LwP4vB7nR1sYe")]
    pub post_submission_id: String,
    #[schema(value_type = CreatedStatus)]
    pub status: String,
    /// In UTC; null when the post publishes now.
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub scheduled_time: Option<String>,
    pub targets: Vec<CreatedTarget>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTarget {
    #[schema(example = "tgt_9fK2LmQ8xZ1pR7vB3nT6wYc")]
    pub target_id: String,
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The connection used: the label given in the request, or the platform's default connection.
    #[schema(example = "x_main")]
    #[serde(rename = "accountId")]
    pub label: String,
    /// Always `pending` at creation.
    #[schema(value_type = TargetStatus)]
    pub status: String,
}

/// A post with its targets, as `GET /v1/posts/{id}` returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub post_submission_id: String,
    #[schema(value_type = PostStatus)]
    pub status: String,
    /// `false` for objects made with an `sk_test_` key.
    pub livemode: bool,
    /// The content as accepted (normalised: `mediaType` filled in).
    #[schema(value_type = Content)]
    pub content: serde_json::Value,
    /// In UTC; null for a post published at once.
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub scheduled_time: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub targets: Vec<TargetView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub target_id: String,
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The connection's label (`accountId` in requests).
    #[serde(rename = "accountId")]
    pub label: String,
    #[schema(value_type = TargetStatus)]
    pub status: String,
    /// How many publish attempts were made.
    #[schema(minimum = 0)]
    pub attempts: i32,
    #[schema(required = true)]
    pub platform_post_id: Option<String>,
    #[schema(required = true)]
    pub url: Option<String>,
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    pub published_at: Option<String>,
    /// The last error while the target is `retrying`, `failed` or `unknown`.
    #[schema(required = true)]
    pub error: Option<TargetError>,
    /// Why a `pending` target is not being published yet: `media` (a media file of the post is still
    /// processing; the target goes as soon as it is ready). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TargetError {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl PostView {
    pub fn from_rows(post: PostRow, targets: Vec<TargetRow>) -> PostView {
        PostView {
            post_submission_id: post.id,
            status: post.status,
            livemode: post.livemode,
            content: post.content.0,
            scheduled_time: post.scheduled_time.map(fmt_time),
            created_at: fmt_time(post.created_at),
            targets: targets.into_iter().map(TargetView::from_row).collect(),
        }
    }
}

impl TargetView {
    fn from_row(t: TargetRow) -> TargetView {
        let error = t.error_code.map(|code| TargetError {
            code,
            message: t.error_message.unwrap_or_default(),
            retryable: t.error_retryable.unwrap_or(false),
        });
        TargetView {
            target_id: t.id,
            platform: t.platform,
            label: t.account_label,
            status: t.status,
            attempts: t.attempts,
            platform_post_id: t.platform_post_id,
            url: t.url,
            published_at: t.published_at.map(fmt_time),
            error,
            waiting_for: t.waiting_for,
        }
    }
}
