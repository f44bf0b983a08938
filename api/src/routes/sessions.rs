//! `/v1/auth/*`: people log in for key management (docs/dashboard.md): `login` (email and password → an access
//! token and a refresh token), `refresh` (rotates the refresh token; a used one ends the session), `logout`, and
//! `password` (changes it and ends every other session of that person).

use std::sync::OnceLock;

use axum::{
    Extension,
    extract::{ConnectInfo, State},
};
use serde::Serialize;
use serde_json::Value;
use soku_shared::{
    admin::check_password,
    crypto::{hash_password, verify_password},
    ids::{IdPrefix, new_id},
    post::fmt_time,
    store::users::{self, NewSession, Refreshed, UserRow},
};
use std::net::SocketAddr;
use utoipa::ToSchema;

use crate::{
    body::JsonBody,
    error::{ApiError, ApiResult, ErrorBody},
    session::{self, Session, throttle},
    state::AppState,
};

/// `200` to a login or a refresh.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    /// A JWT for `Authorization: Bearer …`, good for 15 minutes.
    pub access_token: String,
    /// Opaque; trade it at `POST /v1/auth/refresh` for a new pair. Works once.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    #[schema(value_type = Object)]
    pub user: Value,
    #[schema(value_type = Object)]
    pub account: Value,
}

#[derive(Serialize, ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// The body of `POST /v1/auth/login` (and of the dashboard's login).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoginRequest {
    #[schema(example = "owner@example.com", min_length = 1)]
    email: String,
    #[schema(
        example = "correct horse battery staple",
        min_length = 1,
        max_length = 1024
    )]
    password: String,
}

/// The body of `POST /v1/auth/refresh`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RefreshRequest {
    /// The refresh token of the last login or refresh (`rt_…`).
    #[schema(min_length = 1)]
    refresh_token: String,
}

/// The body of `POST /v1/auth/password`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PasswordRequest {
    #[schema(min_length = 1)]
    current_password: String,
    /// 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128)]
    new_password: String,
}

const WRONG: &str = "The email or the password is wrong.";

/// A hash no password matches in practice, verified when the email is unknown so that an unknown email and a
/// wrong password take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("soku: no such user, and never a password"))
}

fn string_field<'a>(body: &'a Value, name: &str) -> ApiResult<&'a str> {
    match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::field(name, "is required"))
        }
        Some(_) => Err(ApiError::field(name, "must be a string")),
    }
}

fn only_fields(body: &Value, allowed: &[&str]) -> ApiResult<()> {
    let Value::Object(map) = body else {
        return Err(ApiError::field("body", "must be a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::field(
            k,
            format!("is not a field here ({})", allowed.join(", ")),
        ));
    }
    Ok(())
}

/// Checks an email and password, throttled per email and per client address. The same 401 (in about the same
/// time) for an unknown email and a wrong password.
pub async fn check_person(state: &AppState, body: &Value, ip: &str) -> ApiResult<UserRow> {
    only_fields(body, &["email", "password"])?;
    let email = string_field(body, "email")?.trim().to_string();
    let password = string_field(body, "password")?.to_string();
    if password.len() > 1024 {
        return Err(ApiError::field(
            "password",
            "is longer than any password here",
        ));
    }
    throttle::check(state, &email, ip).await?;
    // No user has an email with control characters (a NUL cannot even be stored): such an email is unknown.
    let possible =
        soku_shared::admin::looks_like_email(&email) && !email.chars().any(char::is_control);
    let user = if possible {
        users::by_email(&state.db, &email).await?
    } else {
        None
    };
    let hash = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    match user {
        Some(u) if matches => {
            throttle::succeeded(state, &email, ip).await;
            Ok(u)
        }
        _ => {
            throttle::failed(state, &email, ip).await;
            tracing::info!("failed login");
            Err(ApiError::unauthorized(WRONG))
        }
    }
}

/// The `user` and `account` objects of a login's answer.
pub async fn who(state: &AppState, user: &UserRow) -> ApiResult<(Value, Value)> {
    let account = soku_shared::store::accounts::get(&state.db, &user.account_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized(WRONG))?;
    Ok((
        serde_json::json!({"id": user.id, "email": user.email, "role": user.role}),
        serde_json::json!({"id": account.id, "name": account.name, "plan": account.plan, "status": account.status}),
    ))
}

