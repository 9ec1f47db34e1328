//! The faults a test injects into upcoming requests, which requests they hit, and the
//! random trouble ([`Chaos`]) of a crash campaign.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{FakeStripe, Shared, lock};

/// A fault to inject into upcoming requests (see [`FakeStripe::inject`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Performs the request (state changes, idempotency record), then holds the
    /// response for [`FakeStripe::set_timeout_hold`] (default 10 s) — longer than a
    /// client timeout — and drops the connection without answering. This is the
    /// "did my charge go through?" case: a retry with the same Idempotency-Key
    /// gets the saved response.
    TimeoutAfterProcessing,
    /// Performs the request, then drops the connection at once without answering.
    ResetAfterProcessing,
    /// Answers this 5xx status with Stripe's `api_error` body, doing nothing
    /// (a status outside 500–599 is answered as 500).
    ServerError(u16),
    /// Answers 429 with Stripe's `rate_limit` error, doing nothing.
    RateLimited,
    /// Closes the connection (TCP reset) without answering, doing nothing.
    ConnectionReset,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    method: Option<String>,
    path_prefix: Option<String>,
}

impl RequestFilter {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests whose path starts with `prefix`, e.g. `/v1/payment_intents`.
    pub fn path_prefix(prefix: impl Into<String>) -> Self {
        Self {
            method: None,
            path_prefix: Some(prefix.into()),
        }
    }

    /// Narrows to one HTTP method (`"POST"`, `"GET"`, `"DELETE"`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_uppercase());
        self
    }

    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// Random trouble on the API requests a filter matches, for a crash campaign (see
/// [`FakeStripe::set_chaos`]): a latency drawn between `latency_min` and `latency_max` before
/// each request is processed, and a `lost_response_rate` chance that a processed request's
/// answer is lost (the connection is closed instead). The draws come from a generator seeded
/// with `seed`: the same requests in the same order meet the same trouble.
#[derive(Debug, Clone, PartialEq)]
pub struct Chaos {
    /// The shortest added latency.
    pub latency_min: Duration,
    /// The longest added latency.
    pub latency_max: Duration,
    /// The probability (0 to 1) that a processed request's answer is dropped.
    pub lost_response_rate: f64,
    /// The seed of the random draws.
    pub seed: u64,
    /// The requests it applies to (the control API `/_fake/...` is never touched).
    pub filter: RequestFilter,
}

impl Default for Chaos {
    fn default() -> Self {
        Self {
            latency_min: Duration::ZERO,
            latency_max: Duration::ZERO,
            lost_response_rate: 0.0,
            seed: 0,
            filter: RequestFilter::any(),
        }
    }
}

/// The chaos in force and its random generator.
#[derive(Debug)]
pub(super) struct ChaosRule {
    chaos: Chaos,
    rng: StdRng,
}

/// What chaos does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ChaosDraw {
    pub latency: Duration,
    pub lose_response: bool,
}

#[derive(Debug)]
pub(super) struct FaultRule {
    filter: RequestFilter,
    fault: Fault,
    remaining: usize,
}

/// Injecting faults: a test makes the next requests fail the way Stripe or the network can.
impl FakeStripe {
    /// Injects `fault` into the next `times` requests.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.inject_matching(RequestFilter::any(), fault, times);
    }

    /// Injects `fault` into the next `times` requests that `filter` matches. Rules
    /// apply in the order they were injected; a request takes at most one fault.
    pub fn inject_matching(&self, filter: RequestFilter, fault: Fault, times: usize) {
        self.shared.inject(filter, fault, times);
    }

    /// How many injected faults have not fired yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.pending_faults()
    }

    /// Drops the faults that have not fired yet.
    pub fn clear_faults(&self) {
        lock(&self.shared.control).faults.clear();
    }

    /// How long [`Fault::TimeoutAfterProcessing`] holds a response before dropping
    /// the connection (default 10 s).
    pub fn set_timeout_hold(&self, hold: Duration) {
        lock(&self.shared.control).timeout_hold = hold;
    }

    /// Puts `chaos` in force (replacing any earlier one, and restarting its random draws
    /// from its seed). Injected faults come first: a request that takes a fault meets no
    /// chaos.
    pub fn set_chaos(&self, chaos: Chaos) {
        self.shared.set_chaos(Some(chaos));
    }

    /// Ends the chaos.
    pub fn clear_chaos(&self) {
        self.shared.set_chaos(None);
    }
}

