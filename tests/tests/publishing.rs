//! Publishing (docs/api.md "Statuses", docs/sandbox.md): real `soku api` and `soku worker` processes publish test-mode
//! posts through the sandbox. Every platform, scheduled and canceled posts, the failure classes the sandbox
//! can act out, retries, the attempts recorded, /metrics and the request id in the workers' logs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use soku_tests::*;

const ALL: [&str; 7] = [
    "threads",
    "x",
    "linkedin",
    "instagram",
    "facebook",
    "tiktok",
    "youtube",
];
/// attempt, outcome, error code, duration (ms).
type AttemptRow = (i32, Option<String>, Option<String>, Option<i32>);

/// A bound against hanging, not a speed requirement.
const PATIENCE: Duration = Duration::from_secs(60);

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .with_timezone(&Utc)
}

/// A post every platform accepts: an image for those that need media, a video and title for youtube.
fn everywhere() -> Value {
    json!({"post": {"content": {
        "text": "Shipping day",
        "videoUrl": "https://cdn.example.com/launch.mp4",
        "title": "Shipping day",
        "platform": ALL,
    }}})
}

#[tokio::test]
async fn a_post_to_all_seven_platforms_publishes_on_every_target() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let id = create_post(&api, &acct.test_key, &everywhere()).await;
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    let targets = post["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 7);
    for t in targets {
        assert_eq!(t["status"], "published", "{t}");
        assert_eq!(t["attempts"], 1, "{t}");
        assert!(t["error"].is_null(), "{t}");
        let pid = t["platformPostId"].as_str().expect("platformPostId");
        let url = t["url"].as_str().expect("url");
        assert!(url.starts_with("https://"), "{url}");
        match t["platform"].as_str().unwrap() {
            "x" => assert!(
                url.starts_with("https://x.com/") && url.ends_with(pid),
                "{url}"
            ),
            "linkedin" => assert!(pid.starts_with("urn:li:share:"), "{pid}"),
            "youtube" => assert!(url.ends_with(&format!("watch?v={pid}")), "{url}"),
            "tiktok" => assert!(url.contains("tiktok.com/@") && url.ends_with(pid), "{url}"),
            _ => {}
        }
        assert!(time(&t["publishedAt"]) >= time(&post["createdAt"]));
        assert_eq!(
            env.sandbox_deliveries(t["targetId"].as_str().unwrap())
                .await,
            1
        );
    }
}

#[tokio::test]
async fn a_scheduled_post_waits_for_its_time_then_publishes() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mut body = text_post("On time", json!(["x", "linkedin", "threads"]));
    let at = time_from_now(5);
    body["scheduledTime"] = json!(at);
    let id = create_post(&api, &acct.test_key, &body).await;
    let early = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(early.expect(200)["status"], "scheduled");
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    let due = time(&json!(at));
    for t in post["targets"].as_array().unwrap() {
        assert!(
            time(&t["publishedAt"]) >= due,
            "published before its time {at}: {t}"
        );
    }
    let dispatched: DateTime<Utc> =
        sqlx::query_scalar("SELECT dispatched_at FROM posts WHERE id = $1")
            .bind(&id)
            .fetch_one(&env.db().await)
            .await
            .unwrap();
    assert!(dispatched >= due, "dispatched at {dispatched}, before {at}");
}

#[tokio::test]
async fn a_canceled_post_never_publishes() {
    let (env, acct, api) = setup().await;
    let worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mut body = text_post("Never", json!(["x", "threads"]));
    body["scheduledTime"] = json!(time_from_now(2));
    let id = create_post(&api, &acct.test_key, &body).await;
    let canceled = api
        .delete_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    assert_eq!(canceled.expect(200)["status"], "canceled");
    // A second post, due a second after the canceled one: the reconciler hands over every due scheduled post
    // each tick, so once this one is published, the canceled one's time has come and gone.
    let mut later = text_post("Later", json!(["x", "threads"]));
    later["scheduledTime"] = json!(time_from_now(3));
    let later = create_post(&api, &acct.test_key, &later).await;
    let published = wait_post(&api, &acct.test_key, &later, PATIENCE, settled).await;
    assert_eq!(published["status"], "published", "{published:#}");
    let post = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(post["status"], "canceled");
    for t in post["targets"].as_array().unwrap() {
        assert_eq!(t["status"], "canceled");
        assert_eq!(t["attempts"], 0);
        assert_eq!(
            env.sandbox_deliveries(t["targetId"].as_str().unwrap())
                .await,
            0
        );
    }
    let text = worker.metrics().await;
    assert_eq!(
        metric(&text, "soku_jobs_total{queue=\"publish\",outcome=\"ok\"}"),
        Some(2.0),
        "only the later post's two targets are published:\n{text}"
    );
}

