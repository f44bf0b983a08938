//! `/v1/media`: take a file (a direct `multipart/form-data` upload, streamed to storage, or a URL that the worker
//! fetches), read, list and delete media. The API only receives and records: fetching, probing and thumbnails
//! are the worker's media job. An upload's type is read from its first bytes here already, so a file of a kind
//! Soku never accepts is refused at once and stores nothing.

use axum::{
    Extension,
    extract::{FromRequest, Multipart, RawQuery, Request, State},
    http::{StatusCode, header},
    response::Response,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use soku_shared::{
    ids::{IdPrefix, new_id, random_base62},
    jobs::ProcessMedia,
    media::{
        Sniffed, rendition, sniff,
        urls::{derived_url, file_url},
    },
    post::fmt_time,
    redis_keys::media_queue,
    status::MediaStatus,
    storage::{media_key, media_prefix},
    store::media::{self as store, Deleted, MediaRow, NewMedia},
};
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    id_path::Id,
    idempotency::{self, Begun, json_response},
    pagination::{self, Page},
    request_id::current_request_id,
    state::AppState,
};

const PATH: &str = "/v1/media";
/// Bytes of a file's start kept to read its type from.
const SNIFF_LEN: usize = 4096;
/// Longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// A media object.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaView {
    #[schema(example = "media_3hT9kQ2mZx8LwP4vB7nR1sYe")]
    pub id: String,
    /// This server's stable, unguessable URL of the file (`SOKU_PUBLIC_URL/media/…`): usable in a post at once.
    pub url: String,
    /// A JPEG thumbnail (images) or poster frame (videos), once ready.
    pub thumbnail_url: Option<String>,
    /// A video that is not platform-safe as it is (not H.264/AAC in MP4, over 60 fps, odd dimensions, …) gets one
    /// platform-safe H.264 copy, made before the media is ready; the platforms that take only such video publish
    /// it. `null` when the original is safe (or the copy failed: `rendition.error`).
    pub rendition: Option<RenditionView>,
    pub status: MediaStatus,
    /// `upload`, `url` or `template`.
    pub source: String,
    /// The URL the file was fetched from (`source` `url`).
    pub source_url: Option<String>,
    /// The upload's file name, as sent.
    pub file_name: Option<String>,
    /// The type read from the file's bytes (never from its name or a header).
    pub mime_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// As displayed (rotation applied).
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<f64>,
    /// What the probe found: rotation, frame rate, codecs, bitrate, audio.
    #[schema(value_type = Option<Object>)]
    pub probe: Option<Value>,
    pub template_slug: Option<String>,
    /// Why the media failed (`status` `failed`), or why it is still being tried (a transient fetch failure).
    pub error: Option<MediaErrorView>,
    pub livemode: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub ready_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenditionView {
    /// The copy's URL (`…/media/<token>/h264.mp4`); `null` when it could not be made.
    pub url: Option<String>,
    pub size_bytes: Option<i64>,
    /// What the copy's probe found (`videoCodec` `h264`, `pixelFormat` `yuv420p`, …).
    #[schema(value_type = Option<Object>)]
    pub probe: Option<Value>,
    /// Why the copy could not be made.
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MediaErrorView {
    /// e.g. `unsupported_media`, `media_too_large`, `fetch_refused`, `fetch_failed`, `fetch_timeout`,
    /// `truncated`, `empty_file`, `unreadable_media`, `too_many_pixels`, `probe_timeout`.
    pub code: String,
    pub message: String,
}

impl MediaView {
    pub fn from_row(row: &MediaRow, public_url: &str) -> MediaView {
        let error = match (&row.error_code, &row.error_message) {
            (Some(code), Some(message)) => Some(MediaErrorView {
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        };
        let mut probe = row.probe.as_ref().map(|p| p.0.clone());
        if let Some(Value::Object(m)) = probe.as_mut() {
            for dup in ["kind", "mime", "width", "height", "durationSeconds"] {
                m.remove(dup);
            }
        }
        MediaView {
            id: row.id.clone(),
            url: file_url(public_url, row),
            thumbnail_url: row
                .thumbnail_key
                .as_ref()
                .map(|_| derived_url(public_url, row, "thumbnail.jpg")),
            rendition: match (&row.rendition_key, &row.rendition_error) {
                (None, None) => None,
                (key, error) => Some(RenditionView {
                    url: key
                        .as_ref()
                        .map(|_| derived_url(public_url, row, rendition::FILE_NAME)),
                    size_bytes: row.rendition_size,
                    probe: row.rendition_probe.as_ref().map(|p| p.0.clone()),
                    error: error.clone(),
                }),
            },
            status: row.status,
            source: row.source.clone(),
            source_url: row.source_url.clone(),
            file_name: row.file_name.clone(),
            mime_type: row.mime_type.clone(),
            size_bytes: row.size_bytes,
            width: row.width,
            height: row.height,
            duration_seconds: row.duration_seconds,
            probe,
            template_slug: row.template_slug.clone(),
            error,
            livemode: row.livemode,
            created_at: fmt_time(row.created_at),
            ready_at: row.ready_at.map(fmt_time),
        }
    }
}

/// A new unguessable token for a public file URL: 32 base62 characters (190 bits).
pub fn new_token() -> String {
    random_base62(32)
}

/// Upload a file (`multipart/form-data` with a `file` part) or give a URL to fetch (`{"url": "https://…"}`).
#[utoipa::path(post, path = "/v1/media", tag = "media", operation_id = "createMedia",
    request_body(content(
        (MediaUrlRequest = "application/json"),
        (MediaUpload = "multipart/form-data")),
        description = "A URL for the server to fetch, or the file itself"),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$",
            description = "Makes a retried request safe: 1..255 printable ASCII characters, kept 24 h")),
    responses(
        (status = 201, description = "Received; `processing` until the worker has probed it", body = MediaView, links(
            ("getMedia" = (operation_id = "getMedia", parameters(("id" = "$response.body#/id")))),
            ("deleteMedia" = (operation_id = "deleteMedia", parameters(("id" = "$response.body#/id")))))),
        (status = 400, description = "`invalid_content_type`, `invalid_json`, `validation_error` (a bad or refused \
            `url`, no `file` part), `unsupported_media` (the upload's bytes are of a kind Soku does not take)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the file is over `SOKU_MEDIA_MAX_BYTES`", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> ApiResult<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let key = idempotency::key_from(req.headers())?;
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, &state)
            .await
            .map_err(|e| bad_multipart(&e.body_text()))?;
        return upload(&state, &caller, key.as_deref(), multipart).await;
    }
    let body = JsonBody::from_request(req, &state).await.map_err(|e| {
        if e.code == "invalid_content_type" {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_content_type",
                "Send the file as multipart/form-data with a `file` part, or a URL as application/json \
                 {\"url\": \"https://…\"}.",
            )
        } else {
            e
        }
    })?;
    let url = url_field(&state, &body.value).await?;
    let work = async {
        let row = insert(&state, &caller, Source::Url(&url)).await?;
        hand_over(&state, &row).await;
        let view = MediaView::from_row(&row, &state.settings.public_url);
        let bytes = serde_json::to_vec(&view).map_err(ApiError::internal)?;
        Ok((StatusCode::CREATED, bytes))
    };
    idempotency::guarded(
        &state,
        &caller,
        key.as_deref(),
        "POST",
        PATH,
        &body.bytes,
        work,
    )
    .await
}

