//! Running `soku api` as a real process: on a free port, its output in a log file, ready once `/healthz` answers,
//! killed when the test drops it. Signals go through `kill(1)` (the workspace forbids `unsafe`).

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::env::TestEnv;
use crate::http::Req;

/// A bound against hanging, not a speed requirement.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
static PROCESS_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The `soku` binary: `$SOKU_BIN`, else `soku` in the target directory these tests were built into.
pub(crate) fn soku_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SOKU_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "SOKU_BIN={} does not exist: run `cargo build -p soku` first",
            bin.display()
        );
        return bin;
    }
    let mut candidates = Vec::new();
    // Test executables live in <target>/<profile>/deps/.
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join("soku"));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("debug").join("soku"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/soku"));
    candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| {
        panic!(
            "the soku binary was not found (looked at {candidates:?}): run `cargo build -p soku` first, \
             with the same CARGO_TARGET_DIR, or set SOKU_BIN"
        )
    })
}

/// How to start one `soku api`: environment overrides on top of the test's.
pub struct ApiBuilder<'a> {
    env: &'a TestEnv,
    overrides: Vec<(String, String)>,
}

impl<'a> ApiBuilder<'a> {
    pub(crate) fn new(env: &'a TestEnv) -> Self {
        ApiBuilder {
            env,
            overrides: Vec::new(),
        }
    }

    /// Sets (or, with an empty value, removes) one environment variable of the process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }

    /// [`ApiBuilder::env`] for each pair.
    pub fn envs(self, pairs: &[(&str, &str)]) -> Self {
        pairs.iter().fold(self, |b, (k, v)| b.env(k, v))
    }

    pub async fn spawn(self) -> ApiProc {
        let mut last_log = String::new();
        // A port found free can be taken by another test before the server binds it: try a few.
        for _ in 0..3 {
            let addr = free_addr();
            let mut proc = self.start(addr);
            match proc.wait_healthy().await {
                Ok(()) => return proc,
                Err(log) if log.contains("in use") => last_log = log,
                Err(log) => panic!("soku api did not become healthy:\n{log}"),
            }
        }
        panic!("soku api could not bind a port:\n{last_log}")
    }

    fn start(&self, addr: SocketAddr) -> ApiProc {
        let n = PROCESS_SEQ.fetch_add(1, Ordering::Relaxed);
        let log_path = self.env.dir.join(format!("api-{n}.log"));
        let log = File::create(&log_path).expect("create the process log");
        let listen = addr.to_string();
        let mut overrides: Vec<(&str, &str)> = vec![("SOKU_LISTEN", &listen)];
        overrides.extend(self.overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut cmd = self.env.command(&["api"], &overrides);
        cmd.stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.env.bin.display()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // A test sees each answer as sent: a redirect is a 3xx with a Location, not the page it names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        ApiProc {
            child,
            addr,
            log_path,
            client,
        }
    }
}

/// A running `soku api`.
pub struct ApiProc {
    child: Child,
    pub addr: SocketAddr,
    pub log_path: PathBuf,
    pub client: reqwest::Client,
}

impl ApiProc {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn request(&self, method: Method, path: &str) -> Req<'_> {
        Req::new(self, method, path)
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.request(Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> Req<'_> {
        self.request(Method::DELETE, path)
    }

    /// `POST path` with a JSON body and `soku-api-key: key`.
    pub async fn post_json(&self, path: &str, key: &str, body: &serde_json::Value) -> crate::Resp {
        self.post(path).key(key).json(body).send().await
    }

    /// `GET path` with `soku-api-key: key`.
    pub async fn get_with(&self, path: &str, key: &str) -> crate::Resp {
        self.get(path).key(key).send().await
    }

    /// `DELETE path` with `soku-api-key: key`.
    pub async fn delete_with(&self, path: &str, key: &str) -> crate::Resp {
        self.delete(path).key(key).send().await
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
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

    /// Panics unless the process still answers `/healthz` and has logged no panic.
    pub async fn assert_healthy(&self) {
        self.get("/healthz").send().await.expect(200);
        let log = self.log();
        assert!(
            !log.contains("panicked"),
            "the server panicked:\n{}",
            self.log_tail(40)
        );
    }

    /// Everything the process has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `n` lines of the log, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    async fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = self.url("/healthz");
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Err(format!(
                    "soku api exited ({status}) before it was healthy:\n{}",
                    self.log()
                ));
            }
            let probe = self
                .client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if probe.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "soku api did not answer GET /healthz with 200 within {READY_TIMEOUT:?}:\n{}",
            self.log()
        ))
    }
}

impl Drop for ApiProc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of {} ---\n{}",
                self.log_path.display(),
                self.log_tail(40)
            );
        }
    }
}

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local_addr")
}
