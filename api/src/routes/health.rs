//! `/healthz` (the process answers) and `/readyz` (Postgres and Redis answer; 503 otherwise).

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

/// Postgres and Redis are reachable.
#[utoipa::path(get, path = "/readyz", tag = "health", operation_id = "readyz",
    responses((status = 200, description = "`{\"status\": \"ready\"}`", body = Health),
        (status = 503, description = "`unavailable`; `details` says which of `postgres` and `redis` is `unreachable`",
            body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(2);
    let pg = tokio::time::timeout(limit, soku_shared::store::ping(&state.db)).await;
    let mut conn = state.redis();
    let redis =
        tokio::time::timeout(limit, redis::cmd("PING").query_async::<String>(&mut conn)).await;
    let pg_ok = matches!(pg, Ok(Ok(_)));
    let redis_ok = matches!(redis, Ok(Ok(_)));
    if pg_ok && redis_ok {
        return (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
            }),
        )
            .into_response();
    }
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let down: Vec<&str> = [("database", pg_ok), ("redis", redis_ok)]
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("Not ready: {} unreachable.", down.join(" and ")),
    )
    .with_details(json!({ "postgres": word(pg_ok), "redis": word(redis_ok) }));
    e.retry_after = Some(crate::error::UNAVAILABLE_RETRY_SECS);
    e.into_response()
}
