//! Request bodies: `Content-Type: application/json`, a size limit, and JSON that parses. Each failure has
//! its own code; the raw bytes are kept for idempotency fingerprints.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{StatusCode, header},
};
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
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| too_large())?;
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
