//! Running `soku worker` as a real process: its output in a log file, ready once it logs "worker started",
//! killed (SIGKILL) when the test drops it. Tests kill and restart workers at will.

use std::fs::File;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::env::TestEnv;

static WORKER_SEQ: AtomicUsize = AtomicUsize::new(0);

/// How to start `soku worker`: environment overrides on top of the test's.
#[derive(Clone)]
pub struct WorkerSpec {
    pub overrides: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl WorkerSpec {
    /// Short leases and quick polling, so that recovery happens within a test's patience.
    pub fn new() -> Self {
        WorkerSpec {
            overrides: vec![
                ("SOKU_WORKER_METRICS_LISTEN".into(), "127.0.0.1:0".into()),
                ("SOKU_LEASE_SECS".into(), "2".into()),
                ("SOKU_RECONCILE_INTERVAL_MS".into(), "100".into()),
                ("SOKU_RETRY_BASE_MS".into(), "200".into()),
            ],
            args: vec!["worker".into()],
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.overrides.retain(|(k, _)| k != key);
        self.overrides.push((key.into(), value.into()));
        self
    }

    /// [`WorkerSpec::env`] for each pair.
    pub fn envs(self, pairs: &[(&str, &str)]) -> Self {
        pairs.iter().fold(self, |s, (k, v)| s.env(k, v))
    }

    pub fn sink(self, url: &str) -> Self {
        self.env("SOKU_SANDBOX_SINK_URL", url)
    }
}

impl Default for WorkerSpec {
    fn default() -> Self {
        Self::new()
    }
}

pub struct WorkerProc {
    child: Child,
    pub log_path: PathBuf,
    name: String,
}

impl TestEnv {
    /// Starts `soku worker` and waits until it has started its workers (and logged its name).
    pub async fn spawn_worker(&self, spec: &WorkerSpec) -> WorkerProc {
        let n = WORKER_SEQ.fetch_add(1, Ordering::Relaxed);
        let log_path = self.dir.join(format!("worker-{n}.log"));
        let log = File::create(&log_path).expect("create the worker log");
        let overrides: Vec<(&str, &str)> = spec
            .overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let args: Vec<&str> = spec.args.iter().map(String::as_str).collect();
        let mut cmd = self.command(&args, &overrides);
        cmd.stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log);
        let child = cmd.spawn().expect("start soku worker");
        let mut w = WorkerProc {
            child,
            log_path,
            name: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(name) = logged_name(&w.log()) {
                w.name = name;
                break;
            }
            if let Some(status) = w.child.try_wait().expect("try_wait") {
                panic!("soku worker exited ({status}) at start:\n{}", w.log());
            }
            assert!(
                Instant::now() < deadline,
                "soku worker did not start (or its \"worker started\" line names no worker=):\n{}",
                w.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        w
    }
}

impl WorkerProc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's name, as it logs it at start (`worker started worker=NAME`): also the owner of its leases
    /// and the `worker` of its rows in `publish_attempts`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// SIGKILL, and reap it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `timeout` for a clean exit; the exit status.
    pub async fn stop(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// The address of the worker's `/metrics` listener, as it logged it at start.
    pub fn metrics_addr(&self) -> String {
        self.log()
            .lines()
            .find(|l| l.contains("worker metrics listening"))
            .and_then(|l| l.split("addr=").nth(1))
            .map(|a| a.trim().to_string())
            .unwrap_or_else(|| panic!("the worker logs no metrics address:\n{}", self.log()))
    }

    /// The worker's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.metrics_addr());
        reqwest::get(&url)
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .text()
            .await
            .expect("the metrics body")
    }

    /// Waits until the worker's `/metrics` shows `series` (a name with its labels, as printed) at `at_least`
    /// or more; panics after `timeout` (a bound against hanging) with the last value.
    pub async fn wait_metric(&self, series: &str, at_least: f64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.metrics().await;
            let value = metric(&text, series);
            if value.is_some_and(|v| v >= at_least) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{series} did not reach {at_least} within {timeout:?} (last: {value:?}):\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The `worker=` field of the "worker started" line, once the log has it.
fn logged_name(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("worker started"))?;
    let name = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("worker="))?;
    Some(name.to_string())
}

/// The value of `series` (a metric name with its labels, exactly as printed) in Prometheus text, if present.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
