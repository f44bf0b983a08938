//! Hostile and odd input: nothing a client sends may make the API answer 5xx or fall over. Malformed JSON, wrong
//! types at every field, huge and deeply nested bodies, control characters, emoji and right-to-left text, odd
//! paths, methods, ids and headers.

use std::time::Duration;

use soku_tests::*;

/// An environment whose rate limit does not get in the way of a few hundred requests.
async fn start() -> (TestEnv, Account, ApiProc) {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env.api().env("SOKU_RATE_LIMIT_PRO", "100000").spawn().await;
    (env, acct, api)
}

/// The server is still healthy and has logged no panic.
async fn assert_still_healthy(api: &ApiProc) {
    api.get("/healthz").send().await.expect(200);
    assert!(
        !api.log().contains("panicked"),
        "the server panicked:\n{}",
        api.log_tail(40)
    );
}

async fn post_raw(api: &ApiProc, key: &str, body: impl Into<Vec<u8>>) -> Resp {
    api.post("/v1/posts")
        .key(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
}

fn valid_body() -> Value {
    json!({"post": {"content": {"text": "ok", "mediaType": "image", "imageUrls": ["https://example.com/a.jpg"],
        "title": "t", "platform": ["x", {"platform": "linkedin"}]}},
        "scheduledTime": time_from_now(3600)})
}

/// Sets the field at a JSON pointer, adding it to its parent object when it is not there.
fn set(body: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = body.pointer_mut(pointer) {
        *slot = value;
        return;
    }
    let (parent, name) = pointer.rsplit_once('/').expect("a JSON pointer");
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("the parent object")[name] = value;
}

/// JSON pointers of every field of [`valid_body`], containers included.
const FIELDS: [&str; 12] = [
    "/post",
    "/post/content",
    "/post/content/text",
    "/post/content/mediaType",
    "/post/content/imageUrls",
    "/post/content/imageUrls/0",
    "/post/content/videoUrl",
    "/post/content/title",
    "/post/content/platform",
    "/post/content/platform/0",
    "/post/content/platform/1/platform",
    "/scheduledTime",
];

#[tokio::test]
async fn malformed_json_is_a_400() {
    let (_env, acct, api) = start().await;
    let bodies: [&[u8]; 14] = [
        b"",
        b"{",
        b"}",
        b"[]",
        b"null",
        b"1",
        b"\"post\"",
        b"{\"post\":}",
        b"{\"post\": {\"content\": {\"text\": \"a\",}}}",
        b"{\"post\": NaN}",
        b"\xef\xbb\xbf{\"post\": {}}",
        b"{\"post\": {\"content\": {\"text\": \"\xff\xfe\"}}}",
        b"{\"post\": {\"content\": {\"text\": \"\\ud800\"}}}",
        b"{\"a\":1}{\"b\":2}",
    ];
    for body in bodies {
        let r = post_raw(&api, &acct.test_key, body).await;
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            r.text
        );
        r.error_shape();
    }
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn wrong_types_at_every_field_are_a_400_never_a_500() {
    let (_env, acct, api) = start().await;
    api.post_json("/v1/posts", &acct.test_key, &valid_body())
        .await
        .expect(202);
    let values = [
        json!(null),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e308),
        json!(u64::MAX),
        json!(true),
        json!(""),
        json!("x"),
        json!([]),
        json!({}),
        json!([null]),
    ];
    for field in FIELDS {
        for value in &values {
            let mut body = valid_body();
            set(&mut body, field, value.clone());
            let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
            assert!(
                r.status == 202 || r.status == 400,
                "{field} = {value}: {} {}",
                r.status,
                r.text
            );
            if r.status == 400 {
                r.error_shape();
            }
        }
    }
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn huge_strings_and_arrays_are_refused_cleanly() {
    let (_env, acct, api) = start().await;
    let cases = [
        (
            "text of 1 MB",
            text_post(&"a".repeat(1_000_000), json!(["x"])),
        ),
        ("title of 1 MB", {
            let mut b = valid_body();
            b["post"]["content"]["title"] = json!("t".repeat(1_000_000));
            b
        }),
        ("100k platforms", text_post("hi", json!(vec!["x"; 100_000]))),
        ("100k image urls", {
            let mut b = valid_body();
            b["post"]["content"]["imageUrls"] = json!(vec!["a"; 100_000]);
            b
        }),
        ("100k numbers", text_post("hi", json!(vec![0; 100_000]))),
    ];
    for (name, body) in cases {
        let started = std::time::Instant::now();
        let r = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .json(&body)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        assert!(
            r.status == 400 || r.status == 413,
            "{name}: {} {}",
            r.status,
            &r.text[..r.text.len().min(500)]
        );
        r.error_shape();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_cleanly() {
    let (_env, acct, api) = start().await;
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let inside = format!(
        "{{\"post\": {{\"content\": {{\"text\": {arrays}, \"mediaType\": \"text\", \"platform\": [\"x\"]}}}}}}"
    );
    for (name, body) in [
        ("arrays", arrays.clone()),
        ("objects", objects),
        ("in a field", inside),
    ] {
        let r = post_raw(&api, &acct.test_key, body).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        r.error_shape();
    }
    let r = api
        .post("/v1/integrations")
        .key(&acct.live_key)
        .header("content-type", "application/json")
        .body(arrays)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn control_characters_never_cause_a_500() {
    let (_env, acct, api) = start().await;
    for text in [
        "nul \u{0} byte",
        "bell \u{7}",
        "esc \u{1b}[31m red",
        "del \u{7f}",
        "line\u{2028}sep",
        "\u{feff}bom",
    ] {
        let r = api
            .post_json("/v1/posts", &acct.test_key, &text_post(text, json!(["x"])))
            .await;
        assert!(
            r.status == 202 || r.status == 400,
            "{text:?}: {} {}",
            r.status,
            r.text
        );
        if r.status == 202 {
            let id = r.json["postSubmissionId"].as_str().unwrap();
            let stored = api
                .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
                .await;
            assert_eq!(
                stored.expect(200)["content"]["text"],
                text,
                "accepted text must round-trip exactly"
            );
        } else {
            r.error(400, "validation_error");
        }
    }
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn emoji_and_right_to_left_text_round_trip_exactly() {
    let (_env, acct, api) = start().await;
    let text = "Hi 👋🏽 👨‍👩‍👧‍👦 🇯🇵 مرحبا بالعالم שלום \u{202e}desrever\u{202c} e\u{301} 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 漢字 ☃";
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post(text, json!(["x", "threads"])),
        )
        .await;
    let id = r.expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(stored.expect(200)["content"]["text"], text);
    let listed = api.get_with("/v1/posts", &acct.test_key).await;
    assert_eq!(listed.expect(200)["data"][0]["content"]["text"], text);
}

#[tokio::test]
async fn emoji_and_right_to_left_text_in_every_string_field_never_cause_a_500() {
    let (_env, acct, api) = start().await;
    let weird = "👨‍👩‍👧‍👦 مرحبا \u{202e}txet\u{202c} \u{0}";
    for field in FIELDS
        .iter()
        .filter(|f| !["/post", "/post/content", "/post/content/imageUrls"].contains(f))
    {
        let mut body = valid_body();
        set(&mut body, field, json!(weird));
        let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
        assert!(
            r.status == 202 || r.status == 400,
            "{field}: {} {}",
            r.status,
            r.text
        );
    }
    let integration = json!({"platform": "x", "accountId": weird, "displayName": weird, "credentials": {"accessToken": weird}});
    let r = api
        .post_json("/v1/integrations", &acct.live_key, &integration)
        .await;
    assert!(
        r.status == 201 || r.status == 400,
        "{} {}",
        r.status,
        r.text
    );
    let r = api
        .get_with(
            &format!("/v1/posts?cursor={}", "%F0%9F%98%80"),
            &acct.test_key,
        )
        .await;
    assert!((400..500).contains(&r.status), "{}", r.text);
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn odd_paths_and_queries_never_cause_a_500() {
    let (_env, acct, api) = start().await;
    let long = format!("/v1/posts/post_{}", "a".repeat(8000));
    let paths = [
        "/v1/posts/",
        "//v1/posts",
        "/v1//posts",
        "/v1/posts/%00",
        "/v1/posts/..%2F..%2Fetc%2Fpasswd",
        "/v1/posts/../../etc/passwd",
        "/v1/%ZZ",
        "/v1/posts/%F0%9F%98%80",
        "/v1/posts?limit=%FF",
        "/v1/posts?limit=99999999999999999999",
        "/v1/posts?cursor=garbage",
        "/v1/posts?cursor=%00",
        "/v1/posts?status=",
        "/v1/posts?limit=1&limit=2",
        "/v1/posts/post_x/retry/extra",
        "/V1/POSTS",
        long.as_str(),
    ];
    let addr = api.addr;
    for path in paths {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nsoku-api-key: {}\r\nConnection: close\r\n\r\n",
            acct.test_key
        );
        let r = raw_request(addr, request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            r.status < 500,
            "{path}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        if r.status >= 400 && r.status != 414 && r.status != 431 {
            let body = r.json();
            assert!(
                body["error"]["code"].is_string(),
                "{path}: {} without the error shape: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            assert_eq!(
                body["error"]["requestId"].as_str(),
                r.header("x-request-id").as_deref(),
                "{path}"
            );
        }
    }
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn wrong_methods_get_405_with_the_error_shape() {
    let (_env, acct, api) = start().await;
    let id = api
        .post_json("/v1/posts", &acct.test_key, &valid_body())
        .await
        .expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        (Method::PUT, "/v1/posts".to_string()),
        (Method::DELETE, "/v1/posts".to_string()),
        (Method::PATCH, format!("/v1/posts/{id}")),
        (Method::PUT, format!("/v1/posts/{id}")),
        (Method::GET, format!("/v1/posts/{id}/retry")),
        (Method::PUT, "/v1/integrations".to_string()),
        (Method::POST, "/healthz".to_string()),
    ];
    for (method, path) in cases {
        let r = api
            .request(method.clone(), &path)
            .key(&acct.test_key)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        r.error_shape();
    }
}

#[tokio::test]
async fn ids_of_the_wrong_format_are_not_found() {
    let (_env, acct, api) = start().await;
    let ids = [
        "123".to_string(),
        format!("int_{}", random_alnum(24)),
        "post_".to_string(),
        "post_%3Cscript%3E".to_string(),
        "post_%E2%80%AE".to_string(),
        "00000000-0000-0000-0000-000000000000".to_string(),
        format!("post_{}", "9".repeat(300)),
        "post_'%20OR%20'1'='1".to_string(),
    ];
    for id in &ids {
        for r in [
            api.get_with(&format!("/v1/posts/{id}"), &acct.test_key)
                .await,
            api.delete_with(&format!("/v1/posts/{id}"), &acct.test_key)
                .await,
            api.post(&format!("/v1/posts/{id}/retry"))
                .key(&acct.test_key)
                .send()
                .await,
            api.delete_with(&format!("/v1/integrations/{id}"), &acct.test_key)
                .await,
        ] {
            assert!(
                r.status == 404 || r.status == 400,
                "{}: {} {}",
                r.what,
                r.status,
                r.text
            );
            r.error_shape();
        }
    }
    assert_still_healthy(&api).await;
}

#[tokio::test]
async fn odd_headers_never_cause_a_500() {
    let (_env, acct, api) = start().await;
    let body = text_post("hi", json!(["x"]));
    let cases: [(&str, &[u8]); 7] = [
        ("soku-api-key", b"\xff\xfe\xfd"),
        ("soku-api-key", "sk_live_ünïcödé".as_bytes()),
        ("authorization", b"Bearer"),
        ("authorization", b"Basic dXNlcjpwYXNz"),
        ("idempotency-key", "clé-😀".as_bytes()),
        ("idempotency-key", b"\xff"),
        ("x-request-id", b"\x80\x81"),
    ];
    for (name, value) in cases {
        let mut req = api.post("/v1/posts").json(&body).header_bytes(name, value);
        let auth = name == "soku-api-key" || name == "authorization";
        if !auth {
            req = req.key(&acct.test_key);
        }
        let r = req.send().await;
        let shown = String::from_utf8_lossy(value);
        if auth {
            r.error(401, "unauthorized");
        } else {
            assert!(r.status < 500, "{name}: {shown:?}: {} {}", r.status, r.text);
        }
        if r.status >= 400 {
            r.error_shape();
        }
        assert_id(&json!(r.header("x-request-id")), "req_");
    }
    assert_still_healthy(&api).await;
}
