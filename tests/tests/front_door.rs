//! The front door (docs/http.md): slow clients are closed by the header, body and idle timeouts while others are
//! served, the connection cap holds, heads hyper refuses still get the error shape, every input has one reading
//! (duplicate JSON keys, leap seconds, charsets), error bodies quote input only as short excerpts, and a 503 says
//! which dependency is down and when to retry.

use std::io::{ErrorKind, Read};
use std::time::Duration;

use futures::future::join_all;
use soku_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far above the 1–2 s timeouts these tests configure and below the defaults for bodies (30 s) and idle
/// connections (60 s): only against hanging.
const CLOSED_WITHIN: Duration = Duration::from_secs(25);

/// A response read off a connection the server has closed: status, head and JSON body.
struct Closed {
    status: u16,
    head: String,
    body: Value,
}

/// Splits what a closed connection received into responses.
fn responses(mut bytes: &[u8]) -> Vec<Closed> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let length = header(&head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let body_end = (end + 4 + length).min(bytes.len());
        let body = serde_json::from_slice(&bytes[end + 4..body_end]).unwrap_or(Value::Null);
        out.push(Closed { status, head, body });
        bytes = &bytes[body_end..];
    }
    out
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Panics unless `body` is the error shape with `code`, its `requestId` the `X-Request-ID` of `head`; returns
/// the error object.
fn assert_error_shape(head: &str, body: &Value, code: &str) -> Value {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{head}\n{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_time_ms(&error["timestamp"]);
    assert_id(&error["requestId"], "req_");
    assert_eq!(
        error["requestId"].as_str(),
        header(head, "x-request-id").as_deref(),
        "requestId must be the X-Request-ID header: {head}"
    );
    assert_eq!(
        header(head, "content-type").as_deref(),
        Some("application/json"),
        "{head}"
    );
    error.clone()
}

fn assert_raw_error(r: &RawResponse, status: u16, code: &str) -> Value {
    let body = r.json();
    assert_eq!(
        r.status,
        status,
        "{}\n{}",
        r.head,
        String::from_utf8_lossy(&r.body)
    );
    assert_error_shape(&r.head, &body, code)
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(mut stream: TcpStream, what: impl std::fmt::Debug) -> Vec<u8> {
    let mut got = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, read)
        .await
        .unwrap_or_else(|_| {
            panic!("the server kept a slow connection ({what:?}) open for {CLOSED_WITHIN:?}")
        });
    got
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slow {
    /// Connects and sends nothing.
    Silent,
    /// `GET /v1/posts HTTP/1.1\r\nHost: x\r\n` and nothing more.
    UnfinishedHead,
    /// A POST whose body is shorter than its Content-Length.
    ShortBody,
    /// One complete request, then an idle kept-alive connection.
    KeptAlive,
}

#[tokio::test]
async fn slow_clients_are_closed_while_normal_clients_are_served() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env
        .api()
        .env("SOKU_RATE_LIMIT_PRO", "1000000")
        .env("SOKU_HEADER_READ_TIMEOUT_SECS", "2")
        .env("SOKU_BODY_READ_TIMEOUT_SECS", "2")
        .env("SOKU_IDLE_TIMEOUT_SECS", "2")
        .spawn()
        .await;
    let addr = api.addr;
    let kinds = [
        Slow::Silent,
        Slow::UnfinishedHead,
        Slow::ShortBody,
        Slow::KeptAlive,
    ];
    let key = acct.test_key.clone();
    let opened = join_all((0..300).map(|i| {
        let kind = kinds[i % kinds.len()];
        let key = key.clone();
        async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let first: Option<String> = match kind {
                Slow::Silent => None,
                Slow::UnfinishedHead => Some("GET /v1/posts HTTP/1.1\r\nHost: x\r\n".into()),
                Slow::ShortBody => Some(format!(
                    "POST /v1/posts HTTP/1.1\r\nHost: x\r\nsoku-api-key: {key}\r\n\
                     Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"post\": {{"
                )),
                Slow::KeptAlive => Some("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".into()),
            };
            if let Some(bytes) = first {
                stream.write_all(bytes.as_bytes()).await.expect("write");
            }
            (kind, stream)
        }
    }))
    .await;

    // Meanwhile a normal client is served, on new connections and fully.
    for _ in 0..3 {
        api.get_with("/v1/posts", &acct.test_key).await.expect(200);
        api.post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
            .await
            .expect(202);
    }

    // Each slow connection is closed by the server, with a 408 where a request had begun.
    let closed = join_all(
        opened
            .into_iter()
            .map(|(kind, stream)| async move { (kind, read_until_closed(stream, kind).await) }),
    )
    .await;
    for (kind, bytes) in closed {
        let got = responses(&bytes);
        match kind {
            Slow::Silent => assert!(
                bytes.is_empty(),
                "a silent connection got {:?}",
                String::from_utf8_lossy(&bytes)
            ),
            Slow::UnfinishedHead | Slow::ShortBody => {
                assert_eq!(
                    got.len(),
                    1,
                    "{kind:?}: {:?}",
                    String::from_utf8_lossy(&bytes)
                );
                assert_eq!(got[0].status, 408, "{kind:?}: {}", got[0].head);
                let error = assert_error_shape(&got[0].head, &got[0].body, "request_timeout");
                let said = error["message"].as_str().unwrap_or_default();
                let part = if kind == Slow::ShortBody {
                    "body"
                } else {
                    "headers"
                };
                assert!(said.contains(part), "{kind:?}: {said}");
            }
            Slow::KeptAlive => {
                assert_eq!(got.len(), 1, "{:?}", String::from_utf8_lossy(&bytes));
                assert_eq!(got[0].status, 200, "{}", got[0].head);
            }
        }
    }
    api.assert_healthy().await;
}

