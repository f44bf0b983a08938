//! People and their sessions (docs/dashboard.md): login, refresh rotation with reuse detection, logout, password
//! changes, login throttling, key management with a session (and never with an API key), revocation seen by a
//! second API process, the dashboard's cookie session with its CSRF token and its pages.

use soku_tests::*;

const PASSWORD: &str = "correct horse battery staple";

/// An account whose owner logs in with `email` / [`PASSWORD`].
async fn person(env: &TestEnv, email: &str) -> String {
    let acct = env
        .admin(&[
            "account",
            "create",
            "--name",
            "People Inc",
            "--plan",
            "pro",
            "--status",
            "active",
            "--email",
            email,
            "--password",
            PASSWORD,
        ])
        .await;
    let id = acct["accountId"].as_str().unwrap().to_string();
    env.admin(&[
        "integration",
        "add",
        &id,
        "--platform",
        "threads",
        "--account-id",
        "threads_main",
        "--default",
        "--credentials",
        r#"{"accessToken": "placeholder"}"#,
    ])
    .await;
    id
}

async fn login(api: &ApiProc, email: &str, password: &str) -> Resp {
    api.post("/v1/auth/login")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
}

fn token(r: &Resp, name: &str) -> String {
    r.json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name}: {}", r.text))
        .to_string()
}

fn post_body() -> Value {
    text_post("key rotation verification", json!(["threads"]))
}

