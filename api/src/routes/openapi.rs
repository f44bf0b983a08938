//! The OpenAPI 3.1 document: generated from the handlers' annotations and the types they use, then completed
//! with what every operation shares, derived from what the operation declares, so that a new endpoint is
//! described the same way without repeating it:
//!
//! - every response carries `X-Request-ID` (the outermost layer sets it);
//! - an authenticated operation (one with `security`) can answer 401, 403, 429 and 503, and its responses carry
//!   `X-RateLimit-*` once the key was found (so not on 401; on 404 and 503 only when they came after the rate
//!   check); a 429 carries `Retry-After`;
//! - an operation with a JSON body can answer 400 (`invalid_content_type`, `invalid_json`, `validation_error`)
//!   and 413; one that takes `Idempotency-Key` can answer 400 (a bad key), 409 and 422, and its successes may be
//!   replays (`Idempotent-Replayed: true`); one with an `{id}` can answer 404;
//! - header and query parameters are never null (they are text or absent).
//!
//! The example `scheduledTime` is tomorrow at 14:00 UTC of the day the document is served, so the examples are
//! valid whenever they are read.

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::{Map, Value, json};
use soku_shared::post::fmt_time;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    api_keys, credits, health, integrations, media, metrics, posts, sessions, templates, transcribe,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Soku API", description = "Publish posts to Threads, X, LinkedIn, Instagram, Facebook, TikTok and YouTube at once, now or at a scheduled time.\n\nIn every request body, an optional field sent as `null` is the same as the field left out, and `null` for a required field is that field missing. Unknown fields are refused."),
    paths(posts::create, posts::list, posts::get, posts::cancel, posts::retry,
          integrations::create, integrations::list, integrations::get, integrations::delete,
          media::create, media::list, media::get, media::delete,
          templates::list, templates::render,
          transcribe::create, transcribe::list, transcribe::get, transcribe::cancel,
          credits::get, credits::ledger,
          sessions::login, sessions::refresh, sessions::logout, sessions::password,
          api_keys::create, api_keys::list, api_keys::revoke,
          health::healthz, health::readyz, metrics::metrics),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorObject, crate::error::ErrorDetails,
        soku_shared::validate::FieldError, soku_shared::validate::TargetInput,
        soku_shared::validate::SandboxBehavior)),
    modifiers(&Security),
    tags((name = "posts"), (name = "integrations"), (name = "media"), (name = "templates"), (name = "transcription"), (name = "credits"), (name = "sessions"), (name = "api-keys"), (name = "health"), (name = "operations"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("soku-api-key"))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A person's access token from POST /v1/auth/login (the dashboard sends its session cookie and \
                         X-CSRF-Token instead)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Response {
    let body = serde_json::to_vec(&document_value(Utc::now())).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The document as served at `now`.
pub fn document_value(now: DateTime<Utc>) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    complete(&mut doc, now);
    doc
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Adds what every operation shares (see the module docs) and the dated examples.
fn complete(doc: &mut Value, now: DateTime<Utc>) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if METHODS.contains(&method.as_str()) {
                complete_operation(path, op);
            }
        }
    }
    let tomorrow = fmt_time(
        (now + Duration::days(1))
            .date_naive()
            .and_time(NaiveTime::MIN)
            .and_utc()
            + Duration::hours(14),
    );
    dated_examples(doc, &tomorrow);
}

fn complete_operation(path: &str, op: &mut Value) {
    // Authenticated with an API key (rate-limited, subscription-checked); a session's operations declare their own.
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("apiKey").is_some()));
    let by_session = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("session").is_some()));
    let has_body = op.get("requestBody").is_some();
    let params = op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    let idempotent = params
        .iter()
        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
    let params: Vec<Value> = params.into_iter().map(never_null).collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut shared = shared_responses(path, has_body, idempotent, secured);
    if by_session {
        shared.push((
            "401",
            "`unauthorized`: no session, or an expired or ended one (log in again, or refresh the access token)",
        ));
        shared.push((
            "403",
            "`forbidden`: an API key was sent (this needs a person's session), or `csrf_failed`: the dashboard's \
             X-CSRF-Token is missing or wrong",
        ));
        shared.push((
            "503",
            "`unavailable`: Postgres cannot be reached right now; retry shortly",
        ));
    }
    add_error_responses(responses, shared);
    for (status, response) in responses.iter_mut() {
        complete_response(status, response, secured, idempotent);
    }
}

/// The error responses an operation shares with every other of its kind (a body, a key, an id, auth).
fn shared_responses(
    path: &str,
    has_body: bool,
    idempotent: bool,
    secured: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut shared: Vec<(&'static str, &'static str)> = Vec::new();
    if has_body {
        shared.push((
            "400",
            "`invalid_content_type` (the body is not `application/json`), `invalid_json` (it does not parse) or \
             `validation_error` (every failing field in `details.fields`)",
        ));
        shared.push((
            "413",
            "`payload_too_large`: the body is larger than the server's limit (`SOKU_MAX_BODY_BYTES`, 1 MiB by default)",
        ));
    }
    if idempotent {
        shared.push(("400", "`validation_error` naming `Idempotency-Key`"));
        shared.push((
            "409",
            "`idempotency_in_progress`: a request with this `Idempotency-Key` is still being processed; retry in a moment",
        ));
        shared.push((
            "422",
            "`idempotency_key_reused`: this `Idempotency-Key` was used with a different request (method, path or body)",
        ));
    }
    if path.contains("{id}") {
        shared.push((
            "404",
            "`not_found`: no such object (or it belongs to another account, or to the other mode)",
        ));
    }
    if secured {
        shared.push((
            "401",
            "`unauthorized`: no key, or a malformed, unknown or revoked one, or a key where Soku does not read it \
             (the query string, another header); the message names the mistake",
        ));
        shared.push(("403", "`forbidden`: the account has no active subscription"));
        shared.push((
            "429",
            "`rate_limited`: the account's requests per minute are spent; `Retry-After` says when to retry",
        ));
        shared.push((
            "503",
            "`unavailable`: Postgres or Redis cannot be reached right now; retry shortly",
        ));
    }
    shared
}

