//! One `Settings` struct for every process: defaults, then an optional `soku.toml`, then the environment.
//! Every value is checked here, at start, so that a bad setting stops the process with its name.
//!
//! Each setting is declared once, in `list.rs` (key, default, what it does, check); `sources.rs` merges the
//! layers, the declared checks run, and the result is assembled here into the structs the processes use.
//! docs/configuration.md lists the same settings, and a test keeps the two in step.

mod checks;
mod declare;
#[cfg(test)]
mod docs;
mod list;
mod sources;
#[cfg(test)]
mod tests;

use std::{net::SocketAddr, path::PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::account::Plan;
use crate::platform::Platform;
use list::Checked;
use sources::ConfigFile;

/// A setting that could not be used, named as the operator wrote it.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    pub name: String,
    pub message: String,
}

/// How the workers run (see docs/configuration.md).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs one process runs at once from the dispatch queue.
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

/// How the HTTP server treats slow and idle clients (see docs/configuration.md).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// How long the server waits for a request's headers.
    pub header_read_timeout_secs: u64,
    /// How long the server waits for a request's whole body.
    pub body_read_timeout_secs: u64,
    /// How long an idle keep-alive connection stays open.
    pub idle_timeout_secs: u64,
    /// Most connections served at once.
    pub max_connections: usize,
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
    pub media: MediaSettings,
    pub transcription: TranscriptionSettings,
    /// `SOKU_SESSION_KEYS`, when set.
    pub session_keys: Option<SecretString>,
}

/// Decoded audio is a little longer than its container says (an AAC encoder's priming and padding samples add
/// tens of milliseconds): this much over a whole minute does not start the next one.
pub const BILLING_GRACE_SECS: f64 = 0.25;

/// The credits `seconds` of audio cost at `per_minute` credits per started minute (a part of a minute is a
/// minute, past [`BILLING_GRACE_SECS`]; any audio at all is at least a minute; nothing costs nothing).
pub fn credits_for(per_minute: u64, seconds: f64) -> i64 {
    if seconds <= 0.0 || !seconds.is_finite() {
        return 0;
    }
    let billable = (seconds - BILLING_GRACE_SECS).max(0.0);
    let minutes = (billable / 60.0).ceil().max(1.0) as i64;
    minutes.saturating_mul(per_minute as i64)
}

/// The transcription settings (group "Transcription" of docs/configuration.md).
#[derive(Debug, Clone)]
pub struct TranscriptionSettings {
    /// The provider's base URL (ending in `/v1`); `None`: transcription is off.
    pub url: Option<String>,
    pub api_key: Option<SecretString>,
    /// The API's model names and the provider's, the default first.
    pub models: Vec<(String, String)>,
    pub credits_per_minute: u64,
    pub prices: Vec<(String, u64)>,
    pub concurrency: usize,
    pub parallel_chunks: usize,
    pub chunk_seconds: u64,
    pub max_upload_bytes: u64,
    pub timeout_secs: u64,
    pub max_attempts: u32,
}

impl TranscriptionSettings {
    /// The provider's name for the API's `model`, if it is offered.
    pub fn provider_model(&self, model: &str) -> Option<&str> {
        self.models
            .iter()
            .find(|(m, _)| m == model)
            .map(|(_, p)| p.as_str())
    }

    /// The model a request that names none gets.
    pub fn default_model(&self) -> &str {
        self.models.first().map_or("whisper-1", |(m, _)| m.as_str())
    }

    /// Credits per started minute of `model`.
    pub fn price(&self, model: &str) -> u64 {
        self.prices
            .iter()
            .find(|(m, _)| m == model)
            .map_or(self.credits_per_minute, |(_, p)| *p)
    }
}

/// The media settings (group "Media" of docs/configuration.md).
#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub max_bytes: u64,
    pub allow_private: crate::address_policy::AddressPolicy,
    pub fetch_timeout_secs: u64,
    pub upload_timeout_secs: u64,
    pub concurrency: usize,
    pub failed_retention_hours: u64,
    /// `SOKU_MEDIA_IMPORT`: import a post's media URLs that are not this server's own.
    pub import: bool,
    /// Where the files are kept.
    pub storage: StorageSettings,
}

/// What `SOKU_STORAGE_BACKEND` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageBackend {
    Local,
    S3,
}

