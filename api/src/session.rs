//! Dashboard sessions (docs/dashboard.md): who a person is once logged in, for key management and the dashboard.
//!
//! - An API client logs in with `POST /v1/auth/login` and gets a short-lived access token (an HS256 JWT of
//!   [`ACCESS_TTL_SECS`], signed with the first of `SOKU_SESSION_KEYS` and checked against all of them, so a key
//!   is rotated by putting a new one first) and an opaque refresh token (stored as a hash; each use makes the
//!   next, and a used one presented again ends the session: reuse detection).
//! - The dashboard logs in with `POST /dashboard/login` and gets a cookie (`soku_session`: HttpOnly,
//!   SameSite=Strict, Secure over https) whose secret is stored as a hash, and a CSRF token (`soku_csrf`, sent
//!   back in `X-CSRF-Token` on every state change, compared with the session's).
//!
//! Either way every request looks the session up, so logout, a password change or a reused refresh token ends it
//! at once, in every API process. An API key here is refused with 403 (key management needs a person), and a
//! session token on the posts API with 401 (it needs an API key; see `auth`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use soku_shared::{
    crypto::looks_like_api_key,
    ids::random_base62,
    store::users::{self, SessionAuth},
};

use crate::{error::ApiError, state::AppState};

/// How long an access token is good for.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// How long a refresh token is good for (each refresh makes a new one).
pub const REFRESH_TTL_SECS: f64 = 30.0 * 86_400.0;
/// How long an API session lives without a refresh.
pub const API_SESSION_TTL_SECS: f64 = REFRESH_TTL_SECS;
/// A dashboard session ends after this long without a request.
pub const DASHBOARD_IDLE_SECS: f64 = 12.0 * 3600.0;
pub const SESSION_COOKIE: &str = "soku_session";
pub const CSRF_COOKIE: &str = "soku_csrf";

/// The person behind a request, put into its extensions by [`layer`].
#[derive(Debug, Clone)]
pub struct Session {
    pub auth: SessionAuth,
    /// Came with the dashboard's cookie (rather than a bearer token).
    pub via_cookie: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user.
    sub: String,
    /// The session.
    sid: String,
    /// The account.
    acc: String,
    iat: i64,
    exp: i64,
    typ: String,
}

fn kid(secret: &[u8]) -> String {
    hex::encode(&Sha256::digest(secret)[..4])
}

/// A new access token for `auth`'s session, and when it expires.
pub fn issue_access(
    state: &AppState,
    auth: &SessionAuth,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let secrets = state.settings.session_secrets();
    let Some(secret) = secrets.first() else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "no key signs session tokens: set SOKU_MASTER_KEY or SOKU_SESSION_KEYS"
        )));
    };
    let now = Utc::now();
    let exp = now + chrono::Duration::seconds(ACCESS_TTL_SECS);
    let claims = Claims {
        sub: auth.user_id.clone(),
        sid: auth.session_id.clone(),
        acc: auth.account_id.clone(),
        iat: now.timestamp(),
        exp: exp.timestamp(),
        typ: "access".into(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid(secret));
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret))
        .map_err(ApiError::internal)?;
    Ok((token, exp))
}

/// The claims of a valid, unexpired access token signed with one of the session keys.
fn verify_access(state: &AppState, token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::HS256 {
        return None;
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let secrets = state.settings.session_secrets();
    // The key the token names first, then the others (a token made before `kid` existed has none).
    let mut order: Vec<&Vec<u8>> = secrets
        .iter()
        .filter(|s| header.kid.as_deref() == Some(kid(s).as_str()))
        .collect();
    order.extend(
        secrets
            .iter()
            .filter(|s| header.kid.as_deref() != Some(kid(s).as_str())),
    );
    order.into_iter().find_map(|secret| {
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
            .ok()
            .map(|d| d.claims)
            .filter(|c| c.typ == "access")
    })
}

/// Whether `token` has the shape of a JWT (three base64url parts): what a session token looks like.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && token.starts_with("eyJ")
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A random secret, and its SHA-256 (what is stored).
pub fn new_secret(len: usize) -> (String, Vec<u8>) {
    let secret = random_base62(len);
    let hash = Sha256::digest(secret.as_bytes()).to_vec();
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

const NEED_SESSION: &str = "Key management needs a person's session, not an API key: log in with POST /v1/auth/login \
     and send its accessToken as `Authorization: Bearer …` (or use the dashboard at /settings/api).";

fn unauthorized(message: &str) -> ApiError {
    ApiError::unauthorized(message)
}

/// The session of a request: a bearer access token, or the dashboard's cookie (with its CSRF token on a state
/// change). `Err` is the answer to give instead.
pub async fn find(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Session, ApiError> {
    if headers.contains_key("soku-api-key") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            NEED_SESSION,
        ));
    }
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized(
                "Send the session's access token as `Authorization: Bearer …` (POST /v1/auth/login returns it).",
            ));
        }
        let token = token.trim();
        if looks_like_api_key(token).is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                NEED_SESSION,
            ));
        }
        let expired = || {
            unauthorized(
                "The session token is invalid or has expired: refresh it (POST /v1/auth/refresh) or log in again \
                 (POST /v1/auth/login).",
            )
        };
        let claims = verify_access(state, token).ok_or_else(expired)?;
        let auth = users::session(&state.db, &claims.sid)
            .await?
            .filter(|a| a.user_id == claims.sub && a.kind == "api")
            .ok_or_else(|| {
                unauthorized(
                    "This session has ended (logged out, or its password changed): log in again.",
                )
            })?;
        return Ok(Session {
            auth,
            via_cookie: false,
        });
    }
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Err(unauthorized(
            "A session is needed: log in (POST /v1/auth/login, or the dashboard at /login).",
        ));
    };
    let auth = users::by_cookie(&state.db, &hash_secret(secret))
        .await?
        .ok_or_else(|| unauthorized("The session has ended or expired: log in again at /login."))?;
    if !matches!(*method, Method::GET | Method::HEAD) {
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected = auth.csrf_token.as_deref().unwrap_or("");
        let same = !expected.is_empty()
            && sent.len() == expected.len()
            && sent
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "This change needs the page's CSRF token in the X-CSRF-Token header (reload the page and try again).",
            ));
        }
    }
    if auth.last_seen_at < Utc::now() - chrono::Duration::minutes(1) {
        // Slides the idle timeout, at most once a minute per session.
        let (db, id) = (state.db.clone(), auth.session_id.clone());
        tokio::spawn(async move {
            let _ = users::touch(&db, &id, DASHBOARD_IDLE_SECS).await;
        });
    }
    Ok(Session {
        auth,
        via_cookie: true,
    })
}

