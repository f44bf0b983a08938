//! The `/metrics` (and `/healthz`) listener of a `soku worker` process (`soku serve` shows the same on the
//! API's address).

use std::future::Future;

use axum::{Router, http::header, response::IntoResponse, routing::get};
use soku_shared::config::Settings;

/// Binds `settings.worker.metrics_listen`; fails when the address is taken (two workers on one host need two
/// addresses). The returned future serves until `shutdown` resolves.
pub async fn bind<S>(
    settings: &Settings,
    shutdown: S,
) -> anyhow::Result<impl Future<Output = std::io::Result<()>> + use<S>>
where
    S: Future<Output = ()> + Send + 'static,
{
    let addr = settings.worker.metrics_listen;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot serve worker metrics on {addr}: {e} (set SOKU_WORKER_METRICS_LISTEN)"
        )
    })?;
    tracing::info!(addr = %listener.local_addr()?, "worker metrics listening");
    let db = soku_shared::store::connect_lazy(settings.database_url(), 2)?;
    let redis = soku_shared::redis_queue::redis_manager(
        settings.redis_url(),
        std::time::Duration::from_secs(2),
    )?;
    let prefix = settings.redis_prefix.clone();
    let metrics = move || {
        let (db, mut redis, prefix) = (db.clone(), redis.clone(), prefix.clone());
        async move {
            let text = crate::metrics_text(&db, &mut redis, &prefix).await;
            (
                [(header::CONTENT_TYPE, soku_shared::metrics::CONTENT_TYPE)],
                text,
            )
                .into_response()
        }
    };
    let app = Router::new().route("/metrics", get(metrics)).route(
        "/healthz",
        get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    Ok(axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .into_future())
}
