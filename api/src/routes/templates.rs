//! `/v1/templates`: list the share-image templates with the JSON Schema of their config, and render one into a
//! 1200x630 PNG stored as a `ready` media object (`soku_shared::templates` does the drawing; docs/media.md,
//! "Templates"). Rendering takes tens of milliseconds of CPU, so it runs on the blocking pool, never on the
//! threads that serve requests.

use axum::{
    Extension,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use soku_shared::{
    ids::{IdPrefix, new_id},
    media::{Kind, thumbnail::image_thumbnail},
    status::MediaStatus,
    storage::{media_key, media_prefix},
    store::media::{self as store, NewMedia},
    templates::{self, ConfigError, RenderError},
};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    idempotency,
    request_id::current_request_id,
    routes::media::{MediaView, new_token},
    state::AppState,
};

const PATH: &str = "/v1/templates";
/// Largest avatar image fetched for a card.
const AVATAR_MAX_BYTES: u64 = 5 * 1024 * 1024;

/// A template and the JSON Schema of its `config`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    #[schema(example = "tweetImage")]
    pub slug: String,
    pub name: String,
    pub description: String,
    #[schema(example = 1200)]
    pub width: u32,
    #[schema(example = 630)]
    pub height: u32,
    /// JSON Schema (2020-12) of `config`: what `POST /v1/templates` accepts for this template.
    #[schema(value_type = Object)]
    pub config_schema: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateList {
    pub data: Vec<TemplateView>,
}

/// The body of `POST /v1/templates`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RenderRequest {
    /// `tweetImage`, `quoteCard` or `announcement` (`GET /v1/templates` lists them).
    #[schema(example = "tweetImage")]
    template_slug: String,
    /// The template's fields (its `configSchema`), e.g. `{"title", "author", "theme"}` for `tweetImage`.
    #[schema(value_type = Object)]
    config: Value,
}

