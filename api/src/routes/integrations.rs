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
    platform::Platform,
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

/// Body of `POST /v1/integrations`. Unknown fields are refused; null is absence for the optional ones.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectIntegration {
    #[schema(value_type = Platform)]
    pub platform: String,
    /// Your label for this connection, used as `accountId` in posts: 1..100 printable characters, spaces only
    /// inside.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?$"
    )]
    pub account_id: String,
    /// A name to show, at most 200 characters, not blank, without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: Option<String>,
    /// Make this the connection used when a post names only the platform. The first connection of a
    /// platform becomes its default anyway.
    pub is_default: Option<bool>,
    #[schema(value_type = Credentials)]
    pub credentials: Value,
}

/// A connection's credentials: stored sealed under the master key, never returned or logged. Members besides
/// these (`refreshToken`, platform ids such as `igUserId`, `pageId`, `authorUrn`) are kept as given.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    #[schema(min_length = 1)]
    pub access_token: String,
    /// When the access token expires, RFC 3339 with an offset.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
}

/// The answer to `DELETE /v1/integrations/{id}`.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

/// Connect (or reconnect) a platform account.
#[utoipa::path(post, path = "/v1/integrations", tag = "integrations", operation_id = "createIntegration",
    request_body(content = ConnectIntegration, examples(("connect" = (summary = "Connect an X account",
        value = json!({"platform": "x", "accountId": "x_brand", "displayName": "Brand on X", "isDefault": true,
                       "credentials": {"accessToken": "token-from-the-platform", "refreshToken": "refresh-token"}}))))),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$",
            description = "Makes a retried request safe: 1..255 printable ASCII characters, kept 24 h")),
    responses(
        (status = 201, description = "Connected", body = IntegrationView, links(
            ("getIntegration" = (operation_id = "getIntegration", parameters(("id" = "$response.body#/id")))),
            ("deleteIntegration" = (operation_id = "deleteIntegration", parameters(("id" = "$response.body#/id")))))),
        (status = 200, description = "An existing connection with this platform and accountId was reconnected: new credentials, status `active`",
            body = IntegrationView, links(
            ("getIntegration" = (operation_id = "getIntegration", parameters(("id" = "$response.body#/id")))),
            ("deleteIntegration" = (operation_id = "deleteIntegration", parameters(("id" = "$response.body#/id")))))),
        (status = 400, description = "`invalid_content_type`, `invalid_json`, or `validation_error` naming every failing field (also a bad `Idempotency-Key`)", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
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

/// List connected accounts, newest first.
#[utoipa::path(get, path = "/v1/integrations", tag = "integrations", operation_id = "listIntegrations",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1..100 (default 20)"),
           ("cursor" = Option<String>, Query, min_length = 1, pattern = r"^[A-Za-z0-9_-]+$",
            description = "`nextCursor` of the previous page")),
    responses((status = 200, body = Page<IntegrationView>),
        (status = 400, description = "`validation_error`: a bad `limit` or `cursor`, or an unknown query parameter", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
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
#[utoipa::path(get, path = "/v1/integrations/{id}", tag = "integrations", operation_id = "getIntegration",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "int_4kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, body = IntegrationView), (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(integration_id = %id))]
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

/// Disconnect an account and forget its credentials. Posts already accepted keep their target's `accountId`.
#[utoipa::path(delete, path = "/v1/integrations/{id}", tag = "integrations", operation_id = "deleteIntegration",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "int_4kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, body = Deleted, links(
            ("getIntegration" = (operation_id = "getIntegration", parameters(("id" = "$response.body#/id")),
                description = "Now 404")))),
        (status = 404, body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(integration_id = %id))]
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use utoipa::PartialSchema;

    use super::*;

    /// The document's patterns for `accountId` and `displayName` say exactly what `check` accepts.
    #[test]
    fn the_schema_patterns_are_the_server_rules() {
        let schema = serde_json::to_value(ConnectIntegration::schema()).unwrap();
        let chars = (0u32..0x3100)
            .chain([0xfeff, 0xfffd, 0x1f642])
            .filter_map(char::from_u32);
        let mut values: Vec<String> = vec![String::new(), " ".into(), "a".repeat(201)];
        for c in chars {
            values.extend([
                c.to_string(),
                format!("a{c}b"),
                format!("{c}a"),
                format!("a{c}"),
            ]);
        }
        for (field, max) in [("accountId", 100), ("displayName", 200)] {
            let p = &schema["properties"][field];
            let re = regex::Regex::new(p["pattern"].as_str().unwrap()).unwrap();
            assert_eq!(p["maxLength"], max);
            for value in &values {
                let mut body = json!({ "platform": "x", "accountId": "x_main",
                                       "credentials": { "accessToken": "t" } });
                body[field] = json!(value);
                let fits = re.is_match(value) && (1..=max).contains(&value.chars().count());
                assert_eq!(
                    fits,
                    integration::check(&body).is_ok(),
                    "{field} = {value:?}"
                );
            }
        }
    }
}