impl Shared {
    pub(super) fn inject(&self, filter: RequestFilter, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        lock(&self.control).faults.push(FaultRule {
            filter,
            fault,
            remaining: times,
        });
    }

    pub(super) fn pending_faults(&self) -> usize {
        lock(&self.control).faults.iter().map(|r| r.remaining).sum()
    }

    pub(super) fn set_chaos(&self, chaos: Option<Chaos>) {
        lock(&self.control).chaos = chaos.map(|chaos| ChaosRule {
            rng: StdRng::seed_from_u64(chaos.seed),
            chaos,
        });
    }

    /// Takes the first pending fault whose filter matches the request: a request takes at
    /// most one, and a rule is gone once it has fired its times.
    pub(super) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut control = lock(&self.control);
        let rule = control
            .faults
            .iter_mut()
            .find(|r| r.remaining > 0 && r.filter.matches(method, path))?;
        rule.remaining -= 1;
        let fault = rule.fault;
        control.faults.retain(|r| r.remaining > 0);
        Some(fault)
    }

    /// Draws what the chaos in force does to a request.
    pub(super) fn draw_chaos(&self, method: &str, path: &str) -> ChaosDraw {
        match lock(&self.control).chaos.as_mut() {
            Some(rule) => rule.draw(method, path),
            None => ChaosDraw::default(),
        }
    }
}

impl ChaosRule {
    fn draw(&mut self, method: &str, path: &str) -> ChaosDraw {
        if !self.chaos.filter.matches(method, path) {
            return ChaosDraw::default();
        }
        let min = self.chaos.latency_min;
        let max = self.chaos.latency_max.max(min);
        let latency = if max > min {
            self.rng.random_range(min..=max)
        } else {
            min
        };
        let rate = self.chaos.lost_response_rate.clamp(0.0, 1.0);
        ChaosDraw {
            latency,
            lose_response: rate > 0.0 && self.rng.random_bool(rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = RequestFilter::path_prefix("/v1/refunds").method("post");
        assert!(f.matches("POST", "/v1/refunds"));
        assert!(!f.matches("GET", "/v1/refunds"));
        assert!(!f.matches("POST", "/v1/payment_intents"));
        assert!(RequestFilter::any().matches("GET", "/anything"));
    }

    fn rule(chaos: Chaos) -> ChaosRule {
        let rng = StdRng::seed_from_u64(chaos.seed);
        ChaosRule { chaos, rng }
    }

    #[test]
    fn chaos_draws_are_reproducible_and_bounded() {
        let chaos = Chaos {
            latency_min: Duration::from_millis(5),
            latency_max: Duration::from_millis(20),
            lost_response_rate: 0.3,
            seed: 7,
            filter: RequestFilter::any(),
        };
        let draws = |mut r: ChaosRule| -> Vec<ChaosDraw> {
            (0..200).map(|_| r.draw("POST", "/v1/refunds")).collect()
        };
        let first = draws(rule(chaos.clone()));
        assert_eq!(first, draws(rule(chaos.clone())));
        assert!(
            first
                .iter()
                .all(|d| d.latency >= chaos.latency_min && d.latency <= chaos.latency_max)
        );
        let lost = first.iter().filter(|d| d.lose_response).count();
        assert!(
            (30..=90).contains(&lost),
            "{lost} of 200 lost at a rate of 0.3"
        );
        let other = draws(rule(Chaos {
            seed: 8,
            ..chaos.clone()
        }));
        assert_ne!(first, other);
        // Requests the filter does not match meet no trouble.
        let mut narrow = rule(Chaos {
            lost_response_rate: 1.0,
            filter: RequestFilter::path_prefix("/v1/refunds"),
            ..chaos
        });
        assert_eq!(narrow.draw("GET", "/v1/customers"), ChaosDraw::default());
        assert!(narrow.draw("POST", "/v1/refunds").lose_response);
    }
}
