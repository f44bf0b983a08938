//! The gate in front of every `/v1` route: find the key (by hash, cached under the auth epoch so that
//! revocation is seen on the very next request), spend one unit of the account's rate budget, check the subscription. Names the common
//! mistake when it can see it. Adds `X-RateLimit-*` to every response past authentication.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use soku_shared::{
    account::{Plan, SubscriptionStatus, subscription_allows},
    crypto::{KeyMode, hash_api_key, looks_like_api_key},
    store::keys::{self, KeyAuth},
};

use crate::{error::ApiError, ratelimit, state::AppState};

/// Who is calling, put into the request's extensions for handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub key_id: String,
    pub livemode: bool,
}

const INVALID: &str = "Invalid or missing API key.";
const HOW: &str = "Send it as `soku-api-key: sk_live_…` or `Authorization: Bearer sk_live_…`.";

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let (found, verdict) = match authenticate(&state, req.headers(), req.uri().query()).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let status =
        SubscriptionStatus::parse(&found.account_status).unwrap_or(SubscriptionStatus::Expired);
    let mut response = if !verdict.allowed {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "Rate limit of {} requests per minute exceeded for this account; retry after {} seconds.",
                verdict.limit, verdict.retry_after
            ),
        );
        e.retry_after = Some(verdict.retry_after);
        e.into_response()
    } else if !subscription_allows(status, found.trial_ends_at, Utc::now()) {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "An active subscription is required to access the API.",
        )
        .into_response()
    } else {
        req.extensions_mut().insert(Caller {
            account_id: found.account_id,
            key_id: found.key_id,
            livemode: found.mode == KeyMode::Live.as_str(),
        });
        next.run(req).await
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(verdict.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(verdict.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(verdict.reset));
    response
}

/// Finds the key (from the cache while the auth epoch is unchanged, else from Postgres) and spends one unit
/// of its account's budget; the rate-limit call also reports the epoch, so a valid cache entry costs nothing.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(KeyAuth, ratelimit::Verdict), ApiError> {
    let key = presented_key(headers, query)?;
    if crate::session::looks_like_jwt(key) {
        return Err(ApiError::unauthorized(format!(
            "{INVALID} This is a session token (from POST /v1/auth/login): it manages API keys at /v1/api-keys; the \
             rest of the API takes an API key. {HOW}"
        )));
    }
    if looks_like_api_key(key).is_none() {
        return Err(ApiError::unauthorized(format!(
            "{INVALID} The key is malformed: Soku keys start with `sk_live_` or `sk_test_` followed by at least 32 letters and digits."
        )));
    }
    let hash = hash_api_key(key);
    let cached = state.keys.get(&hash);
    let (auth, read_under) = match &cached {
        Some(c) => (c.auth.clone(), Some(c.epoch.clone())),
        None => {
            let before = state.keys.latest();
            (lookup(state, &hash).await?, before)
        }
    };
    let plan = Plan::parse(&auth.plan).unwrap_or(Plan::Trial);
    let verdict = ratelimit::check(
        state,
        &auth.account_id,
        state.settings.rate_limits.per_minute(plan),
    )
    .await
    .inspect_err(|_| state.keys.clear())?;
    let (auth, read_under) = match cached {
        Some(_) if read_under.as_deref() == Some(verdict.epoch.as_str()) => {
            touch_now_and_then(state, &hash, &auth);
            return Ok((auth, verdict));
        }
        // Something changed since the entry was cached: read again, under the epoch just seen.
        Some(_) => match lookup(state, &hash).await {
            Ok(fresh) => (fresh, Some(verdict.epoch.clone())),
            Err(e) => {
                state.keys.settle(hash, None, None, &verdict.epoch);
                return Err(e);
            }
        },
        None => (auth, read_under),
    };
    state
        .keys
        .settle(hash, Some(&auth), read_under.as_deref(), &verdict.epoch);
    touch_now_and_then(state, &hash, &auth);
    Ok((auth, verdict))
}