/// Whether the server has closed this (non-blocking) socket; reads and drops whatever it sent first.
fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

#[tokio::test]
async fn the_connection_cap_makes_new_connections_wait_for_a_free_slot() {
    let env = TestEnv::new().await;
    let _acct = env.active_account().await;
    let api = env
        .api()
        .env("SOKU_MAX_CONNECTIONS", "3")
        .env("SOKU_HEADER_READ_TIMEOUT_SECS", "2")
        .spawn()
        .await;
    // Three connections in the middle of a head: every slot is taken (the readiness probe's kept-alive
    // connection may hold one of them).
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = std::net::TcpStream::connect(api.addr).expect("connect");
        std::io::Write::write_all(&mut s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("write");
        s.set_nonblocking(true).expect("non-blocking");
        slow.push(s);
    }
    let r = raw_request(
        api.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("the new connection is served once a slot frees");
    assert_eq!(r.status, 200, "{}", r.head);
    let closed = slow.iter_mut().map(closed_by_server).filter(|c| *c).count();
    assert!(
        closed >= 1,
        "the new connection was served while all {} slots were still held",
        slow.len()
    );
}

#[tokio::test]
async fn heads_the_parser_refuses_get_the_error_shape() {
    let (_env, _acct, api) = setup().await;
    let control = raw_request(
        api.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n",
    )
    .await
    .expect("a response");
    let error = assert_raw_error(&control, 400, "invalid_header");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("`X-Note`") && message.contains("0x01"),
        "{message}"
    );
    let del = raw_request(
        api.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x7fb\r\n\r\n",
    )
    .await
    .expect("a response");
    assert_raw_error(&del, 400, "invalid_header");
    let bad_name = raw_request(
        api.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX Note: a\r\n\r\n",
    )
    .await
    .expect("a response");
    assert_raw_error(&bad_name, 400, "invalid_header");

    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-Extra-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    let r = raw_request(api.addr, many.as_bytes())
        .await
        .expect("a response");
    let error = assert_raw_error(&r, 431, "headers_too_large");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("100 header fields"),
        "{error}"
    );
    // At the limit (Host and 99 more) the request goes through.
    let mut hundred = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for i in 0..98 {
        hundred.push_str(&format!("X-Extra-{i}: {i}\r\n"));
    }
    hundred.push_str("\r\n");
    let r = raw_request(api.addr, hundred.as_bytes())
        .await
        .expect("a response");
    assert_eq!(r.status, 200, "{}", r.head);
    api.assert_healthy().await;
}

