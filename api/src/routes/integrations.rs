//! `/v1/integrations`: connected platform accounts. Credentials are sealed under the master key before
//! they reach the store and are never returned.

use axum::{
    Extension, Json,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use soku_shared::{
    integration::{self, IntegrationView},
    store::integrations,
};
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    id_path::Id,
    idempotency,
    pagination::{self, Page},
    state::AppState,
};

/// Body of `POST /v1/integrations`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectIntegration {
    /// `threads`, `x`, `linkedin`, `instagram`, `facebook`, `tiktok` or `youtube`.
    pub platform: String,
    /// Your label for this connection, used as `accountId` in posts (1..100 characters).
    pub account_id: String,
    pub display_name: Option<String>,
    /// Make this the connection used when a post names only the platform. The first connection of a
    /// platform becomes its default anyway.
    pub is_default: Option<bool>,
    /// `accessToken` (required), `refreshToken`, `expiresAt` and platform ids such as `igUserId`, `pageId`,
    /// `authorUrn`. Stored encrypted; never returned.
    #[schema(value_type = Object)]
    pub credentials: Value,
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

/// Connect (or reconnect) a platform account.
#[utoipa::path(post, path = "/v1/integrations", tag = "integrations", request_body = ConnectIntegration,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, description = "Connected", body = IntegrationView),
        (status = 200, description = "An existing connection with this platform and accountId was updated", body = IntegrationView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    let key = idempotency::key_from(&headers)?;
    let master = state.settings.master_key.clone().ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "SOKU_MASTER_KEY is not configured; integrations cannot be stored"
        ))
    })?;
    idempotency::guarded(
        &state,
        &caller,
        key.as_deref(),
        "POST",
        "/v1/integrations",
        &body.bytes,
        async {
            let c = integration::check(&body.value).map_err(ApiError::validation)?;
            let (view, created) =
                integration::connect(&state.db, &master, &caller.account_id, caller.livemode, &c)
                    .await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let body = serde_json::to_vec(&view).map_err(ApiError::internal)?;
            Ok((status, body))
        },
    )
    .await
}

/// List connected accounts.
#[utoipa::path(get, path = "/v1/integrations", tag = "integrations",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<IntegrationView>), (status = 401, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<IntegrationView>>> {
    let params = pagination::parse(query.as_deref(), &[])?;
    let rows = integrations::list(
        &state.db,
        &caller.account_id,
        caller.livemode,
        params.after,
        params.limit + 1,
    )
    .await?;
    Ok(Json(pagination::page(
        rows,
        params.limit,
        |r| (r.created_at, r.id.clone()),
        IntegrationView::from,
    )))
}

/// Read one connected account.
#[utoipa::path(get, path = "/v1/integrations/{id}", tag = "integrations", params(("id" = String, Path)),
    responses((status = 200, body = IntegrationView), (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<Json<IntegrationView>> {
    match integrations::get(&state.db, &caller.account_id, caller.livemode, &id).await? {
        Some(row) => Ok(Json(row.into())),
        None => Err(ApiError::not_found("integration")),
    }
}

/// Disconnect an account and forget its credentials.
#[utoipa::path(delete, path = "/v1/integrations/{id}", tag = "integrations", params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<Json<Deleted>> {
    if integrations::delete(&state.db, &caller.account_id, caller.livemode, &id).await? {
        Ok(Json(Deleted { id, deleted: true }))
    } else {
        Err(ApiError::not_found("integration"))
    }
}
