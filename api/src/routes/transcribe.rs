//! `/v1/ai/transcribe`: speech to text of a media object's audio, charged in credits by duration
//! (docs/transcription.md). The API checks the request, reserves the cost of the declared or probed duration
//! with one conditional statement (so concurrent requests can never together overdraw), and records the job,
//! the reservation and the idempotency record in one transaction; the worker's `transcribe` job does the rest
//! and settles.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use soku_shared::{
    config::credits_for,
    ids::{IdPrefix, new_id},
    jobs::Transcribe,
    post::fmt_time,
    redis_keys::transcribe_queue,
    status::{MediaStatus, TranscriptionStatus},
    store::{
        credits, idempotency as idem_store, media as media_store,
        transcriptions::{self as store, Canceled, NewTranscription, TranscriptionRow},
    },
    transcription::{self, Segment},
};
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    id_path::Id,
    idempotency::{self, Begun, json_response},
    pagination::{self, Page},
    request_id::current_request_id,
    state::AppState,
};

const PATH: &str = "/v1/ai/transcribe";
/// The longest recording a request may declare: a day.
const MAX_DECLARED_SECONDS: f64 = 86_400.0;

/// A transcription job.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionView {
    #[schema(example = "job_3hT9kQ2mZx8LwP4vB7nR1sYe")]
    pub job_id: String,
    pub status: TranscriptionStatus,
    /// 0..1: the audio extracted, then each chunk transcribed (weighted by its length).
    pub progress: f64,
    pub media_id: String,
    /// The language asked for, else the one the provider detected (ISO 639-1); `null` until known.
    pub language: Option<String>,
    pub model: String,
    /// The recording's length measured by decoding its audio (once the worker has); until then the declared one.
    pub duration_seconds: Option<f64>,
    pub credits_reserved: i64,
    pub credits_charged: i64,
    /// `credits`, or `test` for a test-mode key: transcribed for real, never charged.
    pub billing: &'static str,
    #[schema(value_type = Option<Object>)]
    pub transcript: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub livemode: bool,
    pub created_at: String,
    pub completed_at: Option<String>,
}

impl TranscriptionView {
    pub fn from_row(row: &TranscriptionRow) -> TranscriptionView {
        let transcript = (row.status == TranscriptionStatus::Completed).then(|| {
            json!({
                "text": row.text.clone().unwrap_or_default(),
                "segments": row.segments.as_ref().map_or(json!([]), |s| s.0.clone()),
            })
        });
        let error = row.error_code.as_ref().filter(|_| row.status == TranscriptionStatus::Failed).map(|code| {
            json!({"code": code, "message": row.error_message.clone().unwrap_or_default()})
        });
        TranscriptionView {
            job_id: row.id.clone(),
            status: row.status,
            progress: if row.status == TranscriptionStatus::Completed {
                1.0
            } else {
                row.progress
            },
            media_id: row.media_id.clone(),
            language: row
                .language
                .clone()
                .or_else(|| row.detected_language.clone()),
            model: row.model.clone(),
            duration_seconds: row.duration_seconds.or(row.declared_seconds),
            credits_reserved: row.credits_reserved,
            credits_charged: row.credits_charged,
            billing: if row.livemode { "credits" } else { "test" },
            transcript,
            error,
            livemode: row.livemode,
            created_at: fmt_time(row.created_at),
            completed_at: row.completed_at.map(fmt_time),
        }
    }
}

/// `202` to `POST /v1/ai/transcribe`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub job_id: String,
    pub status: TranscriptionStatus,
    pub credits_reserved: i64,
    pub media_id: String,
    pub model: String,
    pub billing: &'static str,
}

/// The body of `POST /v1/ai/transcribe`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TranscribeRequest {
    /// A media object of the caller's with an audio track (a video or an audio-bearing file).
    #[schema(example = "media_f7e8d9c0b3c4")]
    media_id: String,
    /// ISO 639-1 code of the spoken language; omitted: detected.
    #[schema(example = "en")]
    language: Option<String>,
    /// One of the server's models (`GET`-able in docs/transcription.md); omitted: the first configured.
    #[schema(example = "whisper-1")]
    model: Option<String>,
    /// The recording's length as the client knows it; the reservation covers the larger of this and the probed
    /// length. The charge is always of the measured length.
    #[schema(example = 600)]
    duration_seconds: Option<f64>,
}

struct Request {
    media_id: String,
    language: Option<String>,
    model: String,
    provider_model: String,
    declared: Option<f64>,
}