#[tokio::test]
async fn a_rejected_target_fails_and_publishes_once_retried() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mut body = text_post("Second time lucky", json!(["x", "threads"]));
    body["sandbox"] = json!({"x": {"behavior": "rejected"}});
    let id = create_post(&api, &acct.test_key, &body).await;
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "partially_published", "{post:#}");
    let x = &post["targets"][0];
    assert_eq!(x["status"], "failed");
    assert_eq!(x["attempts"], 1, "a permanent refusal is not retried: {x}");
    assert_eq!(x["error"]["code"], "platform_rejected");
    assert_eq!(x["error"]["retryable"], false);
    assert!(x["error"]["message"].as_str().unwrap().contains("rejected"));

    api.post(&format!("/v1/posts/{id}/retry"))
        .key(&acct.test_key)
        .send()
        .await
        .expect(202);
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, |p| {
        p["status"] == "published"
    })
    .await;
    let x = &post["targets"][0];
    assert_eq!(x["attempts"], 2);
    assert!(x["error"].is_null());
    assert_eq!(
        post["targets"][1]["attempts"], 1,
        "the published target is left alone"
    );
    let tid = x["targetId"].as_str().unwrap();
    assert_eq!(env.sandbox_deliveries(tid).await, 1);
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT attempt, outcome, error_code, duration_ms FROM publish_attempts WHERE target_id = $1 ORDER BY attempt",
    )
    .bind(tid)
    .fetch_all(&env.db().await)
    .await
    .unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].1.as_deref(), Some("failed"));
    assert_eq!(attempts[0].2.as_deref(), Some("platform_rejected"));
    assert_eq!(attempts[1].1.as_deref(), Some("published"));
    assert!(attempts.iter().all(|a| a.3.is_some()), "durations recorded");
}

#[tokio::test]
async fn a_rate_limited_target_waits_for_the_reset_then_publishes() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mut body = text_post("Patience", json!(["linkedin"]));
    body["sandbox"] =
        json!({"linkedin": {"behavior": "rate_limited", "times": 2, "retryAfterSeconds": 1}});
    let id = create_post(&api, &acct.test_key, &body).await;
    let retrying = wait_post(&api, &acct.test_key, &id, PATIENCE, |p| {
        p["targets"][0]["status"] == "retrying"
    })
    .await;
    let t = &retrying["targets"][0];
    assert_eq!(t["error"]["code"], "rate_limited");
    assert_eq!(t["error"]["retryable"], true);
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    assert_eq!(post["targets"][0]["attempts"], 3);
    let starts: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT started_at FROM publish_attempts WHERE target_id = $1 ORDER BY attempt",
    )
    .bind(post["targets"][0]["targetId"].as_str().unwrap())
    .fetch_all(&env.db().await)
    .await
    .unwrap();
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= chrono::Duration::milliseconds(1000),
            "an attempt went out before the platform's reset: {starts:?}"
        );
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_the_budget_runs_out() {
    let (env, acct, api) = setup().await;
    // docs/architecture.md: attempt n+1 comes base·2^(n-1) after attempt n, with equal jitter (half of it fixed).
    let base_ms = 400;
    let _worker = env
        .spawn_worker(
            &WorkerSpec::new()
                .env("SOKU_PUBLISH_MAX_ATTEMPTS", "4")
                .env("SOKU_RETRY_BASE_MS", &base_ms.to_string()),
        )
        .await;
    let mut body = text_post("Down", json!(["threads", "facebook"]));
    body["sandbox"] = json!({
        "threads": {"behavior": "server_error", "times": 2},
        "facebook": {"behavior": "server_error", "times": 100},
    });
    let id = create_post(&api, &acct.test_key, &body).await;
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "partially_published", "{post:#}");
    assert_eq!(post["targets"][0]["status"], "published");
    assert_eq!(post["targets"][0]["attempts"], 3);
    let fb = &post["targets"][1];
    assert_eq!(fb["status"], "failed");
    assert_eq!(
        fb["attempts"], 4,
        "the budget is SOKU_PUBLISH_MAX_ATTEMPTS: {fb}"
    );
    assert_eq!(fb["error"]["code"], "platform_unavailable");
    assert_eq!(fb["error"]["retryable"], true);

    let starts: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT started_at FROM publish_attempts WHERE target_id = $1 ORDER BY attempt",
    )
    .bind(fb["targetId"].as_str().unwrap())
    .fetch_all(&env.db().await)
    .await
    .unwrap();
    assert_eq!(starts.len(), 4, "{starts:?}");
    let gaps: Vec<i64> = starts
        .windows(2)
        .map(|p| (p[1] - p[0]).num_milliseconds())
        .collect();
    for (n, gap) in gaps.iter().enumerate() {
        // The fixed half of base·2^(n-1) for the retry after attempt n (1-based).
        let least = base_ms * (1 << n) / 2;
        assert!(
            *gap >= least,
            "retry {} came {gap} ms after the attempt before it, sooner than {least} ms: gaps {gaps:?}",
            n + 1
        );
    }
    // The third wait is at least twice the longest the first can be: the spacing grows.
    assert!(
        gaps[2] > gaps[0],
        "the waits between attempts do not grow: {gaps:?}"
    );
}