/// Records `lastUsedAt` at most once a minute per key, off the request's path.
fn touch_now_and_then(state: &AppState, hash: &[u8; 32], auth: &KeyAuth) {
    if auth
        .last_used_at
        .is_some_and(|t| t > Utc::now() - chrono::Duration::minutes(1))
    {
        return;
    }
    state.keys.mark_used(hash);
    let (db, key_id) = (state.db.clone(), auth.key_id.clone());
    tokio::spawn(async move {
        if let Err(e) = keys::touch(&db, &key_id).await {
            tracing::debug!(error = %e, "could not record key use");
        }
    });
}

async fn lookup(state: &AppState, hash: &[u8; 32]) -> Result<KeyAuth, ApiError> {
    match keys::find_by_hash(&state.db, hash).await? {
        None => Err(ApiError::unauthorized(INVALID)),
        Some(k) if k.key_status != "active" => Err(ApiError::unauthorized(
            "This API key has been revoked. Create a new key and use it instead.",
        )),
        Some(k) => Ok(k),
    }
}

/// Finds the key where the contract allows it, or says which mistake the request made.
fn presented_key<'a>(headers: &'a HeaderMap, query: Option<&str>) -> Result<&'a str, ApiError> {
    if let Some(q) = query {
        let in_query = url::form_urlencoded::parse(q.as_bytes())
            .map(|(name, _)| name)
            .any(|name| {
                let name = name.to_ascii_lowercase();
                matches!(
                    name.as_str(),
                    "api_key" | "apikey" | "key" | "soku-api-key" | "soku_api_key" | "access_token"
                )
            });
        if in_query {
            return Err(ApiError::unauthorized(format!(
                "API keys are never accepted in the query string (it ends up in logs); remove it from the URL. {HOW}"
            )));
        }
    }
    let header = |name: &str| -> Result<Option<&'a str>, ApiError> {
        match headers.get(name) {
            None => Ok(None),
            Some(v) => v.to_str().map(Some).map_err(|_| {
                ApiError::unauthorized(format!(
                    "The {name} header holds characters that are not ASCII. {HOW}"
                ))
            }),
        }
    };
    if let Some(value) = header("soku-api-key")? {
        return checked_spaces(value, "soku-api-key");
    }
    if let Some(value) = header("authorization")? {
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return checked_spaces(rest, "Authorization");
        }
        if value.trim_start().starts_with("sk_") {
            return Err(ApiError::unauthorized(format!(
                "{INVALID} The Authorization header is missing the `Bearer ` prefix: send `Authorization: Bearer sk_live_…`."
            )));
        }
        return Err(ApiError::unauthorized(format!(
            "{INVALID} Only the Bearer scheme is accepted in the Authorization header. {HOW}"
        )));
    }
    for wrong in [
        "x-api-key",
        "api-key",
        "x-soku-key",
        "x-soku-api-key",
        "apikey",
    ] {
        if headers.contains_key(wrong) {
            return Err(ApiError::unauthorized(format!(
                "{INVALID} The key was sent in an `{wrong}` header, which Soku does not read. {HOW}"
            )));
        }
    }
    Err(ApiError::unauthorized(format!("{INVALID} {HOW}")))
}

fn checked_spaces<'a>(key: &'a str, header: &str) -> Result<&'a str, ApiError> {
    if key.trim() != key || key.contains(char::is_whitespace) {
        return Err(ApiError::unauthorized(format!(
            "{INVALID} The {header} header has stray spaces around or inside the key; remove them."
        )));
    }
    if key.is_empty() {
        return Err(ApiError::unauthorized(format!(
            "{INVALID} The {header} header is empty. {HOW}"
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(headers: &[(&str, &str)], query: Option<&str>) -> String {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        presented_key(&map, query).unwrap_err().message
    }

    #[test]
    fn common_mistakes_are_named() {
        let key = format!("sk_live_{}", "a".repeat(40));
        assert!(msg(&[("authorization", &key)], None).contains("Bearer"));
        assert!(msg(&[("x-api-key", &key)], None).contains("x-api-key"));
        assert!(msg(&[], Some(&format!("api_key={key}"))).contains("query string"));
        assert!(msg(&[("authorization", &format!("Bearer  {key}"))], None).contains("spaces"));
        assert!(msg(&[], None).contains("soku-api-key"));
    }
}
