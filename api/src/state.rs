//! What every handler shares: the database pool, the Redis connection, settings and the dispatch queue.

use std::{ops::Deref, sync::Arc, time::Duration};

use crate::key_cache::KeyCache;
use redis::aio::ConnectionManager;
use soku_shared::{config::Settings, fetch::Fetcher, storage::Storage, store::Db};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub redis: ConnectionManager,
    pub settings: Settings,
    pub keys: KeyCache,
    /// Where media files live (`SOKU_DATA_DIR/objects`, or a bucket: `SOKU_STORAGE_BACKEND`).
    pub storage: Storage,
    /// Checks media URLs at intake as the worker's fetcher will (same policy, same limits).
    pub fetcher: Fetcher,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state without touching the network: Postgres and Redis connect on first use, so the
    /// process starts (and `/healthz` answers) while a dependency is down, and `/readyz` says which.
    pub fn new(settings: Settings) -> anyhow::Result<AppState> {
        let db = soku_shared::store::connect_lazy(settings.database_url(), settings.db_pool_size)?;
        let redis = redis_manager(settings.redis_url())?;
        let storage = Storage::from_settings(&settings)?;
        let fetcher = settings.media.fetcher();
        Ok(AppState(Arc::new(Inner {
            db,
            redis,
            storage,
            fetcher,
            settings,
            keys: KeyCache::default(),
        })))
    }

    /// A handle on the shared Redis connection (cheap to clone; it reconnects by itself).
    pub fn redis(&self) -> ConnectionManager {
        self.redis.clone()
    }
}

/// The API's Redis connection: short timeouts, so that a request never hangs on a lost Redis.
pub fn redis_manager(url: &str) -> anyhow::Result<ConnectionManager> {
    soku_shared::redis_queue::redis_manager(url, Duration::from_secs(2))
}