/// Reads and checks the body: every problem reported together, each naming its field.
fn parse(state: &AppState, body: &Value) -> ApiResult<Request> {
    let Value::Object(map) = body else {
        return Err(ApiError::field(
            "body",
            "must be a JSON object: {\"mediaId\": \"media_…\"}",
        ));
    };
    let mut errors = Vec::new();
    let bad = |f: &str, m: String| soku_shared::validate::FieldError {
        field: soku_shared::validate::excerpt(f),
        message: m,
        platform: None,
    };
    for k in map.keys() {
        if !["mediaId", "language", "model", "durationSeconds"].contains(&k.as_str()) {
            errors.push(bad(
                k,
                "is not a field of a transcription request (mediaId, language, model, durationSeconds)".into(),
            ));
        }
    }
    let media_id = match map.get("mediaId") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            let s = s.trim();
            if s.len() > 100 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                errors.push(bad("mediaId", "is not a media id (media_…)".into()));
            }
            s.to_string()
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errors.push(bad(
                "mediaId",
                "is required: the id of the media to transcribe (POST /v1/media returns it)".into(),
            ));
            String::new()
        }
        Some(_) => {
            errors.push(bad("mediaId", "must be a string".into()));
            String::new()
        }
    };
    let language = match map.get("language") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim().to_ascii_lowercase();
            if (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase()) {
                Some(s)
            } else {
                errors.push(bad(
                    "language",
                    format!(
                        "`{}` is not an ISO 639-1 language code such as `en`",
                        soku_shared::validate::excerpt(&s)
                    ),
                ));
                None
            }
        }
        Some(_) => {
            errors.push(bad("language", "must be a string such as `en`".into()));
            None
        }
    };
    let cfg = &state.settings.transcription;
    let offered = || {
        cfg.models
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (model, provider_model) = match map.get("model") {
        None | Some(Value::Null) => {
            let m = cfg.default_model().to_string();
            let p = cfg.provider_model(&m).unwrap_or(&m).to_string();
            (m, p)
        }
        Some(Value::String(s)) => match cfg.provider_model(s.trim()) {
            Some(p) => (s.trim().to_string(), p.to_string()),
            None => {
                errors.push(bad(
                    "model",
                    format!(
                        "`{}` is not offered here; the models are: {}",
                        soku_shared::validate::excerpt(s),
                        offered()
                    ),
                ));
                (String::new(), String::new())
            }
        },
        Some(_) => {
            errors.push(bad(
                "model",
                format!("must be a string, one of: {}", offered()),
            ));
            (String::new(), String::new())
        }
    };
    let declared = match map.get("durationSeconds") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            match n.as_f64() {
                Some(d) if d > 0.0 && d <= MAX_DECLARED_SECONDS => Some(d),
                _ => {
                    errors.push(bad(
                    "durationSeconds",
                    format!("must be a number of seconds above 0 and at most {MAX_DECLARED_SECONDS:.0}"),
                ));
                    None
                }
            }
        }
        Some(_) => {
            errors.push(bad("durationSeconds", "must be a number of seconds".into()));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Request {
        media_id,
        language,
        model,
        provider_model,
        declared,
    })
}