#[tokio::test]
async fn a_dead_token_fails_at_once_asking_for_reauth() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mut body = text_post("Expired", json!(["x"]));
    body["sandbox"] = json!({"x": {"behavior": "token_expired"}});
    let id = create_post(&api, &acct.test_key, &body).await;
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "failed");
    let t = &post["targets"][0];
    assert_eq!(t["attempts"], 1);
    assert_eq!(t["error"]["code"], "token_expired");
    assert_eq!(t["error"]["retryable"], false);
    assert!(
        t["error"]["message"].as_str().unwrap().contains("refresh"),
        "{t}"
    );
}

#[tokio::test]
async fn an_unconfirmed_post_is_looked_up_not_sent_again() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mut body = text_post("Did it go?", json!(["instagram"]));
    body["post"]["content"]["imageUrls"] = json!(["https://cdn.example.com/a.jpg"]);
    body["post"]["content"]["mediaType"] = json!("image");
    body["sandbox"] = json!({"instagram": {"behavior": "unconfirmed"}});
    let id = create_post(&api, &acct.test_key, &body).await;
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    let t = &post["targets"][0];
    assert_eq!(
        t["attempts"], 1,
        "found on the platform, not sent again: {t}"
    );
    let tid = t["targetId"].as_str().unwrap();
    assert_eq!(env.sandbox_deliveries(tid).await, 1);
    let stored: String =
        sqlx::query_scalar("SELECT platform_post_id FROM sandbox_posts WHERE client_ref = $1")
            .bind(tid)
            .fetch_one(&env.db().await)
            .await
            .unwrap();
    assert_eq!(t["platformPostId"], stored.as_str());
}

