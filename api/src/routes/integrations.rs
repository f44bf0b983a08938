//! `/v1/integrations`: connected platform accounts. Credentials are sealed under the master key before
//! they reach the store and are never returned.

use axum::{
    Extension, Json,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use soku_shared::{
    crypto::seal,
    ids::{IdPrefix, new_id},
    platform::Platform,
    post::fmt_time,
    store::integrations::{self, IntegrationRow, Upsert},
    validate::{FieldError, account_id_problem},
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

/// A connected account, without its credentials.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    pub id: String,
    pub platform: String,
    pub account_id: String,
    pub display_name: Option<String>,
    pub is_default: bool,
    /// `active` or `needs_reauth`.
    pub status: String,
    pub livemode: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<IntegrationRow> for IntegrationView {
    fn from(r: IntegrationRow) -> IntegrationView {
        IntegrationView {
            id: r.id,
            platform: r.platform,
            account_id: r.account_label,
            display_name: r.display_name,
            is_default: r.is_default,
            status: r.status,
            livemode: r.livemode,
            created_at: fmt_time(r.created_at),
            updated_at: fmt_time(r.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

struct Checked {
    platform: Platform,
    label: String,
    display_name: Option<String>,
    is_default: bool,
    credentials: Map<String, Value>,
}

fn check(body: &Value) -> Result<Checked, ApiError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
            platform: None,
        })
    };
    let Some(obj) = body.as_object() else {
        return Err(ApiError::field("body", "must be a JSON object"));
    };
    for name in obj.keys() {
        if ![
            "platform",
            "accountId",
            "displayName",
            "isDefault",
            "credentials",
        ]
        .contains(&name.as_str())
        {
            err(
                &soku_shared::validate::excerpt(name),
                "unknown field".into(),
            );
        }
    }
    let text = |name: &str,
                max: usize,
                required: bool,
                err: &mut dyn FnMut(&str, String)|
     -> Option<String> {
        match obj.get(name) {
            None | Some(Value::Null) if required => {
                err(name, "is required".into());
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                err(name, "must not be empty".into());
                None
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                err(name, format!("must be at most {max} characters"));
                None
            }
            Some(Value::String(s)) if s.chars().any(char::is_control) => {
                err(name, "must not contain control characters".into());
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                err(name, "must be a string".into());
                None
            }
        }
    };
    let platform = text("platform", 32, true, &mut err).and_then(|p| {
        let parsed = Platform::parse(&p);
        if parsed.is_none() {
            let p = soku_shared::validate::excerpt(&p);
            err("platform", format!("unknown platform `{p}`; expected one of threads, x, linkedin, instagram, facebook, tiktok, youtube"));
        }
        parsed
    });
    let label =
        text("accountId", 100, true, &mut err).and_then(|label| match account_id_problem(&label) {
            Some(problem) => {
                err("accountId", problem);
                None
            }
            None => Some(label),
        });
    let display_name = text("displayName", 200, false, &mut err);
    let is_default = match obj.get("isDefault") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            err("isDefault", "must be true or false".into());
            false
        }
    };
    let credentials = match obj.get("credentials") {
        Some(Value::Object(c)) => {
            match c.get("accessToken") {
                Some(Value::String(t)) if !t.is_empty() => {}
                Some(Value::String(_)) | None | Some(Value::Null) => {
                    err("credentials.accessToken", "is required".into())
                }
                Some(_) => err("credentials.accessToken", "must be a string".into()),
            }
            if let Some(v) = c.get("expiresAt")
                && v.as_str()
                    .is_none_or(|s| chrono::DateTime::parse_from_rfc3339(s).is_err())
            {
                err(
                    "credentials.expiresAt",
                    "must be an RFC 3339 time with an offset, e.g. 2026-03-09T14:00:00.000Z".into(),
                );
            }
            Some(c.clone())
        }
        None | Some(Value::Null) => {
            err(
                "credentials",
                "is required (an object with at least accessToken)".into(),
            );
            None
        }
        Some(_) => {
            err("credentials", "must be an object".into());
            None
        }
    };
    match (platform, label, credentials) {
        (Some(platform), Some(label), Some(credentials)) if errors.is_empty() => Ok(Checked {
            platform,
            label,
            display_name,
            is_default,
            credentials,
        }),
        _ => Err(ApiError::validation(errors)),
    }
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
        ApiError::internal("SOKU_MASTER_KEY is not configured; integrations cannot be stored")
    })?;
    idempotency::guarded(
        &state,
        &caller,
        key.as_deref(),
        "POST",
        "/v1/integrations",
        &body.bytes,
        async {
            let c = check(&body.value)?;
            let plain = serde_json::to_vec(&c.credentials).map_err(ApiError::internal)?;
            let upsert = Upsert {
                account_id: &caller.account_id,
                livemode: caller.livemode,
                platform: c.platform.as_str(),
                account_label: &c.label,
                display_name: c.display_name.as_deref(),
                make_default: c.is_default,
            };
            let (row, created) =
                integrations::upsert(&state.db, upsert, &new_id(IdPrefix::Integration), |id| {
                    seal(&master, id, &plain)
                })
                .await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let body =
                serde_json::to_vec(&IntegrationView::from(row)).map_err(ApiError::internal)?;
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
