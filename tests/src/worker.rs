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
}

impl TestEnv {
    /// Starts `soku worker` and waits until it has started its workers.
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
        let mut w = WorkerProc { child, log_path };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !w.log().contains("worker started") {
            if let Some(status) = w.child.try_wait().expect("try_wait") {
                panic!("soku worker exited ({status}) at start:\n{}", w.log());
            }
            assert!(
                Instant::now() < deadline,
                "soku worker did not start:\n{}",
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
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