fn user_agent(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Log in: email and password → an access token and a refresh token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "sessions", operation_id = "login",
    request_body = LoginRequest,
    responses((status = 200, body = Tokens),
        (status = 401, description = "`unauthorized`: the email or the password is wrong (the same answer for both)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed logins for this email or from this address; `Retry-After`", body = ErrorBody),
        (status = 503, description = "`unavailable`: Postgres or Redis cannot be reached right now", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    body: JsonBody,
) -> ApiResult<axum::Json<Tokens>> {
    let ip = session::client_ip(peer.as_deref());
    let user = check_person(&state, &body.value, &ip).await?;
    let (refresh, refresh_hash) = session::new_secret(48);
    let id = new_id(IdPrefix::Session);
    let ua = user_agent(&headers);
    users::start_session(
        &state.db,
        &NewSession {
            id: &id,
            user_id: &user.id,
            kind: "api",
            cookie_hash: None,
            csrf_token: None,
            user_agent: ua.as_deref(),
            client_ip: Some(&ip),
            ttl_secs: session::API_SESSION_TTL_SECS,
        },
        Some((&refresh_hash, session::REFRESH_TTL_SECS)),
    )
    .await?;
    let auth = users::session(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a session just made is gone")))?;
    let (access, exp) = session::issue_access(&state, &auth)?;
    let (user_v, account) = who(&state, &user).await?;
    tracing::info!(user_id = %user.id, session_id = %id, "logged in");
    Ok(axum::Json(Tokens {
        access_token: access,
        refresh_token: format!("rt_{refresh}"),
        expires_at: fmt_time(exp),
        token_type: "Bearer",
        user: user_v,
        account,
    }))
}

/// Trade a refresh token for a new pair. The old one stops working; presenting a used one ends the session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "sessions", operation_id = "refreshSession",
    request_body = RefreshRequest,
    responses((status = 200, body = Tokens),
        (status = 401, description = "`unauthorized`: unknown, expired or already used (then the whole session is ended)", body = ErrorBody),
        (status = 503, description = "`unavailable`: Postgres cannot be reached right now", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    State(state): State<AppState>,
    body: JsonBody,
) -> ApiResult<axum::Json<Tokens>> {
    only_fields(&body.value, &["refreshToken"])?;
    let token = string_field(&body.value, "refreshToken")?;
    let old = session::hash_secret(token.strip_prefix("rt_").unwrap_or(token));
    let (fresh, fresh_hash) = session::new_secret(48);
    match users::rotate_refresh(&state.db, &old, &fresh_hash, session::REFRESH_TTL_SECS).await? {
        Refreshed::Rotated(auth) => {
            let (access, exp) = session::issue_access(&state, &auth)?;
            let user = users::by_id(&state.db, &auth.user_id)
                .await?
                .ok_or_else(|| ApiError::unauthorized("This session has ended: log in again."))?;
            let (user_v, account) = who(&state, &user).await?;
            Ok(axum::Json(Tokens {
                access_token: access,
                refresh_token: format!("rt_{fresh}"),
                expires_at: fmt_time(exp),
                token_type: "Bearer",
                user: user_v,
                account,
            }))
        }
        Refreshed::Reused => {
            tracing::warn!("a used refresh token was presented again: its session is ended");
            Err(ApiError::unauthorized(
                "This refresh token was used already, so the session it belongs to has been ended (a copy of it may \
                 be in someone else's hands): log in again.",
            ))
        }
        Refreshed::Refused => Err(ApiError::unauthorized(
            "The refresh token is unknown or expired, or its session has ended: log in again.",
        )),
    }
}

/// End the session: its access and refresh tokens (or the dashboard's cookie) stop working at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "sessions", operation_id = "logout",
    responses((status = 200, body = Done)),
    security(("session" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> ApiResult<axum::Json<Done>> {
    users::revoke(&state.db, &session.auth.session_id, "logged out").await?;
    tracing::info!(session_id = %session.auth.session_id, "logged out");
    Ok(axum::Json(Done { ok: true }))
}

/// `200` to a password change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChanged {
    pub ok: bool,
    /// The person's other sessions, now ended.
    pub sessions_ended: u64,
}

/// Change the password: every other session of this person ends.
#[utoipa::path(post, path = "/v1/auth/password", tag = "sessions", operation_id = "changePassword",
    request_body = PasswordRequest,
    responses((status = 200, body = PasswordChanged),
        (status = 400, description = "`validation_error`: `currentPassword` is wrong, or `newPassword` is too short or too long", body = ErrorBody)),
    security(("session" = [])))]
pub async fn password(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    body: JsonBody,
) -> ApiResult<axum::Json<PasswordChanged>> {
    only_fields(&body.value, &["currentPassword", "newPassword"])?;
    let current = string_field(&body.value, "currentPassword")?.to_string();
    let new = string_field(&body.value, "newPassword")?.to_string();
    check_password(&new).map_err(|e| ApiError::field("newPassword", e.to_string()))?;
    let user = users::by_id(&state.db, &session.auth.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("This session has ended: log in again."))?;
    let hash = user.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        // A 400 naming the field, not a 401: the session is fine, one field of the form is wrong.
        return Err(ApiError::field(
            "currentPassword",
            "is not the current password",
        ));
    }
    let new_hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(ApiError::internal)?;
    let ended =
        users::change_password(&state.db, &user.id, &new_hash, &session.auth.session_id).await?;
    tracing::info!(user_id = %user.id, sessions_ended = ended, "password changed");
    Ok(axum::Json(PasswordChanged {
        ok: true,
        sessions_ended: ended,
    }))
}