/// The JSON form of `POST /v1/media`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MediaUrlRequest {
    /// An `http` or `https` URL of an image or video. The server fetches it, refusing private, loopback and
    /// link-local addresses (`SOKU_FETCH_ALLOW_PRIVATE` lists exceptions), at most `SOKU_MEDIA_MAX_BYTES`.
    #[schema(example = "https://example.com/clip.mp4", max_length = 2048)]
    url: String,
}

/// The multipart form of `POST /v1/media`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MediaUpload {
    /// The file: JPEG, PNG, WebP, GIF, MP4, MOV or WebM, at most `SOKU_MEDIA_MAX_BYTES`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn bad_multipart(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_content_type",
        format!("The multipart/form-data body could not be read: {why}"),
    )
}

/// The `url` of a JSON request, checked: a string, http(s), no credentials, and neither an IP literal nor a
/// name that resolves to an address the fetcher would refuse. The worker checks every hop again.
async fn url_field(state: &AppState, body: &Value) -> ApiResult<String> {
    let Value::Object(map) = body else {
        return Err(ApiError::field(
            "body",
            "must be a JSON object: {\"url\": \"https://…\"}",
        ));
    };
    if let Some(other) = map.keys().find(|k| k.as_str() != "url") {
        return Err(ApiError::field(
            other,
            "is not a field of a media request; send {\"url\": \"https://…\"}, or upload the file as multipart/form-data",
        ));
    }
    let url = match map.get("url") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None => {
            return Err(ApiError::field(
                "url",
                "is required: the http(s) URL of the image or video",
            ));
        }
        Some(_) => return Err(ApiError::field("url", "must be a string")),
    };
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::field(
            "url",
            format!("is {} characters long; at most {MAX_URL_LEN}", url.len()),
        ));
    }
    state
        .fetcher
        .check(&url)
        .await
        .map_err(|e| ApiError::field("url", e.to_string()))?;
    Ok(url)
}

