//! `/healthz` (the process answers) and `/readyz` (Postgres, Redis and media storage answer; 503 otherwise).

use std::time::Duration;

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::{error::ApiError, state::AppState};

/// `/healthz` says `ok`, `/readyz` says `ready`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "health", operation_id = "healthz",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Postgres, Redis and media storage (the folder or the bucket) are reachable.
#[utoipa::path(get, path = "/readyz", tag = "health", operation_id = "readyz",
    responses((status = 200, description = "`{\"status\": \"ready\"}`", body = Health),
        (status = 503, description = "`unavailable`; `details` says which of `postgres`, `redis` and `storage` is `unreachable`",
            body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(2);
    let pg = tokio::time::timeout(limit, soku_shared::store::ping(&state.db)).await;
    let mut conn = state.redis();
    let redis =
        tokio::time::timeout(limit, redis::cmd("PING").query_async::<String>(&mut conn)).await;
    let storage = tokio::time::timeout(limit, state.storage.ping()).await;
    let pg_ok = matches!(pg, Ok(Ok(_)));
    let redis_ok = matches!(redis, Ok(Ok(_)));
    let storage_ok = matches!(storage, Ok(Ok(_)));
    if let Ok(Err(e)) = &storage {
        tracing::warn!(error = %e, "media storage does not answer");
    }
    if pg_ok && redis_ok && storage_ok {
        return (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
            }),
        )
            .into_response();
    }
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let down: Vec<&str> = [
        ("database", pg_ok),
        ("redis", redis_ok),
        ("media storage", storage_ok),
    ]
    .iter()
    .filter(|(_, ok)| !ok)
    .map(|(n, _)| *n)
    .collect();
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("Not ready: {} unreachable.", down.join(" and ")),
    )
    .with_details(json!({
        "postgres": word(pg_ok),
        "redis": word(redis_ok),
        "storage": word(storage_ok),
    }));
    e.retry_after = Some(crate::error::UNAVAILABLE_RETRY_SECS);
    e.into_response()
}
