//! Throttling failed logins per client address: after too many within a window, that address's
//! logins are refused (429) until the window has passed. Successful logins are never slowed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered at most; past this, windows that ended are forgotten first.
const MAX_TRACKED: usize = 100_000;

/// Failed logins per client address.
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginThrottle {
    /// Refuse an address's logins once it failed `max_failures` times within `window`
    /// (0: never).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginThrottle {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        meridian_catalog::sync::lock(&self.failures)
    }

    /// `Err(seconds to wait)` while `ip` is refused.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.max_failures == 0 {
            return Ok(());
        }
        match self.lock().get(&ip) {
            Some((n, since)) if *n >= self.max_failures && since.elapsed() < self.window => {
                Err((self.window - since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Count a failed login of `ip`.
    pub fn failed(&self, ip: IpAddr) {
        if self.max_failures == 0 {
            return;
        }
        let mut m = self.lock();
        if m.len() >= MAX_TRACKED {
            let window = self.window;
            m.retain(|_, (_, since)| since.elapsed() < window);
        }
        if m.len() >= MAX_TRACKED {
            return;
        }
        let e = m.entry(ip).or_insert((0, Instant::now()));
        if e.1.elapsed() >= self.window {
            *e = (0, Instant::now());
        }
        e.0 += 1;
        if e.0 == self.max_failures {
            tracing::warn!(client = %ip, failures = e.0, "too many failed logins: this address's logins are refused for {} s", self.window.as_secs());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_and_others_are_not() {
        let t = LoginThrottle::new(3, Duration::from_millis(200));
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "::1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(t.check(a), Ok(()));
            t.failed(a);
        }
        assert!(t.check(a).is_err());
        assert_eq!(t.check(b), Ok(()));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(t.check(a), Ok(()));
        assert_eq!(
            LoginThrottle::new(0, Duration::from_secs(1)).check(a),
            Ok(())
        );
    }
}
