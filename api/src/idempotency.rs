//! `Idempotency-Key` on POSTs: the first request claims the key; the same request again replays the
//! stored response (`Idempotent-Replayed: true`); a different request with the key is a 422; while the
//! first runs, 409. Only completed work is stored: a request refused before doing anything releases the key.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use soku_shared::{
    crypto::sha256,
    store::idempotency::{self, Claim, IdemScope},
};

use crate::{auth::Caller, error::ApiError, state::AppState};

/// The key from the header, checked: 1..255 printable ASCII characters.
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = |why: &str| ApiError::field("Idempotency-Key", why.to_string());
    let text = value
        .to_str()
        .map_err(|_| bad("must be printable ASCII characters"))?;
    if text.is_empty() || text.len() > 255 {
        return Err(bad("must be 1 to 255 characters long"));
    }
    if !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad("must be printable ASCII characters"));
    }
    Ok(Some(text.to_string()))
}

pub enum Begun {
    /// Go on: this request owns the key (or there is none).
    Proceed,
    /// Answer with this instead (a replay or a refusal).
    Answer(Response),
}

/// Claims the key for this request, or says how to answer instead.
pub async fn begin(
    state: &AppState,
    caller: &Caller,
    key: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Begun, ApiError> {
    let scope = scope(caller, key);
    let claim = idempotency::claim(&state.db, &scope, method, path, &sha256(body)).await?;
    Ok(answer(claim))
}

/// How to answer a request whose key already has a live record, if it has one. Used where the work itself
/// claims the key (a post is inserted together with its record).
pub async fn existing(
    state: &AppState,
    caller: &Caller,
    key: &str,
    method: &str,
    path: &str,
    hash: &[u8],
) -> Result<Option<Response>, ApiError> {
    let found = idempotency::lookup(&state.db, &scope(caller, key), method, path, hash).await?;
    Ok(found.map(|claim| match answer(claim) {
        Begun::Answer(response) => response,
        Begun::Proceed => in_progress().into_response(),
    }))
}

fn answer(claim: Claim) -> Begun {
    match claim {
        Claim::Claimed => Begun::Proceed,
        Claim::InProgress => Begun::Answer(in_progress().into_response()),
        Claim::Mismatch => Begun::Answer(
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request (method, path or body); use a new key.",
            )
            .into_response(),
        ),
        Claim::Done { status, body } => Begun::Answer(replay(status, body)),
    }
}

pub fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_in_progress",
        "A request with this Idempotency-Key is still being processed; retry in a moment.",
    )
}

pub fn scope<'a>(caller: &'a Caller, key: &'a str) -> IdemScope<'a> {
    IdemScope {
        account_id: &caller.account_id,
        livemode: caller.livemode,
        key,
    }
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Gives the key back after a refusal, so the corrected request may use it. Best effort: a key left
/// behind is taken over once stale.
pub async fn release(state: &AppState, caller: &Caller, key: &str) {
    if let Err(e) = idempotency::release(&state.db, &scope(caller, key)).await {
        tracing::warn!(error = %e, "could not release idempotency key");
    }
}

/// Runs `work` under the key (when there is one): replays, refuses, or stores what `work` answered.
pub async fn guarded<F>(
    state: &AppState,
    caller: &Caller,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: &[u8],
    work: F,
) -> Result<Response, ApiError>
where
    F: std::future::Future<Output = Result<(StatusCode, Vec<u8>), ApiError>>,
{
    let Some(key) = key else {
        return work.await.map(|(status, body)| json_response(status, body));
    };
    if let Begun::Answer(response) = begin(state, caller, key, method, path, body).await? {
        return Ok(response);
    }
    match work.await {
        Ok((status, body)) => {
            idempotency::complete(&state.db, &scope(caller, key), status.as_u16(), &body).await?;
            Ok(json_response(status, body))
        }
        Err(e) => {
            release(state, caller, key).await;
            Err(e)
        }
    }
}

pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