#[tokio::test]
async fn a_slow_platform_does_not_hold_up_the_others() {
    let (env, acct, api) = setup().await;
    let _worker = env
        .spawn_worker(&WorkerSpec::new().env("SOKU_CONCURRENCY_YOUTUBE", "1"))
        .await;
    // Two slow youtube posts: one fills youtube's only slot for seconds, the other waits behind it.
    let mut slow_ids = Vec::new();
    for _ in 0..2 {
        let mut slow = everywhere();
        slow["post"]["content"]["platform"] = json!(["youtube"]);
        slow["sandbox"] = json!({"youtube": {"behavior": "slow", "delayMs": 8000}});
        slow_ids.push(create_post(&api, &acct.test_key, &slow).await);
    }
    let status = |id: &str| {
        let path = format!("/v1/posts/{id}");
        let (api, key) = (&api, &acct.test_key);
        async move { api.get_with(&path, key).await.expect(200).clone() }
    };
    let deadline = std::time::Instant::now() + PATIENCE;
    let busy = loop {
        let mut found = None;
        for slow in &slow_ids {
            if status(slow).await["targets"][0]["status"] == "publishing" {
                found = Some(slow.clone());
            }
        }
        if let Some(busy) = found {
            break busy;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no youtube post started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Created while youtube's slot is taken, an x post is published before that slow attempt ends.
    let id = create_post(&api, &acct.test_key, &text_post("fast", json!(["x"]))).await;
    let post = wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published");
    let slow = status(&busy).await;
    assert_eq!(
        slow["targets"][0]["status"], "publishing",
        "x was published only after the slow youtube attempt ended: it waited behind it; x: {post:#}, youtube: {slow:#}"
    );
}

#[tokio::test]
async fn sandbox_instructions_are_checked_and_test_mode_only() {
    let (_env, acct, api) = setup().await;
    let mut body = text_post("x", json!(["x"]));
    body["sandbox"] =
        json!({"x": {"behavior": "explode", "times": 0}, "tiktok": {"behavior": "slow"}});
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    let e = r.expect(400);
    assert_eq!(e["error"]["code"], "validation_error");
    let fields: Vec<&str> = e["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"sandbox.x.behavior"), "{e}");
    assert!(fields.contains(&"sandbox.x.times"), "{e}");
    assert!(fields.contains(&"sandbox.tiktok"), "{e}");

    let mut live = text_post("x", json!(["x"]));
    live["sandbox"] = json!({"x": {"behavior": "rejected"}});
    let r = api.post_json("/v1/posts", &acct.live_key, &live).await;
    let e = r.expect(400);
    assert_eq!(
        e["error"]["details"]["fields"][0]["field"], "sandbox",
        "{e}"
    );
}

#[tokio::test]
async fn the_request_id_follows_a_post_into_the_worker_log() {
    let (env, acct, api) = setup().await;
    let worker = env.spawn_worker(&WorkerSpec::new()).await;
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("trace", json!(["x"])),
        )
        .await;
    let request_id = r.header("x-request-id").expect("X-Request-ID").to_string();
    let id = r.expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    let log = worker.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&request_id)).collect();
    assert!(
        lines.iter().any(|l| l.contains("target published")),
        "the worker log does not carry {request_id}:\n{log}"
    );
}

#[tokio::test]
async fn metrics_on_the_api_and_the_worker() {
    let (env, acct, api) = setup().await;
    let worker = env.spawn_worker(&WorkerSpec::new()).await;
    let id = create_post(
        &api,
        &acct.test_key,
        &text_post("m", json!(["x", "threads"])),
    )
    .await;
    wait_post(&api, &acct.test_key, &id, PATIENCE, settled).await;
    let r = api.get("/metrics").send().await;
    r.expect(200);
    let text = r.text.clone();
    for name in [
        "soku_queue_depth{queue=\"publish:x\"}",
        "soku_targets{status=\"pending\"}",
        "soku_scheduled_overdue",
    ] {
        assert!(text.contains(name), "API /metrics lacks {name}:\n{text}");
    }
    let text = worker.metrics().await;
    for name in [
        "soku_jobs_total{queue=\"publish\",outcome=\"ok\"} 2",
        "soku_publish_attempts_total{platform=\"x\",outcome=\"published\"} 1",
        "soku_publish_duration_seconds_bucket{platform=\"threads\",le=\"+Inf\"} 1",
        "soku_pickup_latency_seconds_count",
        "soku_scheduling_lateness_seconds",
        "soku_queue_depth{queue=\"publish:x\"} 0",
    ] {
        assert!(text.contains(name), "worker /metrics lacks {name}:\n{text}");
    }
}

#[tokio::test]
async fn live_posts_fail_plainly_until_their_platform_adapter_exists() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    api.post_json(
        "/v1/integrations",
        &acct.live_key,
        &json!({"platform": "x", "accountId": "x_main", "credentials": {"accessToken": "tok"}}),
    )
    .await
    .expect(201);
    let id = create_post(&api, &acct.live_key, &text_post("live", json!(["x"]))).await;
    let post = wait_post(&api, &acct.live_key, &id, PATIENCE, settled).await;
    assert_eq!(post["status"], "failed");
    assert_eq!(
        post["targets"][0]["error"]["code"],
        "platform_not_available"
    );
}
