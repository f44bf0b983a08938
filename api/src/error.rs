//! `ApiError`: the one error shape of docs/api.md ("Errors"), rendered for every failure. A 500 logs its cause with the
//! request id and tells the client nothing internal.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};
use soku_shared::{post::fmt_time, validate::FieldError};
use utoipa::ToSchema;

use crate::request_id::current_request_id;

/// What a `503` sends in `Retry-After`, in seconds.
pub const UNAVAILABLE_RETRY_SECS: u64 = 2;

/// A dependency whose outage is a `503`.
#[derive(Debug, Clone, Copy)]
pub enum Dependency {
    Database,
    Queue,
}

/// Longest message or string in `details` an error carries: sources quote input as short excerpts
/// (`soku_shared::validate::excerpt`); this bounds whatever they missed.
const MAX_ERROR_TEXT_CHARS: usize = 1000;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorObject {
    /// Machine-readable: one of [`ERROR_CODES`] (the schema lists them by status).
    #[schema(schema_with = error_codes)]
    pub code: String,
    #[schema(example = "Invalid or missing API key.")]
    pub message: String,
    #[schema(format = DateTime, example = "2026-02-28T12:00:00.000Z")]
    pub timestamp: String,
    /// The request's `X-Request-ID`.
    #[schema(example = "req_abc123def456", pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = ErrorDetails, nullable = false)]
    pub details: Option<Value>,
}

/// Every error code the API answers with, as listed on [`ErrorObject::code`].
pub const ERROR_CODES: [&str; 24] = [
    "invalid_json",
    "invalid_content_type",
    "validation_error",
    "missing_integrations",
    "invalid_scheduled_time",
    "media_not_ready",
    "unsupported_media",
    "unauthorized",
    "insufficient_credits",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "idempotency_in_progress",
    "conflict",
    "payload_too_large",
    "idempotency_key_reused",
    "rate_limited",
    "internal_error",
    "unavailable",
    "invalid_header",
    "invalid_request",
    "request_timeout",
    "uri_too_long",
    "headers_too_large",
];

fn error_codes() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(ERROR_CODES))
        .description(Some(
            "Machine-readable. 400: `invalid_json`, `invalid_content_type`, `validation_error`, \
             `missing_integrations`, `invalid_scheduled_time`, `media_not_ready`, `unsupported_media`; 401: \
             `unauthorized`; 402: `insufficient_credits`; 403: `forbidden`; 404: `not_found`; 405: \
             `method_not_allowed`; 409: `idempotency_in_progress`, `conflict`; 413: `payload_too_large`; 422: \
             `idempotency_key_reused`; 429: `rate_limited`; 500: `internal_error`; 503: `unavailable`.",
        ))
        .examples(["unauthorized"])
        .build()
}

/// What an error carries besides its message, by code (for the API reference).
#[derive(Serialize, ToSchema)]
pub struct ErrorDetails {
    /// `validation_error`, `invalid_scheduled_time`: every failing field (the first 100).
    pub fields: Option<Vec<FieldError>>,
    /// `validation_error`: how many failing fields were left out of `fields` (only when over 100).
    #[schema(minimum = 1)]
    pub omitted: Option<u64>,
    /// `missing_integrations`: every target without a connection.
    pub missing: Option<Vec<MissingTarget>>,
    /// `/readyz`'s `unavailable`: `ok` or `unreachable`.
    #[schema(value_type = Option<Reachability>)]
    pub postgres: Option<String>,
    #[schema(value_type = Option<Reachability>)]
    pub redis: Option<String>,
}

/// A target of a live post whose connection is missing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MissingTarget {
    pub platform: soku_shared::platform::Platform,
    /// Present when the target named a connection.
    pub account_id: Option<String>,
}

/// Whether a dependency answers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    Ok,
    Unreachable,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// `400 validation_error` listing every failing field, up to [`MAX_LISTED_FIELDS`] of them (a body with
    /// 100,000 bad items gets a short answer; the message still counts them all).
    pub fn validation(mut fields: Vec<FieldError>) -> ApiError {
        let message = summary("Validation failed", &fields);
        let omitted = fields.len().saturating_sub(MAX_LISTED_FIELDS);
        fields.truncate(MAX_LISTED_FIELDS);
        let details = if omitted > 0 {
            json!({ "fields": fields, "omitted": omitted })
        } else {
            json!({ "fields": fields })
        };
        ApiError::new(StatusCode::BAD_REQUEST, "validation_error", message).with_details(details)
    }

    /// The same error under another code of its status (`media_not_ready` for a validation failure).
    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = code;
        self
    }

    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
            platform: None,
        }])
    }

    pub fn scheduled_time(fields: Vec<FieldError>) -> ApiError {
        let message = summary("Invalid scheduledTime", &fields);
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_scheduled_time", message)
            .with_details(json!({ "fields": fields }))
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// `503 unavailable` with `Retry-After`, naming the dependency that is down in the client's terms.
    pub fn unavailable(dependency: Dependency) -> ApiError {
        let what = match dependency {
            Dependency::Database => "Soku's database",
            Dependency::Queue => "Soku's job queue",
        };
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "{what} cannot be reached right now. Retry in {UNAVAILABLE_RETRY_SECS} seconds or later; \
                 with the same Idempotency-Key a retry never acts twice."
            ),
        );
        e.retry_after = Some(UNAVAILABLE_RETRY_SECS);
        e
    }

    /// A failure of ours: logged with its whole cause chain and the request id, reported to the client
    /// without either.
    pub fn internal(cause: impl Into<anyhow::Error>) -> ApiError {
        let cause = cause.into();
        tracing::error!(request_id = %current_request_id(), error = format!("{cause:#}"), "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side.",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorObject {
                code: self.code.to_string(),
                message: capped(&self.message),
                timestamp: fmt_time(chrono::Utc::now()),
                request_id: current_request_id(),
                details: self.details.clone().map(capped_strings),
            },
        }
    }
}

fn capped(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_TEXT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn capped_strings(value: Value) -> Value {
    match value {
        Value::String(s) if s.len() > MAX_ERROR_TEXT_CHARS => Value::String(capped(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(capped_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (capped(&k), capped_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

/// "Validation failed: post.content.text: … (and 2 more)": the first problem in the message, all in details.
/// Most failing fields listed in one `validation_error`.
pub const MAX_LISTED_FIELDS: usize = 100;

fn summary(prefix: &str, fields: &[FieldError]) -> String {
    match fields {
        [] => format!("{prefix}."),
        [one] => format!("{prefix}: {}: {}", display_field(&one.field), one.message),
        [first, rest @ ..] => {
            format!(
                "{prefix}: {}: {} (and {} more in details.fields)",
                display_field(&first.field),
                first.message,
                rest.len()
            )
        }
    }
}

fn display_field(field: &str) -> &str {
    if field.is_empty() { "body" } else { field }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        if soku_shared::store::is_unavailable(&e) {
            tracing::warn!(request_id = %current_request_id(), error = %e, "database unavailable");
            return ApiError::unavailable(Dependency::Database);
        }
        ApiError::internal(e)
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> ApiError {
        tracing::warn!(request_id = %current_request_id(), error = %e, "redis unavailable");
        ApiError::unavailable(Dependency::Queue)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A panic in a handler becomes a 500 in the error shape (the request id is still in scope here).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}
