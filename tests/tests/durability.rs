//! Nothing lost, nothing twice (docs/architecture.md "Durability rules"): workers killed with SIGKILL mid-run, Redis
//! flushed or restarted empty, a burst of posts due in one second, a worker restarted at once. Deliveries are
//! counted by a sink in this test process, outside the workers, so a crash cannot hide a duplicate.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use soku_tests::*;

const PLATFORMS: [&str; 4] = ["x", "threads", "linkedin", "facebook"];

/// Creates `n` posts (each to `PLATFORMS`), `scheduled` at one time when given, 32 requests in flight.
async fn create_many(api: &ApiProc, key: &str, n: usize, scheduled: Option<&str>) -> Vec<String> {
    futures::stream::iter(0..n)
        .map(|i| async move {
            let mut body = text_post(&format!("post {i}"), json!(PLATFORMS));
            if let Some(at) = scheduled {
                body["scheduledTime"] = json!(at);
            }
            create_post(api, key, &body).await
        })
        .buffer_unordered(32)
        .collect()
        .await
}

/// Every target of the installation: (target id, status, platform post id).
async fn targets(env: &TestEnv) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as("SELECT id, status, platform_post_id FROM post_targets")
        .fetch_all(&env.db().await)
        .await
        .unwrap()
}

/// Every target published and delivered exactly once, with the id the sink first recorded.
async fn assert_each_delivered_once(env: &TestEnv, sink: &Sink, expected: usize) {
    let all = targets(env).await;
    assert_eq!(all.len(), expected);
    let not_published: Vec<_> = all.iter().filter(|t| t.1 != "published").collect();
    assert!(
        not_published.is_empty(),
        "{} targets not published (the sink can be asked, so none may stay unknown): {:?}",
        not_published.len(),
        &not_published[..not_published.len().min(5)]
    );
    let dups = sink.duplicates();
    assert!(dups.is_empty(), "delivered more than once: {dups:?}");
    let missing: Vec<_> = all.iter().filter(|t| sink.count(&t.0) != 1).collect();
    assert!(
        missing.is_empty(),
        "not delivered: {:?}",
        &missing[..missing.len().min(5)]
    );
    assert_eq!(sink.stats()["deliveries"], expected);
}

