//! Post intake (API.md "Posts", `POST /v1/posts`): the 202 body, durable storage and a job in Redis before the
//! 202, per-platform rules with every failure reported at once, integrations for live posts, scheduled times.

use soku_tests::*;

fn post_id(r: &Resp) -> String {
    r.expect(202)["postSubmissionId"]
        .as_str()
        .expect("postSubmissionId")
        .to_string()
}

/// The `details.fields` entries of a 400 `validation_error` that carry `platform`.
fn entries_for<'a>(fields: &'a [Value], platform: &str) -> Vec<&'a Value> {
    fields
        .iter()
        .filter(|f| f["platform"] == platform)
        .collect()
}

#[tokio::test]
async fn test_key_post_is_accepted_without_integrations() {
    let (_env, acct, api) = setup().await;
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("Hello", json!(["threads", "x", "linkedin"])),
        )
        .await;
    let body = r.expect(202);
    assert_id(&body["postSubmissionId"], "post_");
    assert_eq!(body["status"], "queued");
    assert!(
        body.get("scheduledTime").is_some_and(Value::is_null),
        "scheduledTime should be null: {body}"
    );
    let targets = body["targets"].as_array().expect("targets");
    let platforms: Vec<&str> = targets
        .iter()
        .map(|t| t["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["threads", "x", "linkedin"]);
    for t in targets {
        assert_id(&t["targetId"], "tgt_");
        assert_eq!(t["status"], "pending");
        assert_eq!(
            t["accountId"],
            format!("sandbox_{}", t["platform"].as_str().unwrap())
        );
    }
}

#[tokio::test]
async fn accepted_post_is_stored_and_enqueued_before_the_202() {
    let (env, acct, api) = setup().await;
    let id = post_id(
        &api.post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("durable", json!(["x"])),
        )
        .await,
    );
    let stored = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(stored.expect(200)["postSubmissionId"], id.as_str());
    let keys = env.redis_keys_mentioning(&id).await;
    assert!(
        !keys.is_empty(),
        "no Redis key under {}: mentions {id} (keys: {:?})",
        env.redis_prefix,
        env.redis_keys().await
    );
}

#[tokio::test]
async fn live_post_uses_connected_integrations() {
    let (_env, acct, api) = setup().await;
    for (platform, label) in [("x", "x_main"), ("instagram", "ig_main")] {
        let integration = json!({"platform": platform, "accountId": label, "isDefault": true,
                                 "credentials": {"accessToken": "tok"}});
        api.post_json("/v1/integrations", &acct.live_key, &integration)
            .await
            .expect(201);
    }
    let body = json!({"post": {"content": {"text": "Live", "mediaType": "image",
        "imageUrls": ["https://example.com/a.jpg"],
        "platform": ["x", {"platform": "instagram", "accountId": "ig_main"}]}}});
    let r = api.post_json("/v1/posts", &acct.live_key, &body).await;
    let targets = r.expect(202)["targets"].as_array().unwrap().clone();
    assert_eq!(targets[0]["accountId"], "x_main");
    assert_eq!(targets[1]["accountId"], "ig_main");
}

#[tokio::test]
async fn x_allows_280_characters_and_refuses_281() {
    let (_env, acct, api) = setup().await;
    api.post_json(
        "/v1/posts",
        &acct.test_key,
        &text_post(&"a".repeat(280), json!(["x"])),
    )
    .await
    .expect(202);
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post(&"a".repeat(281), json!(["x"])),
        )
        .await;
    r.error(400, "validation_error");
    assert_eq!(entries_for(&r.failing_fields(), "x").len(), 1, "{}", r.text);
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
    api.post_json(
        "/v1/posts",
        &acct.test_key,
        &text_post(&"漢".repeat(140), json!(["x"])),
    )
    .await
    .expect(202);
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post(&"漢".repeat(141), json!(["x"])),
        )
        .await;
    r.error(400, "validation_error");
    assert_eq!(entries_for(&r.failing_fields(), "x").len(), 1, "{}", r.text);
}

#[tokio::test]
async fn x_counts_emoji_twice() {
    let (_env, acct, api) = setup().await;
    api.post_json(
        "/v1/posts",
        &acct.test_key,
        &text_post(&"😀".repeat(140), json!(["x"])),
    )
    .await
    .expect(202);
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post(&"😀".repeat(141), json!(["x"])),
        )
        .await;
    r.error(400, "validation_error");
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

