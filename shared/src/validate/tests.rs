//! Tests of the whole validator: the seed examples, JSON types and nulls, unknown fields, errors collected
//! together, and the wire shape of errors and schemas. The submodules test one part each (`entries`, `content`,
//! `schedule`), and `platforms` the per-platform rules.

mod content;
mod entries;
mod platforms;
mod schedule;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::*;

pub(super) fn now() -> DateTime<Utc> {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

pub(super) fn check(body: &Value) -> Result<ValidatedPost, ValidationFailure> {
    validate_post(body, now(), Duration::minutes(5))
}

pub(super) fn errors(body: &Value) -> Vec<FieldError> {
    match check(body) {
        Ok(v) => panic!("expected errors, got {v:?}"),
        Err(f) => f.errors().to_vec(),
    }
}

/// A body whose `post.content` is `content`.
pub(super) fn post(content: Value) -> Value {
    json!({ "post": { "content": content } })
}

/// `(field, message)` pairs, for compact assertions.
pub(super) fn pairs(errs: &[FieldError]) -> Vec<(&str, &str)> {
    errs.iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect()
}

/// The one error of `body`, asserting there is exactly one.
pub(super) fn only_error(body: &Value) -> FieldError {
    let errs = errors(body);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn seed_text_post_is_valid() {
    let body = post(json!({
        "text": "Just shipped our biggest update yet. More details coming soon.",
        "mediaType": "text",
        "platform": ["threads", "x", "linkedin"]
    }));
    let v = check(&body).unwrap();
    assert_eq!(v.content.media_type, MediaType::Text);
    assert_eq!(v.scheduled_time, None);
    let names: Vec<Platform> = v.targets.iter().map(|t| t.platform).collect();
    assert_eq!(names, [Platform::Threads, Platform::X, Platform::Linkedin]);
    assert!(v.targets.iter().all(|t| t.label.is_none()));
    let stored = serde_json::to_value(&v.content).unwrap();
    assert_eq!(stored, body["post"]["content"]);
    assert_eq!(
        serde_json::from_value::<Content>(stored).unwrap(),
        v.content
    );
}

#[test]
fn seed_image_post_is_valid() {
    let body = post(json!({
        "text": "Behind the scenes from today's shoot",
        "mediaType": "image",
        "imageUrls": [
            "https://storage.mysoku.io/media/img1.jpg",
            "https://storage.mysoku.io/media/img2.jpg",
            "https://storage.mysoku.io/media/img3.jpg"
        ],
        "platform": [
            { "platform": "instagram", "accountId": "ig_main" },
            { "platform": "facebook", "accountId": "fb_page" },
            "linkedin"
        ]
    }));
    let v = check(&body).unwrap();
    assert_eq!(v.content.image_urls.len(), 3);
    assert_eq!(
        v.targets[0],
        TargetRequest {
            platform: Platform::Instagram,
            label: Some("ig_main".into())
        }
    );
    assert_eq!(
        v.targets[1],
        TargetRequest {
            platform: Platform::Facebook,
            label: Some("fb_page".into())
        }
    );
    assert_eq!(
        v.targets[2],
        TargetRequest {
            platform: Platform::Linkedin,
            label: None
        }
    );
    assert_eq!(
        serde_json::to_value(&v.content).unwrap(),
        body["post"]["content"]
    );
}

#[test]
fn seed_scheduled_posts_are_valid() {
    for (text, at) in [
        (
            "Happy Monday! Here is your weekly dose of motivation.",
            "2026-03-09T14:00:00.000Z",
        ),
        (
            "Monday motivation: consistency beats perfection.",
            "2026-03-09T09:00:00.000Z",
        ),
        (
            "Wednesday wisdom: ship it, then improve.",
            "2026-03-11T09:00:00.000Z",
        ),
    ] {
        let body = json!({
            "post": { "content": {
                "text": text, "mediaType": "text", "platform": ["threads", "x", "linkedin"]
            } },
            "scheduledTime": at
        });
        let v = check(&body).unwrap();
        assert_eq!(v.scheduled_time, Some(at.parse().unwrap()));
    }
}

#[test]
fn seed_video_post_takes_its_youtube_title_from_the_text() {
    // The seed's video example targets youtube without a title: the first line of the text becomes the title.
    let body = post(json!({
        "text": "Watch our full product walkthrough\nMore below",
        "mediaType": "video",
        "videoUrl": "https://example.com/videos/product-demo.mp4",
        "platform": [
            { "platform": "instagram", "accountId": "ig_main" },
            { "platform": "tiktok", "accountId": "tt_brand" },
            "youtube"
        ]
    }));
    let v = check(&body).unwrap();
    assert_eq!(
        v.content.title.as_deref(),
        Some("Watch our full product walkthrough")
    );
    // Without text there is nothing to take a title from.
    let mut no_text = body.clone();
    no_text["post"]["content"]
        .as_object_mut()
        .unwrap()
        .remove("text");
    let e = only_error(&no_text);
    assert_eq!(
        (e.field.as_str(), e.platform),
        ("post.content.title", Some(Platform::Youtube))
    );
    // Other platforms never get a derived title.
    let x_only = post(json!({ "text": "Hello", "platform": ["x"] }));
    assert_eq!(check(&x_only).unwrap().content.title, None);
}

#[test]
fn derived_titles_fit_youtube() {
    let rule = crate::rules::rules(Platform::Youtube).title.unwrap();
    let default_title = |t: &str| crate::text::default_title(t, rule.max_chars, rule.forbidden);
    assert_eq!(
        default_title("\n  <b>Launch</b> day \nrest"),
        Some("bLaunch/b day".to_string())
    );
    let long = "word ".repeat(40);
    let t = default_title(&long).unwrap();
    assert!(t.chars().count() <= 100 && t.ends_with('…'), "{t}");
    assert_eq!(default_title(" \n <> "), None);
}

#[test]
fn body_and_containers_must_be_objects() {
    for body in [json!([]), json!("post"), json!(null), json!(3)] {
        let e = only_error(&body);
        assert_eq!(e.field, "body");
        assert!(
            e.message.starts_with("must be a JSON object; got "),
            "{}",
            e.message
        );
    }
    assert_eq!(pairs(&errors(&json!({}))), [("post", "is required")]);
    assert_eq!(
        pairs(&errors(&json!({ "post": null }))),
        [("post", "is required")]
    );
    assert_eq!(
        pairs(&errors(&json!({ "post": { "content": null } }))),
        [("post.content", "is required")]
    );
    assert_eq!(
        pairs(&errors(&json!({ "post": [] }))),
        [("post", "must be an object; got an array")]
    );
    assert_eq!(
        pairs(&errors(&json!({ "post": {} }))),
        [("post.content", "is required")]
    );
    assert_eq!(
        pairs(&errors(&json!({ "post": { "content": "hi" } }))),
        [("post.content", "must be an object; got a string")]
    );
}

#[test]
fn wrong_types_name_the_field_and_the_type() {
    let cases: [(&str, Value, &str, &str); 6] = [
        (
            "text",
            json!(42),
            "post.content.text",
            "must be a string; got a number",
        ),
        (
            "mediaType",
            json!(["text"]),
            "post.content.mediaType",
            "must be a string; got an array",
        ),
        (
            "imageUrls",
            json!("https://a.example/x.jpg"),
            "post.content.imageUrls",
            "must be an array of URL strings; got a string",
        ),
        (
            "videoUrl",
            json!({}),
            "post.content.videoUrl",
            "must be a string; got an object",
        ),
        (
            "title",
            json!(true),
            "post.content.title",
            "must be a string; got a boolean",
        ),
        (
            "platform",
            json!("x"),
            "post.content.platform",
            "must be an array, e.g. [\"x\", \"threads\"]; got a string",
        ),
    ];
    for (key, value, field, message) in cases {
        let mut content = json!({ "text": "hello", "platform": ["x"] });
        content[key] = value;
        let e = only_error(&post(content));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            (field, message),
            "{key}"
        );
    }
    let entries = json!([
        "x", 7, null, ["x"],
        { "platform": 1, "accountId": "a" },
        { "platform": "x", "accountId": 5 }
    ]);
    let errs = errors(&post(json!({ "text": "hi", "platform": entries })));
    let shape = "must be a platform name or an object {\"platform\", \"accountId\"}; got";
    assert_eq!(
        pairs(&errs),
        [
            ("post.content.platform[1]", &*format!("{shape} a number")),
            ("post.content.platform[2]", &*format!("{shape} null")),
            ("post.content.platform[3]", &*format!("{shape} an array")),
            (
                "post.content.platform[4].platform",
                "must be a string; got a number"
            ),
            (
                "post.content.platform[5].accountId",
                "must be a string; got a number"
            ),
        ]
    );
}

#[test]
fn null_is_absence_for_optional_fields_and_missing_for_required_ones() {
    // Every optional field of `post.content` may be null: the same as leaving it out.
    let v = check(&post(json!({
        "text": "hello",
        "mediaType": null,
        "imageUrls": null,
        "videoUrl": null,
        "title": null,
        "platform": ["x", { "platform": "linkedin", "accountId": null }]
    })))
    .unwrap();
    assert_eq!(v.content.media_type, MediaType::Text);
    assert!(v.content.image_urls.is_empty() && v.content.video_url.is_none());
    assert_eq!(v.content.title, None);
    assert_eq!(
        v.content.platform,
        [
            PlatformEntry::Name(Platform::X),
            PlatformEntry::Name(Platform::Linkedin)
        ]
    );
    assert_eq!(v.targets[1].label, None);
    // A read-back post (text null, mediaType given) is accepted again as it is.
    let image = check(&post(json!({
        "text": null,
        "mediaType": "image",
        "imageUrls": ["https://a.example/1.jpg"],
        "platform": ["instagram"]
    })))
    .unwrap();
    assert_eq!(image.content.text, None);
    // Null where something is required is that thing missing, named as such.
    let cases = [
        ("text", "post.content.text", "is required for a text post"),
        (
            "platform",
            "post.content.platform",
            "is required: name at least one platform",
        ),
    ];
    for (key, field, message) in cases {
        let mut content = json!({ "text": "hello", "platform": ["x"] });
        content[key] = Value::Null;
        let e = only_error(&post(content));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            (field, message),
            "{key}"
        );
    }
    let e = only_error(&post(
        json!({ "text": "hi", "platform": [{ "platform": null, "accountId": "a" }] }),
    ));
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("post.content.platform[0].platform", "is required")
    );
    // An array item is not optional: null there is a wrong type.
    let e = only_error(&post(
        json!({ "imageUrls": ["https://a.example/1.jpg", null], "platform": ["x"] }),
    ));
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("post.content.imageUrls[1]", "must be a string; got null")
    );
    // scheduledTime and sandbox follow the same rule.
    let body = json!({ "post": { "content": { "text": "hi", "platform": ["x"] } }, "scheduledTime": null,
                       "sandbox": { "x": { "behavior": "rejected", "times": null }, "linkedin": null } });
    let v = check(&body).unwrap();
    assert_eq!(v.scheduled_time, None);
    assert_eq!(v.sandbox, Some(json!({ "x": { "behavior": "rejected" } })));
    let body = json!({ "post": { "content": { "text": "hi", "platform": ["x"] } },
                       "sandbox": { "x": { "behavior": null } } });
    assert_eq!(
        pairs(&errors(&body)),
        [("sandbox.x.behavior", "is required")]
    );
}

