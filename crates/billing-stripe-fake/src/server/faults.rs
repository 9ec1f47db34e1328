//! The faults a test injects into upcoming requests, and which requests they hit.

use std::time::Duration;

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

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
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
        if times == 0 {
            return;
        }
        lock(&self.shared.control).faults.push(FaultRule {
            filter,
            fault,
            remaining: times,
        });
    }

    /// How many injected faults have not fired yet.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.control)
            .faults
            .iter()
            .map(|r| r.remaining)
            .sum()
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
}

impl Shared {
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
}
