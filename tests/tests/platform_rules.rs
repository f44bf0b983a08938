//! Intake validation against each platform's rules (docs/platforms.md, docs/api.md "Create a post"): text as the platform counts
//! it, media required or limited, unknown and duplicate platforms, unknown fields, and every failure in one 400.

use soku_tests::*;

/// The `details.fields` entries of a 400 `validation_error` that carry `platform`.
fn entries_for<'a>(fields: &'a [Value], platform: &str) -> Vec<&'a Value> {
    fields
        .iter()
        .filter(|f| f["platform"] == platform)
        .collect()
}

/// `text` is accepted on x and `text` plus `one_more` is refused, with exactly one entry for x.
async fn x_limit_falls_between(api: &ApiProc, key: &str, text: &str, one_more: &str) {
    api.post_json("/v1/posts", key, &text_post(text, json!(["x"])))
        .await
        .expect(202);
    let over = format!("{text}{one_more}");
    let r = api
        .post_json("/v1/posts", key, &text_post(&over, json!(["x"])))
        .await;
    r.error(400, "validation_error");
    assert_eq!(entries_for(&r.failing_fields(), "x").len(), 1, "{}", r.text);
}

#[tokio::test]
async fn x_allows_280_characters_and_refuses_281() {
    let (_env, acct, api) = setup().await;
    x_limit_falls_between(&api, &acct.test_key, &"a".repeat(280), "a").await;
    // The same 281 characters are fine where the limit is higher.
    api.post_json(
        "/v1/posts",
        &acct.test_key,
        &text_post(&"a".repeat(281), json!(["threads"])),
    )
    .await
    .expect(202);
}

#[tokio::test]
async fn x_counts_cjk_characters_twice() {
    let (_env, acct, api) = setup().await;
    x_limit_falls_between(&api, &acct.test_key, &"漢".repeat(140), "漢").await;
}

#[tokio::test]
async fn x_counts_emoji_twice() {
    let (_env, acct, api) = setup().await;
    x_limit_falls_between(&api, &acct.test_key, &"😀".repeat(140), "😀").await;
}

#[tokio::test]
async fn x_counts_every_url_as_23() {
    let (_env, acct, api) = setup().await;
    let url = format!("https://example.com/{}", "p".repeat(200));
    let fits = format!("{} {url}", "a".repeat(256)); // 256 + 1 + 23 = 280
    api.post_json("/v1/posts", &acct.test_key, &text_post(&fits, json!(["x"])))
        .await
        .expect(202);
    let over = format!("{} {url}", "a".repeat(257));
    api.post_json("/v1/posts", &acct.test_key, &text_post(&over, json!(["x"])))
        .await
        .error(400, "validation_error");
}

/// An `@` after a letter after a non-ASCII character once crashed the length count (a 500); it is counted like
/// any other text, on both sides of the limit.
#[tokio::test]
async fn x_counts_an_at_sign_after_non_ascii_text() {
    let (_env, acct, api) = setup().await;
    // "日a@x" weighs 2 + 1 + 1 + 1 = 5: 55 of them are 275, then 5 more fit and a sixth character does not.
    x_limit_falls_between(
        &api,
        &acct.test_key,
        &format!("{}日a@x", "日a@x".repeat(55)),
        "a",
    )
    .await;
}

#[tokio::test]
async fn youtube_requires_a_title_and_takes_the_first_line_of_text_when_none_is_given() {
    let (_env, acct, api) = setup().await;
    // No title and no text: nothing to call the video.
    let mut body = json!({"post": {"content": {"mediaType": "video",
        "videoUrl": "https://example.com/v.mp4", "platform": ["youtube"]}}});
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    r.error(400, "validation_error");
    let fields = r.failing_fields();
    let about_title = entries_for(&fields, "youtube")
        .iter()
        .any(|f| f.to_string().to_lowercase().contains("title"));
    assert!(
        about_title,
        "a youtube entry should name the missing title: {}",
        r.text
    );
    // Text but no title (the docs' video example): the first line of the text becomes the title.
    body["post"]["content"]["text"] = json!("Walkthrough\nwith details");
    let id = api
        .post_json("/v1/posts", &acct.test_key, &body)
        .await
        .expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let post = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    let post = post.expect(200);
    assert_eq!(post["content"]["title"], "Walkthrough");
    body["post"]["content"]["title"] = json!("A title");
    api.post_json("/v1/posts", &acct.test_key, &body)
        .await
        .expect(202);
}

