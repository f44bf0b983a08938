//! `/v1/posts`: create (validate every target, store post and targets in one statement, enqueue),
//! list, read, cancel, retry.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::Utc;
use serde_json::{Value, json};
use soku_shared::media::urls::own_token;
use soku_shared::media_check::{self, Facts, VideoFacts};
use soku_shared::status::MediaStatus;
use soku_shared::store::media as media_store;
use soku_shared::store::posts::Retried;
use soku_shared::{
    crypto::sha256,
    ids::{IdPrefix, new_id},
    platform::Platform,
    post::{CreatedPost, PostStatus, PostView, fmt_time},
    store::posts::{
        self, Change, IdemKey, Inserted, MissingTarget, NewPost, TwinTarget, WantedTarget,
    },
    validate::{FieldError, ValidatedPost, ValidationFailure, validate_post},
};

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    handoff::hand_over_post,
    id_path::Id,
    idempotency::{self, Begun, json_response},
    pagination::{self, Page},
    request_id::current_request_id,
    state::AppState,
};

const PATH: &str = "/v1/posts";

/// Create a post for one or more platforms, now or at `scheduledTime`.
#[utoipa::path(post, path = "/v1/posts", tag = "posts", operation_id = "createPost",
    request_body = soku_shared::validate::CreatePostRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$",
            description = "Makes a retried request safe: 1..255 printable ASCII characters, kept 24 h")),
    responses(
        (status = 202, description = "Accepted and stored; publishing happens in the background", body = CreatedPost, links(
            ("getPost" = (operation_id = "getPost", parameters(("id" = "$response.body#/postSubmissionId")))),
            ("cancelPost" = (operation_id = "cancelPost", parameters(("id" = "$response.body#/postSubmissionId")))),
            ("retryPost" = (operation_id = "retryPost", parameters(("id" = "$response.body#/postSubmissionId")))))),
        (status = 400, description = "`invalid_content_type`, `invalid_json`, `validation_error` (every failing field, a bad \
            `Idempotency-Key` too), `missing_integrations` (live posts: every target without a connection in \
            `details.missing`) or `invalid_scheduled_time`", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    let key = idempotency::key_from(&headers)?;
    let hash = sha256(&body.bytes);
    let refusal = match accept(&state, &caller, &body, key.as_deref(), &hash).await {
        Ok(accepted) => return Ok(accepted),
        Err(refusal) => refusal,
    };
    // A replay answers as the first request did, even if the same body would be refused now (a
    // scheduledTime that has passed, a connection since removed, a concurrent twin that stored its post
    // first): look at the key before refusing.
    if let Some(key) = &key
        && let Some(answer) =
            idempotency::existing(&state, &caller, key, "POST", PATH, &hash).await?
    {
        return Ok(answer);
    }
    Err(refusal)
}

/// Validates the post, stores it with its targets (and the idempotency record) in one statement, and hands a
/// post to publish now to the workers.
async fn accept(
    state: &AppState,
    caller: &Caller,
    body: &JsonBody,
    key: Option<&str>,
    hash: &[u8; 32],
) -> ApiResult<Response> {
    let post = validated(state, caller, &body.value)?;
    let media = post_media(state, caller, &post).await?;
    let post_id = new_id(IdPrefix::Post);
    let status = if post.scheduled_time.is_some_and(|t| t > Utc::now()) {
        PostStatus::Scheduled
    } else {
        PostStatus::Queued
    };
    let targets = wanted_targets(&post);
    let content = serde_json::to_value(&post.content).map_err(ApiError::internal)?;
    let request_id = current_request_id();
    let scheduled_time_text = post.scheduled_time.map(fmt_time);
    let new_post = NewPost {
        id: &post_id,
        account_id: &caller.account_id,
        livemode: caller.livemode,
        status: status.as_str(),
        content: &content,
        scheduled_time: post.scheduled_time,
        scheduled_time_text: scheduled_time_text.as_deref(),
        request_id: &request_id,
        targets: &targets,
        sandbox: post.sandbox.as_ref(),
        handoff_after_secs: state.settings.worker.requeue_after_secs as f64,
        media_ids: &media.ids,
        waits_for_media: media.waits,
    };
    let record = key.map(|key| IdemKey {
        scope: idempotency::scope(caller, key),
        method: "POST",
        path: PATH,
        request_hash: hash,
    });
    let body = match posts::insert(&state.db, &new_post, record.as_ref()).await? {
        Inserted::Created { body } => body,
        Inserted::Missing(missing) => return Err(missing_integrations(missing)),
        Inserted::Twins(twins) => return Err(same_connection_twice(twins)),
        Inserted::KeyTaken => return Err(idempotency::in_progress()),
    };
    // A scheduled post stays in Postgres until it falls due: the reconciler releases it then, in bulk. An
    // immediate post's targets go straight to their platforms' queues.
    import_media(state, caller, &media.imports).await;
    if status == PostStatus::Queued && !media.waits {
        let jobs = targets
            .iter()
            .filter_map(|t| Some((Platform::parse(&t.platform)?, t.id.clone())))
            .collect();
        hand_over_post(state, &post_id, &request_id, jobs).await;
    }
    tracing::info!(post_id = %post_id, targets = targets.len(), %status, "post accepted");
    Ok(json_response(StatusCode::ACCEPTED, body.into_bytes()))
}

/// The post as validated, or every reason it is refused.
fn validated(state: &AppState, caller: &Caller, body: &Value) -> ApiResult<ValidatedPost> {
    let tolerance = chrono::Duration::seconds(state.settings.schedule_tolerance_secs as i64);
    let post = validate_post(body, Utc::now(), tolerance).map_err(|failure| match failure {
        ValidationFailure::Fields(fields) => ApiError::validation(fields),
        ValidationFailure::ScheduledTime(fields) => ApiError::scheduled_time(fields),
    })?;
    if post.sandbox.is_some() && caller.livemode {
        return Err(ApiError::field(
            "sandbox",
            "only test-mode posts (made with an sk_test_ key) can ask the sandbox to misbehave; \
             live posts go to the real platforms",
        ));
    }
    Ok(post)
}

/// The Soku media a post names: their ids, whether the post waits for some still processing, and the URLs
/// that are not Soku's own, to import as new media once the post is stored (`(media id, url)`).
struct PostMedia {
    ids: Vec<String>,
    waits: bool,
    imports: Vec<(String, String)>,
}

/// Resolves the post's media URLs that are Soku's own: each must name media of the caller (in the key's mode)
/// that has not failed; media already ready is checked against every target's media rules now (every failure
/// reported, per target); media still processing makes the post wait (checked when it is ready). Other URLs
/// are stored as given (docs/api.md, "Not yet available").
async fn post_media(
    state: &AppState,
    caller: &Caller,
    post: &ValidatedPost,
) -> ApiResult<PostMedia> {
    let c = &post.content;
    let public = &state.settings.public_url;
    let named: Vec<(String, &str, bool)> = c
        .image_urls
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("post.content.imageUrls[{i}]"), u.as_str(), false))
        .chain(
            c.video_url
                .iter()
                .map(|u| ("post.content.videoUrl".to_string(), u.as_str(), true)),
        )
        .collect();
    let (named, external): (Vec<_>, Vec<_>) = named
        .into_iter()
        .partition(|(_, u, _)| own_token(public, u).is_some());
    let imports = imports(state, &external).await?;
    if named.is_empty() {
        return Ok(PostMedia {
            ids: imports.iter().map(|(id, _)| id.clone()).collect(),
            waits: !imports.is_empty(),
            imports,
        });
    }
    let tokens: Vec<String> = named
        .iter()
        .filter_map(|(_, u, _)| own_token(public, u).map(str::to_string))
        .collect();
    let rows =
        media_store::by_tokens(&state.db, &caller.account_id, caller.livemode, &tokens).await?;
    let mut errors = Vec::new();
    let mut not_ready = Vec::new();
    let (mut images, mut video) = (Vec::new(), None);
    let mut waits = false;
    let mut ids = Vec::new();
    for (field, url, is_video) in &named {
        let token = own_token(public, url).unwrap_or_default();
        let Some(m) = rows.iter().find(|m| m.token == token) else {
            errors.push(FieldError {
                field: field.clone(),
                message: "is a media URL of this server that names no media of this account in this mode                           (deleted, or made with the other kind of key)"
                    .into(),
                platform: None,
            });
            continue;
        };
        ids.push(m.id.clone());
        match m.status {
            MediaStatus::Failed => not_ready.push(FieldError {
                field: field.clone(),
                message: format!(
                    "names media {} that failed: {}",
                    m.id,
                    m.error_message
                        .as_deref()
                        .unwrap_or("it could not be processed")
                ),
                platform: None,
            }),
            MediaStatus::Processing => waits = true,
            MediaStatus::Ready if *is_video => video = Some(VideoFacts::of(m)),
            MediaStatus::Ready => images.push(Facts::of(m)),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if !not_ready.is_empty() {
        return Err(ApiError::validation(not_ready).with_code("media_not_ready"));
    }
    let mut broken = Vec::new();
    for (pos, t) in post.targets.iter().enumerate() {
        for message in media_check::check(t.platform, &images, video.as_ref()) {
            broken.push(FieldError {
                field: format!("post.content.platform[{pos}]"),
                message,
                platform: Some(t.platform),
            });
        }
    }
    if !broken.is_empty() {
        return Err(ApiError::validation(broken));
    }
    ids.extend(imports.iter().map(|(id, _)| id.clone()));
    Ok(PostMedia {
        ids,
        waits: waits || !imports.is_empty(),
        imports,
    })
}

/// The URLs of a post that are not Soku's own, to be imported as media (`SOKU_MEDIA_IMPORT`): each checked as
/// `POST /v1/media {"url"}` checks it (a refused address is a 400 naming the field), one new media id per
/// distinct URL. Empty when importing is off: the URLs are then stored and passed on as given.
async fn imports(
    state: &AppState,
    external: &[(String, &str, bool)],
) -> ApiResult<Vec<(String, String)>> {
    if !state.settings.media.import || external.is_empty() {
        return Ok(Vec::new());
    }
    let mut errors = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for (field, url, _) in external {
        if out.iter().any(|(_, u)| u == url) {
            continue;
        }
        match state.fetcher.check(url).await {
            Ok(_) => out.push((new_id(IdPrefix::Media), url.to_string())),
            Err(e) => errors.push(FieldError {
                field: field.clone(),
                message: format!("cannot be imported as media: {e}"),
                platform: None,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(out)
}

/// Writes the media rows of a stored post's imported URLs and hands their jobs over. A failure here leaves
/// the post waiting on media that does not exist, which the reconciler releases: the post then publishes its
/// URLs as given (logged).
async fn import_media(state: &AppState, caller: &Caller, imports: &[(String, String)]) {
    for (id, url) in imports {
        match crate::routes::media::insert_url(state, caller, id, url).await {
            Ok(row) => crate::routes::media::hand_over(state, &row).await,
            Err(e) => tracing::warn!(
                media_id = %id,
                error = ?e.message,
                "could not record an imported media URL; the post will publish it as given"
            ),
        }
    }
}

/// The targets as the request names them, each with its new id.
fn wanted_targets(post: &ValidatedPost) -> Vec<WantedTarget> {
    post.targets
        .iter()
        .map(|t| WantedTarget {
            id: new_id(IdPrefix::Target),
            platform: t.platform.as_str().to_string(),
            account_label: t.label.clone(),
        })
        .collect()
}

/// `400 validation_error` for targets that would publish twice through one connection.
fn same_connection_twice(twins: Vec<TwinTarget>) -> ApiError {
    let fields = twins
        .into_iter()
        .map(|(pos, platform, label)| FieldError {
            field: format!("post.content.platform[{pos}]"),
            message: format!(
                "publishes to the same {platform} account ({label}) as an earlier entry; the post would appear twice"
            ),
            platform: Platform::parse(&platform),
        })
        .collect();
    ApiError::validation(fields)
}

/// `400 missing_integrations`, naming every target whose connection is missing.
fn missing_integrations(missing: Vec<MissingTarget>) -> ApiError {
    let named: Vec<String> = missing
        .iter()
        .map(|(platform, label)| match label {
            Some(label) => format!("{platform} ({label})"),
            None => platform.clone(),
        })
        .collect();
    let details: Vec<_> = missing
        .into_iter()
        .map(|(platform, label)| match label {
            Some(label) => json!({ "platform": platform, "accountId": label }),
            None => json!({ "platform": platform }),
        })
        .collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "missing_integrations",
        format!(
            "These platforms are not connected to your account: {}. Connect them first (POST /v1/integrations).",
            named.join(", ")
        ),
    )
    .with_details(json!({ "missing": details }))
}

/// List posts, newest first.
#[utoipa::path(get, path = "/v1/posts", tag = "posts", operation_id = "listPosts",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1..100 (default 20)"),
           ("cursor" = Option<String>, Query, min_length = 1, pattern = r"^[A-Za-z0-9_-]+$",
            description = "`nextCursor` of the previous page"),
           ("status" = Option<PostStatus>, Query, description = "Only posts in this status")),
    responses((status = 200, body = Page<PostView>),
        (status = 400, description = "`validation_error`: a bad `limit`, `cursor` or `status`, or an unknown query parameter", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<axum::Json<Page<PostView>>> {
    let params = pagination::parse(query.as_deref(), &["status"])?;
    let status = params
        .status::<soku_shared::status::PostStatus>()?
        .map(|s| s.as_str());
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
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", operation_id = "getPost",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "post_3hT9kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, body = PostView), (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(post_id = %id))]
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

/// Cancel a post none of whose targets has started: the post and its targets become `canceled` (it stays
/// readable).
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", operation_id = "cancelPost",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "post_3hT9kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, description = "Canceled", body = PostView, links(
            ("getPost" = (operation_id = "getPost", parameters(("id" = "$response.body#/postSubmissionId")))))),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`conflict`: publishing has started or finished", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(post_id = %id))]
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

/// Re-queue the failed targets of a settled (`failed` or `partially_published`) post.
#[utoipa::path(post, path = "/v1/posts/{id}/retry", tag = "posts", operation_id = "retryPost",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "post_3hT9kQ2mZx8LwP4vB7nR1sYe"),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$",
            description = "Makes a retried request safe: 1..255 printable ASCII characters, kept 24 h")),
    responses((status = 202, description = "The failed targets are `pending` again and the post `queued`", body = PostView, links(
            ("getPost" = (operation_id = "getPost", parameters(("id" = "$response.body#/postSubmissionId")))))),
        (status = 400, description = "`validation_error`: a bad `Idempotency-Key`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`conflict`: nothing to retry (the post is not `failed` or `partially_published`), \
            or `idempotency_in_progress`", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(post_id = %id))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key = idempotency::key_from(&headers)?;
    let path = format!("/v1/posts/{id}/retry");
    if let Some(key) = &key
        && let Begun::Answer(answer) =
            idempotency::begin(&state, &caller, key, "POST", &path, b"").await?
    {
        return Ok(answer);
    }
    let scope = key.as_deref().map(|key| idempotency::scope(&caller, key));
    let render = |p, t| serde_json::to_vec(&PostView::from_rows(p, t)).unwrap_or_default();
    let outcome = posts::retry_failed(
        &state.db,
        &caller.account_id,
        caller.livemode,
        &id,
        scope.as_ref(),
        state.settings.worker.requeue_after_secs as f64,
        render,
    )
    .await;
    let refusal = match outcome {
        Ok(Retried::Done(body, reset)) => {
            let jobs = reset
                .into_iter()
                .filter_map(|(target, platform)| Some((Platform::parse(&platform)?, target)))
                .collect();
            hand_over_post(&state, &id, &current_request_id(), jobs).await;
            return Ok(json_response(StatusCode::ACCEPTED, body));
        }
        Ok(Retried::NotFound) => ApiError::not_found("post"),
        Ok(Retried::Conflict(status)) => ApiError::conflict(format!(
            "Nothing to retry: this post is {status}. Only a failed or partially published post has failed targets to retry."
        )),
        Err(e) => e.into(),
    };
    if let Some(key) = &key {
        idempotency::release(&state, &caller, key).await;
    }
    Err(refusal)
}
