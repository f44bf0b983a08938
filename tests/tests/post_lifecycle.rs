//! Reading and changing posts (docs/api.md "Posts"): the list with its pagination and status filter, one post with
//! its targets, cancel, and retry when there is nothing to retry.

use std::collections::HashSet;

use soku_tests::*;

async fn create(api: &ApiProc, key: &str, scheduled: bool) -> String {
    let mut body = text_post("lifecycle", json!(["x", "threads"]));
    if scheduled {
        body["scheduledTime"] = json!(time_from_now(3600));
    }
    let r = api.post_json("/v1/posts", key, &body).await;
    r.expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["postSubmissionId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn list_pages_through_every_post_once() {
    let (_env, acct, api) = setup().await;
    let mut created = HashSet::new();
    for _ in 0..5 {
        created.insert(create(&api, &acct.test_key, false).await);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/posts?limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = api
            .get_with(&path, &acct.test_key)
            .await
            .expect(200)
            .clone();
        pages += 1;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2, "limit=2 returned {}", page_ids.len());
        seen.extend(page_ids);
        if page["hasMore"] == true {
            let cursor = page["nextCursor"]
                .as_str()
                .expect("nextCursor when hasMore");
            path = format!("/v1/posts?limit=2&cursor={cursor}");
        } else {
            assert!(
                page["nextCursor"].is_null(),
                "nextCursor must be null on the last page: {page}"
            );
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5, "each post once: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
}

#[tokio::test]
async fn list_defaults_to_twenty() {
    let (_env, acct, api) = setup().await;
    for _ in 0..21 {
        create(&api, &acct.test_key, false).await;
    }
    let page = api
        .get_with("/v1/posts", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(ids(&page).len(), 20);
    assert_eq!(page["hasMore"], true);
    let page = api
        .get_with("/v1/posts?limit=100", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(ids(&page).len(), 21);
    assert_eq!(page["hasMore"], false);
}

#[tokio::test]
async fn list_limit_outside_one_to_hundred_is_refused() {
    let (_env, acct, api) = setup().await;
    for limit in ["0", "101", "-1", "abc", "1.5"] {
        let r = api
            .get_with(&format!("/v1/posts?limit={limit}"), &acct.test_key)
            .await;
        assert_eq!(r.status, 400, "limit={limit:?}: {}", r.text);
        r.error(400, "validation_error");
    }
    for limit in ["1", "100"] {
        api.get_with(&format!("/v1/posts?limit={limit}"), &acct.test_key)
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn list_filters_by_status() {
    let (_env, acct, api) = setup().await;
    let scheduled: HashSet<String> = [
        create(&api, &acct.test_key, true).await,
        create(&api, &acct.test_key, true).await,
    ]
    .into();
    let queued = create(&api, &acct.test_key, false).await;
    let page = api
        .get_with("/v1/posts?status=scheduled", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(ids(&page).into_iter().collect::<HashSet<_>>(), scheduled);
    for post in page["data"].as_array().unwrap() {
        assert_eq!(post["status"], "scheduled");
    }
    let page = api
        .get_with("/v1/posts?status=queued", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(ids(&page), vec![queued]);
    let page = api
        .get_with("/v1/posts?status=published", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert!(ids(&page).is_empty());
    for status in [
        "publishing",
        "published",
        "partially_published",
        "failed",
        "canceled",
    ] {
        let page = api
            .get_with(&format!("/v1/posts?status={status}"), &acct.test_key)
            .await;
        assert!(
            ids(page.expect(200)).is_empty(),
            "status={status}: {}",
            page.text
        );
    }
    let r = api.get_with("/v1/posts?status=bogus", &acct.test_key).await;
    r.error(400, "validation_error");
}

#[tokio::test]
async fn cancel_queued_post_whose_targets_have_not_started() {
    // `soku api` runs no worker, so the targets of a queued post stay pending.
    let (_env, acct, api) = setup().await;
    let id = create(&api, &acct.test_key, false).await;
    let canceled = api
        .delete_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(canceled.expect(200)["status"], "canceled");
    let post = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(post.expect(200)["status"], "canceled");
}

#[tokio::test]
async fn get_post_has_the_documented_shape() {
    let (_env, acct, api) = setup().await;
    let content = json!({"text": "Shape", "mediaType": "text", "platform": ["x", "threads"]});
    let mut body = json!({"post": {"content": content}});
    body["scheduledTime"] = json!(time_from_now(3600));
    let accepted = api
        .post_json("/v1/posts", &acct.test_key, &body)
        .await
        .expect(202)
        .clone();
    let id = accepted["postSubmissionId"].as_str().unwrap();
    let post = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(post["postSubmissionId"], id);
    assert_eq!(post["status"], "scheduled");
    assert_eq!(post["livemode"], false);
    assert_eq!(post["content"]["text"], "Shape");
    assert_eq!(post["content"]["mediaType"], "text");
    assert_eq!(post["scheduledTime"], accepted["scheduledTime"]);
    assert_time_ms(&post["scheduledTime"]);
    assert_time_ms(&post["createdAt"]);
    let targets = post["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 2);
    for (target, sent) in targets.iter().zip(accepted["targets"].as_array().unwrap()) {
        assert_eq!(target["targetId"], sent["targetId"]);
        assert_eq!(target["platform"], sent["platform"]);
        assert_eq!(target["accountId"], sent["accountId"]);
        assert_eq!(target["status"], "pending");
        assert_eq!(target["attempts"], 0, "attempts is a count: {target}");
        for field in ["platformPostId", "url", "publishedAt", "error"] {
            assert!(
                target.get(field).is_some_and(Value::is_null),
                "target.{field} should be null: {target}"
            );
        }
    }
    // The list shows the same object.
    let list = api
        .get_with("/v1/posts", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(list["data"][0], post);
}

#[tokio::test]
async fn cancel_scheduled_post_then_cancel_again_is_conflict() {
    let (_env, acct, api) = setup().await;
    let id = create(&api, &acct.test_key, true).await;
    let canceled = api
        .delete_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(canceled["postSubmissionId"], id.as_str());
    assert_eq!(canceled["status"], "canceled");
    let post = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(post["status"], "canceled");
    api.delete_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .error(409, "conflict");
    let page = api
        .get_with("/v1/posts?status=canceled", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(ids(&page), vec![id]);
}

#[tokio::test]
async fn retry_with_nothing_failed_is_conflict() {
    let (_env, acct, api) = setup().await;
    let queued = create(&api, &acct.test_key, false).await;
    api.post(&format!("/v1/posts/{queued}/retry"))
        .key(&acct.test_key)
        .send()
        .await
        .error(409, "conflict");
    let scheduled = create(&api, &acct.test_key, true).await;
    api.post(&format!("/v1/posts/{scheduled}/retry"))
        .key(&acct.test_key)
        .send()
        .await
        .error(409, "conflict");
}

#[tokio::test]
async fn retry_of_canceled_post_is_conflict() {
    let (_env, acct, api) = setup().await;
    let id = create(&api, &acct.test_key, true).await;
    api.delete_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .expect(200);
    api.post(&format!("/v1/posts/{id}/retry"))
        .key(&acct.test_key)
        .send()
        .await
        .error(409, "conflict");
}

/// Marks a post as the workers would leave it: `status` for the post, and the targets as given, in order.
async fn settle(env: &TestEnv, post: &str, status: &str, targets: &[&str]) {
    let db = env.db().await;
    sqlx::query("UPDATE posts SET status = $2 WHERE id = $1")
        .bind(post)
        .bind(status)
        .execute(&db)
        .await
        .unwrap();
    for (position, target) in targets.iter().enumerate() {
        sqlx::query(
            "UPDATE post_targets SET status = $3,
                    error_code = CASE WHEN $3 = 'failed' THEN 'platform_error' END,
                    error_message = CASE WHEN $3 = 'failed' THEN 'boom' END, error_retryable = false
             WHERE post_id = $1 AND position = $2",
        )
        .bind(post)
        .bind(position as i32)
        .bind(target)
        .execute(&db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn retry_requeues_the_failed_targets_of_a_settled_post_once() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let patience = std::time::Duration::from_secs(60);
    // x refuses the first two attempts: the retry fails again, and only a second retry publishes it.
    let mut body = text_post("lifecycle", json!(["x", "threads"]));
    body["sandbox"] = json!({"x": {"behavior": "rejected", "times": 2}});
    let id = create_post(&api, &acct.test_key, &body).await;
    let post = wait_post(&api, &acct.test_key, &id, patience, settled).await;
    assert_eq!(post["status"], "partially_published", "{post:#}");
    let send = || {
        api.post(&format!("/v1/posts/{id}/retry"))
            .key(&acct.test_key)
            .idempotency_key("retry-1")
            .send()
    };
    let first = send().await;
    let body = first.expect(202).clone();
    assert_eq!(body["status"], "queued");
    let statuses: Vec<&str> = body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "published"]);
    assert!(
        body["targets"][0]["error"].is_null(),
        "the old error is cleared: {body}"
    );
    let post = wait_post(&api, &acct.test_key, &id, patience, |p| {
        settled(p) && p["targets"][0]["attempts"] == 2
    })
    .await;
    assert_eq!(post["status"], "partially_published", "{post:#}");
    // The post is settled with a failed target again: a real retry would re-arm it. The same request replays
    // the stored answer instead.
    let again = send().await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.expect(202), &body);
    // A new retry is accepted, which it would not be had the replay re-armed the post (it would be queued or
    // publishing, a 409), and it makes the third attempt, not a fourth.
    api.post(&format!("/v1/posts/{id}/retry"))
        .key(&acct.test_key)
        .send()
        .await
        .expect(202);
    let post = wait_post(&api, &acct.test_key, &id, patience, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    let x = &post["targets"][0];
    assert_eq!(x["attempts"], 3, "{x}");
    assert_eq!(post["targets"][1]["attempts"], 1, "threads is left alone");
    let tid = x["targetId"].as_str().unwrap();
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM publish_attempts WHERE target_id = $1")
            .bind(tid)
            .fetch_one(&env.db().await)
            .await
            .unwrap();
    assert_eq!(attempts, 3);
    assert_eq!(env.sandbox_deliveries(tid).await, 1);
}

#[tokio::test]
async fn retry_of_a_post_still_publishing_is_conflict() {
    // Re-arming a post whose other targets are in flight could publish them twice.
    let (env, acct, api) = setup().await;
    let id = create(&api, &acct.test_key, false).await;
    settle(&env, &id, "publishing", &["failed", "publishing"]).await;
    api.post(&format!("/v1/posts/{id}/retry"))
        .key(&acct.test_key)
        .send()
        .await
        .error(409, "conflict");
}

#[tokio::test]
async fn a_cursor_this_api_did_not_hand_out_is_refused() {
    let (_env, acct, api) = setup().await;
    use base64::Engine;
    for forged in [
        "-400000000000000000|post_x",
        "1700000000000000|post_\u{0}x",
        "99999999999999999|post_x",
    ] {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        for path in ["/v1/posts", "/v1/integrations"] {
            api.get_with(&format!("{path}?cursor={cursor}"), &acct.test_key)
                .await
                .error(400, "validation_error");
        }
    }
}
