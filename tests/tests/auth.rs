//! Authentication and subscriptions (docs/api.md "Authentication"): where a key is accepted, how each common mistake
//! is named in the 401, revocation at once, the 403 for inactive subscriptions, test and live kept apart.

use soku_tests::*;

const SUBSCRIPTION_MESSAGE: &str = "An active subscription is required to access the API.";

#[tokio::test]
async fn key_in_soku_api_key_header_is_accepted() {
    let (_env, acct, api) = setup().await;
    let body = api
        .get("/v1/posts")
        .key(&acct.live_key)
        .send()
        .await
        .expect(200)
        .clone();
    assert!(body["data"].is_array(), "a list body: {body}");
}

#[tokio::test]
async fn key_as_bearer_token_is_accepted() {
    let (_env, acct, api) = setup().await;
    api.get("/v1/posts")
        .bearer(&acct.live_key)
        .send()
        .await
        .expect(200);
    api.get("/v1/posts")
        .bearer(&acct.test_key)
        .send()
        .await
        .expect(200);
}

#[tokio::test]
async fn authorization_without_bearer_is_refused_naming_bearer() {
    let (_env, acct, api) = setup().await;
    let r = api
        .get("/v1/posts")
        .header("authorization", &acct.live_key)
        .send()
        .await;
    r.error(401, "unauthorized");
    assert!(
        r.message().contains("bearer"),
        "the message should name the missing Bearer: {}",
        r.text
    );
}

#[tokio::test]
async fn key_in_query_string_is_refused_even_when_valid() {
    let (_env, acct, api) = setup().await;
    let r = api
        .get(&format!("/v1/posts?api_key={}", acct.live_key))
        .send()
        .await;
    r.error(401, "unauthorized");
    assert!(
        r.message().contains("query"),
        "the message should name the query string: {}",
        r.text
    );
}

