//! Soku's intake API: a lean axum app that checks everything a request can be checked for, stores it in
//! Postgres, enqueues work in Redis and answers. No publishing, no media work, nothing long here.

pub mod auth;
pub mod body;
pub mod dashboard;
pub mod error;
pub mod handoff;
pub mod id_path;
pub mod idempotency;
pub mod key_cache;
pub mod pagination;
pub mod ratelimit;
pub mod request_id;
pub mod routes;
pub mod serve;
pub mod session;
pub mod state;

use std::{future::Future, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    middleware,
    response::IntoResponse,
    routing::{delete, get, post},
};
use soku_shared::{config::Settings, store::idempotency::purge_expired};
use tower_http::catch_panic::CatchPanicLayer;

pub use crate::state::AppState;
use crate::{error::ApiError, routes::*};

/// The whole HTTP app.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/posts", post(posts::create).get(posts::list))
        .route("/posts/{id}", get(posts::get).delete(posts::cancel))
        .route("/posts/{id}/retry", post(posts::retry))
        .route(
            "/integrations",
            post(integrations::create).get(integrations::list),
        )
        .route(
            "/integrations/{id}",
            get(integrations::get).delete(integrations::delete),
        )
        .route("/media", post(media::create).get(media::list))
        .route("/media/{id}", get(media::get).delete(media::delete))
        .route("/templates", post(templates::render).get(templates::list))
        .route(
            "/ai/transcribe",
            post(transcribe::create).get(transcribe::list),
        )
        .route("/ai/transcribe/{id}", get(transcribe::get))
        .route("/ai/transcribe/{id}/cancel", post(transcribe::cancel))
        .route("/credits", get(credits::get))
        .route("/credits/ledger", get(credits::ledger))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::layer));
    // Key management and sessions: a person's session, not an API key (docs/dashboard.md).
    let people = Router::new()
        .route("/auth/logout", post(sessions::logout))
        .route("/auth/password", post(sessions::password))
        .route("/api-keys", post(api_keys::create).get(api_keys::list))
        .route("/api-keys/{id}", delete(api_keys::revoke))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .route("/auth/login", post(sessions::login))
        .route("/auth/refresh", post(sessions::refresh));
    let v1 = v1.merge(people);
    Router::new()
        .nest("/v1", v1)
        .merge(dashboard::router(state.clone()))
        .route("/media/{file}", get(files::file))
        .route("/media/{token}/thumbnail.jpg", get(files::thumbnail))
        .route("/media/{token}/h264.mp4", get(files::rendition))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(serve::single_headers))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such endpoint. The API lives under /v1; see /openapi.json.",
    )
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not accept that HTTP method; see /openapi.json.",
    )
}

/// Serves the API on `settings.listen` until `shutdown` resolves; requests in flight then finish. The timeouts
/// and connection cap of `settings.http` apply (see `serve`).
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::new(settings)?;
    let listener = tokio::net::TcpListener::bind(state.settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", state.settings.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "api listening");
    let janitor = tokio::spawn(purge_idempotency_keys(state.clone()));
    let http = state.settings.http.clone();
    let upload = Duration::from_secs(state.settings.media.upload_timeout_secs);
    serve::serve(listener, router(state), &http, upload, shutdown).await;
    janitor.abort();
    tracing::info!("api stopped");
    Ok(())
}

/// Forgets idempotency records past their 24 h retention, every ten minutes.
async fn purge_idempotency_keys(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match purge_expired(&state.db).await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys removed"),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "idempotency purge skipped"),
        }
    }
}
