//! The outermost layer: takes a safe client `X-Request-ID` or makes one, scopes it over the request (so
//! errors and logs carry it) and puts it on every response.

use std::time::Instant;

use axum::{extract::Request, http::HeaderValue, middleware::Next, response::Response};
use soku_shared::ids::{IdPrefix, new_id};
use tracing::Instrument;

tokio::task_local! {
    /// The id of the request being served, set by [`layer`] for the whole request.
    pub(crate) static REQUEST_ID: String;
}

/// The current request's id (empty outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(|id| id.clone()).unwrap_or_default()
}

/// `≤ 64` characters of `[A-Za-z0-9_-]`: anything else is replaced, never echoed.
fn is_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub async fn layer(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_safe(v))
        .map(str::to_string)
        .unwrap_or_else(|| new_id(IdPrefix::Request));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    let _in_flight = soku_shared::metrics::http_request_started();
    let mut response = REQUEST_ID
        .scope(id.clone(), async move {
            let response = next.run(req).await;
            tracing::debug!(
                status = response.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
                "done"
            );
            response
        })
        .instrument(span)
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