#[tokio::test]
async fn text_only_is_refused_where_media_is_required() {
    let (_env, acct, api) = setup().await;
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("words", json!(["instagram", "tiktok", "youtube"])),
        )
        .await;
    r.error(400, "validation_error");
    let fields = r.failing_fields();
    for platform in ["instagram", "tiktok", "youtube"] {
        assert!(
            !entries_for(&fields, platform).is_empty(),
            "no entry for {platform}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn x_allows_four_images_and_refuses_five() {
    let (_env, acct, api) = setup().await;
    let images = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| format!("https://example.com/{i}.jpg"))
            .collect()
    };
    let body = |n: usize| json!({"post": {"content": {"text": "pics", "mediaType": "image", "imageUrls": images(n), "platform": ["x"]}}});
    api.post_json("/v1/posts", &acct.test_key, &body(4))
        .await
        .expect(202);
    let r = api.post_json("/v1/posts", &acct.test_key, &body(5)).await;
    r.error(400, "validation_error");
    assert!(
        !entries_for(&r.failing_fields(), "x").is_empty(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn unknown_platform_is_refused() {
    let (_env, acct, api) = setup().await;
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("hi", json!(["x", "myspace"])),
        )
        .await;
    r.error(400, "validation_error");
    let fields = r.failing_fields();
    assert!(
        fields
            .iter()
            .any(|f| f["field"].as_str().unwrap().contains("platform")),
        "{}",
        r.text
    );
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("hi", json!([{"platform": "myspace"}])),
        )
        .await;
    r.error(400, "validation_error");
}

#[tokio::test]
async fn duplicate_platform_is_refused() {
    let (_env, acct, api) = setup().await;
    for platforms in [
        json!(["x", "x"]),
        json!(["threads", "x", {"platform": "x"}]),
    ] {
        let r = api
            .post_json("/v1/posts", &acct.test_key, &text_post("hi", platforms))
            .await;
        r.error(400, "validation_error");
        r.failing_fields();
    }
}

#[tokio::test]
async fn unknown_fields_are_refused_by_name() {
    let (_env, acct, api) = setup().await;
    let mut body = text_post("hi", json!(["x"]));
    body["post"]["content"]["colour"] = json!("red");
    body["publishNow"] = json!(true);
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    r.error(400, "validation_error");
    let fields = r.failing_fields();
    for name in ["colour", "publishNow"] {
        let named = fields
            .iter()
            .any(|f| f["field"].as_str().unwrap().contains(name));
        assert!(named, "no entry names the unknown field {name}: {}", r.text);
    }
}

#[tokio::test]
async fn every_failure_is_reported_together() {
    let (_env, acct, api) = setup().await;
    let body = text_post(
        &"a".repeat(300),
        json!(["x", "instagram", "youtube", "myspace"]),
    );
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    r.error(400, "validation_error");
    let fields = r.failing_fields();
    for platform in ["x", "instagram", "youtube"] {
        assert!(
            !entries_for(&fields, platform).is_empty(),
            "no entry for {platform}: {}",
            r.text
        );
    }
    assert!(
        fields.len() >= 4,
        "one entry per failure expected (x, instagram, youtube, myspace): {}",
        r.text
    );
    let missing_text = json!({"post": {"content": {"mediaType": "text", "platform": []}}});
    let r = api
        .post_json("/v1/posts", &acct.test_key, &missing_text)
        .await;
    r.error(400, "validation_error");
    assert!(
        r.failing_fields().len() >= 2,
        "an empty platform list and no text are two failures: {}",
        r.text
    );
}
