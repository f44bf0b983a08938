//! One isolated Soku installation per test: its own database, Redis prefix, master key and working directory,
//! and the `soku` command line run against them. It must never touch another test's database or keys, so that
//! tests run in parallel.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

use crate::fixtures::{random_hex, random_lower};
use crate::inspect::delete_redis_prefix;
use crate::process::{ApiBuilder, ApiProc, soku_bin};

const DEFAULT_ADMIN_URL: &str = "postgres://soku:soku@127.0.0.1:5432/postgres";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Longest a CLI command may run before the test gives up on it.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// An account made with `soku admin`, with one live and one test key.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub live_key: String,
    pub live_key_id: String,
    pub test_key: String,
    pub test_key_id: String,
}

pub struct TestEnv {
    pub db_name: String,
    pub database_url: String,
    admin_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub master_key: String,
    /// Working directory of every process (so no stray `./soku.toml` is read) and home of the logs and media.
    pub dir: PathBuf,
    pub bin: PathBuf,
}

/// The usual start of a test: a fresh environment, an active `pro` account and one `soku api`.
pub async fn setup() -> (TestEnv, Account, ApiProc) {
    let env = TestEnv::new().await;
    let account = env.active_account().await;
    let api = env.spawn_api().await;
    (env, account, api)
}

/// Like [`setup`], with a rate limit far above what a test sends, for tests that make hundreds of requests.
pub async fn setup_unlimited() -> (TestEnv, Account, ApiProc) {
    let env = TestEnv::new().await;
    let account = env.active_account().await;
    let api = env
        .api()
        .env("SOKU_RATE_LIMIT_PRO", "1000000")
        .spawn()
        .await;
    (env, account, api)
}

