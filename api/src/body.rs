//! Request bodies: `Content-Type: application/json`, a size limit, and JSON that parses. Each failure has
//! its own code; the raw bytes are kept for idempotency fingerprints.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{StatusCode, header},
};
use futures::StreamExt;
use serde_json::Value;

use crate::{error::ApiError, state::AppState};

pub struct JsonBody {
    pub bytes: Bytes,
    pub value: Value,
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<JsonBody, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            let seen = if content_type.is_empty() {
                "none".to_string()
            } else {
                format!("`{content_type}`")
            };
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_content_type",
                format!(
                    "Request bodies must be JSON with `Content-Type: application/json` (got {seen})."
                ),
            ));
        }
        let limit = state.settings.max_body_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than the limit of {limit} bytes."),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = req.into_body();
        if declared.is_some_and(|n| n > limit as u64) {
            drain_stream(body.into_data_stream()).await;
            return Err(too_large());
        }
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "The request body could not be read to its end.",
                )
            })?;
            if bytes.len() + chunk.len() > limit {
                drain_stream(stream).await;
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let bytes = Bytes::from(bytes);
        let value = serde_json::from_slice::<Value>(&bytes).map_err(|e| {
            let reason = if bytes.is_empty() {
                "the body is empty".to_string()
            } else {
                e.to_string()
            };
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The request body is not valid JSON: {reason}."),
            )
        })?;
        Ok(JsonBody { bytes, value })
    }
}

/// Reads and discards what is left of an oversized body (up to a bound, for a bounded time), so the client
/// receives the 413 instead of a connection closed under its upload.
async fn drain_stream(mut stream: axum::body::BodyDataStream) {
    const MAX_DRAIN: usize = 64 * 1024 * 1024;
    let discard = async {
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > MAX_DRAIN {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), discard).await;
}
