//! `/metrics`: Prometheus text. This process's own counters (for `soku serve`, the workers' too) and the
//! shared gauges: queue depths, unsettled targets, overdue scheduled posts.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use redis::aio::ConnectionManager;
use soku_shared::store::Db;

use crate::state::AppState;

/// Prometheus metrics: queue depths, unsettled targets, overdue scheduled posts, and this process's counters.
/// Unauthenticated: keep it off the public internet.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
        content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    text(&state.db, &mut state.redis(), &state.settings.redis_prefix).await
}

pub async fn text(db: &Db, redis: &mut ConnectionManager, prefix: &str) -> Response {
    let gauges = soku_shared::metrics::shared_gauges(db, redis, prefix).await;
    (
        [(header::CONTENT_TYPE, soku_shared::metrics::CONTENT_TYPE)],
        soku_shared::metrics::render(&gauges),
    )
        .into_response()
}
