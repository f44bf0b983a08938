//! Rate limits (docs/api.md "Rate limits": fixed 60-second windows per account, kept in Redis): the
//! headers on every authenticated response, the 429, and one budget shared by every API process and both keys.

use std::time::Duration;

use soku_tests::*;

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn assert_rate_headers(r: &Resp, limit: i64) {
    assert_eq!(r.header_int("x-ratelimit-limit"), limit, "{}", r.what);
    let remaining = r.header_int("x-ratelimit-remaining");
    assert!(
        (0..=limit).contains(&remaining),
        "{}: remaining {remaining} of {limit}",
        r.what
    );
    let reset = r.header_int("x-ratelimit-reset");
    let now = now_secs();
    assert!(
        reset >= now - 1 && reset <= now + 61,
        "{}: reset {reset} is not a Unix second in the next minute (now {now})",
        r.what
    );
}

/// The first request of a window with at least 15 seconds left, so a test's burst stays in one window.
async fn first_request_of_a_window(api: &ApiProc, key: &str) -> Resp {
    loop {
        let r = api.get_with("/v1/posts", key).await;
        let reset = r.header_int("x-ratelimit-reset");
        if reset - now_secs() >= 15 {
            return r;
        }
        let wait = (reset - now_secs()).max(0) as u64 + 1;
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

#[tokio::test]
async fn every_authenticated_response_has_rate_limit_headers() {
    let (_env, acct, api) = setup().await;
    let unknown = format!("/v1/posts/post_{}", random_alnum(24));
    first_request_of_a_window(&api, &acct.live_key).await;
    let responses = [
        api.get_with("/v1/posts", &acct.live_key).await,
        api.get_with(&unknown, &acct.live_key).await,
        api.post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
            .await,
        api.post_json("/v1/posts", &acct.test_key, &json!({"post": {}}))
            .await,
        api.post_json("/v1/posts", &acct.live_key, &text_post("hi", json!(["x"])))
            .await,
        api.get_with("/v1/integrations", &acct.live_key).await,
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 404, 202, 400, 400, 200]);
    let mut last_remaining = i64::MAX;
    for r in &responses {
        assert_rate_headers(r, 600);
        let remaining = r.header_int("x-ratelimit-remaining");
        assert!(
            remaining < last_remaining,
            "remaining must go down with each request: {statuses:?}"
        );
        last_remaining = remaining;
    }
}

#[tokio::test]
async fn plans_have_their_documented_limits() {
    let env = TestEnv::new().await;
    let api = env.spawn_api().await;
    for (plan, limit) in [
        ("trial", 60),
        ("starter", 120),
        ("pro", 600),
        ("business", 1200),
    ] {
        let status = if plan == "trial" {
            "trialing"
        } else {
            "active"
        };
        let acct = env.account(plan, status).await;
        let r = api.get_with("/v1/posts", &acct.live_key).await;
        r.expect(200);
        assert_rate_headers(&r, limit);
    }
}

#[tokio::test]
async fn request_over_the_limit_gets_429() {
    let env = TestEnv::new().await;
    let acct = env.account("trial", "trialing").await;
    let api = env.api().env("SOKU_RATE_LIMIT_TRIAL", "5").spawn().await;
    let first = first_request_of_a_window(&api, &acct.live_key).await;
    assert_rate_headers(&first, 5);
    assert_eq!(first.header_int("x-ratelimit-remaining"), 4);
    for remaining in (0..4).rev() {
        let r = api.get_with("/v1/posts", &acct.live_key).await;
        r.expect(200);
        assert_eq!(r.header_int("x-ratelimit-remaining"), remaining);
    }
    let limited = api.get_with("/v1/posts", &acct.live_key).await;
    limited.error(429, "rate_limited");
    assert_rate_headers(&limited, 5);
    assert_eq!(limited.header_int("x-ratelimit-remaining"), 0);
    let retry_after = limited.header_int("retry-after");
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After {retry_after} should be 1..=60"
    );
    let reset = limited.header_int("x-ratelimit-reset");
    assert!(
        (retry_after - (reset - now_secs())).abs() <= 2,
        "Retry-After {retry_after} should reach the reset {reset}"
    );
    // Posts are limited as well, and a refused request creates nothing.
    let r = api
        .post_json("/v1/posts", &acct.test_key, &text_post("hi", json!(["x"])))
        .await;
    r.error(429, "rate_limited");
}

#[tokio::test]
async fn live_and_test_keys_share_the_account_budget() {
    let env = TestEnv::new().await;
    let acct = env.account("trial", "trialing").await;
    let api = env.api().env("SOKU_RATE_LIMIT_TRIAL", "5").spawn().await;
    first_request_of_a_window(&api, &acct.live_key)
        .await
        .expect(200);
    for i in 1..5 {
        let key = if i % 2 == 0 {
            &acct.live_key
        } else {
            &acct.test_key
        };
        api.get_with("/v1/posts", key).await.expect(200);
    }
    api.get_with("/v1/posts", &acct.test_key)
        .await
        .error(429, "rate_limited");
    // Another account has its own budget.
    let other = env.account("trial", "trialing").await;
    api.get_with("/v1/posts", &other.live_key).await.expect(200);
}

#[tokio::test]
async fn api_processes_share_one_budget() {
    let env = TestEnv::new().await;
    let acct = env.account("trial", "trialing").await;
    let a = env.api().env("SOKU_RATE_LIMIT_TRIAL", "5").spawn().await;
    let b = env.api().env("SOKU_RATE_LIMIT_TRIAL", "5").spawn().await;
    first_request_of_a_window(&a, &acct.live_key)
        .await
        .expect(200);
    for i in 1..5 {
        let api = if i % 2 == 0 { &a } else { &b };
        let r = api.get_with("/v1/posts", &acct.live_key).await;
        r.expect(200);
        assert_eq!(r.header_int("x-ratelimit-remaining"), 4 - i);
    }
    b.get_with("/v1/posts", &acct.live_key)
        .await
        .error(429, "rate_limited");
    a.get_with("/v1/posts", &acct.live_key)
        .await
        .error(429, "rate_limited");
}
