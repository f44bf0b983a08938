//! Post intake (docs/api.md "Create a post", `POST /v1/posts`): the 202 body, durable storage and a job in Redis before the
//! 202, integrations for live posts, scheduled times. The platform rules are in `platform_rules.rs`.

use soku_tests::*;

fn post_id(r: &Resp) -> String {
    r.expect(202)["postSubmissionId"]
        .as_str()
        .expect("postSubmissionId")
        .to_string()
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
    // Compact JSON in the documented field order, like every other response.
    assert!(
        r.text.starts_with(r#"{"postSubmissionId":"post_"#) && !r.text.contains(": "),
        "{}",
        r.text
    );
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
        // docs/api.md: invalid_scheduled_time when scheduledTime is the only problem.
        let error = r.error(400, "invalid_scheduled_time");
        assert_eq!(
            error["details"]["fields"][0]["field"], "scheduledTime",
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
    // docs/api.md: accepted, and it publishes at once.
    assert_eq!(r.expect(202)["status"], "queued", "{}", r.text);
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

#[tokio::test]
async fn request_id_is_logged_and_carried_into_the_job() {
    let (env, acct, api) = setup().await;
    let request_id = format!("e2e-trace-{}", random_alnum(16));
    let body = text_post("traced", json!(["x"]));
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .header("x-request-id", &request_id)
        .json(&body)
        .send()
        .await;
    r.expect(202);
    assert_eq!(r.header("x-request-id"), Some(request_id.as_str()));
    assert!(
        api.log().contains(&request_id),
        "the request id is in no log line:\n{}",
        api.log_tail(20)
    );
    let keys = env.redis_keys_mentioning(&request_id).await;
    assert!(
        !keys.is_empty(),
        "no job under {}: carries the request id {request_id}",
        env.redis_prefix
    );
}

#[tokio::test]
async fn two_targets_on_one_connection_are_refused() {
    // "x" is the default connection x_main: naming x_main again would publish the post twice there.
    let (_env, acct, api) = setup().await;
    for label in ["x_main", "x_other"] {
        let integration =
            json!({"platform": "x", "accountId": label, "credentials": {"accessToken": "t"}});
        api.post_json("/v1/integrations", &acct.live_key, &integration)
            .await
            .expect(201);
    }
    let live = json!(["x", {"platform": "x", "accountId": "x_main"}]);
    let r = api
        .post_json("/v1/posts", &acct.live_key, &text_post("twice?", live))
        .await;
    r.error(400, "validation_error");
    let fields = r.failing_fields();
    assert_eq!(fields.len(), 1, "{}", r.text);
    assert_eq!(fields[0]["field"], "post.content.platform[1]");
    // The sandbox of test mode follows the same rule.
    let test = json!(["x", {"platform": "x", "accountId": "sandbox_x"}]);
    api.post_json("/v1/posts", &acct.test_key, &text_post("twice?", test))
        .await
        .error(400, "validation_error");
    // Two different connections of one platform are fine.
    let two = json!(["x", {"platform": "x", "accountId": "x_other"}]);
    api.post_json("/v1/posts", &acct.live_key, &text_post("both", two))
        .await
        .expect(202);
}
