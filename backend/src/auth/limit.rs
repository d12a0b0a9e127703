//! Login attempts are limited per client IP, and per account from each IP, so neither one account nor one
//! address can be used to guess passwords quickly — and a stranger who exhausts an account's attempts from
//! their address locks only that address out of it, never its owner elsewhere. Memory stays bounded: keys are
//! capped in size, quiet keys are dropped, and an address past its quota adds no account keys.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use governor::{DefaultKeyedRateLimiter, Quota};

/// Longest account name a key keeps (longer names are no account's: usernames are at most 64 bytes).
const MAX_KEY: usize = 64;
/// Keys kept before quiet ones are dropped.
const PRUNE_AT: usize = 10_000;
/// Keys kept at most: past it (a flood from more addresses than any quota counts) the buckets start afresh.
const HARD_CAP: usize = 50_000;

pub struct LoginLimiter {
    quotas: (Quota, Quota),
    buckets: RwLock<Arc<Buckets>>,
    /// Prune when the keys pass this (doubling after a prune that kept most: pruning walks every key).
    prune_at: AtomicUsize,
}

struct Buckets {
    per_account: DefaultKeyedRateLimiter<(String, Option<IpAddr>)>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl Buckets {
    fn new((account, ip): (Quota, Quota)) -> Self {
        Buckets {
            per_account: DefaultKeyedRateLimiter::keyed(account),
            per_ip: DefaultKeyedRateLimiter::keyed(ip),
        }
    }

    fn len(&self) -> usize {
        self.per_account.len() + self.per_ip.len()
    }
}

/// IPv6 clients are counted by their /64 (one host usually holds a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut seg = v6.segments();
            seg[4..].fill(0);
            IpAddr::from(seg)
        }
        v4 => v4,
    }
}

impl LoginLimiter {
    pub fn new(per_account_per_minute: u32, per_ip_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("non-zero"));
        let quotas = (quota(per_account_per_minute), quota(per_ip_per_minute));
        Self {
            quotas,
            buckets: RwLock::new(Arc::new(Buckets::new(quotas))),
            prune_at: AtomicUsize::new(PRUNE_AT),
        }
    }

    /// True when this attempt may go ahead.
    pub fn allow(&self, account: &str, ip: Option<IpAddr>) -> bool {
        let b = self.buckets.read().expect("lock").clone();
        if b.len() > self.prune_at.load(Ordering::Relaxed) {
            b.per_ip.retain_recent();
            b.per_account.retain_recent();
            if b.len() > HARD_CAP {
                *self.buckets.write().expect("lock") = Arc::new(Buckets::new(self.quotas));
                self.prune_at.store(PRUNE_AT, Ordering::Relaxed);
            } else {
                self.prune_at.store(PRUNE_AT.max(2 * b.len()).min(HARD_CAP), Ordering::Relaxed);
            }
        }
        let ip = ip.map(client_key);
        if ip.is_some_and(|ip| b.per_ip.check_key(&ip).is_err()) {
            return false;
        }
        let name: String = account.trim().chars().take(MAX_KEY).collect::<String>().to_lowercase();
        b.per_account.check_key(&(name, ip)).is_ok()
    }

    /// How many keys are held (for tests of the bound).
    pub fn keys(&self) -> usize {
        self.buckets.read().expect("lock").len()
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(10, 60)
    }
}

/// Open event streams (live logs, run events) per user: each holds a connection and a task for up to an hour,
/// so one user's tabs or scripts cannot pin the server's. A stream holds its `StreamPermit` until it ends.
pub struct StreamLimit {
    per_user: AtomicUsize,
    open: Arc<Mutex<HashMap<uuid::Uuid, usize>>>,
}

/// The default of `--max-streams-per-user`.
pub const STREAMS_PER_USER: usize = 32;

impl Default for StreamLimit {
    fn default() -> Self {
        StreamLimit::new(STREAMS_PER_USER)
    }
}