#[tokio::test]
async fn error_bodies_quote_input_only_as_a_short_escaped_excerpt() {
    let (_env, acct, api) = setup().await;
    // A 1 MB Idempotency-Key: refused for the head's size, in a small body, naming the header.
    let key = "k".repeat(1024 * 1024);
    let request = format!(
        "POST /v1/posts HTTP/1.1\r\nHost: x\r\nsoku-api-key: {}\r\nIdempotency-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        acct.test_key
    );
    let r = raw_request(api.addr, request.as_bytes())
        .await
        .expect("a response to a 1 MB header");
    let error = assert_raw_error(&r, 431, "headers_too_large");
    assert!(r.body.len() < 1024, "{} bytes", r.body.len());
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{error}"
    );
    // A long one that fits in the head: a small 400 that does not repeat it.
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key(&"k".repeat(10_000))
        .json(&text_post("hi", json!(["x"])))
        .send()
        .await;
    r.error(400, "validation_error");
    assert!(r.text.len() < 1024, "{} bytes: {}", r.text.len(), r.text);

    // A 1 MB unknown key in the body: named by a 64-character excerpt, once in the message, once in details.
    let long = "z".repeat(1_000_000);
    let mut body = text_post("hi", json!(["x"]));
    body["post"]["content"][long.as_str()] = json!(1);
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .json_text(body.to_string())
        .send()
        .await;
    r.error(400, "validation_error");
    assert!(r.text.len() < 2048, "{} bytes", r.text.len());
    let field = format!("post.content.{}…", "z".repeat(64));
    assert_eq!(r.failing_fields()[0]["field"], field.as_str(), "{}", r.text);

    // Control and bidi characters of a key come back escaped.
    let mut body = text_post("hi", json!(["x"]));
    body["post"]["content"]["a\u{1}\u{202e}b"] = json!(1);
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    r.error(400, "validation_error");
    assert_eq!(
        r.failing_fields()[0]["field"],
        "post.content.a\\u{1}\\u{202e}b",
        "{}",
        r.text
    );
    // A long unknown query parameter and a long content type, likewise.
    let r = api
        .get_with(&format!("/v1/posts?{}=1", "q".repeat(5000)), &acct.test_key)
        .await;
    r.error(400, "validation_error");
    assert!(r.text.len() < 1024, "{} bytes", r.text.len());
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .header("content-type", &format!("text/{}", "p".repeat(5000)))
        .body("{}")
        .send()
        .await;
    r.error(400, "invalid_content_type");
    assert!(r.text.len() < 1024, "{} bytes", r.text.len());
}

#[tokio::test]
async fn duplicate_json_keys_are_refused_naming_the_key() {
    let (_env, acct, api) = setup().await;
    let cases = [
        (
            r#"{"post": {"content": {"text": "a", "platform": ["x"]}}, "post": {"content": {"text": "b", "platform": ["x"]}}}"#,
            "`post`",
        ),
        (
            r#"{"post": {"content": {"text": "shown", "text": "published", "platform": ["x"]}}}"#,
            "`post.content.text`",
        ),
        (
            r#"{"post": {"content": {"text": "a", "platform": [{"platform": "x", "platform": "threads"}]}}}"#,
            "`post.content.platform[0].platform`",
        ),
    ];
    for (body, path) in cases {
        let r = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .json_text(body)
            .send()
            .await;
        let error = r.error(400, "invalid_json");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(path) && message.contains("twice"),
            "{path}: {message}"
        );
    }
    let r = api
        .post("/v1/integrations")
        .key(&acct.live_key)
        .json_text(r#"{"platform": "x", "accountId": "a", "accountId": "b", "credentials": {"accessToken": "t"}}"#)
        .send()
        .await;
    r.error(400, "invalid_json");
    // Nothing was stored on the way.
    let listed = api.get_with("/v1/posts", &acct.test_key).await;
    assert_eq!(listed.expect(200)["data"], json!([]));
}

