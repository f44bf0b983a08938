//! `/v1/posts`: create (validate every target, store post and targets in one statement, enqueue),
//! list, read, cancel, retry.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::Utc;
use serde_json::json;
use soku_shared::{
    crypto::sha256,
    ids::{IdPrefix, new_id},
    jobs::DispatchPost,
    platform::Platform,
    post::{CreatedPost, CreatedTarget, PostView, fmt_time},
    store::{
        integrations,
        posts::{self, Change, IdemRecord, NewPost, NewTarget},
    },
    validate::{TargetRequest, ValidationFailure, validate_post},
};

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody, current_request_id},
    id_path::Id,
    idempotency::{self, json_response},
    pagination::{self, Page},
    queue::enqueue_dispatch_or_log,
    state::AppState,
};

const PATH: &str = "/v1/posts";

/// Create a post for one or more platforms, now or at `scheduledTime`.
#[utoipa::path(post, path = "/v1/posts", tag = "posts",
    request_body = soku_shared::validate::CreatePostRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe: 1..255 printable characters, kept 24 h")),
    responses(
        (status = 202, description = "Accepted and stored; publishing happens in the background", body = CreatedPost),
        (status = 400, description = "`invalid_json`, `invalid_content_type`, `validation_error`, `missing_integrations` or `invalid_scheduled_time`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    let key = idempotency::key_from(&headers)?;
    let hash = sha256(&body.bytes);
    if let Some(key) = &key
        && let Some(answer) =
            idempotency::existing(&state, &caller, key, "POST", PATH, &hash).await?
    {
        return Ok(answer);
    }
    let tolerance = chrono::Duration::seconds(state.settings.schedule_tolerance_secs as i64);
    let post =
        validate_post(&body.value, Utc::now(), tolerance).map_err(|failure| match failure {
            ValidationFailure::Fields(fields) => ApiError::validation(fields),
            ValidationFailure::ScheduledTime(fields) => ApiError::scheduled_time(fields),
        })?;
    let targets = resolve_targets(&state, &caller, &post.targets).await?;
    let post_id = new_id(IdPrefix::Post);
    let status = if post.scheduled_time.is_some_and(|t| t > Utc::now()) {
        "scheduled"
    } else {
        "queued"
    };
    let created = CreatedPost {
        post_submission_id: post_id.clone(),
        status: status.to_string(),
        scheduled_time: post.scheduled_time.map(fmt_time),
        targets: targets
            .iter()
            .map(|t| CreatedTarget {
                target_id: t.id.clone(),
                platform: t.platform.clone(),
                account_id: t.account_label.clone(),
                status: "pending".into(),
            })
            .collect(),
    };
    let response_body = serde_json::to_vec(&created).map_err(ApiError::internal)?;
    let content = serde_json::to_value(&post.content).map_err(ApiError::internal)?;
    let request_id = current_request_id();
    let new_post = NewPost {
        id: &post_id,
        account_id: &caller.account_id,
        livemode: caller.livemode,
        status,
        content: &content,
        scheduled_time: post.scheduled_time,
        request_id: &request_id,
        targets: &targets,
    };
    let record = key.as_deref().map(|key| IdemRecord {
        scope: idempotency::scope(&caller, key),
        method: "POST",
        path: PATH,
        request_hash: &hash,
        status: 202,
        body: &response_body,
    });
    if !posts::insert(&state.db, &new_post, record.as_ref()).await? {
        // A concurrent request with the same key won the insert: answer as it did.
        let key = key.as_deref().unwrap_or_default();
        let answer = idempotency::existing(&state, &caller, key, "POST", PATH, &hash).await?;
        return Ok(answer.unwrap_or_else(idempotency::in_progress));
    }
    let job = DispatchPost {
        post_id: post_id.clone(),
        livemode: caller.livemode,
        request_id,
    };
    enqueue_dispatch_or_log(&state, &job, post.scheduled_time).await;
    tracing::info!(post_id = %post_id, targets = targets.len(), status, "post accepted");
    Ok(json_response(StatusCode::ACCEPTED, response_body))
}

/// Picks the connection of every target. Live posts need a connected account for each target (all
/// missing ones are reported together); test posts fall back to a sandbox account.
async fn resolve_targets(
    state: &AppState,
    caller: &Caller,
    wanted: &[TargetRequest],
) -> ApiResult<Vec<NewTarget>> {
    let mut names: Vec<&str> = wanted.iter().map(|t| t.platform.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let connections =
        integrations::for_platforms(&state.db, &caller.account_id, caller.livemode, &names).await?;
    let mut targets = Vec::with_capacity(wanted.len());
    let mut missing = Vec::new();
    for want in wanted {
        let platform = want.platform.as_str();
        let found = connections.iter().find(|c| {
            c.platform == platform
                && want
                    .account_id
                    .as_ref()
                    .map_or(c.is_default, |label| &c.account_label == label)
        });
        let (label, integration_id) = match (found, caller.livemode) {
            (Some(c), _) => (c.account_label.clone(), Some(c.id.clone())),
            (None, false) => (
                want.account_id
                    .clone()
                    .unwrap_or_else(|| sandbox_label(want.platform)),
                None,
            ),
            (None, true) => {
                missing.push(match &want.account_id {
                    Some(label) => json!({ "platform": platform, "accountId": label }),
                    None => json!({ "platform": platform }),
                });
                continue;
            }
        };
        targets.push(NewTarget {
            id: new_id(IdPrefix::Target),
            platform: platform.to_string(),
            account_label: label,
            integration_id,
        });
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|m| match m.get("accountId") {
                Some(label) => format!(
                    "{} ({})",
                    m["platform"].as_str().unwrap_or(""),
                    label.as_str().unwrap_or("")
                ),
                None => m["platform"].as_str().unwrap_or("").to_string(),
            })
            .collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_integrations",
            format!("These platforms are not connected to your account: {}. Connect them first (POST /v1/integrations).", list.join(", ")),
        )
        .with_details(json!({ "missing": missing })));
    }
    Ok(targets)
}

