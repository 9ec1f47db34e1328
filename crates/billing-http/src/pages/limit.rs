//! A token bucket per client address for the hosted pages, so that nobody can try tokens (or
//! cards) by the thousand. It refuses rather than waits.
//!
//! Memory is bounded: at most `capacity` addresses are tracked. A bucket that has refilled is
//! the same as a new one, so it is the first forgotten; when none has, the address seen least
//! recently is.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whose bucket a request takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// An IPv4 address, or the /64 network of an IPv6 one (one subscriber usually holds a whole
    /// /64, so per address would give them billions of buckets).
    Addr(IpAddr),
    /// The client's address is unknown (a server without connect info, in-process tests): all
    /// such requests share one bucket.
    Unknown,
}

impl ClientKey {
    /// The key of a client's address: the connection's peer, or the address a trusted proxy
    /// forwarded (see `client`).
    pub(crate) fn of(client: Option<IpAddr>) -> ClientKey {
        match client.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(v6)) => {
                let mut segments = v6.segments();
                for segment in &mut segments[4..] {
                    *segment = 0;
                }
                ClientKey::Addr(IpAddr::V6(Ipv6Addr::from(segments)))
            }
            Some(v4) => ClientKey::Addr(v4),
            None => ClientKey::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets per client: `burst` requests at once, then one per `interval`.
#[derive(Debug)]
pub(crate) struct ClientLimiter {
    burst: f64,
    interval: Duration,
    capacity: usize,
    clients: Mutex<HashMap<ClientKey, Bucket>>,
}

impl ClientLimiter {
    pub(crate) fn new(burst: NonZeroU32, interval: Duration, capacity: usize) -> Self {
        ClientLimiter {
            burst: f64::from(burst.get()),
            interval,
            capacity: capacity.max(1),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket refilled up to `now`.
    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.last);
        let earned = if self.interval.is_zero() {
            self.burst
        } else {
            elapsed.as_secs_f64() / self.interval.as_secs_f64()
        };
        Bucket {
            tokens: (bucket.tokens + earned).min(self.burst),
            last: now,
        }
    }

    /// Takes a token from the client's bucket, or says how long until one is there.
    pub(crate) fn check(&self, key: ClientKey, now: Instant) -> Result<(), Duration> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if !clients.contains_key(&key) && clients.len() >= self.capacity {
            self.evict(&mut clients, now);
        }
        let fresh = Bucket {
            tokens: self.burst,
            last: now,
        };
        let bucket = clients.entry(key).or_insert(fresh);
        *bucket = self.refilled(*bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.interval.mul_f64(1.0 - bucket.tokens))
        }
    }

    /// Makes room for one more client.
    fn evict(&self, clients: &mut HashMap<ClientKey, Bucket>, now: Instant) {
        clients.retain(|_, bucket| self.refilled(*bucket, now).tokens < self.burst);
        while clients.len() >= self.capacity {
            let oldest = clients
                .iter()
                .min_by_key(|(_, bucket)| bucket.last)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => clients.remove(&key),
                None => break,
            };
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, capacity: usize) -> ClientLimiter {
        ClientLimiter::new(
            NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            Duration::from_secs(2),
            capacity,
        )
    }

    fn addr(text: &str) -> ClientKey {
        ClientKey::of(text.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
    }

    #[test]
    fn a_client_gets_its_burst_then_one_request_per_interval() {
        let limiter = limiter(3, 10);
        let start = Instant::now();
        let key = addr("192.0.2.1:5000");
        for _ in 0..3 {
            assert_eq!(limiter.check(key, start), Ok(()));
        }
        let wait = limiter.check(key, start).err().unwrap_or_default();
        assert!(wait > Duration::from_secs(1) && wait <= Duration::from_secs(2));
        // Another client is not slowed by this one.
        assert_eq!(limiter.check(addr("192.0.2.2:5000"), start), Ok(()));
        assert_eq!(limiter.check(key, start + Duration::from_secs(2)), Ok(()));
        assert!(limiter.check(key, start + Duration::from_secs(2)).is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_network_and_ports_do_not_matter() {
        assert_eq!(addr("[2001:db8::1]:1"), addr("[2001:db8::ffff:2]:2"));
        assert_ne!(addr("[2001:db8::1]:1"), addr("[2001:db8:0:1::1]:1"));
        assert_eq!(addr("192.0.2.1:1"), addr("192.0.2.1:2"));
        assert_eq!(addr("[::ffff:192.0.2.1]:1"), addr("192.0.2.1:2"));
        assert_eq!(ClientKey::of(None), ClientKey::Unknown);
    }

    #[test]
    fn memory_is_bounded_and_refilled_buckets_go_first() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let spray = limiter(2, 3);
        for i in 0..50 {
            spray.check(addr(&format!("198.51.100.{i}:1")), at(i)).ok();
            assert!(spray.tracked() <= 3);
        }

        let limiter = limiter(2, 2);
        let (a, b, c) = (
            addr("192.0.2.1:1"),
            addr("192.0.2.2:1"),
            addr("192.0.2.3:1"),
        );
        assert_eq!(limiter.check(a, at(0)), Ok(()));
        assert_eq!(limiter.check(b, at(1_000)), Ok(()));
        assert_eq!(limiter.check(b, at(1_000)), Ok(()));
        // At 3 s, a has refilled (it is as good as new) but b has not: a is forgotten, b kept
        // with its one token.
        assert_eq!(limiter.check(c, at(3_000)), Ok(()));
        assert_eq!(limiter.tracked(), 2);
        assert_eq!(limiter.check(b, at(3_000)), Ok(()));
        assert!(limiter.check(b, at(3_000)).is_err());
    }
}
