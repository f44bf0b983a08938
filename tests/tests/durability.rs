//! Nothing lost, nothing twice (docs/architecture.md "Durability rules"): workers killed with SIGKILL mid-run, Redis
//! flushed or restarted empty, a burst of posts due in one second, a worker restarted at once. Deliveries are
//! counted by a sink in this test process, outside the workers, so a crash cannot hide a duplicate, and every
//! test ends with the same check of them (`assert_delivered_exactly_once`, after a quiet period).

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use soku_tests::*;

const PLATFORMS: [&str; 4] = ["x", "threads", "linkedin", "facebook"];

/// Creates `n` posts (each to `PLATFORMS`), `scheduled` at one time when given, 32 requests in flight.
async fn create_many(api: &ApiProc, key: &str, n: usize, scheduled: Option<&str>) -> Vec<String> {
    create_many_with(api, key, n, scheduled, None).await
}

/// Like [`create_many`], with the sandbox told to behave as `sandbox` says.
async fn create_many_with(
    api: &ApiProc,
    key: &str,
    n: usize,
    scheduled: Option<&str>,
    sandbox: Option<Value>,
) -> Vec<String> {
    futures::stream::iter(0..n)
        .map(|i| {
            let sandbox = sandbox.clone();
            async move {
                let mut body = text_post(&format!("post {i}"), json!(PLATFORMS));
                if let Some(at) = scheduled {
                    body["scheduledTime"] = json!(at);
                }
                if let Some(sandbox) = sandbox {
                    body["sandbox"] = sandbox;
                }
                create_post(api, key, &body).await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await
}

/// X's and LinkedIn's attempts each take 150 ms before the delivery, so that a kill lands mid-attempt.
fn slow_platforms() -> Value {
    json!({
        "x": {"behavior": "slow", "delayMs": 150, "times": 100},
        "linkedin": {"behavior": "slow", "delayMs": 150, "times": 100},
    })
}

/// The victim's attempts under way: rows it opened in `publish_attempts` and has not closed.
async fn in_flight(db: &sqlx::PgPool, worker: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM publish_attempts WHERE worker = $1 AND outcome IS NULL",
    )
    .bind(worker)
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn sigkill_again_and_again_loses_nothing_and_sends_nothing_twice() {
    let (env, acct, api) = setup_unlimited().await;
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    // 500 posts × 4 platforms = 2,000 targets, all accepted before any worker runs: the kills land while
    // publishing, not while posts come in.
    let ids = create_many_with(&api, &acct.test_key, 500, None, Some(slow_platforms())).await;
    assert_eq!(ids.len(), 500);
    let spec = rerun_quickly(
        WorkerSpec::new()
            .sink(&url)
            .env("SOKU_CONCURRENCY_PUBLISH", "8"),
    );
    let _steady = env.spawn_worker(&spec).await;
    let mut victim = env.spawn_worker(&spec).await;
    let db = env.db().await;
    // Each kill comes once a random number of deliveries more have gone out since the last one (so that kills
    // land at different points of the run), and only while the victim has an attempt open in Postgres.
    let mut kills = 0;
    let mut open_at_kills = 0;
    while kills < 8 {
        let from = sink.deliveries();
        let more = rand::random_range(20..60);
        wait_until(HANG_GUARD, "deliveries to go on", || {
            sink.deliveries() >= (from + more).min(2000)
        })
        .await;
        let deadline = Instant::now() + HANG_GUARD;
        let open = loop {
            let open = in_flight(&db, victim.name()).await;
            if open > 0 {
                break open;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} never had an attempt under way:\n{}",
                victim.name(),
                victim.log()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        victim.kill9();
        kills += 1;
        open_at_kills += open;
        victim = env.spawn_worker(&spec).await;
    }
    db.close().await;
    assert_delivered_exactly_once(&env, &sink, 2000, Duration::from_secs(180)).await;
    let outcomes = attempts_by_outcome(&env).await;
    let interrupted = outcomes
        .get(&Some("interrupted".to_string()))
        .copied()
        .unwrap_or(0);
    assert!(
        interrupted > 0,
        "no attempt was interrupted: the kills did not land mid-attempt ({outcomes:?})"
    );
    eprintln!(
        "{kills} kills with {open_at_kills} attempts open at them; {interrupted} attempts interrupted, \
         every target then checked against the sink"
    );
}

/// A bound against hanging, not a speed requirement.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Polls `done` until it holds; panics after `timeout` naming `what` was awaited.
async fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many of `ids` have left `scheduled` (fallen due and been released for publishing).
async fn released(env: &TestEnv, ids: &[String]) -> i64 {
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
    let spec = rerun_quickly(
        WorkerSpec::new()
            .sink(&url)
            .env("SOKU_CONCURRENCY_PUBLISH", "4"),
    );
    let worker = env.spawn_worker(&spec).await;
    let at = time_from_now(4);
    let scheduled = create_many(&api, &acct.test_key, 150, Some(&at)).await;
    let now = create_many(&api, &acct.test_key, 150, None).await;
    // First flush while the immediate posts are being published: some delivered, not all.
    wait_until(HANG_GUARD, "the first deliveries", || sink.deliveries() > 0).await;
    env.flush_redis().await;
    let later = create_many(&api, &acct.test_key, 50, None).await;
    // Second flush once the scheduled posts have fallen due and are being handed over.
    let deadline = Instant::now() + HANG_GUARD;
    while released(&env, &scheduled).await == 0 {
        assert!(Instant::now() < deadline, "no scheduled post was released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.flush_redis().await;
    assert_eq!(scheduled.len() + now.len() + later.len(), 350);
    assert_delivered_exactly_once(&env, &sink, 1400, Duration::from_secs(120)).await;
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
    let mut worker = env
        .spawn_worker(&rerun_quickly(WorkerSpec::new().sink(&url)))
        .await;
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
    assert_delivered_exactly_once(&env, &sink, 320, Duration::from_secs(60)).await;
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
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let worker_spec = WorkerSpec::new().sink(&url).env("SOKU_LEASE_SECS", "30");
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
    // Every post delivered once, counted by the sink (outside the worker).
    assert_delivered_exactly_once(&env, &sink, 10_000, HANG_GUARD).await;
    let statuses = env.target_statuses().await;
    assert_eq!(statuses, vec![("published".to_string(), 10_000)]);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 10_000);
    // Lateness as a client sees it: each target's publishedAt past its post's scheduledTime.
    let late: (f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.published_at - p.scheduled_time)),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t.published_at - p.scheduled_time))
         FROM post_targets t JOIN posts p ON p.id = t.post_id",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    eprintln!(
        "burst: largest due set {largest}; publishedAt - scheduledTime p50 {:.3} s, p99 {:.3} s",
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
