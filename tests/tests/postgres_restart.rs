//! The worker and the API ride out a Postgres restart (docs/architecture.md "Durability rules"): on a Postgres
//! server of this test's own, stopped (`pg_ctl stop -m fast`) and started again on the same port while posts
//! are being published and scheduled ones fall due. Meanwhile the API answers `503 unavailable`; afterwards
//! every accepted post is published exactly once, counted by a sink in this test process, outside the workers.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use soku_tests::*;

const PLATFORMS: [&str; 4] = ["x", "threads", "linkedin", "facebook"];
/// A bound against hanging, not a speed requirement.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A Postgres cluster of this test's own (initdb into a temporary directory), so that it can be stopped and
/// started again. initdb and the server refuse to run as root: as root they run as the `postgres` OS user.
struct PrivatePostgres {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    async fn start() -> PrivatePostgres {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = std::env::temp_dir()
            .join("soku-tests")
            .join(format!("pg-{}", random_alnum(12).to_ascii_lowercase()));
        std::fs::create_dir_all(&root).expect("create the cluster's directory");
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres", &root.display().to_string()])
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {}", root.display());
        }
        let pg = PrivatePostgres {
            root,
            bin: server_bin_dir(),
            port,
            as_postgres,
        };
        let data = pg.data().display().to_string();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "soku",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )
        .await;
        pg.start_again().await;
        pg
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn admin_url(&self) -> String {
        format!("postgres://soku:soku@127.0.0.1:{}/postgres", self.port)
    }

    /// `tool ARGS` from the server binaries, as the `postgres` OS user when this test runs as root.
    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).current_dir(&self.root).stdin(Stdio::null());
        cmd
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let out = tokio::process::Command::from(self.command(tool, args))
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed ({}):\n{}\n{}\n--- server log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// Starts the server on its port (the same every time) and waits until it accepts connections.
    async fn start_again(&self) {
        let (data, log) = (self.data(), self.root.join("server.log"));
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.root.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &log.display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "120",
                "start",
            ],
        )
        .await;
    }

    /// `pg_ctl stop -m fast`: every session is cut off, and the server is gone when this returns.
    async fn stop(&self) {
        let data = self.data().display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "120", "stop"],
        )
        .await;
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self
            .command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // A failed test keeps the server's log.
        if std::thread::panicking() {
            eprintln!(
                "kept the private Postgres's directory {}",
                self.root.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` (Debian's layout), else `pg_config --bindir`.
fn server_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("the Postgres server binaries (initdb, pg_ctl) must be installed");
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        Path::new(&bin).join("initdb").is_file(),
        "initdb not found under {}",
        bin.display()
    );
    bin
}

/// A post to every one of `PLATFORMS`, `scheduled` at one time when given; X's attempts take a second, so that
/// some are under way when Postgres stops.
fn body(text: &str, scheduled: Option<&str>) -> Value {
    let mut body = text_post(text, json!(PLATFORMS));
    body["sandbox"] = json!({"x": {"behavior": "slow", "delayMs": 1000, "times": 100}});
    if let Some(at) = scheduled {
        body["scheduledTime"] = json!(at);
    }
    body
}

/// Creates `n` posts, 8 requests in flight; their ids.
async fn create_many(
    api: &ApiProc,
    key: &str,
    tag: &str,
    n: usize,
    at: Option<&str>,
) -> Vec<String> {
    futures::stream::iter(0..n)
        .map(|i| async move { create_post(api, key, &body(&format!("{tag} {i}"), at)).await })
        .buffer_unordered(8)
        .collect()
        .await
}

/// Polls `done` until it holds; panics after `timeout` naming what was awaited.
async fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_past(at: &str) {
    let due = chrono::DateTime::parse_from_rfc3339(at).unwrap();
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `POST /v1/posts` within the hang guard.
async fn try_create(api: &ApiProc, key: &str, body: &Value) -> Resp {
    tokio::time::timeout(HANG_GUARD, api.post_json("/v1/posts", key, body))
        .await
        .unwrap_or_else(|_| panic!("POST /v1/posts hung for {HANG_GUARD:?}"))
}

/// The documented answer while a dependency is down: 503 `unavailable` with a `Retry-After` of whole seconds.
fn assert_unavailable(r: &Resp) {
    r.error(503, "unavailable");
    let retry = r.header("retry-after");
    assert!(
        retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)),
        "503 without a usable Retry-After ({retry:?}): {}",
        r.text
    );
}

#[tokio::test]
async fn the_worker_and_the_api_ride_out_a_postgres_restart() {
    // Declared first, dropped last: the installation's database is dropped while the server still runs.
    let pg = PrivatePostgres::start().await;
    let env = TestEnv::on_postgres(&pg.admin_url()).await;
    let acct = env.active_account().await;
    let key = &acct.test_key;
    let api = env
        .api()
        .env("SOKU_RATE_LIMIT_PRO", "1000000")
        .spawn()
        .await;
    let (sink, url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let mut worker = env
        .spawn_worker(&rerun_quickly(WorkerSpec::new().sink(&url)))
        .await;

    // Before: scheduled posts that fall due while Postgres is away, and immediate ones being published when it
    // goes (some delivered, X's attempts under way).
    let at = time_from_now(4);
    let mut accepted = create_many(&api, key, "due during", 10, Some(&at)).await;
    accepted.extend(create_many(&api, key, "before", 20, None).await);
    wait_until(HANG_GUARD, "the first deliveries", || sink.deliveries() > 0).await;
    pg.stop().await;

    // During: the worker notices and says so; every post is refused with 503 unavailable, never a 500 or a hang.
    wait_until(HANG_GUARD, "the worker to log the outage", || {
        worker.log().contains("reconciler step failed")
    })
    .await;
    for i in 0..4 {
        let scheduled = (i % 2 == 1).then(|| time_from_now(30));
        let r = try_create(
            &api,
            key,
            &body(&format!("refused {i}"), scheduled.as_deref()),
        )
        .await;
        assert_unavailable(&r);
    }
    assert!(
        worker.running(),
        "the worker died with Postgres:\n{}",
        worker.log()
    );
    // Back only once the scheduled posts are due, so that they fall due during the outage.
    wait_past(&at).await;
    pg.start_again().await;

    // After: the API reconnects (a request that meets the reconnection may still get 503), then takes posts again.
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let r = try_create(&api, key, &body("after", None)).await;
        if r.status == 202 {
            accepted.push(r.json["postSubmissionId"].as_str().unwrap().to_string());
            break;
        }
        assert_unavailable(&r);
        assert!(
            Instant::now() < deadline,
            "the API never reconnected to Postgres"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let later = time_from_now(3);
    accepted.extend(create_many(&api, key, "scheduled after", 10, Some(&later)).await);
    accepted.extend(create_many(&api, key, "after", 10, None).await);
    wait_past(&later).await;

    // Every accepted post, and only those, published exactly once.
    assert_delivered_exactly_once(&env, &sink, accepted.len() * PLATFORMS.len(), HANG_GUARD).await;
    let db = env.db().await;
    let posts: Vec<(String, String)> = sqlx::query_as("SELECT id, status FROM posts ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap();
    let mut expected = accepted.clone();
    expected.sort();
    assert_eq!(
        posts.iter().map(|p| p.0.clone()).collect::<Vec<_>>(),
        expected,
        "the stored posts are exactly the accepted ones"
    );

    // Both processes are still the ones started before the outage, and the worker logged it and its end.
    assert!(worker.running(), "the worker exited:\n{}", worker.log());
    let log = worker.log();
    assert!(log.contains("reconciler working again"), "{log}");
    api.assert_healthy().await;
    let interrupted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM publish_attempts WHERE outcome = 'interrupted'")
            .fetch_one(&db)
            .await
            .unwrap();
    eprintln!(
        "{} posts accepted; {interrupted} attempts cut off by the outage and checked against the sink",
        accepted.len()
    );
    db.close().await;
}
