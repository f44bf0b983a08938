//! The error shape and request ids (docs/api.md "Conventions" and "Errors"): one JSON shape for every error, an
//! `X-Request-ID` on every response, safe client ids echoed, body checks (content type, JSON, size), and 404 for
//! ids that are unknown or belong to someone else.

use soku_tests::*;

#[tokio::test]
async fn every_error_has_the_shape_and_the_request_id() {
    let (_env, acct, api) = setup().await;
    let responses = [
        api.get("/v1/posts").send().await,
        api.get("/nope").send().await,
        api.get("/v1/nope").key(&acct.live_key).send().await,
        api.get("/v1/posts/post_00000000000000000000000000")
            .key(&acct.live_key)
            .send()
            .await,
        api.post("/v1/posts")
            .key(&acct.live_key)
            .json_text("{")
            .send()
            .await,
        api.post_json("/v1/posts", &acct.test_key, &json!({"post": {}}))
            .await,
    ];
    let expected = [
        (401, "unauthorized"),
        (404, "not_found"),
        (404, "not_found"),
        (404, "not_found"),
        (400, "invalid_json"),
        (400, "validation_error"),
    ];
    for (r, (status, code)) in responses.iter().zip(expected) {
        let error = r.error(status, code);
        assert_id(&error["requestId"], "req_");
        assert_eq!(
            r.header("content-type")
                .map(|c| c.starts_with("application/json")),
            Some(true),
            "{}",
            r.what
        );
    }
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let (_env, acct, api) = setup().await;
    let responses = [
        api.get("/healthz").send().await,
        api.get("/readyz").send().await,
        api.get("/openapi.json").send().await,
        api.get("/v1/posts").key(&acct.live_key).send().await,
        api.post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
            .await,
        api.get("/v1/posts").send().await,
        api.get("/definitely/not/here").send().await,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in &responses {
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{}: no X-Request-ID", r.what));
        assert_id(&json!(id), "req_");
        assert!(
            seen.insert(id.to_string()),
            "request id {id} was used twice"
        );
    }
}

#[tokio::test]
async fn safe_client_request_id_is_echoed() {
    let (_env, acct, api) = setup().await;
    for id in ["abc-DEF_123", "x", &"a".repeat(64)] {
        let ok = api
            .get("/v1/posts")
            .key(&acct.live_key)
            .header("x-request-id", id)
            .send()
            .await;
        assert_eq!(ok.header("x-request-id"), Some(id), "{}", ok.what);
        let err = api.get("/v1/posts").header("x-request-id", id).send().await;
        assert_eq!(err.error(401, "unauthorized")["requestId"], id);
    }
}

#[tokio::test]
async fn unsafe_client_request_id_is_replaced() {
    let (_env, acct, api) = setup().await;
    let long = "a".repeat(65);
    for id in [
        "has space",
        long.as_str(),
        "<script>alert(1)</script>",
        "a.b",
        "ünïcode",
        "a/b",
        "",
    ] {
        let ok = api
            .get("/v1/posts")
            .key(&acct.live_key)
            .header("x-request-id", id)
            .send()
            .await;
        let got = ok.header("x-request-id").expect("X-Request-ID").to_string();
        assert_ne!(got, id, "unsafe id {id:?} was echoed");
        assert_id(&json!(got), "req_");
        let err = api.get("/v1/posts").header("x-request-id", id).send().await;
        let error = err.error(401, "unauthorized");
        assert_ne!(error["requestId"], id);
        assert_id(&error["requestId"], "req_");
    }
}

#[tokio::test]
async fn body_without_json_content_type_is_refused() {
    let (_env, acct, api) = setup().await;
    let body = text_post("hi", json!(["x"])).to_string();
    let cases: [(&str, Option<&str>, String); 4] = [
        ("none", None, body.clone()),
        ("text/plain", Some("text/plain"), body.clone()),
        (
            "form",
            Some("application/x-www-form-urlencoded"),
            "post=hello&platform=x".into(),
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=xyz"),
            "--xyz\r\n\r\nhello\r\n--xyz--\r\n".into(),
        ),
    ];
    for (name, content_type, body) in cases {
        let mut req = api.post("/v1/posts").key(&acct.test_key).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        r.error(400, "invalid_content_type");
    }
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let (_env, acct, api) = setup().await;
    let body = text_post("hi", json!(["x"])).to_string();
    for ct in ["application/json; charset=utf-8", "Application/JSON"] {
        let r = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .await;
        r.expect(202);
    }
}

#[tokio::test]
async fn body_that_is_not_json_is_refused() {
    let (_env, acct, api) = setup().await;
    for body in [
        "{",
        "not json",
        "{\"post\": }",
        "{\"post\": {}} trailing",
        "{'post': 1}",
    ] {
        let r = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .json_text(body)
            .send()
            .await;
        assert_eq!(r.status, 400, "{body:?}: {}", r.text);
        r.error(400, "invalid_json");
    }
}

/// POSTs `body` to `/v1/posts` by hand, with a Content-Length or chunked, and reads the answer. Write errors are
/// ignored: a server may answer 413 and close before it has read everything (a client library can lose that
/// answer in the race, which is why this is by hand).
async fn post_oversized(api: &ApiProc, key: &str, body: &[u8], chunked: bool) -> RawResponse {
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST /v1/posts HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nsoku-api-key: {key}\r\n\
         {framing}\r\nConnection: close\r\n\r\n",
        api.addr
    );
    let mut conn = RawConn::connect(api.addr).await.expect("connect");
    conn.write(head.as_bytes()).await.expect("send the head");
    if chunked {
        for chunk in body.chunks(64 * 1024) {
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(chunk);
            framed.extend_from_slice(b"\r\n");
            if conn.write(&framed).await.is_err() {
                break;
            }
        }
        let _ = conn.write(b"0\r\n\r\n").await;
    } else {
        let _ = conn.write(body).await;
    }
    conn.read_response().await.expect("a complete response")
}