enum Source<'a> {
    Url(&'a str),
    Upload(Uploaded<'a>),
}

struct Uploaded<'a> {
    id: &'a str,
    file_name: Option<&'a str>,
    mime: &'static str,
    size: u64,
    sha256: &'a [u8],
}

/// A media row for a URL a post named (imported with the post), under the id the post links it by.
pub async fn insert_url(
    state: &AppState,
    caller: &Caller,
    id: &str,
    url: &str,
) -> ApiResult<MediaRow> {
    insert_with_id(state, caller, Source::Url(url), id).await
}

async fn insert(state: &AppState, caller: &Caller, source: Source<'_>) -> ApiResult<MediaRow> {
    insert_with_id(state, caller, source, &new_id(IdPrefix::Media)).await
}

async fn insert_with_id(
    state: &AppState,
    caller: &Caller,
    source: Source<'_>,
    fresh_id: &str,
) -> ApiResult<MediaRow> {
    let token = new_token();
    let request_id = current_request_id();
    let original = match &source {
        Source::Upload(u) => Some(media_key(u.id, "original")),
        Source::Url(_) => None,
    };
    let new = match &source {
        Source::Url(url) => NewMedia {
            id: fresh_id,
            account_id: &caller.account_id,
            livemode: caller.livemode,
            status: MediaStatus::Processing,
            source: "url",
            source_url: Some(url),
            token: &token,
            original_key: None,
            thumbnail_key: None,
            file_name: None,
            mime_type: None,
            size_bytes: None,
            sha256: None,
            width: None,
            height: None,
            template_slug: None,
            request_id: &request_id,
        },
        Source::Upload(u) => NewMedia {
            id: u.id,
            account_id: &caller.account_id,
            livemode: caller.livemode,
            status: MediaStatus::Processing,
            source: "upload",
            source_url: None,
            token: &token,
            original_key: original.as_deref(),
            thumbnail_key: None,
            file_name: u.file_name,
            mime_type: Some(u.mime),
            size_bytes: Some(u.size as i64),
            sha256: Some(u.sha256),
            width: None,
            height: None,
            template_slug: None,
            request_id: &request_id,
        },
    };
    let row = store::insert(&state.db, &new).await?;
    tracing::info!(media_id = %row.id, source = %row.source, "media accepted");
    Ok(row)
}

/// Hands the media job to the workers, logging instead of failing: the row is durable and the reconciler
/// hands over what Redis did not take.
pub async fn hand_over(state: &AppState, row: &MediaRow) {
    let job = vec![ProcessMedia {
        media_id: row.id.clone(),
        request_id: row.request_id.clone(),
    }];
    crate::handoff::hand_over_jobs(state, media_queue(&state.settings.redis_prefix), job).await;
}