#[test]
fn unknown_fields_are_refused_with_hints() {
    let body = json!({
        "post": {
            "content": {
                "text": "hi",
                "platform": [{ "platform": "x", "account_id": "a" }],
                "scheduledAt": "x",
                "colour": 1
            },
            "text": "misplaced"
        },
        "scheduled_time": "2026-03-09T14:00:00Z",
        "foo": 1
    });
    let errs = errors(&body);
    let mut got = pairs(&errs);
    got.sort();
    let mut want = vec![
        (
            "scheduled_time",
            "unknown field; did you mean `scheduledTime`?",
        ),
        ("foo", "unknown field"),
        (
            "post.text",
            "unknown field; `text` belongs in `post.content`",
        ),
        ("post.content.colour", "unknown field"),
        (
            "post.content.scheduledAt",
            "unknown field; did you mean `scheduledTime`? It belongs at the top level of the body",
        ),
        (
            "post.content.platform[0].account_id",
            "unknown field; did you mean `accountId`?",
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    let hints = [
        ("imageUrl", "imageUrls"),
        ("MediaType", "mediaType"),
        ("platforms", "platform"),
        ("video", "videoUrl"),
    ];
    for (wrong, right) in hints {
        let mut content = json!({ "text": "hi", "platform": ["x"] });
        content[wrong] = json!(1);
        let e = only_error(&post(content));
        assert_eq!(e.message, format!("unknown field; did you mean `{right}`?"));
    }
}

#[test]
fn five_mistakes_give_five_errors() {
    let body = json!({
        "post": { "content": {
            "text": "hi\u{0007}",
            "mediaType": "gif",
            "imageUrls": ["ftp://a.example/x.jpg"],
            "platform": ["x", "myspace"]
        } },
        "scheduledTime": "2026-03-09T14:00:00"
    });
    let errs = errors(&body);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "post.content.text",
            "post.content.mediaType",
            "post.content.imageUrls[0]",
            "post.content.platform[1]",
            "scheduledTime"
        ]
    );
    assert!(matches!(check(&body), Err(ValidationFailure::Fields(_))));
}

