//! One `Settings` struct for every process: defaults, then an optional `soku.toml`, then the environment.
//! Every value is checked here, at start, so that a bad setting stops the process with its name.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::account::Plan;
use crate::platform::Platform;

/// A setting that could not be used, named as the operator wrote it.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    pub name: String,
    pub message: String,
}

fn bad(name: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        name: name.to_string(),
        message: message.into(),
    }
}

/// What `soku.toml` may hold: every key is optional and named like its environment variable without the
/// `SOKU_` prefix, in lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    redis_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    master_key: Option<String>,
    data_dir: Option<String>,
    redis_prefix: Option<String>,
    max_body_bytes: Option<u64>,
    schedule_tolerance_secs: Option<u64>,
    rate_limit_trial: Option<u64>,
    rate_limit_starter: Option<u64>,
    rate_limit_pro: Option<u64>,
    rate_limit_business: Option<u64>,
    db_pool_size: Option<u64>,
    log: Option<String>,
    concurrency_dispatch: Option<u64>,
    concurrency_publish: Option<u64>,
    concurrency_threads: Option<u64>,
    concurrency_x: Option<u64>,
    concurrency_linkedin: Option<u64>,
    concurrency_instagram: Option<u64>,
    concurrency_facebook: Option<u64>,
    concurrency_tiktok: Option<u64>,
    concurrency_youtube: Option<u64>,
    poll_interval_ms: Option<u64>,
    lease_secs: Option<u64>,
    requeue_after_secs: Option<u64>,
    reconcile_interval_ms: Option<u64>,
    publish_max_attempts: Option<u64>,
    retry_base_ms: Option<u64>,
    sandbox_sink_url: Option<String>,
    worker_metrics_listen: Option<String>,
    header_read_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<u64>,
}

/// How the workers run (see docs/configuration.md).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs one process runs at once from the dispatch queue.
    pub concurrency_dispatch: usize,
    /// Jobs one process runs at once from each platform's publish queue, in [`Platform::ALL`] order.
    pub concurrency_publish: [usize; 7],
    /// How often an idle worker asks Redis for work.
    pub poll_interval_ms: u64,
    /// How long a publish attempt's lease lasts without renewal (renewed every third of it while it runs).
    pub lease_secs: u64,
    /// A job handed to Redis this long ago without being taken is handed over again.
    pub requeue_after_secs: u64,
    /// How often the reconciler runs (due scheduled posts, retries, expired leases, checks).
    pub reconcile_interval_ms: u64,
    /// Automatic attempts of a target before it is `failed` (a manual retry starts a new round).
    pub publish_max_attempts: u32,
    /// The first retry's delay; each later one doubles, with jitter, up to 5 minutes.
    pub retry_base_ms: u64,
    /// Test mode only: every sandbox delivery is also sent to this URL (see docs/sandbox.md).
    pub sandbox_sink_url: Option<String>,
    /// Where `soku worker` serves `/metrics` (`soku serve` serves them on the API's address).
    pub metrics_listen: SocketAddr,
}

/// How the API's HTTP server treats slow clients (see docs/configuration.md, "HTTP server").
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub header_read_timeout_secs: u64,
    pub body_read_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    pub max_connections: usize,
}

/// Requests per minute allowed to one account, by plan.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub trial: u64,
    pub starter: u64,
    pub pro: u64,
    pub business: u64,
}

