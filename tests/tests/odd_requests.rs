//! Odd requests at the HTTP level: paths, query strings, methods, ids and headers no client should send. None
//! may get a 5xx, and every 4xx keeps the error shape.

use soku_tests::*;

#[tokio::test]
async fn odd_paths_and_queries_never_cause_a_500() {
    let (_env, acct, api) = setup_unlimited().await;
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
        "/v1/posts?cursor=abc%00def",
        "/v1/posts?status=%00",
        "/v1/posts?status=",
        "/v1/posts?limit=1&limit=2",
        "/v1/posts/post_x/retry/extra",
        "/V1/POSTS",
        long.as_str(),
    ];
    let addr = api.addr;
    let mut problems = Vec::new();
    for path in paths {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nsoku-api-key: {}\r\nConnection: close\r\n\r\n",
            acct.test_key
        );
        let r = raw_request(addr, request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let (body, shown) = (r.json(), String::from_utf8_lossy(&r.body).into_owned());
        let shaped = body["error"]["code"].is_string()
            && body["error"]["requestId"].as_str() == r.header("x-request-id").as_deref();
        if r.status >= 500 {
            problems.push(format!("{path}: {} {shown}", r.status));
        } else if r.status >= 400 && r.status != 414 && r.status != 431 && !shaped {
            problems.push(format!(
                "{path}: {} without the error shape: {shown}",
                r.status
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    api.assert_healthy().await;
}

#[tokio::test]
async fn wrong_methods_get_405_with_the_error_shape() {
    let (_env, acct, api) = setup_unlimited().await;
    let id = api
        .post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
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
    let (_env, acct, api) = setup_unlimited().await;
    let ids = [
        "123".to_string(),
        format!("int_{}", random_alnum(24)),
        "post_".to_string(),
        "post_%3Cscript%3E".to_string(),
        "post_%00abc".to_string(),
        "post_%E2%80%AE".to_string(),
        "00000000-0000-0000-0000-000000000000".to_string(),
        format!("post_{}", "9".repeat(300)),
        "post_'%20OR%20'1'='1".to_string(),
    ];
    let mut problems = Vec::new();
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
            if r.status != 404 && r.status != 400 {
                problems.push(format!("{}: {} {}", r.what, r.status, r.text));
            } else {
                r.error_shape();
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    api.assert_healthy().await;
}

#[tokio::test]
async fn odd_headers_never_cause_a_500() {
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}
