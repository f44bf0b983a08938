//! `Idempotency-Key` (docs/api.md "Idempotency"): replays, reuse with another request, concurrent first requests,
//! scope per account, refused requests not stored, key length.

use soku_tests::*;

async fn post_count(api: &ApiProc, key: &str) -> usize {
    let page = api
        .get_with("/v1/posts?limit=100", key)
        .await
        .expect(200)
        .clone();
    page["data"].as_array().expect("data").len()
}

#[tokio::test]
async fn same_key_and_body_replays_the_first_response() {
    let (_env, acct, api) = setup().await;
    let body = text_post("once", json!(["x"]));
    let first = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("order-1")
        .json(&body)
        .send()
        .await;
    first.expect(202);
    assert_ne!(first.header("idempotent-replayed"), Some("true"));
    for _ in 0..2 {
        let again = api
            .post("/v1/posts")
            .key(&acct.test_key)
            .idempotency_key("order-1")
            .json(&body)
            .send()
            .await;
        assert_eq!(again.status, first.status);
        assert_eq!(again.json, first.json, "a replay must return the same body");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    assert_eq!(post_count(&api, &acct.test_key).await, 1);
}

#[tokio::test]
async fn replay_works_across_api_processes() {
    let (env, acct, api) = setup().await;
    let other = env.spawn_api().await;
    let body = text_post("once", json!(["x"]));
    let first = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("k")
        .json(&body)
        .send()
        .await;
    let again = other
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("k")
        .json(&body)
        .send()
        .await;
    assert_eq!(again.json, first.expect(202).clone());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(post_count(&api, &acct.test_key).await, 1);
}

#[tokio::test]
async fn same_key_with_another_body_is_refused() {
    let (_env, acct, api) = setup().await;
    let key = "reused-1";
    api.post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key(key)
        .json(&text_post("a", json!(["x"])))
        .send()
        .await
        .expect(202);
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key(key)
        .json(&text_post("b", json!(["x"])))
        .send()
        .await;
    r.error(422, "idempotency_key_reused");
    assert_eq!(post_count(&api, &acct.test_key).await, 1);
}

#[tokio::test]
async fn same_key_on_another_path_is_refused() {
    let (_env, acct, api) = setup().await;
    let key = "reused-2";
    let post = text_post("a", json!(["x"]));
    api.post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key(key)
        .json(&post)
        .send()
        .await
        .expect(202);
    let body = json!({"platform": "x", "accountId": "x_main", "credentials": {"accessToken": "t"}});
    let r = api
        .post("/v1/integrations")
        .key(&acct.test_key)
        .idempotency_key(key)
        .json(&body)
        .send()
        .await;
    r.error(422, "idempotency_key_reused");
    let id = api
        .post_json("/v1/posts", &acct.test_key, &post)
        .await
        .expect(202)["postSubmissionId"]
        .clone();
    let retry = format!("/v1/posts/{}/retry", id.as_str().unwrap());
    let r = api
        .post(&retry)
        .key(&acct.test_key)
        .idempotency_key(key)
        .send()
        .await;
    r.error(422, "idempotency_key_reused");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_post() {
    let (_env, acct, api) = setup().await;
    let api = std::sync::Arc::new(api);
    let body = text_post("exactly once", json!(["x", "threads"]));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (api, key, body) = (api.clone(), acct.test_key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            api.post("/v1/posts")
                .key(&key)
                .idempotency_key("burst")
                .json(&body)
                .send()
                .await
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("request task"));
    }
    let originals: Vec<&Resp> = responses
        .iter()
        .filter(|r| r.status == 202 && r.header("idempotent-replayed") != Some("true"))
        .collect();
    assert_eq!(
        originals.len(),
        1,
        "exactly one request does the work: {responses:#?}"
    );
    let id = originals[0].json["postSubmissionId"].clone();
    for r in &responses {
        match r.status {
            202 => assert_eq!(
                r.json, originals[0].json,
                "every replay carries the same post {id}"
            ),
            409 => {
                r.error(409, "idempotency_in_progress");
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(post_count(&api, &acct.test_key).await, 1);
}

#[tokio::test]
async fn keys_are_scoped_per_account() {
    let (env, acct, api) = setup().await;
    let other = env.active_account().await;
    let a = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("shared")
        .json(&text_post("a", json!(["x"])))
        .send()
        .await;
    let b = api
        .post("/v1/posts")
        .key(&other.test_key)
        .idempotency_key("shared")
        .json(&text_post("b", json!(["x"])))
        .send()
        .await;
    b.expect(202);
    assert_ne!(b.header("idempotent-replayed"), Some("true"));
    assert_ne!(
        a.expect(202)["postSubmissionId"],
        b.json["postSubmissionId"]
    );
    assert_eq!(post_count(&api, &other.test_key).await, 1);
}

#[tokio::test]
async fn refused_validation_is_not_stored() {
    let (_env, acct, api) = setup().await;
    let bad = text_post(&"a".repeat(281), json!(["x"]));
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("fix-me")
        .json(&bad)
        .send()
        .await;
    r.error(400, "validation_error");
    let good = text_post("fixed", json!(["x"]));
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("fix-me")
        .json(&good)
        .send()
        .await;
    r.expect(202);
    assert_ne!(r.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn key_length_is_one_to_255() {
    let (_env, acct, api) = setup().await;
    let body = text_post("long key", json!(["x"]));
    let longest = "k".repeat(255);
    api.post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key(&longest)
        .json(&body)
        .send()
        .await
        .expect(202);
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key(&"k".repeat(256))
        .json(&body)
        .send()
        .await;
    let fields = r.error(400, "validation_error").clone();
    assert_eq!(
        fields["details"]["fields"][0]["field"], "Idempotency-Key",
        "{}",
        r.text
    );
    let r = api
        .post("/v1/posts")
        .key(&acct.test_key)
        .idempotency_key("")
        .json(&body)
        .send()
        .await;
    let fields = r.error(400, "validation_error").clone();
    assert_eq!(
        fields["details"]["fields"][0]["field"], "Idempotency-Key",
        "an empty key: {}",
        r.text
    );
    assert_eq!(post_count(&api, &acct.test_key).await, 1);
}