impl RateLimits {
    pub fn per_minute(&self, plan: Plan) -> u64 {
        match plan {
            Plan::Trial => self.trial,
            Plan::Starter => self.starter,
            Plan::Pro => self.pro,
            Plan::Business => self.business,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: SecretString,
    pub redis_url: SecretString,
    pub listen: SocketAddr,
    pub public_url: String,
    /// 32 bytes that seal stored platform credentials; `None` only where nothing is sealed or opened.
    pub master_key: Option<MasterKey>,
    pub data_dir: PathBuf,
    pub redis_prefix: String,
    pub max_body_bytes: usize,
    pub schedule_tolerance_secs: u64,
    pub rate_limits: RateLimits,
    pub db_pool_size: u32,
    pub log: String,
    pub worker: WorkerSettings,
    pub http: HttpSettings,
}

/// The master key, kept out of `Debug` output.
#[derive(Clone)]
pub struct MasterKey(pub [u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl Settings {
    /// Reads `SOKU_CONFIG` (or `./soku.toml` when present), then the environment.
    pub fn load() -> Result<Settings, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = match env("SOKU_CONFIG") {
            Some(p) => Some(PathBuf::from(p)),
            None => Some(PathBuf::from("soku.toml")).filter(|p| p.exists()),
        };
        let file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    bad(
                        "SOKU_CONFIG",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                parse_file(&path.display().to_string(), &text)?
            }
            None => FileSettings::default(),
        };
        Self::from_sources(file, env)
    }

    /// Builds settings from environment variables alone (plus defaults); used by tests and tools.
    pub fn from_env_only(env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Self::from_sources(FileSettings::default(), env)
    }

    fn from_sources(
        file: FileSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let text = |var: &str, from_file: Option<String>| env(var).or(from_file);
        let number =
            |var: &str, from_file: Option<u64>, default: u64| -> Result<u64, ConfigError> {
                match env(var) {
                    Some(v) => v
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| bad(var, format!("`{v}` is not a whole number"))),
                    None => Ok(from_file.unwrap_or(default)),
                }
            };

        let database_url = text("DATABASE_URL", file.database_url)
            .unwrap_or_else(|| "postgres://soku:soku@127.0.0.1:5432/soku".into());
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(bad(
                "DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ));
        }
        let redis_url =
            text("REDIS_URL", file.redis_url).unwrap_or_else(|| "redis://127.0.0.1:6379".into());
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(bad("REDIS_URL", "must start with redis:// or rediss://"));
        }
        let listen_text =
            text("SOKU_LISTEN", file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            bad(
                "SOKU_LISTEN",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            )
        })?;
        let public_url = text("SOKU_PUBLIC_URL", file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(bad("SOKU_PUBLIC_URL", "must be an http:// or https:// URL"));
        }
        let master_key = match text("SOKU_MASTER_KEY", file.master_key) {
            Some(hex_key) => Some(parse_master_key(&hex_key)?),
            None => None,
        };
        let redis_prefix =
            text("SOKU_REDIS_PREFIX", file.redis_prefix).unwrap_or_else(|| "soku".into());
        if redis_prefix.is_empty()
            || redis_prefix.len() > 64
            || !redis_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(
                "SOKU_REDIS_PREFIX",
                "must be 1..64 characters of [A-Za-z0-9_-]",
            ));
        }
        let max_body_bytes = number("SOKU_MAX_BODY_BYTES", file.max_body_bytes, 1024 * 1024)?;
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(bad(
                "SOKU_MAX_BODY_BYTES",
                "must be between 1024 and 67108864",
            ));
        }
        let rate = |var: &str, f: Option<u64>, d: u64| -> Result<u64, ConfigError> {
            let v = number(var, f, d)?;
            if v == 0 {
                return Err(bad(var, "must be at least 1"));
            }
            Ok(v)
        };
        let rate_limits = RateLimits {
            trial: rate("SOKU_RATE_LIMIT_TRIAL", file.rate_limit_trial, 60)?,
            starter: rate("SOKU_RATE_LIMIT_STARTER", file.rate_limit_starter, 120)?,
            pro: rate("SOKU_RATE_LIMIT_PRO", file.rate_limit_pro, 600)?,
            business: rate("SOKU_RATE_LIMIT_BUSINESS", file.rate_limit_business, 1200)?,
        };
        let schedule_tolerance_secs = number(
            "SOKU_SCHEDULE_TOLERANCE_SECS",
            file.schedule_tolerance_secs,
            300,
        )?;
        if schedule_tolerance_secs > 86_400 {
            return Err(bad(
                "SOKU_SCHEDULE_TOLERANCE_SECS",
                "must be at most 86400 (one day)",
            ));
        }
        let db_pool_size = number("SOKU_DB_POOL_SIZE", file.db_pool_size, 32)?;
        if !(1..=1000).contains(&db_pool_size) {
            return Err(bad("SOKU_DB_POOL_SIZE", "must be between 1 and 1000"));
        }
        let ranged = |var: &str, f: Option<u64>, d: u64, lo: u64, hi: u64| {
            let v = number(var, f, d)?;
            if !(lo..=hi).contains(&v) {
                return Err(bad(var, format!("must be between {lo} and {hi}")));
            }
            Ok(v)
        };
        let publish_all = ranged(
            "SOKU_CONCURRENCY_PUBLISH",
            file.concurrency_publish,
            32,
            1,
            1000,
        )?;
        let per_platform = [
            ("SOKU_CONCURRENCY_THREADS", file.concurrency_threads),
            ("SOKU_CONCURRENCY_X", file.concurrency_x),
            ("SOKU_CONCURRENCY_LINKEDIN", file.concurrency_linkedin),
            ("SOKU_CONCURRENCY_INSTAGRAM", file.concurrency_instagram),
            ("SOKU_CONCURRENCY_FACEBOOK", file.concurrency_facebook),
            ("SOKU_CONCURRENCY_TIKTOK", file.concurrency_tiktok),
            ("SOKU_CONCURRENCY_YOUTUBE", file.concurrency_youtube),
        ];
        let mut concurrency_publish = [publish_all as usize; 7];
        for (i, (var, f)) in per_platform.into_iter().enumerate() {
            concurrency_publish[i] = ranged(var, f, publish_all, 1, 1000)? as usize;
        }
        let sandbox_sink_url = text("SOKU_SANDBOX_SINK_URL", file.sandbox_sink_url);
        if let Some(u) = &sandbox_sink_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(bad(
                "SOKU_SANDBOX_SINK_URL",
                "must be an http:// or https:// URL",
            ));
        }
        let metrics_text = text("SOKU_WORKER_METRICS_LISTEN", file.worker_metrics_listen)
            .unwrap_or_else(|| "127.0.0.1:9464".into());
        let metrics_listen: SocketAddr = metrics_text.parse().map_err(|_| {
            bad(
                "SOKU_WORKER_METRICS_LISTEN",
                format!("`{metrics_text}` is not an address like 127.0.0.1:9464"),
            )
        })?;
        let worker = WorkerSettings {
            concurrency_dispatch: ranged(
                "SOKU_CONCURRENCY_DISPATCH",
                file.concurrency_dispatch,
                16,
                1,
                1000,
            )? as usize,
            concurrency_publish,
            poll_interval_ms: ranged(
                "SOKU_POLL_INTERVAL_MS",
                file.poll_interval_ms,
                50,
                5,
                60_000,
            )?,
            lease_secs: ranged("SOKU_LEASE_SECS", file.lease_secs, 30, 1, 3600)?,
            requeue_after_secs: ranged(
                "SOKU_REQUEUE_AFTER_SECS",
                file.requeue_after_secs,
                60,
                1,
                86_400,
            )?,
            reconcile_interval_ms: ranged(
                "SOKU_RECONCILE_INTERVAL_MS",
                file.reconcile_interval_ms,
                200,
                10,
                60_000,
            )?,
            publish_max_attempts: ranged(
                "SOKU_PUBLISH_MAX_ATTEMPTS",
                file.publish_max_attempts,
                6,
                1,
                100,
            )? as u32,
            retry_base_ms: ranged("SOKU_RETRY_BASE_MS", file.retry_base_ms, 1000, 1, 3_600_000)?,
            sandbox_sink_url: sandbox_sink_url.map(|u| u.trim_end_matches('/').to_string()),
            metrics_listen,
        };
        let http = HttpSettings {
            header_read_timeout_secs: ranged(
                "SOKU_HEADER_READ_TIMEOUT_SECS",
                file.header_read_timeout_secs,
                10,
                1,
                300,
            )?,
            body_read_timeout_secs: ranged(
                "SOKU_BODY_READ_TIMEOUT_SECS",
                file.body_read_timeout_secs,
                30,
                1,
                600,
            )?,
            idle_timeout_secs: ranged(
                "SOKU_IDLE_TIMEOUT_SECS",
                file.idle_timeout_secs,
                60,
                1,
                3600,
            )?,
            max_connections: ranged(
                "SOKU_MAX_CONNECTIONS",
                file.max_connections,
                1024,
                1,
                100_000,
            )? as usize,
        };
        Ok(Settings {
            worker,
            http,
            database_url: database_url.into(),
            redis_url: redis_url.into(),
            listen,
            public_url,
            master_key,
            data_dir: PathBuf::from(
                text("SOKU_DATA_DIR", file.data_dir).unwrap_or_else(|| "data".into()),
            ),
            redis_prefix,
            max_body_bytes: max_body_bytes as usize,
            schedule_tolerance_secs,
            rate_limits,
            db_pool_size: db_pool_size as u32,
            log: text("SOKU_LOG", file.log).unwrap_or_else(|| "info".into()),
        })
    }

    /// The master key, or the error a process that must seal credentials stops with.
    pub fn require_master_key(&self) -> Result<&MasterKey, ConfigError> {
        self.master_key.as_ref().ok_or_else(|| {
            bad(
                "SOKU_MASTER_KEY",
                "is required (64 hex characters; make one with `openssl rand -hex 32`)",
            )
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    pub fn redis_url(&self) -> &str {
        self.redis_url.expose_secret()
    }
}

/// Parses `soku.toml`, naming the key (not just the file) when a value has the wrong type.
fn parse_file(file: &str, text: &str) -> Result<FileSettings, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(file, e.message().to_string()))?;
    for (key, value) in &table {
        let mut single = toml::Table::new();
        single.insert(key.clone(), value.clone());
        if let Err(e) = FileSettings::deserialize(single) {
            return Err(bad(&format!("{file}: {key}"), e.message().to_string()));
        }
    }
    FileSettings::deserialize(table).map_err(|e| bad(file, e.message().to_string()))
}