/// The gate in front of key management, the session endpoints and the dashboard's JSON: puts the [`Session`]
/// into the request. Never rate-limited by the account's plan, and whatever the subscription status.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match find(&state, req.method(), req.headers()).await {
        Ok(session) => {
            req.extensions_mut().insert(session);
            let mut response = next.run(req).await;
            no_store(response.headers_mut());
            response
        }
        Err(e) => e.into_response(),
    }
}

pub fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The client's address (login throttling).
pub fn client_ip(req_peer: Option<&ConnectInfo<SocketAddr>>) -> String {
    req_peer.map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
}

/// Failed logins per email and per client address, in Redis (shared by every API process), over a window.
pub mod throttle {
    use super::*;
    use redis::AsyncCommands;

    /// The window failures are counted over.
    pub const WINDOW_SECS: i64 = 15 * 60;
    /// Failures per email in a window before logins for it are refused.
    pub const PER_EMAIL: i64 = 10;
    /// Failures per client address in a window before its logins are refused.
    pub const PER_ADDRESS: i64 = 100;
    /// From this many failures on, each attempt waits before it is answered (doubling, at most 2 s).
    const SLOW_FROM: i64 = 3;

    fn keys(state: &AppState, email: &str, ip: &str) -> (String, String) {
        let prefix = &state.settings.redis_prefix;
        let email = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
        (
            format!("{prefix}:login:email:{email}"),
            format!("{prefix}:login:ip:{ip}"),
        )
    }

    /// Refuses with 429 while either count is at its limit; otherwise waits as long as the failures so far ask.
    pub async fn check(state: &AppState, email: &str, ip: &str) -> Result<(), ApiError> {
        let (by_email, by_ip) = keys(state, email, ip);
        let mut redis = state.redis();
        let (e, i): (Option<i64>, Option<i64>) = redis::pipe()
            .get(&by_email)
            .get(&by_ip)
            .query_async(&mut redis)
            .await
            .map_err(|_| ApiError::unavailable(crate::error::Dependency::Queue))?;
        let (e, i) = (e.unwrap_or(0), i.unwrap_or(0));
        let over = if e >= PER_EMAIL {
            Some(by_email)
        } else if i >= PER_ADDRESS {
            Some(by_ip)
        } else {
            None
        };
        if let Some(key) = over {
            let ttl: i64 = redis.ttl(&key).await.unwrap_or(WINDOW_SECS);
            let wait = ttl.clamp(1, WINDOW_SECS) as u64;
            let mut err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many failed logins; try again in {wait} seconds."),
            );
            err.retry_after = Some(wait);
            return Err(err);
        }
        let failures = e;
        if failures >= SLOW_FROM {
            let ms = (250u64 << (failures - SLOW_FROM).min(3)).min(2000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Ok(())
    }

    /// Counts a failure for the email and the address.
    pub async fn failed(state: &AppState, email: &str, ip: &str) {
        let (by_email, by_ip) = keys(state, email, ip);
        let mut redis = state.redis();
        let _: Result<(), _> = redis::pipe()
            .incr(&by_email, 1)
            .expire(&by_email, WINDOW_SECS)
            .incr(&by_ip, 1)
            .expire(&by_ip, WINDOW_SECS)
            .query_async(&mut redis)
            .await;
    }

    /// A success forgets the email's failures.
    pub async fn succeeded(state: &AppState, email: &str, ip: &str) {
        let (by_email, _) = keys(state, email, ip);
        let mut redis = state.redis();
        let _: Result<(), _> = redis.del(&by_email).await;
    }
}