#[tokio::test]
async fn second_60_is_refused_and_the_202_echo_is_what_get_returns() {
    let (_env, acct, api) = setup().await;
    let day = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
    for at in [
        format!("{day}T23:59:60Z"),
        format!("{day}T12:30:60+02:00"),
        "2016-12-31T23:59:60Z".to_string(),
    ] {
        let mut body = text_post("leap", json!(["x"]));
        body["scheduledTime"] = json!(at);
        let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
        r.error(400, "invalid_scheduled_time");
    }
    let mut body = text_post("leap", json!(["x"]));
    body["scheduledTime"] = json!(format!("{day}T23:59:60Z"));
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    assert!(r.message().contains("second 60"), "{}", r.text);

    // Offsets and sub-millisecond digits: the 202 says exactly what GET and the list say.
    let at = (chrono::Utc::now() + chrono::Duration::days(3))
        .with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%.9f%:z")
        .to_string();
    let mut body = text_post("echo", json!(["x"]));
    body["scheduledTime"] = json!(at);
    let created = api.post_json("/v1/posts", &acct.test_key, &body).await;
    let created = created.expect(202).clone();
    let echoed = created["scheduledTime"].clone();
    assert_time_ms(&echoed);
    let id = created["postSubmissionId"].as_str().unwrap();
    let got = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(got.expect(200)["scheduledTime"], echoed, "sent {at}");
    let listed = api.get_with("/v1/posts", &acct.test_key).await;
    assert_eq!(listed.expect(200)["data"][0]["scheduledTime"], echoed);
}

#[tokio::test]
async fn a_charset_other_than_utf8_is_refused() {
    let (_env, acct, api) = setup().await;
    let body = text_post("hi", json!(["x"])).to_string();
    for (content_type, accepted) in [
        ("application/json; charset=latin1", false),
        ("application/json; charset=ISO-8859-1", false),
        ("application/json; charset=utf-16", false),
        ("application/json; charset=utf-8", true),
        ("application/json; charset=UTF-8", true),
        ("application/json;charset=\"utf-8\"", true),
    ] {
        let r = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await;
        if accepted {
            r.expect(202);
        } else {
            let error = r.error(400, "invalid_content_type");
            let charset = content_type.rsplit('=').next().unwrap();
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("`{charset}`")),
                "{content_type}: {error}"
            );
        }
    }
}

#[tokio::test]
async fn a_header_or_query_parameter_given_twice_is_refused() {
    let (_env, acct, api) = setup().await;
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .header("content-type", "application/json")
        .header("content-type", "text/plain")
        .body(text_post("hi", json!(["x"])).to_string())
        .send()
        .await;
    let error = r.error(400, "invalid_header");
    assert!(
        error["message"].as_str().unwrap().contains("content-type"),
        "{error}"
    );
    let r = api
        .post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
        .await;
    r.expect(202);
    let r = api
        .get_with("/v1/posts?limit=1&limit=100", &acct.test_key)
        .await;
    let fields = r.failing_fields();
    assert_eq!(fields[0]["field"], "limit", "{}", r.text);
}

#[tokio::test]
async fn a_503_names_the_dependency_and_says_when_to_retry() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let no_queue = env
        .api()
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .spawn()
        .await;
    let no_database = env
        .api()
        .env("DATABASE_URL", "postgres://soku:soku@127.0.0.1:1/soku")
        .spawn()
        .await;
    for (api, words) in [(&no_queue, "job queue"), (&no_database, "database")] {
        let r = api
            .post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
            .await;
        r.error(503, "unavailable");
        let retry = r.header_int("retry-after");
        assert!((1..=5).contains(&retry), "Retry-After: {retry}");
        let message = r.message();
        assert!(
            message.contains(words) && message.contains("retry"),
            "{words}: {message}"
        );
        let ready = api.get("/readyz").send().await;
        ready.error(503, "unavailable");
        ready.header_int("retry-after");
    }
}