/// A direct upload: the `file` part streamed to storage with its size capped and its type read from its
/// first bytes; then the row, under the idempotency key (fingerprinted by the file's hash and name).
async fn upload(
    state: &AppState,
    caller: &Caller,
    key: Option<&str>,
    mut multipart: Multipart,
) -> ApiResult<Response> {
    let id = new_id(IdPrefix::Media);
    let mut stored: Option<(Option<String>, &'static str, u64, Vec<u8>)> = None;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(state, &e))?;
        let Some(field) = field else { break };
        if field.name() != Some("file") {
            // Other parts (a form's extra fields) are read past.
            continue;
        }
        if stored.is_some() {
            let _ = state.storage.delete_prefix(&media_prefix(&id)).await;
            return Err(ApiError::field(
                "file",
                "was sent more than once; upload one file per request",
            ));
        }
        let file_name = field.file_name().map(|n| n.chars().take(255).collect());
        match receive(state, &id, field).await {
            Ok((mime, size, hash)) => stored = Some((file_name, mime, size, hash)),
            Err(e) => {
                let _ = state.storage.delete_prefix(&media_prefix(&id)).await;
                return Err(e);
            }
        }
    }
    let Some((file_name, mime, size, hash)) = stored else {
        return Err(ApiError::field(
            "file",
            "is required: send the file as a multipart/form-data part named `file`",
        ));
    };
    let mut fingerprint = b"upload\0".to_vec();
    fingerprint.extend_from_slice(&hash);
    fingerprint.extend_from_slice(file_name.as_deref().unwrap_or("").as_bytes());
    let discard = || async {
        let _ = state.storage.delete_prefix(&media_prefix(&id)).await;
    };
    if let Some(key) = key
        && let Begun::Answer(answer) =
            idempotency::begin(state, caller, key, "POST", PATH, &fingerprint).await?
    {
        discard().await;
        return Ok(answer);
    }
    let source = Source::Upload(Uploaded {
        id: &id,
        file_name: file_name.as_deref(),
        mime,
        size,
        sha256: &hash,
    });
    let row = match insert(state, caller, source).await {
        Ok(row) => row,
        Err(e) => {
            if let Some(key) = key {
                idempotency::release(state, caller, key).await;
            }
            discard().await;
            return Err(e);
        }
    };
    hand_over(state, &row).await;
    let view = MediaView::from_row(&row, &state.settings.public_url);
    let bytes = serde_json::to_vec(&view).map_err(ApiError::internal)?;
    if let Some(key) = key {
        soku_shared::store::idempotency::complete(
            &state.db,
            &idempotency::scope(caller, key),
            201,
            &bytes,
        )
        .await?;
    }
    Ok(json_response(StatusCode::CREATED, bytes))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("The file is larger than the limit of {limit} bytes (SOKU_MEDIA_MAX_BYTES)."),
    )
}

fn multipart_error(state: &AppState, e: &axum::extract::multipart::MultipartError) -> ApiError {
    let text = e.body_text();
    if text.contains("did not arrive within") {
        return ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "The upload did not arrive within {} seconds (SOKU_UPLOAD_TIMEOUT_SECS); the connection is closed.",
                state.settings.media.upload_timeout_secs
            ),
        );
    }
    bad_multipart(&text)
}