impl StreamLimit {
    pub fn new(per_user: usize) -> Self {
        StreamLimit { per_user: AtomicUsize::new(per_user.max(1)), open: Arc::default() }
    }

    /// Changes the limit (the server at start; tests). Streams open past a lowered limit run to their end.
    pub fn set_per_user(&self, n: usize) {
        self.per_user.store(n.max(1), Ordering::Relaxed);
    }

    /// A permit for one more stream of `user`, or `TooMany` naming the limit.
    pub fn open(&self, user: uuid::Uuid) -> crate::error::Result<StreamPermit> {
        let mut open = self.open.lock().expect("lock");
        let n = open.entry(user).or_default();
        let max = self.per_user.load(Ordering::Relaxed);
        if *n >= max {
            return Err(crate::error::Error::TooMany(format!(
                "{max} event streams are open for this account (--max-streams-per-user); close a tab or wait for one to end"
            )));
        }
        *n += 1;
        Ok(StreamPermit { user, open: self.open.clone() })
    }

    /// Streams open now for `user`.
    pub fn count(&self, user: uuid::Uuid) -> usize {
        self.open.lock().expect("lock").get(&user).copied().unwrap_or(0)
    }
}

/// One open stream; dropping it (the client went away, the stream ended) frees its place.
pub struct StreamPermit {
    user: uuid::Uuid,
    open: Arc<Mutex<HashMap<uuid::Uuid, usize>>>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("lock");
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn streams_past_the_limit_are_refused_until_one_ends() {
        let l = super::StreamLimit::new(2);
        let (alice, bob) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let first = l.open(alice).unwrap();
        let _second = l.open(alice).unwrap();
        let refused = l.open(alice).err().expect("a third stream is refused");
        assert_eq!(refused.code(), "too_many_requests");
        assert!(l.open(bob).is_ok(), "another account is not affected");
        drop(first);
        assert_eq!(l.count(alice), 1);
        assert!(l.open(alice).is_ok(), "a place is free again");
    }

    #[test]
    fn a_stranger_locks_only_their_own_address_out_of_an_account() {
        let l = super::LoginLimiter::new(3, 100);
        let stranger = Some("203.0.113.66".parse().unwrap());
        assert!((0..3).all(|_| l.allow("alice", stranger)));
        assert!(!l.allow("alice", stranger));
        assert!(l.allow("ALICE", Some("198.51.100.1".parse().unwrap())), "the owner elsewhere still logs in");
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_huge_names() {
        let l = super::LoginLimiter::new(10, 1_000_000);
        let huge = "x".repeat(1 << 20);
        for i in 0..60_000u32 {
            let ip = Some(std::net::IpAddr::from(i.to_be_bytes()));
            l.allow(&huge, ip);
        }
        assert!(l.keys() <= super::HARD_CAP + 2, "{} keys", l.keys());
        // A whole IPv6 /64 is one client.
        let l = super::LoginLimiter::new(100, 2);
        assert!(
            l.allow("a", Some("2001:db8::1".parse().unwrap()))
                && l.allow("b", Some("2001:db8::2".parse().unwrap()))
        );
        assert!(!l.allow("c", Some("2001:db8::3".parse().unwrap())));
    }

    #[test]
    fn blocks_an_account_after_its_quota_but_not_others() {
        let l = super::LoginLimiter::new(3, 100);
        let ip = Some("10.0.0.1".parse().unwrap());
        assert!((0..3).all(|_| l.allow("alice", ip)));
        assert!(!l.allow("alice", ip));
        assert!(l.allow("bob", ip));
    }

    #[test]
    fn blocks_an_ip_across_accounts() {
        let l = super::LoginLimiter::new(100, 2);
        let ip = Some("10.0.0.2".parse().unwrap());
        assert!(l.allow("a", ip) && l.allow("b", ip));
        assert!(!l.allow("c", ip));
        assert!(l.allow("c", Some("10.0.0.3".parse().unwrap())));
    }
}
