//! Hostile and odd bodies: nothing a client sends may make the API answer 5xx or fall over. Malformed JSON, wrong
//! types at every field, huge and deeply nested bodies, control characters, emoji and right-to-left text.
//! (Odd paths, methods, ids and headers are in `odd_requests.rs`.)

use std::time::Duration;

use soku_tests::*;

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
    let parent = body.pointer_mut(parent).and_then(Value::as_object_mut);
    parent
        .expect("the parent object")
        .insert(name.to_string(), value);
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
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}

#[tokio::test]
async fn wrong_types_at_every_field_are_a_400_never_a_500() {
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}

#[tokio::test]
async fn huge_strings_and_arrays_are_refused_cleanly() {
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_cleanly() {
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}

#[tokio::test]
async fn control_characters_never_cause_a_500() {
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}

#[tokio::test]
async fn emoji_and_right_to_left_text_round_trip_exactly() {
    let (_env, acct, api) = setup_unlimited().await;
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
    let (_env, acct, api) = setup_unlimited().await;
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
    api.assert_healthy().await;
}