fn assert_payload_too_large(r: &RawResponse) {
    let body = r.json();
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    assert_eq!(
        body["error"]["requestId"].as_str(),
        r.header("x-request-id").as_deref()
    );
}

#[tokio::test]
async fn body_over_one_mebibyte_is_refused() {
    let (_env, acct, api) = setup().await;
    let body = text_post(&"a".repeat(1024 * 1024 + 10), json!(["facebook"])).to_string();
    assert_payload_too_large(&post_oversized(&api, &acct.test_key, body.as_bytes(), false).await);
    assert_payload_too_large(&post_oversized(&api, &acct.test_key, body.as_bytes(), true).await);
    // Just under the limit is read and judged on its content.
    let under = text_post(&"a".repeat(1024 * 1024 - 200), json!(["facebook"])).to_string();
    let r = post_oversized(&api, &acct.test_key, under.as_bytes(), false).await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["error"]["code"], "validation_error", "{body}");
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "post.content.text",
        "judged on its content: {body}"
    );
    // The server is still there and the next request is fine.
    let small = text_post("small", json!(["x"]));
    api.post_json("/v1/posts", &acct.test_key, &small)
        .await
        .expect(202);
}

#[tokio::test]
async fn post_of_another_account_is_not_found() {
    let (env, acct, api) = setup().await;
    let other = env.active_account().await;
    let id = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("mine", json!(["x"])),
        )
        .await
        .expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    api.get_with(&format!("/v1/posts/{id}"), &other.test_key)
        .await
        .error(404, "not_found");
    api.delete_with(&format!("/v1/posts/{id}"), &other.test_key)
        .await
        .error(404, "not_found");
    api.post(&format!("/v1/posts/{id}/retry"))
        .key(&other.test_key)
        .send()
        .await
        .error(404, "not_found");
    let listed = api.get_with("/v1/posts", &other.test_key).await;
    assert!(
        !listed.text.contains(&id),
        "another account's post is listed: {}",
        listed.text
    );
    // Still there for its owner.
    api.get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .expect(200);
}

#[tokio::test]
async fn unknown_post_id_is_not_found() {
    let (_env, acct, api) = setup().await;
    let id = format!("post_{}", random_alnum(24));
    api.get_with(&format!("/v1/posts/{id}"), &acct.live_key)
        .await
        .error(404, "not_found");
    api.delete_with(&format!("/v1/posts/{id}"), &acct.live_key)
        .await
        .error(404, "not_found");
    api.post(&format!("/v1/posts/{id}/retry"))
        .key(&acct.live_key)
        .send()
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn body_limit_is_configurable() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env.api().env("SOKU_MAX_BODY_BYTES", "2048").spawn().await;
    let big = text_post(&"a".repeat(3000), json!(["facebook"])).to_string();
    assert_payload_too_large(&post_oversized(&api, &acct.test_key, big.as_bytes(), false).await);
    assert_payload_too_large(&post_oversized(&api, &acct.test_key, big.as_bytes(), true).await);
    let small = text_post(&"a".repeat(1000), json!(["facebook"]));
    api.post_json("/v1/posts", &acct.test_key, &small)
        .await
        .expect(202);
}

#[tokio::test]
async fn a_database_refusing_connections_is_503_not_500() {
    let (env, acct, api) = setup().await;
    api.get_with("/v1/posts", &acct.test_key).await.expect(200);
    // As during a restart: no new connections, and the open ones are cut.
    let admin_url = std::env::var("SOKU_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://soku:soku@127.0.0.1:5432/postgres".into());
    let db = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = env.db_name.clone();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    )))
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&db)
        .await
        .unwrap();
    for _ in 0..3 {
        let r = api.get_with("/v1/posts", &acct.test_key).await;
        r.error(503, "unavailable");
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
    )))
    .execute(&db)
    .await
    .unwrap();
    // Until its pool reconnects, the answer stays the documented 503; then the API works again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let r = api.get_with("/v1/posts", &acct.test_key).await;
        if r.status == 200 {
            break;
        }
        r.error(503, "unavailable");
        assert!(
            std::time::Instant::now() < deadline,
            "the API did not recover once the database accepted connections again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