/// Where media files are kept (see docs/media.md, "Storage").
#[derive(Debug, Clone)]
pub enum StorageSettings {
    /// The local filesystem, under `SOKU_DATA_DIR/objects`.
    Local,
    /// A bucket of S3 or of an S3-compatible store.
    S3(S3Settings),
}

/// An S3 bucket and how to reach it. Its `Debug` output never shows the secret.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// The S3 API's base URL; `None`: AWS's endpoint for the region.
    pub endpoint: Option<String>,
    pub region: String,
    /// A static access key; `None`: the AWS environment's credentials.
    pub credentials: Option<S3Credentials>,
    /// Whether an `http://` endpoint may be used.
    pub allow_http: bool,
}

/// An S3 access key: its id and its secret.
#[derive(Debug, Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl MediaSettings {
    /// The fetcher's limits: the size cap and the whole fetch's time limit (the API checks URLs with the same).
    pub fn fetch_limits(&self) -> crate::fetch::FetchLimits {
        crate::fetch::FetchLimits {
            max_bytes: self.max_bytes,
            total_timeout: std::time::Duration::from_secs(self.fetch_timeout_secs),
            ..crate::fetch::FetchLimits::default()
        }
    }

    /// The URL fetcher these settings describe.
    pub fn fetcher(&self) -> crate::fetch::Fetcher {
        crate::fetch::Fetcher::new(self.allow_private.clone(), self.fetch_limits())
    }
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
        Self::load_with(&|name| std::env::var(name).ok())
    }

    /// [`Settings::load`] with the environment given as a function.
    fn load_with(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let file = ConfigFile::find(env)?;
        Self::from_sources(file.as_ref(), env)
    }

    /// Builds settings from environment variables alone (plus defaults); used by tests and tools.
    pub fn from_env_only(env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Self::from_sources(None, &env)
    }

    fn from_sources(
        file: Option<&ConfigFile>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        Settings::try_from(sources::merge(file, env)?.check()?)
    }

    /// The master key, or the error a process that must seal credentials stops with.
    /// The secrets that sign and verify session tokens, the signing one first: `SOKU_SESSION_KEYS`, else one
    /// derived from the master key (SHA-256 of a label and the key), else none.
    pub fn session_secrets(&self) -> Vec<Vec<u8>> {
        if let Some(keys) = &self.session_keys {
            let keys: Vec<Vec<u8>> = keys
                .expose_secret()
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| k.as_bytes().to_vec())
                .collect();
            if !keys.is_empty() {
                return keys;
            }
        }
        self.master_key
            .as_ref()
            .map(|m| {
                use sha2::{Digest, Sha256};
                let mut h = Sha256::new();
                h.update(b"soku session tokens v1\0");
                h.update(m.0);
                vec![h.finalize().to_vec()]
            })
            .unwrap_or_default()
    }

    pub fn require_master_key(&self) -> Result<&MasterKey, ConfigError> {
        self.master_key.as_ref().ok_or_else(|| ConfigError {
            name: "SOKU_MASTER_KEY".into(),
            message: "is required (64 hex characters; make one with `openssl rand -hex 32`)".into(),
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    pub fn redis_url(&self) -> &str {
        self.redis_url.expose_secret()
    }
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

impl TryFrom<Checked> for Settings {
    type Error = ConfigError;

    /// Assembles the checked settings; what no single setting's check can see (a setting another one requires)
    /// is refused here.
    fn try_from(c: Checked) -> Result<Settings, ConfigError> {
        let storage = storage_settings(&c)?;
        Ok(Settings {
            worker: WorkerSettings::from(&c),
            rate_limits: RateLimits {
                trial: c.rate_limit_trial,
                starter: c.rate_limit_starter,
                pro: c.rate_limit_pro,
                business: c.rate_limit_business,
            },
            http: HttpSettings {
                header_read_timeout_secs: c.header_read_timeout_secs,
                body_read_timeout_secs: c.body_read_timeout_secs,
                idle_timeout_secs: c.idle_timeout_secs,
                max_connections: c.max_connections,
            },
            media: MediaSettings {
                max_bytes: c.media_max_bytes,
                allow_private: c.fetch_allow_private.clone().unwrap_or_default(),
                fetch_timeout_secs: c.fetch_timeout_secs,
                upload_timeout_secs: c.upload_timeout_secs,
                concurrency: c.concurrency_media,
                failed_retention_hours: c.media_failed_retention_hours,
                import: c.media_import,
                storage,
            },
            session_keys: c.session_keys.clone(),
            transcription: TranscriptionSettings {
                url: c.transcription_url.clone(),
                api_key: c.transcription_api_key.clone(),
                models: c.transcription_models.clone(),
                credits_per_minute: c.transcription_credits_per_minute,
                prices: c.transcription_prices.clone().unwrap_or_default(),
                concurrency: c.concurrency_transcribe,
                parallel_chunks: c.transcription_parallel_chunks,
                chunk_seconds: c.transcription_chunk_seconds,
                max_upload_bytes: c.transcription_max_upload_bytes,
                timeout_secs: c.transcription_timeout_secs,
                max_attempts: c.transcription_max_attempts,
            },
            public_url: c
                .public_url
                .unwrap_or_else(|| format!("http://{}", c.listen)),
            database_url: c.database_url,
            redis_url: c.redis_url,
            listen: c.listen,
            master_key: c.master_key,
            data_dir: c.data_dir,
            redis_prefix: c.redis_prefix,
            max_body_bytes: c.max_body_bytes,
            schedule_tolerance_secs: c.schedule_tolerance_secs,
            db_pool_size: c.db_pool_size,
            log: c.log,
        })
    }
}

/// The storage settings: with `s3`, the bucket is required, the key's id and secret go together, and an
/// `http://` endpoint needs `SOKU_S3_ALLOW_HTTP`.
fn storage_settings(c: &Checked) -> Result<StorageSettings, ConfigError> {
    let refuse = |name: &str, message: &str| ConfigError {
        name: name.into(),
        message: message.into(),
    };
    if c.storage_backend == StorageBackend::Local {
        return Ok(StorageSettings::Local);
    }
    let bucket = c.s3_bucket.clone().ok_or_else(|| {
        refuse(
            "SOKU_S3_BUCKET",
            "is required when SOKU_STORAGE_BACKEND is `s3` (the bucket media files are kept in)",
        )
    })?;
    let credentials = match (&c.s3_access_key_id, &c.s3_secret_access_key) {
        (Some(id), Some(secret)) => Some(S3Credentials {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(refuse(
                "SOKU_S3_SECRET_ACCESS_KEY",
                "is required with SOKU_S3_ACCESS_KEY_ID",
            ));
        }
        (None, Some(_)) => {
            return Err(refuse(
                "SOKU_S3_ACCESS_KEY_ID",
                "is required with SOKU_S3_SECRET_ACCESS_KEY",
            ));
        }
    };
    if let Some(endpoint) = &c.s3_endpoint
        && endpoint.starts_with("http://")
        && !c.s3_allow_http
    {
        return Err(refuse(
            "SOKU_S3_ENDPOINT",
            "is an http:// URL: set SOKU_S3_ALLOW_HTTP=true to use it (or use https://)",
        ));
    }
    Ok(StorageSettings::S3(S3Settings {
        bucket,
        endpoint: c.s3_endpoint.clone(),
        region: c.s3_region.trim().to_string(),
        credentials,
        allow_http: c.s3_allow_http,
    }))
}

impl From<&Checked> for WorkerSettings {
    fn from(c: &Checked) -> WorkerSettings {
        WorkerSettings {
            concurrency_publish: Platform::ALL
                .map(|p| publish_concurrency(c, p).unwrap_or(c.concurrency_publish)),
            poll_interval_ms: c.poll_interval_ms,
            lease_secs: c.lease_secs,
            requeue_after_secs: c.requeue_after_secs,
            reconcile_interval_ms: c.reconcile_interval_ms,
            publish_max_attempts: c.publish_max_attempts,
            retry_base_ms: c.retry_base_ms,
            sandbox_sink_url: c.sandbox_sink_url.clone(),
            metrics_listen: c.worker_metrics_listen,
        }
    }
}

/// The concurrency set for one platform's queue, if any (else `concurrency_publish` applies).
fn publish_concurrency(c: &Checked, platform: Platform) -> Option<usize> {
    match platform {
        Platform::Threads => c.concurrency_threads,
        Platform::X => c.concurrency_x,
        Platform::Linkedin => c.concurrency_linkedin,
        Platform::Instagram => c.concurrency_instagram,
        Platform::Facebook => c.concurrency_facebook,
        Platform::Tiktok => c.concurrency_tiktok,
        Platform::Youtube => c.concurrency_youtube,
    }
}
