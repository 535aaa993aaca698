//! A token bucket limiting the bytes per second a peer sends (`gadn serve
//! --max-rate`), shared by all its connections. The first step of the bandwidth
//! scheduler: one global upload limit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits a byte rate. Bytes are taken after they are sent, so a burst of at most
/// one record plus [`RateLimiter::burst`] bytes may pass at once.
#[derive(Debug)]
pub struct RateLimiter {
    rate: u64,
    burst: u64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A limiter of `rate` bytes per second (at least 1), with a burst of a tenth of
    /// a second's worth (at least 64 KiB).
    pub fn new(rate: u64) -> RateLimiter {
        let rate = rate.max(1);
        let burst = (rate / 10).max(64 << 10);
        RateLimiter {
            rate,
            burst,
            state: Mutex::new((burst as f64, Instant::now())),
        }
    }

    /// The limit in bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The burst allowance in bytes.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    /// Accounts for `n` bytes sent, waiting as long as the bucket is in debt.
    pub async fn take(&self, n: u64) {
        let wait = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refill = now.duration_since(s.1).as_secs_f64() * self.rate as f64;
            s.0 = (s.0 + refill).min(self.burst as f64) - n as f64;
            s.1 = now;
            if s.0 >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-s.0 / self.rate as f64)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_is_held_over_time() {
        let l = RateLimiter::new(4 << 20);
        assert_eq!(l.rate(), 4 << 20);
        assert!(l.burst() >= 64 << 10);
        let start = Instant::now();
        // 2 MiB at 4 MiB/s, after the burst: about half a second.
        for _ in 0..32 {
            l.take(64 << 10).await;
        }
        let t = start.elapsed().as_secs_f64();
        assert!(t > 0.35 && t < 2.0, "{t}");
    }

    #[tokio::test]
    async fn small_takes_within_the_burst_do_not_wait() {
        let l = RateLimiter::new(0);
        assert_eq!(l.rate(), 1);
        let l = RateLimiter::new(100 << 20);
        let start = Instant::now();
        l.take(1000).await;
        assert!(start.elapsed() < Duration::from_millis(50));
    }
}
