//! A hybrid logical clock: milliseconds since the epoch in the high bits, a counter in the
//! low 16, never going backwards and always ahead of every clock value observed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The clock of one node.
#[derive(Debug, Default)]
pub struct Hlc(AtomicU64);

fn wall() -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    ms << 16
}

impl Hlc {
    /// A new timestamp, greater than any returned or observed before.
    pub fn now(&self) -> u64 {
        let w = wall();
        let mut cur = self.0.load(Ordering::SeqCst);
        loop {
            let next = w.max(cur + 1);
            match self
                .0
                .compare_exchange(cur, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(c) => cur = c,
            }
        }
    }

    /// Take a remote timestamp into account.
    pub fn observe(&self, remote: u64) {
        self.0.fetch_max(remote, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn monotonic_and_ahead_of_observed() {
        let c = super::Hlc::default();
        let a = c.now();
        c.observe(a + 1000);
        let b = c.now();
        assert!(b > a + 1000);
    }
}
