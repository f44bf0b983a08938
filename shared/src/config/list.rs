//! Every setting, declared once: its `soku.toml` key (the environment variable is `SOKU_` and the key in upper
//! case, `DATABASE_URL` and `REDIS_URL` without the prefix), its default, what it does, and its check.
//! docs/configuration.md lists them in the same groups; a test fails when the two disagree.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;

use super::ConfigError;
use super::MasterKey;
use super::StorageBackend;
use super::checks::*;
use super::declare::{Kind, Setting, env_name, settings};
use crate::address_policy::AddressPolicy;

settings! {
    group "Every process" {
        /// Postgres
        database_url: String = "postgres://soku:soku@127.0.0.1:5432/soku"
            => SecretString, starting_with(&["postgres://", "postgresql://"]);
        /// Redis (queues, rate limits)
        redis_url: String = "redis://127.0.0.1:6379" => SecretString, starting_with(&["redis://", "rediss://"]);
        /// every Redis key starts with `<prefix>:`, so several installs (or test runs) share a Redis
        redis_prefix: String = "soku" => String, redis_prefix;
        /// Postgres connections per process
        db_pool_size: u64 = 32 => u32, between(1, 1000);
        /// local media storage (`objects/`, with `SOKU_STORAGE_BACKEND=local`) and the workers' temporary
        /// files (`tmp/`)
        data_dir: String = "data" => PathBuf, plain;
        /// 64 hex characters (32 bytes) sealing platform credentials: `openssl rand -hex 32`
        master_key: Option<String>, shown "none; required by `api`, `serve` and `admin integration add`"
            => Option<MasterKey>, optional(master_key);
        /// log filter (`warn`, `soku_api=debug`, …); logs go to stderr
        log: String = "info" => String, plain;
    }
    group "API" {
        /// API address
        listen: String = "127.0.0.1:8080" => SocketAddr, address("127.0.0.1:8080");
        /// base of URLs the server hands out
        public_url: Option<String>, shown "`http://<listen>`" => Option<String>, optional(http_url);
        /// request body limit (413 above it)
        max_body_bytes: u64 = 1024 * 1024 => usize, between(1024, 64 * 1024 * 1024);
        /// how far in the past `scheduledTime` may be (at most 86400)
        schedule_tolerance_secs: u64 = 300 => u64, up_to_a_day;
        /// secrets that sign dashboard session tokens (JWT, HS256), comma-separated: the first signs, every one
        /// verifies, so a new secret put first rotates the key without logging anyone out
        session_keys: Option<String>, shown "derived from `SOKU_MASTER_KEY`" => Option<SecretString>, optional(secret_list);
        /// requests per minute per account on the trial plan
        rate_limit_trial: u64 = 60 => u64, at_least(1);
        /// requests per minute per account on the starter plan
        rate_limit_starter: u64 = 120 => u64, at_least(1);
        /// requests per minute per account on the pro plan
        rate_limit_pro: u64 = 600 => u64, at_least(1);
        /// requests per minute per account on the business plan
        rate_limit_business: u64 = 1200 => u64, at_least(1);
    }
    group "HTTP server" {
        /// how long the server waits for a request's headers
        header_read_timeout_secs: u64 = 10 => u64, between(1, 300);
        /// how long the server waits for a request's whole body
        body_read_timeout_secs: u64 = 30 => u64, between(1, 600);
        /// how long an idle keep-alive connection stays open
        idle_timeout_secs: u64 = 60 => u64, between(1, 3600);
        /// most connections served at once
        max_connections: u64 = 1024 => usize, between(1, 100_000);
    }
    group "Media" {
        /// largest media file accepted, uploaded or fetched (413 / `too_large` above it)
        media_max_bytes: u64 = 1024 * 1024 * 1024 => u64, between(1024, 1024 * 1024 * 1024 * 1024);
        /// networks a media URL may point into although they are private, loopback or link-local:
        /// comma-separated CIDRs such as `127.0.0.1/32` (tests, private deployments); empty: none
        fetch_allow_private: Option<String>, shown "none" => Option<AddressPolicy>, optional(cidr_list);
        /// how long a media URL fetch may take, all redirects included
        fetch_timeout_secs: u64 = 600 => u64, between(1, 86_400);
        /// how long a direct upload's body may take to arrive (`POST /v1/media`; other requests have
        /// `SOKU_BODY_READ_TIMEOUT_SECS`)
        upload_timeout_secs: u64 = 3600 => u64, between(1, 86_400);
        /// media jobs (fetch, probe, thumbnails) one worker process runs at once
        concurrency_media: u64 = 2 => usize, between(1, 64);
        /// how long failed media stays (its files and row) before the cleanup removes it
        media_failed_retention_hours: u64 = 24 => u64, between(1, 24 * 365);
        /// `on`: a media URL in a post that is not this server's own is imported as media first (fetched,
        /// checked, served by Soku); `off`: such URLs are stored and passed on as given
        media_import: String = "on" => bool, on_off;
        /// where media files are stored: `local` (under `SOKU_DATA_DIR/objects`) or `s3` (a bucket of S3 or of an
        /// S3-compatible store; the API still serves the files)
        storage_backend: String = "local" => StorageBackend, storage_backend;
        /// the bucket, with `SOKU_STORAGE_BACKEND=s3`
        s3_bucket: Option<String>, shown "none; required by `s3`" => Option<String>, optional(bucket_name);
        /// the S3 API's base URL, for an S3-compatible store (`https://minio.internal:9000`)
        s3_endpoint: Option<String>, shown "AWS's, for `SOKU_S3_REGION`" => Option<String>, optional(http_url);
        /// the bucket's region (what requests are signed for; S3-compatible stores mostly accept any)
        s3_region: String = "us-east-1" => String, not_empty;
        /// the access key's id; set it with the secret, or neither: then credentials come from the AWS
        /// environment (`AWS_ACCESS_KEY_ID`, a web identity, a container or instance role)
        s3_access_key_id: Option<String>, shown "none" => Option<String>, optional(not_empty);
        /// the access key's secret
        s3_secret_access_key: Option<String>, shown "none" => Option<SecretString>, optional(plain);
        /// allow an `http://` `SOKU_S3_ENDPOINT` (a store on the same host or a private network); else https only
        s3_allow_http: bool = false => bool, plain;
    }
    group "Transcription" {
        /// the OpenAI-compatible speech-to-text server's base URL, ending in `/v1` (`https://api.openai.com/v1`,
        /// `https://api.groq.com/openai/v1`, a self-hosted server); unset: `POST /v1/ai/transcribe` answers 503
        transcription_url: Option<String>, shown "none" => Option<String>, optional(http_url);
        /// the provider's API key, sent as `Authorization: Bearer`; unset: none is sent
        transcription_api_key: Option<String>, shown "none" => Option<SecretString>, optional(plain);
        /// the models clients may ask for, each mapped to the provider's name: `whisper-1=tiny.en,large=large-v3`;
        /// the first is the default
        transcription_models: String = "whisper-1=whisper-1" => Vec<(String, String)>, model_map;
        /// credits per started minute of audio, for every model not in `SOKU_TRANSCRIPTION_PRICES`
        transcription_credits_per_minute: u64 = 1 => u64, between(0, 1_000_000);
        /// credits per started minute by model: `whisper-1=1,large=3`
        transcription_prices: Option<String>, shown "none" => Option<Vec<(String, u64)>>, optional(price_map);
        /// transcription jobs one worker process runs at once
        concurrency_transcribe: u64 = 2 => usize, between(1, 64);
        /// chunks of one recording sent to the provider at once
        transcription_parallel_chunks: u64 = 2 => usize, between(1, 32);
        /// the length a long recording is cut into, at the silence nearest each cut (seconds)
        transcription_chunk_seconds: u64 = 600 => u64, between(10, 3600);
        /// the largest file the provider takes (OpenAI: 25 MB); no chunk is larger
        transcription_max_upload_bytes: u64 = 25 * 1024 * 1024 => u64, between(64 * 1024, 1024 * 1024 * 1024);
        /// how long one provider request may take
        transcription_timeout_secs: u64 = 600 => u64, between(1, 86_400);
        /// tries of one chunk when the provider answers 429 or 5xx (or not at all) before the job is retried later
        transcription_max_attempts: u64 = 5 => u32, between(1, 100);
    }
    group "Workers" {
        /// publish jobs one process runs at once, per platform queue
        concurrency_publish: u64 = 32 => usize, between(1, 1000);
        /// the Threads queue's publish jobs one process runs at once
        concurrency_threads: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// the X queue's publish jobs one process runs at once
        concurrency_x: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// the LinkedIn queue's publish jobs one process runs at once
        concurrency_linkedin: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// the Instagram queue's publish jobs one process runs at once
        concurrency_instagram: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// the Facebook queue's publish jobs one process runs at once
        concurrency_facebook: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// the TikTok queue's publish jobs one process runs at once
        concurrency_tiktok: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// the YouTube queue's publish jobs one process runs at once
        concurrency_youtube: Option<u64>, shown "`SOKU_CONCURRENCY_PUBLISH`"
            => Option<usize>, optional(between(1, 1000));
        /// an idle worker waits on its queue's wake-up list this long before it looks again (a fallback: a
        /// push wakes it at once)
        poll_interval_ms: u64 = 1000 => u64, between(5, 60_000);
        /// a publish attempt's lease; renewed every third of it while the platform call runs. A worker that
        /// dies mid-attempt is noticed this long after
        lease_secs: u64 = 30 => u64, between(1, 3600);
        /// a target handed to Redis this long ago and not yet leased is handed over again (a job lost with
        /// Redis or with a killed worker; duplicates are harmless)
        requeue_after_secs: u64 = 30 => u64, between(1, 86_400);
        /// how often the reconciler runs: due scheduled posts, retries, expired leases, lookups
        reconcile_interval_ms: u64 = 200 => u64, between(10, 60_000);
        /// automatic attempts per target before `failed` (a manual retry starts a new round)
        publish_max_attempts: u64 = 6 => u32, between(1, 100);
        /// first retry delay; doubles per attempt with jitter, at most 5 min, never before the platform's reset
        retry_base_ms: u64 = 1000 => u64, between(1, 3_600_000);
        /// test mode: keep the sandbox's deliveries at this HTTP endpoint (docs/sandbox.md)
        sandbox_sink_url: Option<String>, shown "none" => Option<String>, optional(http_url);
        /// where `soku worker` serves `/metrics`; two workers on one host need two addresses (port `0`: any free
        /// port, logged)
        worker_metrics_listen: String = "127.0.0.1:9464" => SocketAddr, address("127.0.0.1:9464");
    }
}