/// Streams one `file` part to `media/<id>/original`: its type read from its first bytes (refused at once if
/// Soku does not take it), its size capped, its SHA-256 computed on the way.
async fn receive(
    state: &AppState,
    id: &str,
    mut field: axum::extract::multipart::Field<'_>,
) -> ApiResult<(&'static str, u64, Vec<u8>)> {
    let limit = state.settings.media.max_bytes;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut upload = None;
    let mut mime = None;
    loop {
        let chunk = field
            .chunk()
            .await
            .map_err(|e| multipart_error(state, &e))?;
        let done = chunk.is_none();
        if let Some(chunk) = &chunk {
            size += chunk.len() as u64;
            if size > limit {
                if let Some(u) = upload.take() {
                    soku_shared::storage::Upload::abort(u).await;
                }
                return Err(too_large(limit));
            }
            hasher.update(chunk);
        }
        if mime.is_none() {
            if let Some(chunk) = &chunk {
                head.extend_from_slice(chunk);
            }
            if head.len() < SNIFF_LEN && !done {
                continue;
            }
            match sniff::sniff(&head) {
                Sniffed::Accepted(kind) => mime = Some(kind.mime()),
                Sniffed::Unsupported(what) => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unsupported_media",
                        format!(
                            "The file is {what}; accepted are JPEG, PNG, WebP and GIF images and MP4, MOV and \
                             WebM videos."
                        ),
                    ));
                }
            }
            let mut u = state
                .storage
                .upload(&media_key(id, "original"))
                .await
                .map_err(ApiError::internal)?;
            u.write(&head).await.map_err(ApiError::internal)?;
            upload = Some(u);
        } else if let (Some(chunk), Some(u)) = (&chunk, upload.as_mut()) {
            u.write(chunk).await.map_err(ApiError::internal)?;
        }
        if done {
            break;
        }
    }
    let upload = upload.expect("a sniffed file has an upload");
    upload.finish().await.map_err(ApiError::internal)?;
    let mime = mime.expect("sniffed");
    Ok((mime, size, hasher.finalize().to_vec()))
}

/// List media, newest first.
#[utoipa::path(get, path = "/v1/media", tag = "media", operation_id = "listMedia",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1..100 (default 20)"),
           ("cursor" = Option<String>, Query, min_length = 1, pattern = r"^[A-Za-z0-9_-]+$",
            description = "`nextCursor` of the previous page"),
           ("status" = Option<MediaStatus>, Query, description = "Only media in this status")),
    responses((status = 200, body = Page<MediaView>),
        (status = 400, description = "`validation_error`: a bad `limit`, `cursor` or `status`, or an unknown query parameter", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<axum::Json<Page<MediaView>>> {
    let params = pagination::parse(query.as_deref(), &["status"])?;
    let status = params.status::<MediaStatus>()?;
    let rows = store::list(
        &state.db,
        &caller.account_id,
        caller.livemode,
        status,
        params.after,
        params.limit + 1,
    )
    .await?;
    let public = state.settings.public_url.clone();
    Ok(axum::Json(pagination::page(
        rows,
        params.limit,
        |m: &MediaRow| -> (DateTime<Utc>, String) { (m.created_at, m.id.clone()) },
        |m| MediaView::from_row(&m, &public),
    )))
}

/// Read a media object.
#[utoipa::path(get, path = "/v1/media/{id}", tag = "media", operation_id = "getMedia",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "media_3hT9kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, body = MediaView), (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(media_id = %id))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<axum::Json<MediaView>> {
    match store::get(&state.db, &caller.account_id, caller.livemode, &id).await? {
        Some(row) => Ok(axum::Json(MediaView::from_row(
            &row,
            &state.settings.public_url,
        ))),
        None => Err(ApiError::not_found("media")),
    }
}

/// Delete a media object and its files. Refused while a post that has not finished publishing uses it.
#[utoipa::path(delete, path = "/v1/media/{id}", tag = "media", operation_id = "deleteMedia",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "media_3hT9kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, description = "Deleted: the media as it was; its URL answers 404 from now on", body = MediaView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`conflict`: a scheduled, queued or publishing post uses it (their ids are in the message)", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(media_id = %id))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<axum::Json<MediaView>> {
    let public = state.settings.public_url.clone();
    let deleted = store::delete(&state.db, &caller.account_id, caller.livemode, &id, |row| {
        file_url(&public, row)
    })
    .await?;
    match deleted {
        Deleted::Done(row) => {
            if let Err(e) = state.storage.delete_prefix(&media_prefix(&row.id)).await {
                tracing::warn!(error = %e, "media deleted but its files could not be removed yet");
            }
            tracing::info!(media_id = %row.id, "media deleted");
            Ok(axum::Json(MediaView::from_row(&row, &public)))
        }
        Deleted::NotFound => Err(ApiError::not_found("media")),
        Deleted::InUse(posts) => Err(ApiError::conflict(format!(
            "This media is used by posts that have not finished publishing: {}. Cancel them or wait until they \
             are published.",
            posts.join(", ")
        ))),
    }
}