/// Transcribe a media object's audio.
#[utoipa::path(post, path = "/v1/ai/transcribe", tag = "transcription", operation_id = "createTranscription",
    request_body = TranscribeRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x20-\x7e]+$",
        description = "Makes a retry safe: the same job, nothing reserved twice")),
    responses((status = 202, description = "Queued; `creditsReserved` is held until the job settles", body = Accepted),
        (status = 400, description = "`validation_error`: a bad field, or media that failed or has no audio track", body = ErrorBody),
        (status = 402, description = "`insufficient_credits`: `details.required` and `details.available`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such media of the caller's", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused`", body = ErrorBody),
        (status = 503, description = "`unavailable`: transcription is not configured on this server", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    if state.settings.transcription.url.is_none() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Transcription is not configured on this server: its operator sets SOKU_TRANSCRIPTION_URL.",
        ));
    }
    let key = idempotency::key_from(&headers)?;
    // The request's fingerprint is its JSON value, not its bytes: the same fields sent with other spacing or
    // in another order (Python's json.dumps and JavaScript's JSON.stringify) are the same request, as at Stripe.
    let fingerprint = canonical(&body.value).into_bytes();
    if let Some(key) = key.as_deref()
        && let Begun::Answer(answer) =
            idempotency::begin(&state, &caller, key, "POST", PATH, &fingerprint).await?
    {
        return Ok(answer);
    }
    match accept(&state, &caller, &body, key.as_deref()).await {
        Ok(response) => Ok(response),
        Err(e) => {
            if let Some(key) = key.as_deref() {
                idempotency::release(&state, &caller, key).await;
            }
            Err(e)
        }
    }
}

async fn accept(
    state: &AppState,
    caller: &Caller,
    body: &JsonBody,
    key: Option<&str>,
) -> ApiResult<Response> {
    let req = parse(state, &body.value)?;
    let media = media_store::get(
        &state.db,
        &caller.account_id,
        caller.livemode,
        &req.media_id,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("media"))?;
    let probed = match media.status {
        MediaStatus::Failed => {
            return Err(ApiError::field(
                "mediaId",
                format!(
                    "names media that failed ({}): upload it again",
                    media.error_message.as_deref().unwrap_or("unusable")
                ),
            ));
        }
        MediaStatus::Ready => {
            let has_audio = media
                .probe
                .as_ref()
                .and_then(|p| p.0["hasAudio"].as_bool())
                .unwrap_or(false);
            if !has_audio {
                let what = media.mime_type.as_deref().unwrap_or("the file");
                return Err(ApiError::field(
                    "mediaId",
                    format!(
                        "names media without an audio track ({what}); there is nothing to transcribe"
                    ),
                ));
            }
            media.duration_seconds
        }
        MediaStatus::Processing => None,
    };
    let cfg = &state.settings.transcription;
    let per_minute = cfg.price(&req.model);
    // The larger of the declared and the probed length; with neither (media still processing, no length
    // declared), one started minute. The settlement charges the measured length either way.
    let seconds = match (req.declared, probed) {
        (Some(d), Some(p)) => d.max(p),
        (Some(d), None) => d,
        (None, Some(p)) => p,
        (None, None) => 60.0,
    };
    let reserve = if caller.livemode {
        credits_for(per_minute, seconds)
    } else {
        0
    };
    let id = new_id(IdPrefix::Job);
    let request_id = current_request_id();
    let mut tx = state.db.begin().await?;
    if reserve > 0 {
        match credits::reserve(&mut tx, &caller.account_id, &id, reserve).await? {
            Ok(_) => {}
            Err(available) => {
                return Err(ApiError::new(
                    StatusCode::PAYMENT_REQUIRED,
                    "insufficient_credits",
                    format!(
                        "Transcribing {seconds:.0} s with {} costs {reserve} credits ({per_minute} per started minute); {available} are available.",
                        req.model
                    ),
                )
                .with_details(json!({"required": reserve, "available": available})));
            }
        }
    }
    let row = store::insert(
        &mut tx,
        &NewTranscription {
            id: &id,
            account_id: &caller.account_id,
            livemode: caller.livemode,
            media_id: &media.id,
            language: req.language.as_deref(),
            model: &req.model,
            provider_model: &req.provider_model,
            credits_per_minute: per_minute as i64,
            declared_seconds: req.declared,
            credits_reserved: reserve,
            media_ready: media.status == MediaStatus::Ready,
            request_id: &request_id,
        },
    )
    .await?;
    let accepted = Accepted {
        job_id: row.id.clone(),
        status: row.status,
        credits_reserved: row.credits_reserved,
        media_id: row.media_id.clone(),
        model: row.model.clone(),
        billing: if row.livemode { "credits" } else { "test" },
    };
    let bytes = serde_json::to_vec(&accepted).map_err(ApiError::internal)?;
    if let Some(key) = key {
        idem_store::complete(&mut *tx, &idempotency::scope(caller, key), 202, &bytes).await?;
    }
    tx.commit().await?;
    tracing::info!(job_id = %row.id, media_id = %row.media_id, reserved = reserve, "transcription queued");
    if media.status == MediaStatus::Ready {
        hand_over(state, &row).await;
    }
    Ok(json_response(StatusCode::ACCEPTED, bytes))
}

/// `value` as compact JSON with every object's keys in sorted order.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Pushes the job to the `transcribe` queue (marking it for the reconciler when Redis does not take it).
async fn hand_over(state: &AppState, row: &TranscriptionRow) {
    let job = vec![Transcribe {
        job_id: row.id.clone(),
        request_id: row.request_id.clone(),
    }];
    crate::handoff::hand_over_jobs(state, transcribe_queue(&state.settings.redis_prefix), job)
        .await;
}

/// Read a transcription job, or its transcript as a file.
#[utoipa::path(get, path = "/v1/ai/transcribe/{id}", tag = "transcription", operation_id = "getTranscription",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "job_3hT9kQ2mZx8LwP4vB7nR1sYe"),
           ("format" = Option<String>, Query, description = "`json` (default: the job), `srt`, `vtt` or `txt` (the transcript as that file)")),
    responses((status = 200, body = TranscriptionView),
        (status = 400, description = "`validation_error`: an unknown `format`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`conflict`: a file format asked of a job that has not completed", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(job_id = %id))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let mut format = None;
    for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "format" if format.is_none() => format = Some(v.into_owned()),
            "format" => {
                return Err(ApiError::field(
                    "format",
                    "is given more than once; give it once",
                ));
            }
            other => {
                return Err(ApiError::field(
                    other,
                    "unknown query parameter (format is the only one)",
                ));
            }
        }
    }
    let row = store::get(&state.db, &caller.account_id, caller.livemode, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("transcription job"))?;
    let format = format.unwrap_or_else(|| "json".into());
    let (content_type, ext) = match format.as_str() {
        "json" => return Ok(axum::Json(TranscriptionView::from_row(&row)).into_response()),
        "srt" => ("application/x-subrip; charset=utf-8", "srt"),
        "vtt" => ("text/vtt; charset=utf-8", "vtt"),
        "txt" => ("text/plain; charset=utf-8", "txt"),
        _ => {
            return Err(ApiError::field(
                "format",
                "must be one of json, srt, vtt, txt",
            ));
        }
    };
    if row.status != TranscriptionStatus::Completed {
        return Err(ApiError::conflict(format!(
            "The job is {}; its transcript exists once it has completed.",
            row.status
        )));
    }
    let segments: Vec<Segment> = row
        .segments
        .as_ref()
        .and_then(|s| serde_json::from_value(s.0.clone()).ok())
        .unwrap_or_default();
    let file = match ext {
        "srt" => transcription::srt(&segments),
        "vtt" => transcription::vtt(&segments),
        _ => transcription::txt(row.text.as_deref().unwrap_or("")),
    };
    let mut response = file.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}.{ext}\"", row.id)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// List transcription jobs, newest first.
#[utoipa::path(get, path = "/v1/ai/transcribe", tag = "transcription", operation_id = "listTranscriptions",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1..100 (default 20)"),
           ("cursor" = Option<String>, Query, min_length = 1, pattern = r"^[A-Za-z0-9_-]+$",
            description = "`nextCursor` of the previous page"),
           ("status" = Option<TranscriptionStatus>, Query, description = "Only jobs in this status")),
    responses((status = 200, body = Page<TranscriptionView>),
        (status = 400, description = "`validation_error`", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<axum::Json<Page<TranscriptionView>>> {
    let params = pagination::parse(query.as_deref(), &["status"])?;
    let status = params.status::<TranscriptionStatus>()?;
    let rows = store::list(
        &state.db,
        &caller.account_id,
        caller.livemode,
        status,
        params.after,
        params.limit + 1,
    )
    .await?;
    Ok(axum::Json(pagination::page(
        rows,
        params.limit,
        |r: &TranscriptionRow| -> (DateTime<Utc>, String) { (r.created_at, r.id.clone()) },
        |r| TranscriptionView::from_row(&r),
    )))
}

/// Cancel a job that has not finished; its whole reservation is released.
#[utoipa::path(post, path = "/v1/ai/transcribe/{id}/cancel", tag = "transcription", operation_id = "cancelTranscription",
    params(("id" = String, Path, min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9_]+$", example = "job_3hT9kQ2mZx8LwP4vB7nR1sYe")),
    responses((status = 200, description = "Canceled (or already canceled): the job", body = TranscriptionView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`conflict`: the job already completed or failed", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(job_id = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
) -> ApiResult<axum::Json<TranscriptionView>> {
    match store::cancel(&state.db, &caller.account_id, caller.livemode, &id).await? {
        Canceled::Done(row) => {
            tracing::info!(job_id = %row.id, released = row.credits_reserved, "transcription canceled");
            Ok(axum::Json(TranscriptionView::from_row(&row)))
        }
        Canceled::Final(row) if row.status == TranscriptionStatus::Canceled => {
            Ok(axum::Json(TranscriptionView::from_row(&row)))
        }
        Canceled::Final(row) => Err(ApiError::conflict(format!(
            "The job has {} already; there is nothing to cancel.",
            row.status
        ))),
        Canceled::NotFound => Err(ApiError::not_found("transcription job")),
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use serde_json::json;

    #[test]
    fn the_fingerprint_ignores_spacing_and_key_order() {
        let a: serde_json::Value = serde_json::from_str(
            r#"{"mediaId": "m", "durationSeconds": 600, "x": {"b": 1, "a": [2]}}"#,
        )
        .unwrap();
        let b = json!({"x": {"a": [2], "b": 1}, "durationSeconds": 600, "mediaId": "m"});
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(canonical(&a), canonical(&json!({"mediaId": "m"})));
    }
}