impl TestEnv {
    /// A fresh database (created and migrated) and a fresh Redis prefix.
    pub async fn new() -> Self {
        let admin_url =
            std::env::var("SOKU_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
        Self::on_postgres(&admin_url).await
    }

    /// Like [`TestEnv::new`], on the Postgres server `admin_url` connects to (a test's private server).
    pub async fn on_postgres(admin_url: &str) -> Self {
        let admin_url = admin_url.to_string();
        let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.into());
        let db_name = format!("soku_t_{}", random_lower(16));
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("cannot connect to Postgres at {admin_url} ({e}); start it (scripts/test.sh does) or set SOKU_TEST_DATABASE_URL")
        });
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{db_name}\""
            )))
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        let dir = std::env::temp_dir().join("soku-tests").join(&db_name);
        std::fs::create_dir_all(dir.join("data")).expect("create the test's working directory");
        let env = TestEnv {
            database_url: with_database(&admin_url, &db_name),
            db_name,
            admin_url,
            redis_url,
            redis_prefix: format!("t{}", random_lower(12)),
            master_key: random_hex(32),
            dir,
            bin: soku_bin(),
        };
        let out = env.run(&["migrate"], &[]).await;
        assert!(
            out.status.success(),
            "soku migrate failed:\n{}",
            describe(&out)
        );
        env
    }

    /// The environment every `soku` process of this test gets, before per-process overrides.
    pub fn base_env(&self) -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), self.database_url.clone()),
            ("REDIS_URL".into(), self.redis_url.clone()),
            ("SOKU_REDIS_PREFIX".into(), self.redis_prefix.clone()),
            ("SOKU_MASTER_KEY".into(), self.master_key.clone()),
            (
                "SOKU_DATA_DIR".into(),
                self.dir.join("data").display().to_string(),
            ),
            ("SOKU_LOG".into(), "info".into()),
            // Posts in tests name media at hosts on the internet (cdn.example.com): importing them would make the
            // server resolve those names. Tests of the import turn it on, with loopback URLs.
            ("SOKU_MEDIA_IMPORT".into(), "off".into()),
            // Many tests run at once against one Postgres: keep each process's share of connections small.
            ("SOKU_DB_POOL_SIZE".into(), "8".into()),
        ]
    }

    /// `soku ARGS` with this test's environment plus `overrides` (an empty value removes the variable).
    pub fn command(&self, args: &[&str], overrides: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).current_dir(&self.dir).stdin(Stdio::null());
        // Whatever the developer's shell says about Soku must not leak into a test.
        for (key, _) in std::env::vars() {
            if key.starts_with("SOKU_") || key == "DATABASE_URL" || key == "REDIS_URL" {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.base_env());
        for (key, value) in overrides {
            if value.is_empty() {
                cmd.env_remove(key);
            } else {
                cmd.env(key, value);
            }
        }
        cmd
    }

    /// Runs `soku ARGS` to completion (killed after a minute) and returns what it printed.
    pub async fn run(&self, args: &[&str], overrides: &[(&str, &str)]) -> Output {
        let mut cmd = tokio::process::Command::from(self.command(args, overrides));
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        match tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output()).await {
            Ok(out) => out.expect("wait for soku"),
            Err(_) => panic!(
                "`soku {}` did not finish within {CLI_TIMEOUT:?}",
                args.join(" ")
            ),
        }
    }

    /// `soku admin ARGS`, which must succeed and print one JSON object.
    pub async fn admin(&self, args: &[&str]) -> Value {
        let out = self.run(&[&["admin"], args].concat(), &[]).await;
        assert!(
            out.status.success(),
            "`soku admin {}` failed:\n{}",
            args.join(" "),
            describe(&out)
        );
        let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "`soku admin {}` printed no single JSON value ({e}):\n{}",
                args.join(" "),
                describe(&out)
            )
        });
        assert!(
            value.is_object(),
            "`soku admin {}` printed {value}, not an object",
            args.join(" ")
        );
        value
    }

    /// `soku admin ARGS`, which must fail with exactly one line on stderr and nothing on stdout; returns the line.
    pub async fn admin_fail(&self, args: &[&str]) -> String {
        let out = self.run(&[&["admin"], args].concat(), &[]).await;
        // docs/configuration.md: an operator command that fails exits 1.
        assert_eq!(
            out.status.code(),
            Some(1),
            "`soku admin {}` should have failed with exit code 1:\n{}",
            args.join(" "),
            describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert!(
            !stderr.is_empty() && !stderr.contains('\n'),
            "`soku admin {}` must fail with one line on stderr:\n{}",
            args.join(" "),
            describe(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "a failed admin command printed on stdout:\n{}",
            describe(&out)
        );
        stderr
    }

    /// A new account (`plan`, `status`) with a live and a test key.
    pub async fn account(&self, plan: &str, status: &str) -> Account {
        let acct = self
            .admin(&[
                "account", "create", "--name", "e2e", "--plan", plan, "--status", status,
            ])
            .await;
        let id = str_field(&acct, "accountId");
        let live = self
            .admin(&["key", "create", &id, "--name", "live", "--mode", "live"])
            .await;
        let test = self
            .admin(&["key", "create", &id, "--name", "test", "--mode", "test"])
            .await;
        Account {
            live_key: str_field(&live, "apiKey"),
            live_key_id: str_field(&live, "id"),
            test_key: str_field(&test, "apiKey"),
            test_key_id: str_field(&test, "id"),
            id,
        }
    }

    /// An active `pro` account: the usual one when the test is not about plans or subscriptions.
    pub async fn active_account(&self) -> Account {
        self.account("pro", "active").await
    }

    pub fn api(&self) -> ApiBuilder<'_> {
        ApiBuilder::new(self)
    }

    /// `soku api` on a free port, answering `/healthz`.
    pub async fn spawn_api(&self) -> ApiProc {
        self.api().spawn().await
    }
}

impl Drop for TestEnv {
    /// Best effort: drop the database and the Redis keys (kept when `SOKU_TEST_KEEP` is set, to look at them).
    fn drop(&mut self) {
        if std::env::var_os("SOKU_TEST_KEEP").is_some() {
            eprintln!(
                "kept database {} and Redis prefix {}",
                self.db_name, self.redis_prefix
            );
            return;
        }
        let (admin_url, db_name) = (self.admin_url.clone(), self.db_name.clone());
        let (redis_url, prefix) = (self.redis_url.clone(), self.redis_prefix.clone());
        let dir = self.dir.clone();
        // A failed test keeps its process logs.
        let panicking = std::thread::panicking();
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)");
                    let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
                }
                let _ = delete_redis_prefix(&redis_url, &prefix).await;
            });
            if !panicking {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
        let _ = cleanup.join();
    }
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

pub(crate) fn str_field(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("expected a string \"{field}\" in {value}"))
        .to_string()
}

/// Exit status, stdout and stderr of a finished command, for assertion messages.
pub(crate) fn describe(out: &Output) -> String {
    format!(
        "exit: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
