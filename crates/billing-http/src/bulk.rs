//! Pacing for bulk charges: a client-side token bucket, so that a batch of hundreds of charges
//! stays under the gateway's rate limit instead of being refused by it half-way.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket of `rate` tokens, refilled at `rate` a second, that waits for a token rather
/// than refusing.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: NonZeroU32) -> Self {
        let rate = f64::from(rate.get());
        TokenBucket {
            rate,
            state: Mutex::new(Bucket {
                tokens: rate,
                last: Instant::now(),
            }),
        }
    }

    /// Takes a token now, or says how long until one is there.
    fn try_take(&self, now: Instant) -> Result<(), Duration> {
        let mut bucket = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.last = now;
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.rate);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Waits for a token.
    pub(crate) async fn acquire(&self) {
        loop {
            match self.try_take(Instant::now()) {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_serves_its_rate_then_asks_to_wait() {
        let bucket = TokenBucket::new(NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN));
        let start = Instant::now();
        let served = (0..10).filter(|_| bucket.try_take(start).is_ok()).count();
        assert_eq!(served, 4);
        let wait = bucket.try_take(start).err().unwrap_or_default();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(250));
        assert!(bucket.try_take(start + Duration::from_millis(300)).is_ok());
    }

    #[tokio::test]
    async fn acquire_paces_calls() {
        let bucket = TokenBucket::new(NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN));
        let start = Instant::now();
        for _ in 0..25 {
            bucket.acquire().await;
        }
        // 20 at once, then 5 more at 20 a second: about a quarter of a second.
        assert!(start.elapsed() >= Duration::from_millis(200));
    }
}