#[tokio::test]
async fn key_in_query_string_is_refused_even_beside_a_valid_header() {
    let (_env, acct, api) = setup().await;
    // Percent-encoding the parameter's name does not hide it.
    for name in ["api_key", "api%5Fkey", "API%5FKEY"] {
        let path = format!("/v1/posts?{name}={}", acct.live_key);
        let r = api.get(&path).key(&acct.live_key).send().await;
        r.error(401, "unauthorized");
        assert!(
            r.message().contains("query"),
            "the message should name the query string: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn x_api_key_header_is_refused_naming_soku_api_key() {
    let (_env, acct, api) = setup().await;
    let r = api
        .get("/v1/posts")
        .header("x-api-key", &acct.live_key)
        .send()
        .await;
    r.error(401, "unauthorized");
    assert!(
        r.message().contains("soku-api-key"),
        "the message should name soku-api-key: {}",
        r.text
    );
}

#[tokio::test]
async fn stray_spaces_are_refused_naming_them() {
    let (_env, acct, api) = setup().await;
    let r = api
        .get("/v1/posts")
        .header("authorization", &format!("Bearer  {}", acct.live_key))
        .send()
        .await;
    r.error(401, "unauthorized");
    assert!(
        r.message().contains("space"),
        "the message should name the stray spaces: {}",
        r.text
    );
}

#[tokio::test]
async fn missing_key_is_refused() {
    let (_env, _acct, api) = setup().await;
    api.get("/v1/posts").send().await.error(401, "unauthorized");
    let body = text_post("hi", json!(["x"]));
    api.post("/v1/posts")
        .json(&body)
        .send()
        .await
        .error(401, "unauthorized");
}

#[tokio::test]
async fn unknown_or_malformed_key_is_refused() {
    let (_env, acct, api) = setup().await;
    for key in [
        random_live_key(),
        "hello".to_string(),
        format!("{}x", acct.live_key),
        acct.live_key.to_uppercase(),
    ] {
        api.get("/v1/posts")
            .key(&key)
            .send()
            .await
            .error(401, "unauthorized");
        api.get("/v1/posts")
            .bearer(&key)
            .send()
            .await
            .error(401, "unauthorized");
    }
}

#[tokio::test]
async fn revoked_key_is_refused_on_the_next_request() {
    let (env, acct, api) = setup().await;
    warm_key_cache(&api, &acct.live_key).await;
    let revoked = env.admin(&["key", "revoke", &acct.live_key_id]).await;
    assert_eq!(revoked["id"], acct.live_key_id.as_str());
    assert_eq!(revoked["status"], "revoked");
    api.get("/v1/posts")
        .key(&acct.live_key)
        .send()
        .await
        .error(401, "unauthorized");
    api.get("/v1/posts")
        .bearer(&acct.live_key)
        .send()
        .await
        .error(401, "unauthorized");
    // Only that key: the account's other key still works.
    api.get("/v1/posts")
        .key(&acct.test_key)
        .send()
        .await
        .expect(200);
}

async fn assert_subscription_refused(status: &str, extra: &[&str]) {
    let env = TestEnv::new().await;
    let mut args = vec![
        "account", "create", "--name", "sub", "--plan", "starter", "--status", status,
    ];
    args.extend_from_slice(extra);
    let acct = env.admin(&args).await;
    let id = acct["accountId"].as_str().expect("accountId").to_string();
    let key = env.admin(&["key", "create", &id, "--mode", "live"]).await["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let api = env.spawn_api().await;
    for r in [
        api.get("/v1/posts").key(&key).send().await,
        api.post_json("/v1/posts", &key, &text_post("hi", json!(["x"])))
            .await,
        api.get("/v1/integrations").key(&key).send().await,
    ] {
        let error = r.error(403, "forbidden");
        assert_eq!(error["message"], SUBSCRIPTION_MESSAGE, "{}", r.what);
    }
}

#[tokio::test]
async fn canceled_subscription_is_forbidden() {
    assert_subscription_refused("canceled", &[]).await;
}

#[tokio::test]
async fn expired_subscription_is_forbidden() {
    assert_subscription_refused("expired", &[]).await;
}

#[tokio::test]
async fn past_due_subscription_is_forbidden() {
    assert_subscription_refused("past_due", &[]).await;
}

#[tokio::test]
async fn trial_past_its_end_is_forbidden() {
    let past = time_from_now(-3600);
    assert_subscription_refused("trialing", &["--trial-ends-at", &past]).await;
}

#[tokio::test]
async fn trial_before_its_end_is_allowed() {
    let env = TestEnv::new().await;
    let future = time_from_now(3 * 24 * 3600);
    let acct = env
        .admin(&[
            "account",
            "create",
            "--name",
            "t",
            "--plan",
            "trial",
            "--status",
            "trialing",
            "--trial-ends-at",
            &future,
        ])
        .await;
    let id = acct["accountId"].as_str().unwrap().to_string();
    let key = env.admin(&["key", "create", &id, "--mode", "test"]).await["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let api = env.spawn_api().await;
    api.get("/v1/posts").key(&key).send().await.expect(200);
    api.post_json("/v1/posts", &key, &text_post("hello", json!(["x"])))
        .await
        .expect(202);
}

#[tokio::test]
async fn subscription_canceled_later_is_forbidden_from_then_on() {
    let (env, acct, api) = setup().await;
    api.get("/v1/posts")
        .key(&acct.live_key)
        .send()
        .await
        .expect(200);
    let updated = env
        .admin(&["account", "update", &acct.id, "--status", "canceled"])
        .await;
    // docs/api.md: the CLI writes a new auth epoch, and says so; then every process sees it on its next request.
    assert_eq!(updated["propagated"], true, "{updated}");
    for _ in 0..3 {
        let r = api.get("/v1/posts").key(&acct.live_key).send().await;
        assert_eq!(r.error(403, "forbidden")["message"], SUBSCRIPTION_MESSAGE);
    }
}

#[tokio::test]
async fn test_and_live_objects_never_see_each_other() {
    let (_env, acct, api) = setup().await;
    let integration = json!({"platform": "x", "accountId": "x_main", "isDefault": true,
                             "credentials": {"accessToken": "tok-live-only"}});
    let int_id = api
        .post_json("/v1/integrations", &acct.live_key, &integration)
        .await
        .expect(201)["id"]
        .clone();
    let live = api
        .post_json(
            "/v1/posts",
            &acct.live_key,
            &text_post("live", json!(["x"])),
        )
        .await;
    let live_id = live.expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let test = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("test", json!(["x"])),
        )
        .await;
    let test_id = test.expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();

    let ids = |r: &Resp| -> Vec<String> {
        r.expect(200)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["postSubmissionId"].as_str().unwrap().into())
            .collect()
    };
    assert_eq!(
        ids(&api.get_with("/v1/posts", &acct.live_key).await),
        vec![live_id.clone()]
    );
    assert_eq!(
        ids(&api.get_with("/v1/posts", &acct.test_key).await),
        vec![test_id.clone()]
    );

    api.get_with(&format!("/v1/posts/{test_id}"), &acct.live_key)
        .await
        .error(404, "not_found");
    api.get_with(&format!("/v1/posts/{live_id}"), &acct.test_key)
        .await
        .error(404, "not_found");
    api.delete_with(&format!("/v1/posts/{test_id}"), &acct.live_key)
        .await
        .error(404, "not_found");
    api.delete_with(&format!("/v1/posts/{live_id}"), &acct.test_key)
        .await
        .error(404, "not_found");
    let live_post = api
        .get_with(&format!("/v1/posts/{live_id}"), &acct.live_key)
        .await;
    assert_eq!(live_post.expect(200)["livemode"], true);
    let test_post = api
        .get_with(&format!("/v1/posts/{test_id}"), &acct.test_key)
        .await;
    assert_eq!(test_post.expect(200)["livemode"], false);

    // A live connection is not a test-mode object either.
    let test_ints = api.get_with("/v1/integrations", &acct.test_key).await;
    let listed = test_ints.expect(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == int_id);
    assert!(
        !listed,
        "a live integration is listed with the test key: {}",
        test_ints.text
    );
}

#[tokio::test]
async fn a_subscription_change_applies_on_the_next_request() {
    let (env, acct, api) = setup().await;
    warm_key_cache(&api, &acct.live_key).await;
    env.admin(&["account", "update", &acct.id, "--status", "past_due"])
        .await;
    let r = api.get("/v1/posts").key(&acct.live_key).send().await;
    r.error(403, "forbidden");
    env.admin(&["account", "update", &acct.id, "--status", "active"])
        .await;
    api.get("/v1/posts")
        .key(&acct.live_key)
        .send()
        .await
        .expect(200);
}

#[tokio::test]
async fn a_flushed_redis_does_not_let_a_revoked_key_through() {
    // Redis losing the auth epoch must invalidate every cached key, not freeze the cache.
    let (env, acct, api) = setup().await;
    warm_key_cache(&api, &acct.live_key).await;
    let mut conn = env.redis().await;
    let epoch_key = format!("{}:auth-epoch", env.redis_prefix);
    // Revoke behind the cache's back (as if the CLI could not reach Redis), then lose Redis' data.
    let db = env.db().await;
    sqlx::query("UPDATE api_keys SET status = 'revoked' WHERE id = $1")
        .bind(&acct.live_key_id)
        .execute(&db)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&epoch_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    api.get("/v1/posts")
        .key(&acct.live_key)
        .send()
        .await
        .error(401, "unauthorized");
}

/// A few successful requests, so that the API process holds the key in its lookup cache.
async fn warm_key_cache(api: &ApiProc, key: &str) {
    for _ in 0..3 {
        api.get("/v1/posts").key(key).send().await.expect(200);
    }
}
