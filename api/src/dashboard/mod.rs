//! The dashboard (docs/dashboard.md), served by the API process itself: its pages and files are embedded in the
//! binary (`build.rs`), its JSON comes from `/dashboard/api/*` and `/v1/api-keys`, both behind the dashboard's
//! cookie session with a CSRF token on every change (`session`). A page asked for without a session redirects
//! to `/login`; every answer carries a Content-Security-Policy that allows only the dashboard's own files.

use std::net::SocketAddr;

use axum::{
    Extension, Router,
    extract::{ConnectInfo, Path, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{delete, get, post},
};
use serde_json::json;
use soku_shared::{
    ids::{IdPrefix, new_id},
    post::fmt_time,
    store::{credits, users},
};

use crate::{
    auth::Caller,
    body::JsonBody,
    error::{ApiError, ApiResult},
    routes::{api_keys, integrations, posts, sessions as auth_routes},
    session::{self, CSRF_COOKIE, SESSION_COOKIE, Session},
    state::AppState,
};

mod assets {
    include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));
}

/// What the dashboard's pages may load: their own scripts, styles and images, nothing inline, no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// The pages: path → file.
const PAGES: &[(&str, &str)] = &[
    ("/settings/api", "keys.html"),
    ("/posts", "posts.html"),
    ("/integrations", "integrations.html"),
    ("/account", "account.html"),
];

/// The dashboard's routes (mounted at the root of the app).
pub fn router(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/api/me", get(me))
        .route(
            "/dashboard/api/keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route("/dashboard/api/keys/{id}", delete(api_keys::revoke))
        .route("/dashboard/api/posts", get(list_posts))
        .route("/dashboard/api/integrations", get(list_integrations))
        .route("/dashboard/api/password", post(auth_routes::password))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ));
    let mut pages = Router::new()
        .route("/login", get(login_page))
        .route(
            "/dashboard",
            get(|| async { Redirect::to("/settings/api") }),
        )
        .route("/dashboard/login", post(login))
        .route("/dashboard/assets/{file}", get(asset));
    for (path, _) in PAGES {
        pages = pages.route(path, get(page));
    }
    api.merge(pages)
        .layer(middleware::from_fn(security_headers))
}

/// Every dashboard answer: the CSP, no framing, no sniffing, no referrer.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn file(name: &str) -> Option<&'static [u8]> {
    assets::ASSETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn html(name: &str) -> Response {
    match file(name) {
        Some(bytes) => {
            let mut r = ([(header::CONTENT_TYPE, content_type(name))], bytes).into_response();
            session::no_store(r.headers_mut());
            r
        }
        None => ApiError::not_found("page").into_response(),
    }
}

/// `GET /dashboard/assets/{file}`.
async fn asset(Path(name): Path<String>) -> Response {
    match file(&name).filter(|_| !name.ends_with(".html")) {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, content_type(&name)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        None => ApiError::not_found("file").into_response(),
    }
}

/// A page: its file with a live session, else a redirect to `/login?next=…`.
async fn page(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let Some((_, name)) = PAGES.iter().find(|(p, _)| *p == path) else {
        return ApiError::not_found("page").into_response();
    };
    match session::find(&state, &Method::GET, req.headers()).await {
        Ok(s) if s.via_cookie => html(name),
        _ => Redirect::to(&format!("/login?next={}", urlencode(&path))).into_response(),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /login`: the form, or straight to the keys page with a live session.
async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session::find(&state, &Method::GET, &headers).await {
        Ok(s) if s.via_cookie => Redirect::to("/settings/api").into_response(),
        _ => html("login.html"),
    }
}

fn secure(state: &AppState) -> &'static str {
    if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(r: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `POST /dashboard/login` `{email, password}`: a dashboard session in a cookie, and its CSRF token.
async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    let ip = session::client_ip(peer.as_deref());
    let user = auth_routes::check_person(&state, &body.value, &ip).await?;
    let (secret, hash) = session::new_secret(43);
    let (csrf, _) = session::new_secret(32);
    let id = new_id(IdPrefix::Session);
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    users::start_session(
        &state.db,
        &users::NewSession {
            id: &id,
            user_id: &user.id,
            kind: "dashboard",
            cookie_hash: Some(&hash),
            csrf_token: Some(&csrf),
            user_agent: ua.as_deref(),
            client_ip: Some(&ip),
            ttl_secs: session::DASHBOARD_IDLE_SECS,
        },
        None,
    )
    .await?;
    let (user_v, account) = auth_routes::who(&state, &user).await?;
    tracing::info!(user_id = %user.id, session_id = %id, "logged in to the dashboard");
    let mut r = axum::Json(json!({"user": user_v, "account": account})).into_response();
    let age = session::DASHBOARD_IDLE_SECS as u64;
    let sec = secure(&state);
    set_cookie(
        &mut r,
        format!("{SESSION_COOKIE}={secret}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict{sec}"),
    );
    set_cookie(
        &mut r,
        format!("{CSRF_COOKIE}={csrf}; Path=/; Max-Age={age}; SameSite=Strict{sec}"),
    );
    session::no_store(r.headers_mut());
    Ok(r)
}

/// `POST /dashboard/logout`: the session ends and the cookies are cleared.
async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> ApiResult<Response> {
    users::revoke(&state.db, &session.auth.session_id, "logged out").await?;
    let mut r = axum::Json(json!({"ok": true})).into_response();
    let sec = secure(&state);
    set_cookie(
        &mut r,
        format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{sec}"),
    );
    set_cookie(
        &mut r,
        format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict{sec}"),
    );
    Ok(r)
}

/// `GET /dashboard/api/me`: the person, their account's plan and subscription, and its credits.
async fn me(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let a = &session.auth;
    let c = credits::balance(&state.db, &a.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(axum::Json(json!({
        "user": {"id": a.user_id, "email": a.email, "role": a.role},
        "account": {"id": a.account_id, "name": a.account_name, "plan": a.plan, "status": a.account_status,
                    "trialEndsAt": a.trial_ends_at.map(fmt_time)},
        "credits": {"balance": c.balance, "reserved": c.reserved, "available": c.available()},
    })))
}

/// The caller the API's own list handlers take, for the session's account in the mode asked (`?mode=`), and
/// the query without `mode`.
fn as_caller(session: &Session, query: Option<String>) -> ApiResult<(Caller, Option<String>)> {
    let mut livemode = true;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        if k == "mode" {
            livemode = match v.as_ref() {
                "live" => true,
                "test" => false,
                _ => return Err(ApiError::field("mode", "must be `live` or `test`")),
            };
        } else {
            rest.append_pair(&k, &v);
        }
    }
    let rest = rest.finish();
    Ok((
        Caller {
            account_id: session.auth.account_id.clone(),
            key_id: format!("session:{}", session.auth.session_id),
            livemode,
        },
        (!rest.is_empty()).then_some(rest),
    ))
}

/// `GET /dashboard/api/posts?mode=live|test&cursor=…`: `GET /v1/posts` for the session's account.
async fn list_posts(
    state: State<AppState>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    match as_caller(&session, query) {
        Ok((caller, rest)) => posts::list(state, Extension(caller), RawQuery(rest))
            .await
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /dashboard/api/integrations?mode=live|test`: `GET /v1/integrations` for the session's account.
async fn list_integrations(
    state: State<AppState>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    match as_caller(&session, query) {
        Ok((caller, rest)) => integrations::list(state, Extension(caller), RawQuery(rest))
            .await
            .into_response(),
        Err(e) => e.into_response(),
    }
}
