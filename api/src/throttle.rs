//! Brute-force protection for sign-in: per-account and per-address failure counters with
//! growing delays and a temporary lockout.
//!
//! * Counters live in Redis (shared by every server) when `SWIFTACARE_REDIS_URL` is set, and in
//!   this process otherwise. If Redis is unreachable, this process's counters take over, so
//!   sign-in keeps working and keeps being throttled (QUALITY T9); nothing here can grant access.
//! * Keys are SHA-256 digests of (tenant, lower-cased email) and (address): no emails or IPs are
//!   stored in Redis, and the decision is the same whether or not the account exists.
//!
//! Policy (per 15-minute window): from the 4th failure on an account, each attempt waits
//! 1, 2, 4, then 8 s; the 10th failure locks the account key for 15 minutes; 50 failures from
//! one address lock that address. A successful sign-in clears the account's counter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex as AsyncMutex;

/// The numbers of the policy; [`Policy::default`] is production's (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub window: Duration,
    pub lockout: Duration,
    /// Failures before delays start.
    pub account_delay_after: u64,
    /// The first delay; each further failure doubles it, up to 8 units.
    pub delay_unit: Duration,
    pub account_lock_at: u64,
    pub address_lock_at: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            account_delay_after: 3,
            delay_unit: Duration::from_secs(1),
            account_lock_at: 10,
            address_lock_at: 50,
        }
    }
}
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
const RECONNECT_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Wait this long before checking the password.
    Delay(Duration),
    /// Refuse until this much time has passed.
    Locked(Duration),
}

#[derive(Clone, Debug)]
pub struct Keys {
    account: String,
    address: Option<String>,
}

impl Keys {
    pub fn new(tenant_id: i64, email: &str, address: Option<&str>) -> Keys {
        let digest = |s: String| hex::encode(Sha256::digest(s.as_bytes()));
        Keys {
            account: digest(format!("acct|{tenant_id}|{}", email.trim().to_lowercase())),
            address: address.map(|a| digest(format!("addr|{a}"))),
        }
    }
}

fn decide(
    p: &Policy,
    account_failures: u64,
    account_lock: Option<Duration>,
    address_lock: Option<Duration>,
) -> Decision {
    if let Some(left) = account_lock.into_iter().chain(address_lock).max() {
        return Decision::Locked(left);
    }
    if account_failures > p.account_delay_after {
        let exp = (account_failures - p.account_delay_after - 1).min(3) as u32;
        return Decision::Delay(p.delay_unit * (1 << exp));
    }
    Decision::Allow
}

/// In-process counters: the default, and the fallback when Redis is down.
struct Memory {
    policy: Policy,
    failures: Mutex<HashMap<String, (u64, Instant)>>,
    locks: Mutex<HashMap<String, Instant>>,
}

impl Memory {
    const MAX_KEYS: usize = 100_000;

    fn new(policy: Policy) -> Memory {
        Memory {
            policy,
            failures: Mutex::default(),
            locks: Mutex::default(),
        }
    }

    fn count(&self, key: &str) -> u64 {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, since)| since.elapsed() < self.policy.window)
            .map(|(n, _)| *n)
            .unwrap_or(0)
    }

    fn lock_left(&self, key: &str) -> Option<Duration> {
        let map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    fn fail(&self, key: &str, lock_at: u64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > Self::MAX_KEYS {
            map.retain(|_, (_, since)| since.elapsed() < self.policy.window);
        }
        let entry = map.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.policy.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
        if entry.0 >= lock_at {
            entry.0 = 0;
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.retain(|_, until| *until > Instant::now());
            locks.insert(key.to_owned(), Instant::now() + self.policy.lockout);
        }
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

struct Redis {
    policy: Policy,
    client: redis::Client,
    prefix: String,
    conn: AsyncMutex<(Option<redis::aio::ConnectionManager>, Option<Instant>)>,
}

impl Redis {
    async fn connection(&self) -> Option<redis::aio::ConnectionManager> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = &guard.0 {
            return Some(c.clone());
        }
        if guard.1.is_some_and(|t| t.elapsed() < RECONNECT_EVERY) {
            return None;
        }
        guard.1 = Some(Instant::now());
        match tokio::time::timeout(
            REDIS_TIMEOUT * 4,
            redis::aio::ConnectionManager::new(self.client.clone()),
        )
        .await
        {
            Ok(Ok(c)) => {
                guard.0 = Some(c.clone());
                Some(c)
            }
            _ => None,
        }
    }

    fn key(&self, kind: &str, k: &str) -> String {
        format!("{}:throttle:{kind}:{k}", self.prefix)
    }

    async fn check(&self, keys: &Keys) -> Result<(u64, Option<Duration>, Option<Duration>), ()> {
        let mut c = self.connection().await.ok_or(())?;
        let fail = self.key("fail", &keys.account);
        let acct_lock = self.key("lock", &keys.account);
        let addr_lock = keys
            .address
            .as_ref()
            .map(|a| self.key("lock", a))
            .unwrap_or_else(|| self.key("lock", "none"));
        let fut = async {
            let failures: Option<u64> = c.get(&fail).await?;
            let a: i64 = c.pttl(&acct_lock).await?;
            let b: i64 = c.pttl(&addr_lock).await?;
            Ok::<_, redis::RedisError>((failures.unwrap_or(0), a, b))
        };
        let (failures, a, b) = tokio::time::timeout(REDIS_TIMEOUT, fut)
            .await
            .map_err(|_| ())?
            .map_err(|_| ())?;
        let left = |ms: i64| (ms > 0).then(|| Duration::from_millis(ms as u64));
        Ok((failures, left(a), left(b)))
    }

    async fn fail_one(
        &self,
        c: &mut redis::aio::ConnectionManager,
        key: &str,
        lock_at: u64,
    ) -> redis::RedisResult<()> {
        let fail = self.key("fail", key);
        let (n,): (u64,) = redis::pipe()
            .atomic()
            .incr(&fail, 1u64)
            .cmd("EXPIRE")
            .arg(&fail)
            .arg(self.policy.window.as_secs().max(1))
            .arg("NX")
            .ignore()
            .query_async(c)
            .await?;
        if n >= lock_at {
            let _: () = redis::pipe()
                .atomic()
                .set_ex(
                    self.key("lock", key),
                    1u8,
                    self.policy.lockout.as_secs().max(1),
                )
                .ignore()
                .del(&fail)
                .ignore()
                .query_async(c)
                .await?;
        }
        Ok(())
    }

    async fn fail(&self, keys: &Keys) -> Result<(), ()> {
        let mut c = self.connection().await.ok_or(())?;
        let fut = async {
            self.fail_one(&mut c, &keys.account, self.policy.account_lock_at)
                .await?;
            if let Some(a) = &keys.address {
                self.fail_one(&mut c, a, self.policy.address_lock_at)
                    .await?;
            }
            Ok::<_, redis::RedisError>(())
        };
        tokio::time::timeout(REDIS_TIMEOUT, fut)
            .await
            .map_err(|_| ())?
            .map_err(|_| ())
    }

    async fn clear(&self, keys: &Keys) -> Result<(), ()> {
        let mut c = self.connection().await.ok_or(())?;
        let fut = c.del::<_, ()>(self.key("fail", &keys.account));
        tokio::time::timeout(REDIS_TIMEOUT, fut)
            .await
            .map_err(|_| ())?
            .map_err(|_| ())
    }
}

/// The sign-in throttle shared by every request of this process.
pub struct Throttle {
    policy: Policy,
    redis: Option<Redis>,
    memory: Memory,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.redis.is_some() {
            "Throttle(redis, memory fallback)"
        } else {
            "Throttle(memory)"
        })
    }
}

