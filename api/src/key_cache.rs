//! Key lookups cached in-process, each under the auth epoch that was current when it was read (see
//! `soku_shared::auth_epoch`). Only active keys are cached; an entry is used only while the epoch Redis reports
//! is the one it was stored under, and for at most `MAX_AGE`: the bound for what the epoch cannot see (whoever
//! revoked a key could not reach Redis; Redis came back from an older snapshot holding an older epoch). Losing
//! Redis also empties the cache.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use soku_shared::store::keys::KeyAuth;

const MAX_AGE: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 50_000;

#[derive(Clone)]
pub struct Cached {
    pub auth: KeyAuth,
    pub epoch: String,
}

#[derive(Default)]
pub struct KeyCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<[u8; 32], (Cached, Instant)>,
    /// The newest epoch any request of this process has seen.
    latest: Option<String>,
}

impl KeyCache {
    pub fn get(&self, hash: &[u8; 32]) -> Option<Cached> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < MAX_AGE)
            .map(|(c, _)| c.clone())
    }

    /// Forgets everything (Redis could not be asked: whatever it says next may be older than what we hold).
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.clear();
        inner.latest = None;
    }

    /// Notes that the key was just marked used, so the cached copy does not ask for it again.
    pub fn mark_used(&self, hash: &[u8; 32]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, _)) = inner.entries.get_mut(hash) {
            cached.auth.last_used_at = Some(chrono::Utc::now());
        }
    }

    /// The epoch seen last, to be read before a database lookup.
    pub fn latest(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .latest
            .clone()
    }

    /// Records the epoch Redis just reported and, when `read_under` (the epoch current before the database
    /// read) is that same epoch, caches the lookup: no invalidation can have happened in between.
    pub fn settle(
        &self,
        hash: [u8; 32],
        auth: Option<&KeyAuth>,
        read_under: Option<&str>,
        epoch: &str,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.latest = Some(epoch.to_string());
        if let Some(auth) = auth.filter(|a| a.key_status == "active")
            && read_under == Some(epoch)
        {
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
            let cached = Cached {
                auth: auth.clone(),
                epoch: epoch.to_string(),
            };
            inner.entries.insert(hash, (cached, Instant::now()));
        } else {
            inner.entries.remove(&hash);
        }
    }
}
