//! Odd requests at the HTTP level: paths, query strings, methods, ids and headers no client should send. Each gets
//! the status and error code docs/api.md gives it, in the error shape; none a 5xx.

use soku_tests::*;

#[tokio::test]
async fn odd_paths_and_queries_get_their_documented_error() {
    let (_env, acct, api) = setup_unlimited().await;
    let long = format!("/v1/posts/post_{}", "a".repeat(8000));
    // docs/api.md: unknown routes (and ids no one has) are 404 not_found; a bad list parameter is 400
    // validation_error naming it.
    let not_found = [
        "/v1/posts/",
        "//v1/posts",
        "/v1//posts",
        "/v1/posts/%00",
        "/v1/posts/..%2F..%2Fetc%2Fpasswd",
        "/v1/posts/../../etc/passwd",
        "/v1/%ZZ",
        "/v1/posts/%F0%9F%98%80",
        "/v1/posts/post_x/retry/extra",
        "/V1/POSTS",
        long.as_str(),
    ];
    let bad_parameter = [
        ("/v1/posts?limit=%FF", "limit"),
        ("/v1/posts?limit=99999999999999999999", "limit"),
        ("/v1/posts?cursor=garbage", "cursor"),
        ("/v1/posts?cursor=%00", "cursor"),
        ("/v1/posts?cursor=abc%00def", "cursor"),
        ("/v1/posts?status=%00", "status"),
        ("/v1/posts?status=", "status"),
    ];
    let cases = not_found
        .iter()
        .map(|p| (*p, 404, "not_found", None))
        .chain(
            bad_parameter
                .iter()
                .map(|(p, field)| (*p, 400, "validation_error", Some(*field))),
        );
    let addr = api.addr;
    let mut problems = Vec::new();
    for (path, status, code, field) in cases {
        let r = get_raw(addr, path, &acct.test_key).await;
        let (body, shown) = (r.json(), String::from_utf8_lossy(&r.body).into_owned());
        let shaped = body["error"]["message"].is_string()
            && body["error"]["requestId"].as_str() == r.header("x-request-id").as_deref();
        let named = field.is_none_or(|f| body["error"]["details"]["fields"][0]["field"] == f);
        if (r.status, body["error"]["code"].as_str()) != (status, Some(code)) || !shaped || !named {
            problems.push(format!(
                "{}: expected {status} {code}{}, got {} {shown}",
                &path[..path.len().min(80)],
                field.map(|f| format!(" on {f}")).unwrap_or_default(),
                r.status
            ));
        }
    }
    // A repeated parameter is refused, naming it (docs/http.md: one reading of every input).
    let r = get_raw(addr, "/v1/posts?limit=1&limit=2", &acct.test_key).await;
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 400, "{body}");
    assert!(
        body.contains("validation_error") && body.contains("\"limit\""),
        "{body}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    api.assert_healthy().await;
}

/// `GET path` sent byte for byte as given (a client library would normalise the path).
async fn get_raw(addr: std::net::SocketAddr, path: &str, key: &str) -> RawResponse {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nsoku-api-key: {key}\r\nConnection: close\r\n\r\n"
    );
    raw_request(addr, request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
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
        r.error(405, "method_not_allowed");
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
            if r.status == 404 && r.json["error"]["code"] == "not_found" {
                r.error_shape();
            } else {
                problems.push(format!("{}: {} {}", r.what, r.status, r.text));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    api.assert_healthy().await;
}

/// A header, its value, and the expected status and error code (None: accepted).
type OddHeader<'a> = (&'a str, &'a [u8], Option<(u16, &'a str)>);

#[tokio::test]
async fn odd_headers_get_their_documented_answer() {
    let (_env, acct, api) = setup_unlimited().await;
    let body = text_post("hi", json!(["x"]));
    let cases: [OddHeader; 7] = [
        ("soku-api-key", b"\xff\xfe\xfd", Some((401, "unauthorized"))),
        (
            "soku-api-key",
            "sk_live_ünïcödé".as_bytes(),
            Some((401, "unauthorized")),
        ),
        ("authorization", b"Bearer", Some((401, "unauthorized"))),
        (
            "authorization",
            b"Basic dXNlcjpwYXNz",
            Some((401, "unauthorized")),
        ),
        // docs/api.md: an Idempotency-Key is 1-255 printable ASCII characters.
        (
            "idempotency-key",
            "clé-😀".as_bytes(),
            Some((400, "validation_error")),
        ),
        ("idempotency-key", b"\xff", Some((400, "validation_error"))),
        // An unsafe X-Request-ID is replaced, not refused.
        ("x-request-id", b"\x80\x81", None),
    ];
    for (name, value, expected) in cases {
        let mut req = api.post("/v1/posts").json(&body).header_bytes(name, value);
        let auth = name == "soku-api-key" || name == "authorization";
        if !auth {
            req = req.key(&acct.test_key);
        }
        let r = req.send().await;
        let shown = String::from_utf8_lossy(value);
        match expected {
            Some((status, code)) => {
                let error = r.error(status, code);
                if name == "idempotency-key" {
                    assert_eq!(
                        error["details"]["fields"][0]["field"], "Idempotency-Key",
                        "{shown:?}: {}",
                        r.text
                    );
                }
            }
            None => {
                r.expect(202);
            }
        }
        assert_id(&json!(r.header("x-request-id")), "req_");
    }
    api.assert_healthy().await;
}