fn add_error_responses(
    responses: &mut serde_json::Map<String, Value>,
    shared: Vec<(&'static str, &'static str)>,
) {
    for (status, description) in shared {
        let response = responses
            .entry(status)
            .or_insert_with(|| json!({ "description": description }));
        if response["description"].as_str().is_none_or(str::is_empty) {
            response["description"] = json!(description);
        }
        if response.get("content").is_none() {
            response["content"] = json!({
                "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
            });
        }
    }
}

/// The headers every response of an operation carries: the request id, the rate-limit state, `Retry-After`.
fn complete_response(status: &str, response: &mut Value, secured: bool, idempotent: bool) {
    let mut headers = response
        .get_mut("headers")
        .and_then(Value::as_object_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    headers.insert(
        "X-Request-ID".into(),
        header_object(
            "The request's id: the client's `X-Request-ID` when it is 1..64 characters of `[A-Za-z0-9_-]`, else a new `req_…`",
            json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" }),
            true,
        ),
    );
    if secured && status != "401" {
        // A 404 of a path that names no route, and a 503 before the rate check, come before the budget is read.
        let always = !matches!(status, "404" | "503");
        rate_limit_headers(&mut headers, always);
    }
    if status == "429" || status == "503" {
        headers.insert(
            "Retry-After".into(),
            header_object(
                "Seconds to wait before retrying: until the rate-limit window ends (429), or until the dependency is likely back (503)",
                json!({ "type": "integer", "minimum": 1 }),
                true,
            ),
        );
    }
    if idempotent && status.starts_with('2') {
        headers.insert(
            "Idempotent-Replayed".into(),
            header_object(
                "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`",
                json!({ "type": "string", "enum": ["true"] }),
                false,
            ),
        );
    }
    response["headers"] = Value::Object(headers);
    if let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) {
        links.values_mut().for_each(camel_case_link);
    }
}

/// utoipa writes a Link Object's fields in snake case (`operation_id`); the specification spells them in camel
/// case, and tools ignore the other spelling.
fn camel_case_link(link: &mut Value) {
    let Some(link) = link.as_object_mut() else {
        return;
    };
    for (from, to) in [
        ("operation_id", "operationId"),
        ("operation_ref", "operationRef"),
        ("request_body", "requestBody"),
    ] {
        if let Some(v) = link.remove(from) {
            link.insert(to.into(), v);
        }
    }
}

fn rate_limit_headers(headers: &mut Map<String, Value>, required: bool) {
    let integer = json!({ "type": "integer", "minimum": 0 });
    for (name, description) in [
        (
            "X-RateLimit-Limit",
            "Requests per minute of the account's plan",
        ),
        (
            "X-RateLimit-Remaining",
            "Requests left in the current one-minute window",
        ),
        (
            "X-RateLimit-Reset",
            "Unix second at which the current window ends",
        ),
    ] {
        headers.insert(
            name.into(),
            header_object(description, integer.clone(), required),
        );
    }
}

fn header_object(description: &str, schema: Value, required: bool) -> Value {
    json!({ "description": description, "required": required, "schema": schema })
}

/// A header or query parameter is text or absent, never JSON null.
fn never_null(mut param: Value) -> Value {
    if let Some(types) = param
        .pointer_mut("/schema/type")
        .and_then(Value::as_array_mut)
    {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            param["schema"]["type"] = only;
        }
    }
    param
}

/// Examples that name a `scheduledTime` use `tomorrow`, so that they are valid on any date.
fn dated_examples(doc: &mut Value, tomorrow: &str) {
    if let Some(prop) =
        doc.pointer_mut("/components/schemas/CreatePostRequest/properties/scheduledTime")
    {
        prop["examples"] = json!([tomorrow]);
    }
    if let Some(body) =
        doc.pointer_mut("/paths/~1v1~1posts/post/requestBody/content/application~1json")
    {
        body["examples"] = json!({
            "now": {
                "summary": "A text post to three platforms, published now",
                "value": { "post": { "content": {
                    "text": "Just shipped our biggest update yet. More details coming soon.",
                    "mediaType": "text",
                    "platform": ["threads", "x", "linkedin"]
                } } }
            },
            "scheduled": {
                "summary": "An image post to one named connection and a default one, scheduled for tomorrow",
                "value": {
                    "post": { "content": {
                        "text": "Our new office is open.",
                        "imageUrls": ["https://cdn.example.com/office-1.jpg", "https://cdn.example.com/office-2.jpg"],
                        "platform": [{ "platform": "instagram", "accountId": "instagram_main" }, "facebook"]
                    } },
                    "scheduledTime": tomorrow
                }
            }
        });
    }
}
