//! What the API says about a post: the 202 of `POST /v1/posts` and the post with its targets.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::posts::{PostRow, TargetRow};

/// RFC 3339 UTC with milliseconds, the one time format of the API.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `202` body of `POST /v1/posts`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPost {
    #[schema(example = "post_3hT9kQ2mZx8LwP4vB7nR1sYe")]
    pub post_submission_id: String,
    /// `queued` (publish now) or `scheduled`.
    #[schema(example = "queued")]
    pub status: String,
    pub scheduled_time: Option<String>,
    pub targets: Vec<CreatedTarget>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTarget {
    #[schema(example = "tgt_9fK2LmQ8xZ1pR7vB3nT6wYc")]
    pub target_id: String,
    #[schema(example = "x")]
    pub platform: String,
    /// The connection used: the label given in the request, or the platform's default connection.
    #[schema(example = "x_main")]
    pub account_id: String,
    #[schema(example = "pending")]
    pub status: String,
}

/// A post with its targets, as `GET /v1/posts/{id}` returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub post_submission_id: String,
    /// `scheduled`, `queued`, `publishing`, `published`, `partially_published`, `failed` or `canceled`.
    pub status: String,
    /// `false` for objects made with an `sk_test_` key.
    pub livemode: bool,
    /// The content as accepted (normalised: `mediaType` filled in).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub scheduled_time: Option<String>,
    pub created_at: String,
    pub targets: Vec<TargetView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub target_id: String,
    pub platform: String,
    pub account_id: String,
    /// `pending`, `publishing`, `retrying`, `published`, `failed`, `unknown` or `canceled`.
    pub status: String,
    /// How many publish attempts were made.
    pub attempts: i32,
    pub platform_post_id: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<String>,
    pub error: Option<TargetError>,
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
            account_id: t.account_label,
            status: t.status,
            attempts: t.attempts,
            platform_post_id: t.platform_post_id,
            url: t.url,
            published_at: t.published_at.map(fmt_time),
            error,
        }
    }
}