#[tokio::test]
async fn youtube_requires_a_title() {
    let (_env, acct, api) = setup().await;
    let mut body = json!({"post": {"content": {"text": "Walkthrough", "mediaType": "video",
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

#[tokio::test]
async fn live_post_without_integrations_lists_what_is_missing() {
    let (_env, acct, api) = setup().await;
    let body = text_post(
        "hi",
        json!(["x", {"platform": "linkedin", "accountId": "li_main"}]),
    );
    let r = api.post_json("/v1/posts", &acct.live_key, &body).await;
    let error = r.error(400, "missing_integrations");
    let missing = error["details"]["missing"]
        .as_array()
        .unwrap_or_else(|| panic!("no details.missing: {}", r.text));
    assert_eq!(missing.len(), 2, "{}", r.text);
    let text = error["details"]["missing"].to_string();
    assert!(
        text.contains("\"x\"") && text.contains("linkedin"),
        "{}",
        r.text
    );
    // Connecting another label of linkedin does not satisfy the one asked for.
    let other = json!({"platform": "linkedin", "accountId": "li_other", "credentials": {"accessToken": "t"}});
    api.post_json("/v1/integrations", &acct.live_key, &other)
        .await
        .expect(201);
    let r = api
        .post_json(
            "/v1/posts",
            &acct.live_key,
            &text_post(
                "hi",
                json!([{"platform": "linkedin", "accountId": "li_main"}]),
            ),
        )
        .await;
    r.error(400, "missing_integrations");
}

#[tokio::test]
async fn future_scheduled_time_is_scheduled_and_normalised_to_utc() {
    let (_env, acct, api) = setup().await;
    let at = chrono::Utc::now() + chrono::Duration::hours(2);
    let sent = at
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z");
    let mut body = text_post("later", json!(["x"]));
    body["scheduledTime"] = json!(sent.to_string());
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    let accepted = r.expect(202);
    assert_eq!(accepted["status"], "scheduled");
    assert_time_ms(&accepted["scheduledTime"]);
    assert_eq!(
        accepted["scheduledTime"],
        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    );
}

#[tokio::test]
async fn scheduled_time_without_offset_is_refused() {
    let (_env, acct, api) = setup().await;
    for time in [
        "2030-03-09T14:00:00",
        "2030-03-09T14:00:00.000",
        "2030-03-09",
        "next tuesday",
        "1893456000",
    ] {
        let mut body = text_post("later", json!(["x"]));
        body["scheduledTime"] = json!(time);
        let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
        assert_eq!(r.status, 400, "{time:?}: {}", r.text);
        let code = r.error_shape()["code"].as_str().unwrap().to_string();
        assert!(
            ["validation_error", "invalid_scheduled_time"].contains(&code.as_str()),
            "{time:?}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn scheduled_time_past_the_tolerance_is_refused() {
    let (_env, acct, api) = setup().await;
    let mut body = text_post("too late", json!(["x"]));
    body["scheduledTime"] = json!(time_from_now(-10 * 60));
    api.post_json("/v1/posts", &acct.test_key, &body)
        .await
        .error(400, "invalid_scheduled_time");
}

#[tokio::test]
async fn scheduled_time_within_the_tolerance_is_accepted() {
    let (_env, acct, api) = setup().await;
    let mut body = text_post("just now", json!(["x"]));
    body["scheduledTime"] = json!(time_from_now(-2 * 60));
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    let status = r.expect(202)["status"].as_str().unwrap().to_string();
    assert!(
        ["queued", "scheduled"].contains(&status.as_str()),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn schedule_tolerance_is_configurable() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env
        .api()
        .env("SOKU_SCHEDULE_TOLERANCE_SECS", "60")
        .spawn()
        .await;
    let mut body = text_post("two minutes ago", json!(["x"]));
    body["scheduledTime"] = json!(time_from_now(-2 * 60));
    api.post_json("/v1/posts", &acct.test_key, &body)
        .await
        .error(400, "invalid_scheduled_time");
    body["scheduledTime"] = json!(time_from_now(-30));
    api.post_json("/v1/posts", &acct.test_key, &body)
        .await
        .expect(202);
}
