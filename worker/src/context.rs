//! What every job of a worker process shares: the database, Redis, settings, the process's name, the
//! platform adapters, and the batchers that lease and settle targets for many jobs per statement.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use soku_shared::config::{MediaSettings, Settings, TranscriptionSettings, WorkerSettings};
use soku_shared::fetch::Fetcher;
use soku_shared::status::PostStatus;
use soku_shared::storage::Storage;
use soku_shared::store::Db;
use soku_shared::store::publish::{self as store, Leased, Settle};

use crate::batch::Batcher;

use crate::adapters::{PlatformAdapter, Unavailable, sandbox::Sandbox};

/// Most targets one lease or settle statement carries.
const BATCH: usize = 100;
/// Statements of each kind in flight at once per process.
const RUNNERS: usize = 2;

pub struct Ctx {
    pub db: Db,
    pub redis: ConnectionManager,
    /// For connections of their own (a fetcher's blocking pop).
    pub redis_url: String,
    /// Leases a target for one attempt: `None` when it is not leasable (see `store::lease_targets`).
    pub lease: Batcher<String, Option<Leased>>,
    /// Settles an attempt: the post's status after it, `None` when the lease was lost.
    pub settle: Batcher<Settle, Option<PostStatus>>,
    pub prefix: String,
    pub cfg: WorkerSettings,
    pub media: MediaSettings,
    /// `SOKU_PUBLIC_URL`: the base of the media URLs handed to the platforms.
    pub public_url: String,
    /// Where media files live.
    pub storage: Storage,
    /// Fetches media URLs, refusing private addresses (`SOKU_FETCH_ALLOW_PRIVATE` aside).
    pub fetcher: Fetcher,
    pub transcription: TranscriptionSettings,
    /// The speech-to-text provider (`SOKU_TRANSCRIPTION_URL`); `None` when none is configured.
    pub transcriber: Option<soku_shared::transcription::Provider>,
    /// This process's name: unique per process (host, pid, random), so that a restarted process never
    /// collides with the registration of the one before it (docs/architecture.md, queue note a). Also the
    /// owner of its leases.
    pub name: String,
    sandbox: Sandbox,
    unavailable: Unavailable,
}

impl Ctx {
    /// The context of a worker process with these settings, its connections and its storage.
    pub fn new(db: Db, redis: ConnectionManager, settings: &Settings, storage: Storage) -> Ctx {
        let name = process_name();
        let cfg = settings.worker.clone();
        let media = settings.media.clone();
        let fetcher = media.fetcher();
        let public_url = settings.public_url.clone();
        let transcription = settings.transcription.clone();
        let transcriber = transcription.url.clone().and_then(|url| {
            soku_shared::transcription::Provider::new(
                url,
                transcription.api_key.clone(),
                std::time::Duration::from_secs(transcription.timeout_secs),
                transcription.max_attempts,
            )
            .map_err(|e| tracing::error!(error = %e, "transcription is off"))
            .ok()
        });
        let (redis_url, prefix) = (settings.redis_url(), settings.redis_prefix.as_str());
        Ctx {
            fetcher,
            transcription,
            transcriber,
            media,
            public_url,
            storage,
            sandbox: Sandbox::new(db.clone(), cfg.sandbox_sink_url.clone()),
            unavailable: Unavailable,
            lease: lease_batcher(db.clone(), name.clone(), cfg.lease_secs as f64),
            settle: settle_batcher(db.clone(), name.clone()),
            db,
            redis,
            redis_url: redis_url.to_string(),
            prefix: prefix.to_string(),
            cfg,
            name,
        }
    }

    /// The adapter that publishes a target: the sandbox for test mode. Live platforms' adapters are not built
    /// yet (docs/api.md, "Not yet available"); until then live targets fail plainly.
    pub fn adapter(&self, livemode: bool, _platform: &str) -> &dyn PlatformAdapter {
        if livemode {
            &self.unavailable
        } else {
            &self.sandbox
        }
    }
}

/// A name no other process has: host, pid and a random suffix.
fn process_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let suffix: u32 = rand::random();
    format!("{host}-{}-{suffix:08x}", std::process::id())
}

fn lease_batcher(db: Db, owner: String, lease_secs: f64) -> Batcher<String, Option<Leased>> {
    Batcher::new(BATCH, RUNNERS, move |ids: Vec<String>| {
        let (db, owner) = (db.clone(), owner.clone());
        async move {
            let leased = store::lease_targets(&db, &ids, &owner, lease_secs).await?;
            let mut by_id: HashMap<String, Leased> =
                leased.into_iter().map(|t| (t.id.clone(), t)).collect();
            Ok(ids.iter().map(|id| by_id.remove(id)).collect())
        }
    })
}

fn settle_batcher(db: Db, owner: String) -> Batcher<Settle, Option<PostStatus>> {
    Batcher::new(BATCH, RUNNERS, move |settles: Vec<Settle>| {
        let (db, owner) = (db.clone(), owner.clone());
        async move {
            let settled: HashMap<String, PostStatus> = store::settle_many(&db, &owner, &settles)
                .await?
                .into_iter()
                .collect();
            Ok(settles
                .iter()
                .map(|s| settled.get(&s.target_id).copied())
                .collect())
        }
    })
}
