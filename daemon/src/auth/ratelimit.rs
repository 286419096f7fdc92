//! Failed-login limits: after `max` failures within `window` a user name or a client
//! address is refused until the oldest failure leaves the window. Successful logins do
//! not clear an address's failures, so guessing across many accounts stays limited.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What is limited.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    User(String),
    Address(std::net::IpAddr),
}

#[derive(Debug)]
pub struct FailureLimiter {
    max: usize,
    window: Duration,
    failures: HashMap<LimitKey, VecDeque<Instant>>,
}

impl FailureLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        FailureLimiter {
            max: max.max(1) as usize,
            window,
            failures: HashMap::new(),
        }
    }

    /// How long `key` must still wait, if it is locked out at `now`.
    pub fn locked_for(&mut self, key: &LimitKey, now: Instant) -> Option<Duration> {
        let q = self.failures.get_mut(key)?;
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.is_empty() {
            self.failures.remove(key);
            return None;
        }
        if q.len() >= self.max {
            let oldest = *q.front()?;
            return Some(self.window.saturating_sub(now.duration_since(oldest)));
        }
        None
    }

    pub fn record_failure(&mut self, key: LimitKey, now: Instant) {
        // Bound memory under a flood of distinct names: forget entries whose window passed.
        if self.failures.len() > 100_000 {
            let window = self.window;
            self.failures
                .retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = self.failures.entry(key).or_default();
        q.push_back(now);
        while q.len() > self.max {
            q.pop_front();
        }
    }

    pub fn clear(&mut self, key: &LimitKey) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_until_the_window_passes() {
        let mut l = FailureLimiter::new(3, Duration::from_secs(60));
        let k = LimitKey::User("alice".into());
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.locked_for(&k, t0), None, "failure {i}");
            l.record_failure(k.clone(), t0 + Duration::from_secs(i));
        }
        let wait = l
            .locked_for(&k, t0 + Duration::from_secs(10))
            .expect("locked");
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(l.locked_for(&k, t0 + Duration::from_secs(61)), None);
        l.record_failure(k.clone(), t0);
        l.clear(&k);
        assert_eq!(l.locked_for(&k, t0), None);
    }
}