/// List every template with the JSON Schema of its config.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", operation_id = "listTemplates",
    responses((status = 200, body = TemplateList)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn list() -> axum::Json<TemplateList> {
    let data = templates::list()
        .into_iter()
        .map(|t| TemplateView {
            slug: t.slug.into(),
            name: t.name.into(),
            description: t.description.into(),
            width: t.width,
            height: t.height,
            config_schema: t.schema,
        })
        .collect();
    axum::Json(TemplateList { data })
}

/// Render a template into a PNG stored as media.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", operation_id = "renderTemplate",
    request_body = RenderRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$",
            description = "Makes a retried request safe: 1..255 printable ASCII characters, kept 24 h")),
    responses(
        (status = 201, description = "Rendered and stored: a `ready` media object whose `url` ends in `.png`", body = MediaView, links(
            ("getMedia" = (operation_id = "getMedia", parameters(("id" = "$response.body#/id")))))),
        (status = 400, description = "`invalid_content_type`, `invalid_json`, `validation_error` naming the field \
            (`templateSlug`, `config`, `config.<field>`, a bad `Idempotency-Key`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no template has this slug", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn render(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    let key = idempotency::key_from(&headers)?;
    let config = validated(&body.value)?;
    let work = async {
        let view = render_and_store(&state, &caller, config).await?;
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

fn validated(body: &Value) -> ApiResult<templates::Config> {
    let Value::Object(map) = body else {
        return Err(ApiError::field(
            "body",
            "must be a JSON object: {\"templateSlug\": \"tweetImage\", \"config\": {…}}",
        ));
    };
    if let Some(other) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "templateSlug" | "config"))
    {
        return Err(ApiError::field(
            other,
            "is not a field of a template request; send {\"templateSlug\", \"config\"}",
        ));
    }
    let slug = match map.get("templateSlug") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ApiError::field(
                "templateSlug",
                "is required: one of the slugs GET /v1/templates lists",
            ));
        }
        Some(_) => return Err(ApiError::field("templateSlug", "must be a string")),
    };
    let config = map.get("config").cloned().unwrap_or(Value::Null);
    templates::validate(slug, &config).map_err(|e| match e {
        ConfigError::UnknownTemplate(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{}.", capital(&e.to_string())),
        ),
        ConfigError::Invalid { field, message } => ApiError::field(&field, message),
    })
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Fetches the avatar (when named), renders, stores the PNG and its thumbnail, and writes the `ready` row.
async fn render_and_store(
    state: &AppState,
    caller: &Caller,
    config: templates::Config,
) -> ApiResult<MediaView> {
    let avatar = match config.avatar_url() {
        Some(url) => Some(fetch_avatar(state, url).await?),
        None => None,
    };
    let slug = config.slug();
    let rendered =
        tokio::task::spawn_blocking(move || templates::render(&config, avatar.as_deref()))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| match e {
                RenderError::Avatar(why) => ApiError::field("config.avatarUrl", why),
                RenderError::Internal(_) => ApiError::internal(anyhow::anyhow!(e.to_string())),
            })?;
    let id = new_id(IdPrefix::Media);
    let original = media_key(&id, "original");
    let thumb_key = media_key(&id, "thumbnail.jpg");
    let thumbnail = png_thumbnail(state, &rendered.png).await?;
    let sha = Sha256::digest(&rendered.png).to_vec();
    let size = rendered.png.len() as i64;
    let stored = async {
        state.storage.put_bytes(&original, rendered.png).await?;
        state.storage.put_bytes(&thumb_key, thumbnail).await?;
        anyhow::Ok(())
    };
    if let Err(e) = stored.await {
        let _ = state.storage.delete_prefix(&media_prefix(&id)).await;
        return Err(ApiError::internal(e));
    }
    let token = new_token();
    let request_id = current_request_id();
    let new = NewMedia {
        id: &id,
        account_id: &caller.account_id,
        livemode: caller.livemode,
        status: MediaStatus::Ready,
        source: "template",
        source_url: None,
        token: &token,
        original_key: Some(&original),
        thumbnail_key: Some(&thumb_key),
        file_name: Some(&format!("{slug}.png")),
        mime_type: Some("image/png"),
        size_bytes: Some(size),
        sha256: Some(&sha),
        width: Some(rendered.width as i32),
        height: Some(rendered.height as i32),
        template_slug: Some(slug),
        request_id: &request_id,
    };
    let row = match store::insert(&state.db, &new).await {
        Ok(row) => row,
        Err(e) => {
            let _ = state.storage.delete_prefix(&media_prefix(&id)).await;
            return Err(e.into());
        }
    };
    tracing::info!(media_id = %row.id, template = slug, bytes = size, "template rendered");
    Ok(MediaView::from_row(&row, &state.settings.public_url))
}

/// The avatar's bytes, fetched under the same rules as any media URL, with a small cap.
async fn fetch_avatar(state: &AppState, url: &str) -> ApiResult<Vec<u8>> {
    let field = "config.avatarUrl";
    state
        .fetcher
        .check(url)
        .await
        .map_err(|e| ApiError::field(field, e.to_string()))?;
    let fetcher = state.fetcher.with_max_bytes(AVATAR_MAX_BYTES);
    let mut bytes = Vec::new();
    fetcher
        .fetch_to(url, &mut bytes)
        .await
        .map_err(|e| ApiError::field(field, format!("could not be fetched: {e}")))?;
    Ok(bytes)
}

/// A JPEG thumbnail of a rendered PNG.
async fn png_thumbnail(state: &AppState, png: &[u8]) -> ApiResult<Vec<u8>> {
    let path = state.storage.tmp_path("template.png");
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(ApiError::internal)?;
    file.write_all(png).await.map_err(ApiError::internal)?;
    file.flush().await.map_err(ApiError::internal)?;
    let p = path.clone();
    let thumb = tokio::task::spawn_blocking(move || image_thumbnail(&p, Kind::Png, 640)).await;
    let _ = tokio::fs::remove_file(&path).await;
    thumb
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.to_string())))
}
