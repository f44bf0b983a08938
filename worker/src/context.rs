//! What every job of a worker process shares: the database, Redis, settings, the process's name and the
//! platform adapters.

use redis::aio::ConnectionManager;
use soku_shared::config::WorkerSettings;
use soku_shared::store::Db;

use crate::adapters::{PlatformAdapter, Unavailable, sandbox::Sandbox};

pub struct Ctx {
    pub db: Db,
    pub redis: ConnectionManager,
    pub prefix: String,
    pub cfg: WorkerSettings,
    /// This process's name: unique per process (host, pid, random), so that a restarted process never
    /// collides with the registration of the one before it (docs/architecture.md, queue note a). Also the
    /// owner of its leases.
    pub name: String,
    sandbox: Sandbox,
    unavailable: Unavailable,
}

impl Ctx {
    pub fn new(db: Db, redis: ConnectionManager, prefix: &str, cfg: WorkerSettings) -> Ctx {
        Ctx {
            sandbox: Sandbox::new(db.clone(), cfg.sandbox_sink_url.clone()),
            unavailable: Unavailable,
            db,
            redis,
            prefix: prefix.to_string(),
            cfg,
            name: process_name(),
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