#[test]
fn field_errors_serialize_in_camel_case() {
    let plain = FieldError {
        field: "post".into(),
        message: "is required".into(),
        platform: None,
    };
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        json!({ "field": "post", "message": "is required" })
    );
    let ruled = FieldError {
        platform: Some(Platform::X),
        ..plain
    };
    assert_eq!(
        serde_json::to_value(&ruled).unwrap()["platform"],
        json!("x")
    );
}

#[test]
fn request_schema_documents_every_field() {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(ContentInput::schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "imageUrls",
            "mediaType",
            "platform",
            "text",
            "title",
            "videoUrl"
        ]
    );
    assert!(
        props
            .values()
            .all(|p| p.to_string().contains("description")),
        "{schema:#}"
    );
    let top = serde_json::to_value(CreatePostRequest::schema()).unwrap();
    assert!(
        top["properties"]["scheduledTime"]
            .to_string()
            .contains("RFC 3339")
    );
    assert_eq!(top["required"], json!(["post"]));
}

#[test]
fn input_is_quoted_as_a_short_escaped_excerpt() {
    assert_eq!(excerpt("scheduledAt"), "scheduledAt");
    assert_eq!(excerpt("a\u{1}b\nc\u{202e}d"), "a\\u{1}b\\u{a}c\\u{202e}d");
    let long = "k".repeat(1_000_000);
    assert_eq!(excerpt(&long), format!("{}…", "k".repeat(EXCERPT_CHARS)));
    let mut content = json!({ "text": "hi", "platform": ["x", "m".repeat(10_000)], "mediaType": "g".repeat(10_000) });
    content[long.as_str()] = json!(1);
    let errs = errors(&post(content));
    assert_eq!(errs.len(), 3, "{errs:?}");
    for e in &errs {
        assert!(e.field.len() + e.message.len() < 400, "{e:?}");
    }
    assert!(
        errs.iter()
            .any(|e| e.field == format!("post.content.{}…", "k".repeat(EXCERPT_CHARS)))
    );
}

