//! Scaling out (docs/architecture.md "Durability rules"): several `soku api` and `soku worker` processes on one
//! Postgres and one Redis share the work and still publish every target exactly once. Deliveries are counted
//! by a sink in this test process, outside the workers; the work each worker did is read from
//! `publish_attempts`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use soku_tests::*;

const PLATFORMS: [&str; 4] = ["x", "threads", "linkedin", "facebook"];
/// 1,250 posts × 4 platforms = 5,000 targets.
const POSTS: usize = 1250;
/// A bound against hanging, not a speed requirement.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// `POST /v1/posts` with an `Idempotency-Key`, sent again with the same key while the answer is the documented
/// `503 unavailable` (retry); the post's id.
async fn create_once(api: &ApiProc, key: &str, idempotency_key: &str, body: &Value) -> String {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let r = api
            .post("/v1/posts")
            .key(key)
            .idempotency_key(idempotency_key)
            .json(body)
            .send()
            .await;
        if r.status != 503 {
            return r.expect(202)["postSubmissionId"]
                .as_str()
                .expect("postSubmissionId")
                .to_string();
        }
        r.error(503, "unavailable");
        assert!(
            Instant::now() < deadline,
            "POST /v1/posts answered 503 for {HANG_GUARD:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apis_and_three_workers_publish_five_thousand_targets_exactly_once() {
    let started = Instant::now();
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let mut apis = Vec::new();
    for _ in 0..2 {
        apis.push(
            env.api()
                .env("SOKU_RATE_LIMIT_PRO", "1000000")
                .spawn()
                .await,
        );
    }
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let spec = rerun_quickly(WorkerSpec::new().sink(&url));
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(env.spawn_worker(&spec).await);
    }

    // Requests alternate between the two APIs, 32 in flight; every fourth post is scheduled a few seconds
    // after it is sent, so scheduled posts fall due while immediate ones are still coming in.
    let run = random_alnum(8);
    let ids: Vec<String> = futures::stream::iter(0..POSTS)
        .map(|i| {
            let (api, key, run) = (&apis[i % 2], &acct.test_key, &run);
            async move {
                let mut body = text_post(&format!("scale-out {i}"), json!(PLATFORMS));
                if i % 4 == 0 {
                    body["scheduledTime"] = json!(time_from_now(3));
                }
                create_once(api, key, &format!("scale-out-{run}-{i}"), &body).await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let intake = started.elapsed();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), POSTS, "one post per request");

    assert_delivered_exactly_once(&env, &sink, POSTS * PLATFORMS.len(), HANG_GUARD).await;

    let by_worker = attempts_by_worker(&env).await;
    let names: Vec<String> = workers.iter().map(|w| w.name().to_string()).collect();
    for w in &names {
        assert!(
            by_worker.get(w).is_some_and(|n| *n > 0),
            "worker {w} made no attempt: {by_worker:?}"
        );
    }
    let strangers: Vec<&String> = by_worker.keys().filter(|w| !names.contains(w)).collect();
    assert!(
        strangers.is_empty(),
        "attempts by workers this test did not start: {strangers:?}"
    );
    for w in &mut workers {
        assert!(w.running(), "worker {} exited:\n{}", w.name(), w.log());
    }
    for api in &apis {
        api.assert_healthy().await;
    }
    let shares: Vec<i64> = names.iter().map(|w| by_worker[w]).collect();
    eprintln!(
        "scale-out: {} targets; intake {:.1} s, all settled and checked at {:.1} s; attempts per worker {shares:?}",
        POSTS * PLATFORMS.len(),
        intake.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
