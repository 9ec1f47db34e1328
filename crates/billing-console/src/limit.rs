//! Sign-in attempts, limited: at most 5 failures per email address and 20 per client address
//! in 15 minutes. A success clears the address's count. Kept in memory, per process: a
//! brute force spread over several processes gets a few more tries, never many.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(15 * 60);
const PER_EMAIL: usize = 5;
const PER_CLIENT: usize = 20;
/// Bound on the addresses tracked, so that a flood of made-up addresses cannot grow it.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct SignInLimit {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl SignInLimit {
    fn keys(email: &str, client: Option<IpAddr>) -> [(String, usize); 2] {
        [
            (format!("email:{}", email.trim().to_lowercase()), PER_EMAIL),
            (
                format!(
                    "client:{}",
                    client.map_or_else(String::new, |ip| ip.to_string())
                ),
                PER_CLIENT,
            ),
        ]
    }

    /// Whether another attempt may be made now.
    pub(crate) fn allows(&self, email: &str, client: Option<IpAddr>, now: Instant) -> bool {
        let Ok(mut failures) = self.failures.lock() else {
            return false;
        };
        Self::keys(email, client).iter().all(|(key, max)| {
            failures.get_mut(key).is_none_or(|times| {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                times.len() < *max
            })
        })
    }

    /// Counts a failed attempt.
    pub(crate) fn failed(&self, email: &str, client: Option<IpAddr>, now: Instant) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        for (key, _) in Self::keys(email, client) {
            failures.entry(key).or_default().push(now);
        }
    }

    /// A success: the address's failures are forgotten.
    pub(crate) fn succeeded(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("email:{}", email.trim().to_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_per_address_then_wait() {
        let limit = SignInLimit::default();
        let t0 = Instant::now();
        let client = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..5 {
            assert!(limit.allows("a@x.example", client, t0));
            limit.failed("A@x.example", client, t0);
        }
        assert!(!limit.allows("a@x.example", client, t0));
        assert!(limit.allows("b@x.example", client, t0), "another address");
        assert!(
            limit.allows("a@x.example", client, t0 + WINDOW),
            "the window passed"
        );
        limit.succeeded("a@x.example");
        assert!(limit.allows("a@x.example", client, t0));
    }

    #[test]
    fn twenty_failures_per_client_whatever_the_address() {
        let limit = SignInLimit::default();
        let t0 = Instant::now();
        let client = Some(IpAddr::from([10, 0, 0, 2]));
        for n in 0..20 {
            limit.failed(&format!("{n}@x.example"), client, t0);
        }
        assert!(!limit.allows("new@x.example", client, t0));
        assert!(limit.allows("new@x.example", Some(IpAddr::from([10, 0, 0, 3])), t0));
    }
}
