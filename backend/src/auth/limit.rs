//! Login attempts are limited per account and per client IP, so neither one account nor one address can be
//! used to guess passwords quickly.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginLimiter {
    pub fn new(per_account_per_minute: u32, per_ip_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("non-zero"));
        Self {
            per_account: DefaultKeyedRateLimiter::keyed(quota(per_account_per_minute)),
            per_ip: DefaultKeyedRateLimiter::keyed(quota(per_ip_per_minute)),
        }
    }

    /// True when this attempt may go ahead.
    pub fn allow(&self, account: &str, ip: Option<IpAddr>) -> bool {
        let account_ok = self.per_account.check_key(&account.to_string()).is_ok();
        let ip_ok = ip.is_none_or(|ip| self.per_ip.check_key(&ip).is_ok());
        account_ok && ip_ok
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(10, 60)
    }
}

#[cfg(test)]
mod tests {
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