/// The `pattern` of a property of a request schema, compiled (ECMA-262 and the regex crate agree on the syntax the
/// patterns use: classes, `\xHH`, `\uHHHH`).
fn schema_pattern(schema: &Value, property: &str) -> regex::Regex {
    let p = &schema["properties"][property];
    let text = p["pattern"]
        .as_str()
        .or_else(|| p["items"]["pattern"].as_str())
        .unwrap_or_else(|| panic!("{property} has no pattern: {p}"));
    regex::Regex::new(text).unwrap()
}

/// Every character of the Basic Multilingual Plane's first blocks, the rest of the white space and some beyond.
fn sample_chars() -> impl Iterator<Item = char> {
    (0u32..0x3100)
        .chain([0xfeff, 0xfffd, 0x1f642, 0x10ffff])
        .filter_map(char::from_u32)
}

#[test]
fn the_account_id_pattern_is_the_server_rule() {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(AccountTarget::schema()).unwrap();
    let re = schema_pattern(&schema, "accountId");
    let len_ok = |s: &str| (1..=100).contains(&s.chars().count());
    let mut strings: Vec<String> =
        vec![String::new(), " ".into(), "a".repeat(100), "a".repeat(101)];
    for c in sample_chars() {
        strings.extend([
            c.to_string(),
            format!("a{c}b"),
            format!("{c}a"),
            format!("a{c}"),
        ]);
    }
    for s in &strings {
        assert_eq!(
            re.is_match(s) && len_ok(s),
            account_id_problem(s).is_none(),
            "{s:?}"
        );
    }
}

#[test]
fn the_free_text_and_url_patterns_never_allow_what_the_server_refuses() {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(ContentInput::schema()).unwrap();
    for field in ["text", "title"] {
        let re = schema_pattern(&schema, field);
        for c in sample_chars().take(0x200) {
            let value = format!("a{c}b");
            let mut content = json!({ "text": "hello", "platform": ["x"] });
            content[field] = json!(value);
            let accepted = check(&post(content)).is_ok();
            assert_eq!(re.is_match(&value), accepted, "{field} = {value:?}");
        }
    }
    let image = schema_pattern(&schema, "imageUrls");
    let video = schema_pattern(&schema, "videoUrl");
    let mut urls: Vec<String> = [
        "https://a.example/x.jpg",
        "HTTP://a.example/x?y#z",
        "https://a.example",
        "ftp://a.example/x",
        "https:/a.example/x",
        "https://",
        "https:///x",
        "//a.example/x",
        "a.example/x",
        "https://a.example/x y",
    ]
    .map(String::from)
    .to_vec();
    urls.extend(sample_chars().map(|c| format!("https://a.example/{c}")));
    urls.extend(sample_chars().map(|c| format!("https://a{c}b.example/")));
    for url in &urls {
        assert_eq!(image.is_match(url), video.is_match(url), "{url:?}");
        if !video.is_match(url) {
            let body = post(json!({ "videoUrl": url, "platform": ["tiktok"] }));
            assert!(check(&body).is_err(), "the server accepts {url:?}");
        }
    }
}
