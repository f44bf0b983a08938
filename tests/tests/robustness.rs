//! Hostile and odd bodies: each gets the documented answer (docs/api.md "Requests and errors": `invalid_json`, or
//! `validation_error` naming the field), never a 5xx, and the API stays up. Malformed JSON, wrong types at every
//! field, huge and deeply nested bodies, control characters, emoji and right-to-left text.
//! (Odd paths, methods, ids and headers are in `odd_requests.rs`.)

use std::time::Duration;

use soku_tests::*;

async fn post_raw(api: &ApiProc, key: &str, body: impl Into<Vec<u8>>) -> Resp {
    api.post("/v1/posts").key(key).json_text(body).send().await
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

/// The name docs/api.md gives the field at a JSON pointer: `/post/content/imageUrls/0` is
/// `post.content.imageUrls[0]`.
fn field_name(pointer: &str) -> String {
    let mut name = String::new();
    for part in pointer.trim_start_matches('/').split('/') {
        if part.chars().all(|c| c.is_ascii_digit()) {
            name.push_str(&format!("[{part}]"));
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
        }
    }
    name
}

/// Panics unless `r` is a 400 `code` whose `details.fields` are all `field` or inside it.
fn assert_refused_naming(r: &Resp, code: &str, field: &str, what: &str) {
    r.error(400, code);
    let named: Vec<String> = r
        .failing_fields()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    let inside = |n: &String| {
        n == field || n.starts_with(&format!("{field}.")) || n.starts_with(&format!("{field}["))
    };
    assert!(
        named.iter().all(inside),
        "{what}: expected only {field} (or inside it) to be named, got {named:?}"
    );
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
    let not_json: [&[u8]; 10] = [
        b"",
        b"{",
        b"}",
        b"{\"post\":}",
        b"{\"post\": {\"content\": {\"text\": \"a\",}}}",
        b"{\"post\": NaN}",
        b"\xef\xbb\xbf{\"post\": {}}",
        b"{\"post\": {\"content\": {\"text\": \"\xff\xfe\"}}}",
        b"{\"post\": {\"content\": {\"text\": \"\\ud800\"}}}",
        b"{\"a\":1}{\"b\":2}",
    ];
    for body in not_json {
        let r = post_raw(&api, &acct.test_key, body).await;
        let what = String::from_utf8_lossy(body);
        assert_eq!(r.status, 400, "{what:?}: {}", r.text);
        r.error(400, "invalid_json");
    }
    // JSON, but not an object: the body as a whole is the field that fails.
    let not_an_object: [&[u8]; 4] = [b"[]", b"null", b"1", b"\"post\""];
    for body in not_an_object {
        let r = post_raw(&api, &acct.test_key, body).await;
        assert_refused_naming(
            &r,
            "validation_error",
            "body",
            &String::from_utf8_lossy(body),
        );
    }
    api.assert_healthy().await;
}

#[tokio::test]
async fn wrong_types_at_every_field_are_refused_naming_the_field() {
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
    // The only replacements that still make a valid post: any text or title (an image post needs no text),
    // "x" where "x" already is, and null for an optional field (null is absence, docs/api.md): no text, title,
    // videoUrl or scheduledTime, and mediaType inferred.
    let accepted = [
        ("/post/content/text", json!(null)),
        ("/post/content/title", json!(null)),
        ("/post/content/mediaType", json!(null)),
        ("/post/content/videoUrl", json!(null)),
        ("/post/content/text", json!("")),
        ("/post/content/text", json!("x")),
        ("/post/content/title", json!("")),
        ("/post/content/title", json!("x")),
        ("/post/content/platform/0", json!("x")),
        ("/scheduledTime", json!(null)),
    ];
    for field in FIELDS {
        for value in &values {
            let mut body = valid_body();
            set(&mut body, field, value.clone());
            let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
            let what = format!("{field} = {value}");
            if accepted.contains(&(field, value.clone())) {
                assert_eq!(r.status, 202, "{what}: {}", r.text);
            } else if field == "/scheduledTime" {
                // docs/api.md: invalid_scheduled_time when scheduledTime is the only problem.
                assert_refused_naming(&r, "invalid_scheduled_time", "scheduledTime", &what);
            } else if field == "/post/content/platform/1/platform" && value == "x" {
                // docs/api.md: a second target on the same connection is refused on the later entry.
                assert_refused_naming(&r, "validation_error", "post.content.platform[1]", &what);
            } else {
                assert_refused_naming(&r, "validation_error", &field_name(field), &what);
            }
        }
    }
    api.assert_healthy().await;
}

#[tokio::test]
async fn huge_strings_and_arrays_are_refused_naming_the_field() {
    let (_env, acct, api) = setup_unlimited().await;
    // Each body is under the 1 MiB limit, so it is read and judged on its content.
    let cases = [
        (
            "text of 1 MB",
            text_post(&"a".repeat(1_000_000), json!(["x"])),
            "post.content.text",
        ),
        (
            "title of 1 MB",
            {
                let mut b = valid_body();
                b["post"]["content"]["title"] = json!("t".repeat(1_000_000));
                b
            },
            "post.content.title",
        ),
        (
            "100k platforms",
            text_post("hi", json!(vec!["x"; 100_000])),
            "post.content.platform",
        ),
        (
            "100k image urls",
            {
                let mut b = valid_body();
                b["post"]["content"]["imageUrls"] = json!(vec!["a"; 100_000]);
                b
            },
            "post.content.imageUrls",
        ),
        (
            "100k numbers",
            text_post("hi", json!(vec![0; 100_000])),
            "post.content.platform",
        ),
    ];
    for (name, body, field) in cases {
        let r = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .json(&body)
            // A bound against hanging, not a speed requirement.
            .timeout(Duration::from_secs(120))
            .send()
            .await;
        assert_refused_naming(&r, "validation_error", field, name);
        assert_eq!(
            r.failing_fields()[0]["field"],
            field,
            "{name}: the first entry names the field"
        );
        // The answer stays short: at most 100 fields are listed, the rest counted.
        assert!(
            r.failing_fields().len() <= 100,
            "{name}: {} fields listed",
            r.failing_fields().len()
        );
        assert!(
            r.text.len() < 64 * 1024,
            "{name}: a {} byte answer",
            r.text.len()
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
    // docs/api.md: JSON nested deeper than 128 levels is invalid_json.
    for (name, body) in [
        ("arrays", arrays.clone()),
        ("objects", objects),
        ("in a field", inside),
    ] {
        let r = post_raw(&api, &acct.test_key, body).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        r.error(400, "invalid_json");
    }
    let r = api
        .post("/v1/integrations")
        .key(&acct.live_key)
        .json_text(arrays)
        .send()
        .await;
    r.error(400, "invalid_json");
    api.assert_healthy().await;
}

#[tokio::test]
async fn control_characters_are_refused_by_name_and_separators_kept() {
    let (_env, acct, api) = setup_unlimited().await;
    // C0 controls (but newline, carriage return and tab), NUL and DEL are refused naming the field.
    for text in [
        "nul \u{0} byte",
        "bell \u{7}",
        "esc \u{1b}[31m red",
        "del \u{7f}",
    ] {
        let r = api
            .post_json("/v1/posts", &acct.test_key, &text_post(text, json!(["x"])))
            .await;
        assert_refused_naming(
            &r,
            "validation_error",
            "post.content.text",
            &format!("{text:?}"),
        );
    }
    // Other invisible characters are text like any other and round-trip exactly.
    for text in ["line\u{2028}sep", "\u{feff}bom", "tab\tand\r\nnewline"] {
        let r = api
            .post_json("/v1/posts", &acct.test_key, &text_post(text, json!(["x"])))
            .await;
        let id = r.expect(202)["postSubmissionId"].as_str().unwrap();
        let stored = api
            .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
            .await;
        assert_eq!(
            stored.expect(200)["content"]["text"],
            text,
            "accepted text must round-trip exactly"
        );
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
async fn emoji_and_right_to_left_text_in_every_string_field_are_kept_or_refused_by_name() {
    let (_env, acct, api) = setup_unlimited().await;
    let weird = "👨‍👩‍👧‍👦 مرحبا \u{202e}txet\u{202c}";
    let with_nul = format!("{weird} \u{0}");
    for field in FIELDS
        .iter()
        .filter(|f| !["/post", "/post/content", "/post/content/imageUrls"].contains(f))
    {
        let mut body = valid_body();
        set(&mut body, field, json!(weird));
        let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
        let name = field_name(field);
        match *field {
            // Free text: kept exactly.
            "/post/content/text" | "/post/content/title" => {
                let id = r.expect(202)["postSubmissionId"].as_str().unwrap();
                let stored = api
                    .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
                    .await;
                // A post reads back with its content at the top level.
                let read = field.trim_start_matches("/post");
                assert_eq!(stored.expect(200).pointer(read), Some(&json!(weird)));
                // Not with a NUL in it.
                set(&mut body, field, json!(with_nul));
                let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
                assert_refused_naming(&r, "validation_error", &name, "with a NUL");
            }
            "/scheduledTime" => assert_refused_naming(&r, "invalid_scheduled_time", &name, weird),
            // A media type, URL or platform it is not.
            _ => assert_refused_naming(&r, "validation_error", &name, weird),
        }
    }
    let integration = json!({"platform": "x", "accountId": weird, "displayName": weird,
                             "credentials": {"accessToken": weird}});
    let r = api
        .post_json("/v1/integrations", &acct.live_key, &integration)
        .await;
    let created = r.expect(201);
    assert_eq!(created["accountId"], weird);
    assert_eq!(created["displayName"], weird);
    let integration =
        json!({"platform": "x", "accountId": with_nul, "credentials": {"accessToken": "t"}});
    let r = api
        .post_json("/v1/integrations", &acct.live_key, &integration)
        .await;
    assert_refused_naming(&r, "validation_error", "accountId", "accountId with a NUL");
    // docs/api.md: a cursor this API did not hand out is 400 validation_error on cursor.
    let r = api
        .get_with(
            &format!("/v1/posts?cursor={}", "%F0%9F%98%80"),
            &acct.test_key,
        )
        .await;
    assert_refused_naming(&r, "validation_error", "cursor", "an emoji cursor");
    api.assert_healthy().await;
}
