//! A short-lived cache in front of the two lookups on every logging call's path: who a bearer token stands
//! for, and whether its holder may write to the run it logs to. Each is a database round trip (~120 µs on
//! SQLite through sqlx, 150–450 µs on PostgreSQL here), together half of a batch's time, and each answers the
//! same for every batch a run logs.
//!
//! An answer is kept at most `TTL`, and only a grant: a refusal is always looked up afresh. Whatever can take
//! access away — a token revoked, an account disabled, a membership changed or removed, a project or run
//! deleted, a run finished (its token dies) — calls `revoke`, which retires every grant this process holds at
//! once (an epoch: a grant made before it is never used again, nor one whose lookup a revoke overtook).
//! Another server process sharing a PostgreSQL database sees such a change within `TTL`, and a token's expiry
//! takes effect within `TTL`.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::entities::user;
use crate::services::runs::access::RunRef;

/// The longest a grant is used without looking again.
pub const TTL: Duration = Duration::from_secs(2);
/// Grants kept per cache (least recently used go first).
const ENTRIES: usize = 4_096;

static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Retires every grant held in this process (see the module's doc).
pub fn revoke() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

/// When a lookup began: taken before reading the database, so a revoke during the read wins.
#[derive(Clone, Copy)]
pub struct Stamp {
    epoch: u64,
    at: Instant,
}

impl Stamp {
    pub fn now() -> Self {
        Self { epoch: EPOCH.load(Ordering::SeqCst), at: Instant::now() }
    }

    fn fresh(&self) -> bool {
        self.epoch == EPOCH.load(Ordering::SeqCst) && self.at.elapsed() < TTL
    }
}

pub struct Cache<K, V> {
    inner: quick_cache::sync::Cache<K, (Stamp, V)>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for Cache<K, V> {
    fn default() -> Self {
        Self { inner: quick_cache::sync::Cache::new(ENTRIES) }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    /// A grant still fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let (stamp, v) = self.inner.get(key)?;
        if stamp.fresh() {
            return Some(v);
        }
        self.inner.remove(key);
        None
    }

    /// Keeps a grant looked up since `stamp`, unless a revoke came in between.
    pub fn grant(&self, key: K, stamp: Stamp, v: V) {
        if stamp.fresh() {
            self.inner.insert(key, (stamp, v));
        }
    }
}

/// What a bearer token stands for: its user, and for a run token its run.
#[derive(Clone)]
pub struct Bearer {
    pub user: user::Model,
    pub run: Option<RunRef>,
}

/// The caches of one server (`AppState::grants`).
#[derive(Default)]
pub struct Grants {
    /// A token's hash → what it stands for.
    pub bearers: Cache<String, Bearer>,
    /// (user, run) → the run, for a user with at least the member role in the run's project.
    pub writable: Cache<(Uuid, Uuid), RunRef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoke_retires_grants_made_before_it_and_during_their_lookup() {
        let c: Cache<u32, &str> = Cache::default();
        // Other tests of this process may revoke at any time: one of a few tries sees its own grant.
        let kept = (0..100).any(|_| {
            c.grant(1, Stamp::now(), "a");
            c.get(&1) == Some("a")
        });
        assert!(kept, "a fresh grant is used");
        revoke();
        assert_eq!(c.get(&1), None, "a grant made before a revoke is never used");
        let during = Stamp::now();
        revoke();
        c.grant(2, during, "b");
        assert_eq!(c.get(&2), None, "a lookup a revoke overtook is not kept");
    }

    #[test]
    fn a_grant_expires_after_its_ttl() {
        let c: Cache<u32, &str> = Cache::default();
        let old = Stamp { at: Instant::now() - TTL, ..Stamp::now() };
        c.grant(1, old, "a");
        assert_eq!(c.get(&1), None);
    }
}