fn sandbox_label(platform: Platform) -> String {
    format!("sandbox_{}", platform.as_str())
}

/// List posts, newest first.
#[utoipa::path(get, path = "/v1/posts", tag = "posts",
    params(("limit" = Option<i64>, Query, description = "1..100, default 20"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
           ("status" = Option<String>, Query, description = "Only posts in this status")),
    responses((status = 200, body = Page<PostView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<axum::Json<Page<PostView>>> {
    let params = pagination::parse(query.as_deref(), &["status"])?;
    let status = params
        .extra
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str());
    const STATUSES: [&str; 7] = [
        "scheduled",
        "queued",
        "publishing",
        "published",
        "partially_published",
        "failed",
        "canceled",
    ];
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(ApiError::field(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ));
    }
    let rows = posts::list(
        &state.db,
        &caller.account_id,
        caller.livemode,
        status,
        params.after,
        params.limit + 1,
    )
    .await?;
    Ok(axum::Json(pagination::page(
        rows,
        params.limit,
        |(p, _)| (p.created_at, p.id.clone()),
        |(p, t)| PostView::from_rows(p, t),
    )))
}

/// Read a post with the live state of its targets.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<axum::Json<PostView>> {
    match posts::get(&state.db, &caller.account_id, caller.livemode, &id).await? {
        Some((p, t)) => Ok(axum::Json(PostView::from_rows(p, t))),
        None => Err(ApiError::not_found("post")),
    }
}

/// Cancel a post none of whose targets has started.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<axum::Json<PostView>> {
    match posts::cancel(&state.db, &caller.account_id, caller.livemode, &id).await? {
        Change::Done(p, t) => Ok(axum::Json(PostView::from_rows(p, t))),
        Change::NotFound => Err(ApiError::not_found("post")),
        Change::Conflict(status) => Err(ApiError::conflict(format!(
            "This post can no longer be canceled: it is {status} and publishing has started or finished."
        ))),
    }
}

/// Re-queue the failed targets of a post.
#[utoipa::path(post, path = "/v1/posts/{id}/retry", tag = "posts", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = PostView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key = idempotency::key_from(&headers)?;
    let path = format!("/v1/posts/{id}/retry");
    idempotency::guarded(&state, &caller, key.as_deref(), "POST", &path, b"", async {
        match posts::retry_failed(&state.db, &caller.account_id, caller.livemode, &id).await? {
            Change::Done(p, t) => {
                let job = DispatchPost {
                    post_id: p.id.clone(),
                    livemode: caller.livemode,
                    request_id: current_request_id(),
                };
                enqueue_dispatch_or_log(&state, &job, None).await;
                let body =
                    serde_json::to_vec(&PostView::from_rows(p, t)).map_err(ApiError::internal)?;
                Ok((StatusCode::ACCEPTED, body))
            }
            Change::NotFound => Err(ApiError::not_found("post")),
            Change::Conflict(status) => Err(ApiError::conflict(format!(
                "Nothing to retry: this post is {status} and has no failed targets."
            ))),
        }
    })
    .await
}