#[tokio::test]
async fn sigkill_again_and_again_loses_nothing_and_sends_nothing_twice() {
    let (env, acct, api) = setup_unlimited().await;
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let spec = WorkerSpec::new()
        .sink(&url)
        .env("SOKU_CONCURRENCY_PUBLISH", "8");
    let _steady = env.spawn_worker(&spec).await;
    let mut victim = env.spawn_worker(&spec).await;
    // 500 posts × 4 platforms = 2,000 targets, each a little slow so that kills land mid-attempt.
    let mut ids = Vec::new();
    for chunk in 0..5 {
        let batch: Vec<String> = futures::stream::iter(0..100)
            .map(|i| {
                let api = &api;
                let key = &acct.test_key;
                async move {
                    let mut body = text_post(&format!("crash {chunk}-{i}"), json!(PLATFORMS));
                    body["sandbox"] = json!({
                        "x": {"behavior": "slow", "delayMs": 150, "times": 100},
                        "linkedin": {"behavior": "slow", "delayMs": 150, "times": 100},
                    });
                    create_post(api, key, &body).await
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        ids.extend(batch);
    }
    // Each kill comes once more deliveries have gone out since the last one (so the new victim is at work),
    // at a random count, so that kills land at different points of an attempt.
    let mut kills = 0;
    while kills < 8 {
        let from = sink_deliveries(&sink);
        let more = 20 + rand_ms(40);
        wait_until(HANG_GUARD, "deliveries to go on", || {
            sink_deliveries(&sink) >= (from + more).min(2000)
        })
        .await;
        victim.kill9();
        kills += 1;
        victim = env.spawn_worker(&spec).await;
    }
    env.wait_all_settled(Duration::from_secs(180)).await;
    assert_eq!(ids.len(), 500);
    assert_each_delivered_once(&env, &sink, 2000).await;
    let interrupted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM publish_attempts WHERE outcome = 'interrupted'")
            .fetch_one(&env.db().await)
            .await
            .unwrap();
    eprintln!("{kills} kills; {interrupted} attempts interrupted and checked against the sink");
}

fn rand_ms(max: u64) -> u64 {
    (random_alnum(4).bytes().map(u64::from).sum::<u64>() * 7919) % max
}

/// A bound against hanging, not a speed requirement.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn sink_deliveries(sink: &Sink) -> u64 {
    sink.stats()["deliveries"].as_u64().unwrap_or(0)
}

/// Polls `done` until it holds; panics after `timeout` naming `what` was awaited.
async fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many of `ids` have left `scheduled` (been dispatched).
async fn dispatched(env: &TestEnv, ids: &[String]) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM posts WHERE id = ANY($1) AND status <> 'scheduled'")
        .bind(ids)
        .fetch_one(&env.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_flushed_redis_loses_nothing() {
    let (env, acct, api) = setup_unlimited().await;
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let spec = WorkerSpec::new()
        .sink(&url)
        .env("SOKU_CONCURRENCY_PUBLISH", "4");
    let worker = env.spawn_worker(&spec).await;
    let at = time_from_now(4);
    let scheduled = create_many(&api, &acct.test_key, 150, Some(&at)).await;
    let now = create_many(&api, &acct.test_key, 150, None).await;
    // First flush while the immediate posts are being published: some delivered, not all.
    wait_until(HANG_GUARD, "the first deliveries", || {
        sink_deliveries(&sink) > 0
    })
    .await;
    env.flush_redis().await;
    let later = create_many(&api, &acct.test_key, 50, None).await;
    // Second flush once the scheduled posts have fallen due and are being handed over.
    let deadline = Instant::now() + HANG_GUARD;
    while dispatched(&env, &scheduled).await == 0 {
        assert!(
            Instant::now() < deadline,
            "no scheduled post was dispatched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.flush_redis().await;
    env.wait_all_settled(Duration::from_secs(120)).await;
    assert_eq!(scheduled.len() + now.len() + later.len(), 350);
    assert_each_delivered_once(&env, &sink, 1400).await;
    assert!(
        worker.log().contains("Redis has lost its data"),
        "the worker should say it re-derived the work:\n{}",
        worker.log()
    );
}

/// A Redis of this test's own, so that it can be killed and restarted empty.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        let deadline = Instant::now() + HANG_GUARD;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { port, child }
    }
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn workers_ride_out_redis_going_away_and_coming_back_empty() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = PrivateRedis::start(port);
    let mut env = TestEnv::new().await;
    env.redis_url = redis.url();
    let acct = env.active_account().await;
    let api = env
        .api()
        .env("SOKU_RATE_LIMIT_PRO", "1000000")
        .spawn()
        .await;
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let mut worker = env.spawn_worker(&WorkerSpec::new().sink(&url)).await;
    // Scheduled to fall due while Redis is away, and immediate ones published before.
    let at = time_from_now(3);
    create_many(&api, &acct.test_key, 40, Some(&at)).await;
    create_many(&api, &acct.test_key, 40, None).await;
    redis.kill();
    // Back only once the worker has noticed, and the scheduled posts are due.
    wait_until(HANG_GUARD, "the worker to log Redis unreachable", || {
        worker.log().contains("Redis is unreachable")
    })
    .await;
    let due = chrono::DateTime::parse_from_rfc3339(&at).unwrap();
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    redis = PrivateRedis::start(port);
    env.wait_all_settled(Duration::from_secs(60)).await;
    assert_each_delivered_once(&env, &sink, 320).await;
    assert!(
        worker.running(),
        "the worker died with Redis:\n{}",
        worker.log()
    );
    let log = worker.log();
    assert!(log.contains("Redis is unreachable"), "{log}");
    assert!(log.contains("Redis is reachable again"), "{log}");
    // And it still works afterwards: the API reconnects too. A request that meets the reconnection gets the
    // documented 503 unavailable (retry), nothing else.
    let deadline = Instant::now() + HANG_GUARD;
    let id = loop {
        let r = api
            .post_json(
                "/v1/posts",
                &acct.test_key,
                &text_post("after", json!(["x"])),
            )
            .await;
        if r.status == 202 {
            break r.json["postSubmissionId"].as_str().unwrap().to_string();
        }
        r.error(503, "unavailable");
        assert!(
            Instant::now() < deadline,
            "the API never reconnected to Redis"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let post = wait_post(&api, &acct.test_key, &id, HANG_GUARD, settled).await;
    assert_eq!(post["status"], "published");
    drop(redis);
}

#[tokio::test]
async fn ten_thousand_posts_due_in_the_same_second_all_publish() {
    let (env, acct, api) = setup_unlimited().await;
    let worker_spec = WorkerSpec::new().env("SOKU_LEASE_SECS", "30");
    // All due at one instant, and no worker runs until then: the worker starts with 10,000 posts due at once.
    // (A post created after that instant, on a slow machine, is accepted as due now, and is due as well.)
    let at = time_from_now(40);
    let ids: Vec<String> = futures::stream::iter(0..10_000)
        .map(|i| {
            let api = &api;
            let key = &acct.test_key;
            let at = &at;
            async move {
                let mut body = text_post(&format!("burst {i}"), json!([PLATFORMS[i % 4]]));
                body["scheduledTime"] = json!(at);
                create_post(api, key, &body).await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let due = chrono::DateTime::parse_from_rfc3339(&at).unwrap();
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut worker = env.spawn_worker(&worker_spec).await;
    // Watch the largest due set any queue reaches in Redis while the burst goes through.
    let mut conn = env.redis().await;
    let mut largest = 0u64;
    let deadline = Instant::now() + Duration::from_secs(180);
    let db = env.db().await;
    loop {
        for q in [
            "publish:x",
            "publish:threads",
            "publish:linkedin",
            "publish:facebook",
        ] {
            let n: u64 = redis::cmd("ZCARD")
                .arg(format!("{}:{q}:ready", env.redis_prefix))
                .query_async(&mut conn)
                .await
                .unwrap_or(0);
            largest = largest.max(n);
        }
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM posts WHERE status IN ('scheduled', 'queued', 'publishing')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} posts still open: {:?}",
            env.target_statuses().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(worker.running(), "the worker crashed:\n{}", worker.log());
    let log = worker.log();
    assert!(!log.contains("worker stopped on an error"), "{log}");
    assert!(largest <= 4000, "a queue held {largest} due jobs at once");
    let delivered: (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT client_ref) FROM sandbox_posts")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(delivered, (10_000, 10_000), "every post delivered once");
    let statuses = env.target_statuses().await;
    assert_eq!(statuses, vec![("published".to_string(), 10_000)]);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 10_000);
    let late: (f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - scheduled_time)),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - scheduled_time))
         FROM posts",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    eprintln!(
        "burst: largest due set {largest}; dispatch lateness p50 {:.3} s, p99 {:.3} s",
        late.0, late.1
    );
}

#[tokio::test]
async fn a_worker_stopped_and_started_again_at_once_works() {
    let (env, acct, api) = setup().await;
    let spec = WorkerSpec::new();
    let mut first = env.spawn_worker(&spec).await;
    let id = create_post(&api, &acct.test_key, &text_post("one", json!(["x"]))).await;
    wait_post(&api, &acct.test_key, &id, HANG_GUARD, settled).await;
    let status = first.stop(HANG_GUARD).await.expect("a clean stop");
    assert!(status.success(), "{status}\n{}", first.log());
    assert!(first.log().contains("worker stopped"));
    let second = env.spawn_worker(&spec).await;
    let id = create_post(
        &api,
        &acct.test_key,
        &text_post("two", json!(["x", "threads"])),
    )
    .await;
    let post = wait_post(&api, &acct.test_key, &id, HANG_GUARD, settled).await;
    assert_eq!(post["status"], "published", "{}", second.log());
    assert!(!second.log().contains("still active"), "{}", second.log());
}