fn parse_master_key(text: &str) -> Result<MasterKey, ConfigError> {
    let bytes = hex::decode(text.trim()).map_err(|_| {
        bad(
            "SOKU_MASTER_KEY",
            "must be 64 hexadecimal characters (32 bytes)",
        )
    })?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| {
        bad(
            "SOKU_MASTER_KEY",
            "must be 64 hexadecimal characters (32 bytes)",
        )
    })?;
    Ok(MasterKey(key))
}

impl WorkerSettings {
    /// Jobs one process runs at once from `platform`'s publish queue.
    pub fn concurrency_for(&self, platform: Platform) -> usize {
        let i = Platform::ALL
            .iter()
            .position(|p| *p == platform)
            .unwrap_or(0);
        self.concurrency_publish[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Settings::from_env_only(move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_are_valid() {
        let s = from(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.rate_limits.per_minute(Plan::Trial), 60);
        assert!(s.master_key.is_none());
        assert_eq!(s.http.header_read_timeout_secs, 10);
        assert_eq!(s.http.max_connections, 1024);
    }

    #[test]
    fn bad_values_name_the_setting() {
        assert_eq!(
            from(&[("SOKU_LISTEN", "nonsense")]).unwrap_err().name,
            "SOKU_LISTEN"
        );
        assert_eq!(
            from(&[("SOKU_MASTER_KEY", "abc")]).unwrap_err().name,
            "SOKU_MASTER_KEY"
        );
        assert_eq!(
            from(&[("SOKU_RATE_LIMIT_PRO", "0")]).unwrap_err().name,
            "SOKU_RATE_LIMIT_PRO"
        );
        assert_eq!(
            from(&[("REDIS_URL", "http://x")]).unwrap_err().name,
            "REDIS_URL"
        );
        assert_eq!(
            from(&[("SOKU_IDLE_TIMEOUT_SECS", "0")]).unwrap_err().name,
            "SOKU_IDLE_TIMEOUT_SECS"
        );
        let s = from(&[
            ("SOKU_BODY_READ_TIMEOUT_SECS", "600"),
            ("SOKU_MAX_CONNECTIONS", "7"),
        ]);
        let s = s.unwrap();
        assert_eq!(
            (s.http.body_read_timeout_secs, s.http.max_connections),
            (600, 7)
        );
    }

    #[test]
    fn master_key_is_not_debug_printed() {
        let s = from(&[("SOKU_MASTER_KEY", &"ab".repeat(32))]).unwrap();
        assert!(!format!("{s:?}").contains("abab"));
    }
}
