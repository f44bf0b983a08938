//! `/v1/api-keys`: a person manages their account's API keys with a session (docs/dashboard.md). The full key is
//! returned once, when it is made; afterwards only its preview. Revoking announces a new auth epoch in Redis, so
//! every API process refuses the key on its very next request.

use axum::{Extension, extract::State, http::StatusCode};
use serde::Serialize;
use serde_json::Value;
use soku_shared::{
    auth_epoch,
    crypto::{KeyMode, generate_api_key},
    ids::{IdPrefix, new_id},
    post::fmt_time,
    store::keys::{self, KeyListing},
};
use utoipa::ToSchema;

use crate::{
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    id_path::Id,
    session::Session,
    state::AppState,
};

/// An API key as its account sees it: never the key or its hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    #[schema(example = "key_3hT9kQ2mZx8LwP4vB7nR1sYe")]
    pub id: String,
    pub name: String,
    #[schema(example = "live")]
    pub mode: String,
    #[schema(example = "sk_live_abc…xyz")]
    pub preview: String,
    #[schema(example = "active")]
    pub status: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl ApiKeyView {
    fn from_row(k: KeyListing) -> ApiKeyView {
        ApiKeyView {
            id: k.id,
            name: k.name,
            mode: k.mode,
            preview: k.preview,
            status: k.status,
            created_at: fmt_time(k.created_at),
            last_used_at: k.last_used_at.map(fmt_time),
            revoked_at: k.revoked_at.map(fmt_time),
        }
    }
}

/// `201`: the new key, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    pub mode: String,
    /// The whole key: store it now, it is never shown again.
    #[schema(example = "sk_live_…")]
    pub api_key: String,
    pub preview: String,
    pub created_at: String,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub data: Vec<ApiKeyView>,
}

/// The body of `POST /v1/api-keys`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateApiKeyRequest {
    /// What the key is for.
    #[schema(
        example = "Production Server (rotated)",
        min_length = 1,
        max_length = 100
    )]
    name: String,
    /// `live` (the default) or `test`.
    #[schema(example = "live", pattern = "^(live|test)$")]
    mode: Option<String>,
}

/// Create an API key (the full key is in this answer only).
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", operation_id = "createApiKey",
    request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey),
        (status = 400, description = "`validation_error`: a bad `name` or `mode`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an API key was sent; key management needs a session", body = ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    body: JsonBody,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiKey>)> {
    let Value::Object(map) = &body.value else {
        return Err(ApiError::field(
            "body",
            "must be a JSON object: {\"name\": \"…\", \"mode\": \"live\"}",
        ));
    };
    if let Some(k) = map.keys().find(|k| !["name", "mode"].contains(&k.as_str())) {
        return Err(ApiError::field(
            k,
            "is not a field of an API key (name, mode)",
        ));
    }
    let name = match map.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().chars().count() <= 100 => {
            s.trim()
        }
        Some(Value::String(s)) if !s.trim().is_empty() => {
            return Err(ApiError::field("name", "is longer than 100 characters"));
        }
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(ApiError::field(
                "name",
                "is required: what the key is for (\"Production server\")",
            ));
        }
        Some(_) => return Err(ApiError::field("name", "must be a string")),
    };
    let mode = match map.get("mode") {
        None | Some(Value::Null) => KeyMode::Live,
        Some(Value::String(m)) if m == "live" => KeyMode::Live,
        Some(Value::String(m)) if m == "test" => KeyMode::Test,
        Some(_) => return Err(ApiError::field("mode", "must be `live` or `test`")),
    };
    let key = generate_api_key(mode);
    let row = keys::create(
        &state.db,
        &new_id(IdPrefix::Key),
        &session.auth.account_id,
        name,
        mode.as_str(),
        &key.hash,
        &key.preview,
    )
    .await?;
    tracing::info!(key_id = %row.id, user_id = %session.auth.user_id, "API key created");
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiKey {
            id: row.id,
            name: row.name,
            mode: row.mode,
            api_key: key.secret,
            preview: row.preview,
            created_at: fmt_time(row.created_at),
            status: row.status,
        }),
    ))
}

/// List the account's API keys, newest first.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", operation_id = "listApiKeys",
    responses((status = 200, body = ApiKeyList)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> ApiResult<axum::Json<ApiKeyList>> {
    let rows = keys::list(&state.db, &session.auth.account_id).await?;
    Ok(axum::Json(ApiKeyList {
        data: rows.into_iter().map(ApiKeyView::from_row).collect(),
    }))
}

/// Revoke an API key, at once: its next request is refused in every API process.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", operation_id = "revokeApiKey",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "key_3hT9kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, description = "Revoked (or already revoked): the key", body = ApiKeyView),
        (status = 404, body = ErrorBody)),
    security(("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Id(id): Id,
) -> ApiResult<axum::Json<ApiKeyView>> {
    let row = keys::revoke_of(&state.db, &session.auth.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    // Every API process caches keys under the auth epoch: a new epoch makes each read the key again.
    state.keys.clear();
    if let Err(e) =
        auth_epoch::announce(state.settings.redis_url(), &state.settings.redis_prefix).await
    {
        tracing::warn!(error = %e, "key revoked, but the other API processes could not be told at once; they see it within 5 s");
    }
    tracing::info!(key_id = %row.id, user_id = %session.auth.user_id, "API key revoked");
    Ok(axum::Json(ApiKeyView::from_row(row)))
}