fn fell_back() {
    metrics::counter!("swiftacare_throttle_redis_fallback_total").increment(1);
    tracing::warn!("redis unreachable; sign-in throttling uses this process's counters");
}

impl Throttle {
    pub fn memory(policy: Policy) -> Throttle {
        Throttle {
            policy,
            redis: None,
            memory: Memory::new(policy),
        }
    }

    /// Does not connect yet: the first use does, and a failure falls back to memory.
    pub fn redis(url: &str, prefix: &str, policy: Policy) -> Result<Throttle, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(Throttle {
            policy,
            redis: Some(Redis {
                policy,
                client,
                prefix: prefix.to_owned(),
                conn: AsyncMutex::new((None, None)),
            }),
            memory: Memory::new(policy),
        })
    }

    pub async fn check(&self, keys: &Keys) -> Decision {
        if let Some(r) = &self.redis {
            match r.check(keys).await {
                Ok((failures, a, b)) => return decide(&self.policy, failures, a, b),
                Err(()) => fell_back(),
            }
        }
        let address_lock = keys
            .address
            .as_deref()
            .and_then(|a| self.memory.lock_left(a));
        decide(
            &self.policy,
            self.memory.count(&keys.account),
            self.memory.lock_left(&keys.account),
            address_lock,
        )
    }

    pub async fn failure(&self, keys: &Keys) {
        if let Some(r) = &self.redis {
            if r.fail(keys).await.is_ok() {
                return;
            }
            fell_back();
        }
        self.memory.fail(&keys.account, self.policy.account_lock_at);
        if let Some(a) = &keys.address {
            self.memory.fail(a, self.policy.address_lock_at);
        }
    }

    pub async fn success(&self, keys: &Keys) {
        if let Some(r) = &self.redis
            && r.clear(keys).await.is_ok()
        {
            return;
        }
        self.memory.clear(&keys.account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let p = Policy::default();
        assert_eq!(decide(&p, 0, None, None), Decision::Allow);
        assert_eq!(decide(&p, 3, None, None), Decision::Allow);
        assert_eq!(
            decide(&p, 4, None, None),
            Decision::Delay(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&p, 5, None, None),
            Decision::Delay(Duration::from_secs(2))
        );
        assert_eq!(
            decide(&p, 9, None, None),
            Decision::Delay(Duration::from_secs(8))
        );
        assert!(matches!(
            decide(&p, 0, None, Some(Duration::from_secs(3))),
            Decision::Locked(_)
        ));
    }

    #[tokio::test]
    async fn memory_locks_after_ten_failures_and_keys_hide_the_email() {
        let t = Throttle::memory(Policy::default());
        let k = Keys::new(1, "A@B.test", Some("192.0.2.1"));
        assert!(!k.account.contains("b.test") && k.account.len() == 64);
        for _ in 0..Policy::default().account_lock_at {
            assert!(!matches!(t.check(&k).await, Decision::Locked(_)));
            t.failure(&k).await;
        }
        assert!(matches!(t.check(&k).await, Decision::Locked(_)));
        // Another account from the same address is not locked.
        assert_eq!(
            t.check(&Keys::new(1, "other@b.test", Some("192.0.2.1")))
                .await,
            Decision::Allow
        );
    }
}