#[tokio::test]
async fn a_person_logs_in_manages_keys_and_revocation_is_seen_by_every_api_process() {
    let env = TestEnv::new().await;
    let account = person(&env, "owner@example.com").await;
    let api = env.spawn_api().await;
    let other = env.spawn_api().await;

    // Unknown email and wrong password: the same 401.
    let wrong = login(&api, "owner@example.com", "not the password!").await;
    let unknown = login(&api, "nobody@example.com", "not the password!").await;
    assert_eq!(
        wrong.error(401, "unauthorized")["message"],
        unknown.error(401, "unauthorized")["message"]
    );
    login(&api, "owner@example.com", "")
        .await
        .error(400, "validation_error");
    // An email no user can have (a NUL) is just unknown: the same 401, never a 500 (the fuzzer found it).
    login(&api, "M\u{0}@x.io", "whatever it is")
        .await
        .error(401, "unauthorized");

    let r = login(&api, "OWNER@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = token(&r, "accessToken");
    assert!(
        access.starts_with("eyJ") && access.matches('.').count() == 2,
        "a JWT: {access}"
    );
    assert!(token(&r, "refreshToken").starts_with("rt_"));
    assert_eq!(r.json["account"]["id"], account.as_str());
    assert_eq!(r.json["tokenType"], "Bearer");

    // A session token is no API key, and an API key manages no keys.
    let posts = api
        .post("/v1/posts")
        .bearer(&access)
        .json(&post_body())
        .send()
        .await;
    let e = posts.error(401, "unauthorized");
    assert!(
        e["message"].as_str().unwrap().contains("session token"),
        "{e}"
    );
    let listed = env
        .admin(&["key", "create", &account, "--name", "cli"])
        .await;
    let cli_key = listed["apiKey"].as_str().unwrap().to_string();
    let refused = api.get("/v1/api-keys").key(&cli_key).send().await;
    let e = refused.error(403, "forbidden");
    assert!(e["message"].as_str().unwrap().contains("session"), "{e}");
    api.get("/v1/api-keys")
        .bearer(&cli_key)
        .send()
        .await
        .error(403, "forbidden");
    api.get("/v1/api-keys")
        .send()
        .await
        .error(401, "unauthorized");

    // Create a key: shown once; listed with its preview only.
    let created = api
        .post("/v1/api-keys")
        .bearer(&access)
        .json(&json!({"name": "Production Server (rotated)"}))
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = token(&created, "apiKey");
    let key_id = token(&created, "id");
    assert!(key.starts_with("sk_live_"), "{key}");
    assert_eq!(created.json["status"], "active");
    api.post("/v1/posts")
        .key(&key)
        .json(&post_body())
        .send()
        .await
        .expect(202);
    let list = api.get("/v1/api-keys").bearer(&access).send().await;
    let text = list.expect(200).to_string();
    assert!(
        !text.contains(&key) && !text.contains("hash") && !text.contains("apiKey"),
        "{text}"
    );
    let mine = list.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["preview"], created.json["preview"]);
    assert_eq!(mine["mode"], "live");
    api.post("/v1/api-keys")
        .bearer(&access)
        .json(&json!({"name": "", "mode": "prod"}))
        .send()
        .await
        .error(400, "validation_error");

    // The other API process has the key cached from a request; revoking makes its very next request a 401.
    other
        .post("/v1/posts")
        .key(&key)
        .json(&post_body())
        .send()
        .await
        .expect(202);
    let revoked = api
        .delete(&format!("/v1/api-keys/{key_id}"))
        .bearer(&access)
        .send()
        .await;
    assert_eq!(revoked.expect(200)["status"], "revoked");
    other
        .post("/v1/posts")
        .key(&key)
        .json(&post_body())
        .send()
        .await
        .error(401, "unauthorized");
    api.post("/v1/posts")
        .key(&key)
        .json(&post_body())
        .send()
        .await
        .error(401, "unauthorized");
    api.delete("/v1/api-keys/key_doesnotexist")
        .bearer(&access)
        .send()
        .await
        .error(404, "not_found");

    // Logout ends the session: its access token stops working at once.
    api.post("/v1/auth/logout")
        .bearer(&access)
        .send()
        .await
        .expect(200);
    api.get("/v1/api-keys")
        .bearer(&access)
        .send()
        .await
        .error(401, "unauthorized");
    assert!(
        !api.log().contains(PASSWORD) && !api.log().contains(&key),
        "a secret is logged"
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_whole_session() {
    let env = TestEnv::new().await;
    person(&env, "rot@example.com").await;
    let api = env.spawn_api().await;
    let first = login(&api, "rot@example.com", PASSWORD).await;
    let refresh1 = token(&first, "refreshToken");
    let r = api
        .post("/v1/auth/refresh")
        .json(&json!({"refreshToken": refresh1}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access2, refresh2) = (token(&r, "accessToken"), token(&r, "refreshToken"));
    assert_ne!(refresh1, refresh2);
    api.get("/v1/api-keys")
        .bearer(&access2)
        .send()
        .await
        .expect(200);
    // The first refresh token again: stolen, or replayed. The whole session ends, the newest tokens with it.
    let reused = api
        .post("/v1/auth/refresh")
        .json(&json!({"refreshToken": refresh1}))
        .send()
        .await;
    let e = reused.error(401, "unauthorized");
    assert!(
        e["message"].as_str().unwrap().contains("used already"),
        "{e}"
    );
    api.get("/v1/api-keys")
        .bearer(&access2)
        .send()
        .await
        .error(401, "unauthorized");
    api.post("/v1/auth/refresh")
        .json(&json!({"refreshToken": refresh2}))
        .send()
        .await
        .error(401, "unauthorized");
    api.post("/v1/auth/refresh")
        .json(&json!({"refreshToken": "rt_madeup"}))
        .send()
        .await
        .error(401, "unauthorized");
    // A tampered access token is refused.
    let fresh = token(
        &login(&api, "rot@example.com", PASSWORD).await,
        "accessToken",
    );
    let mut forged = fresh.clone();
    forged.pop();
    forged.push(if fresh.ends_with('A') { 'B' } else { 'A' });
    api.get("/v1/api-keys")
        .bearer(&forged)
        .send()
        .await
        .error(401, "unauthorized");
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_logins_are_throttled() {
    let env = TestEnv::new().await;
    let account = person(&env, "pw@example.com").await;
    let member = env
        .admin(&[
            "user",
            "add",
            &account,
            "--email",
            "member@example.com",
            "--password",
            "another long secret",
        ])
        .await;
    assert_eq!(member["role"], "member");
    assert!(!member.to_string().contains("another long"), "{member}");
    let dup = env
        .admin_fail(&[
            "user",
            "add",
            &account,
            "--email",
            "MEMBER@example.com",
            "--password",
            "another long secret",
        ])
        .await;
    assert!(dup.contains("exists already"), "{dup}");
    let api = env.spawn_api().await;
    let a = token(
        &login(&api, "pw@example.com", PASSWORD).await,
        "accessToken",
    );
    let b = token(
        &login(&api, "pw@example.com", PASSWORD).await,
        "accessToken",
    );
    let short = api
        .post("/v1/auth/password")
        .bearer(&a)
        .json(&json!({"currentPassword": PASSWORD, "newPassword": "short"}))
        .send()
        .await;
    short.error(400, "validation_error");
    api.post("/v1/auth/password")
        .bearer(&a)
        .json(&json!({"currentPassword": "wrong wrong wrong", "newPassword": "a brand new passphrase"}))
        .send()
        .await
        .error(400, "validation_error");
    let changed = api
        .post("/v1/auth/password")
        .bearer(&a)
        .json(&json!({"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}))
        .send()
        .await;
    assert_eq!(changed.expect(200)["sessionsEnded"], 1);
    api.get("/v1/api-keys").bearer(&a).send().await.expect(200);
    api.get("/v1/api-keys")
        .bearer(&b)
        .send()
        .await
        .error(401, "unauthorized");
    login(&api, "pw@example.com", PASSWORD)
        .await
        .error(401, "unauthorized");
    login(&api, "pw@example.com", "a brand new passphrase")
        .await
        .expect(200);
    // The member logs in on its own.
    login(&api, "member@example.com", "another long secret")
        .await
        .expect(200);

    // Failed logins for one email: slowed, then refused with Retry-After; another email is not affected.
    let mut refused = None;
    for _ in 0..12 {
        let r = login(&api, "member@example.com", "guessing guessing").await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        r.error(401, "unauthorized");
    }
    let r = refused.expect("never throttled");
    r.error(429, "rate_limited");
    assert!(r.header_int("retry-after") > 0);
    login(&api, "member@example.com", "another long secret")
        .await
        .error(429, "rate_limited");
    login(&api, "pw@example.com", "a brand new passphrase")
        .await
        .expect(200);
}

/// The dashboard's cookies from a `POST /dashboard/login` answer: (`Cookie` header value, CSRF token).
fn cookies(r: &Resp) -> (String, String) {
    let set: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("soku_session="))
        .expect("the session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let csrf = set
        .iter()
        .find(|c| c.starts_with("soku_csrf="))
        .expect("the CSRF cookie");
    let value = |c: &str| c.split(';').next().unwrap().to_string();
    let csrf_token = value(csrf).split_once('=').unwrap().1.to_string();
    (format!("{}; {}", value(session), value(csrf)), csrf_token)
}

#[tokio::test]
async fn the_dashboard_needs_its_session_cookie_and_its_csrf_token() {
    let env = TestEnv::new().await;
    person(&env, "dash@example.com").await;
    let api = env.spawn_api().await;
    // No session: the pages send to /login, the JSON is a 401.
    let page = api.get("/settings/api").send().await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        Some("/login?next=%2Fsettings%2Fapi")
    );
    api.get("/dashboard/api/keys")
        .send()
        .await
        .error(401, "unauthorized");
    let login_page = api.get("/login").send().await;
    assert_eq!(login_page.status, 200);
    let csp = login_page
        .header("content-security-policy")
        .expect("a CSP")
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    let r = api
        .post("/dashboard/login")
        .json(&json!({"email": "dash@example.com", "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (cookie, csrf) = cookies(&r);
    let page = api
        .get("/settings/api")
        .header("cookie", &cookie)
        .send()
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let me = api
        .get("/dashboard/api/me")
        .header("cookie", &cookie)
        .send()
        .await;
    assert_eq!(me.expect(200)["user"]["email"], "dash@example.com");
    // A change without the CSRF token (what a cross-site form would send) is refused and changes nothing.
    let body = json!({"name": "from the dashboard", "mode": "test"});
    let forged = api
        .post("/dashboard/api/keys")
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await;
    forged.error(403, "csrf_failed");
    api.post("/dashboard/api/keys")
        .header("cookie", &cookie)
        .header("x-csrf-token", "not-the-token")
        .json(&body)
        .send()
        .await
        .error(403, "csrf_failed");
    let keys = api
        .get("/dashboard/api/keys")
        .header("cookie", &cookie)
        .send()
        .await;
    assert_eq!(keys.expect(200)["data"], json!([]));
    let made = api
        .post("/dashboard/api/keys")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let key = token(&made, "apiKey");
    assert!(key.starts_with("sk_test_"));
    // The keys page never shows a full key again: the list has only previews.
    let keys = api
        .get("/dashboard/api/keys")
        .header("cookie", &cookie)
        .send()
        .await;
    assert!(!keys.text.contains(&key), "{}", keys.text);
    let page = api
        .get("/settings/api")
        .header("cookie", &cookie)
        .send()
        .await;
    assert!(!page.text.contains(&key));
    // The dashboard lists posts by mode.
    api.post("/v1/posts")
        .key(&key)
        .json(&text_post("from a dashboard key", json!(["x"])))
        .send()
        .await
        .expect(202);
    let posts = api
        .get("/dashboard/api/posts?mode=test")
        .header("cookie", &cookie)
        .send()
        .await;
    assert_eq!(
        posts.expect(200)["data"].as_array().unwrap().len(),
        1,
        "{}",
        posts.text
    );
    let live = api
        .get("/dashboard/api/posts?mode=live")
        .header("cookie", &cookie)
        .send()
        .await;
    assert_eq!(live.expect(200)["data"], json!([]));
    // Logging out ends it.
    api.post("/dashboard/logout")
        .header("cookie", &cookie)
        .send()
        .await
        .error(403, "csrf_failed");
    api.post("/dashboard/logout")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect(200);
    assert_eq!(
        api.get("/settings/api")
            .header("cookie", &cookie)
            .send()
            .await
            .status,
        303
    );
    api.get("/dashboard/api/me")
        .header("cookie", &cookie)
        .send()
        .await
        .error(401, "unauthorized");
}

#[tokio::test]
async fn the_signing_key_rotates_without_logging_anyone_out_and_sessions_ignore_the_subscription() {
    let env = TestEnv::new().await;
    let account = person(&env, "keys@example.com").await;
    let (old, new) = ("o".repeat(40), "n".repeat(40));
    let api = env.api().env("SOKU_SESSION_KEYS", &old).spawn().await;
    let token_old = token(
        &login(&api, "keys@example.com", PASSWORD).await,
        "accessToken",
    );
    drop(api);
    // The new secret first, the old one kept: tokens of both verify; new ones are signed with the new one.
    let api = env
        .api()
        .env("SOKU_SESSION_KEYS", &format!("{new},{old}"))
        .spawn()
        .await;
    api.get("/v1/api-keys")
        .bearer(&token_old)
        .send()
        .await
        .expect(200);
    let token_new = token(
        &login(&api, "keys@example.com", PASSWORD).await,
        "accessToken",
    );
    drop(api);
    // The old secret dropped: its tokens stop working, the new ones go on.
    let api = env.api().env("SOKU_SESSION_KEYS", &new).spawn().await;
    api.get("/v1/api-keys")
        .bearer(&token_old)
        .send()
        .await
        .error(401, "unauthorized");
    api.get("/v1/api-keys")
        .bearer(&token_new)
        .send()
        .await
        .expect(200);
    // A canceled subscription stops the API, not a person managing keys.
    env.admin(&["account", "update", &account, "--status", "canceled"])
        .await;
    let key = env.admin(&["key", "create", &account, "--name", "k"]).await;
    api.post("/v1/posts")
        .key(key["apiKey"].as_str().unwrap())
        .json(&post_body())
        .send()
        .await
        .error(403, "forbidden");
    login(&api, "keys@example.com", PASSWORD).await.expect(200);
    api.get("/v1/api-keys")
        .bearer(&token_new)
        .send()
        .await
        .expect(200);
    // A short secret stops the process naming the setting.
    let out = env.run(&["api"], &[("SOKU_SESSION_KEYS", "short")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SOKU_SESSION_KEYS"));
}
