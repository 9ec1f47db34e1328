//! How a sandbox behaves: latency, rate limit, hold length, and injected faults.

use std::fmt;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// Settings of a [`SandboxGateway`](crate::SandboxGateway). The default answers at once, has no
/// rate limit and holds cards for 7 days, as Stripe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// How long every call takes (an async sleep before the call is served), to make the
    /// sandbox feel like a remote gateway in demos and benchmarks.
    pub latency: Duration,
    /// At most this many calls a second (a token bucket as large as the rate, refilled
    /// continuously by the real monotonic clock); calls past it are answered
    /// [`GatewayError::RateLimited`](billing_core::ports::GatewayError::RateLimited) and do
    /// nothing. `None` for no limit.
    pub rate_limit: Option<NonZeroU32>,
    /// How long a hold can be captured, measured by the core's clock (Stripe: 7 days for
    /// online card payments).
    pub hold_duration: chrono::Duration,
    /// How many of the latest calls [`SandboxGateway::calls`](crate::SandboxGateway::calls)
    /// keeps (the oldest are dropped, so a long benchmark does not grow without end); 0 keeps
    /// none.
    pub call_log_limit: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            latency: Duration::ZERO,
            rate_limit: None,
            hold_duration: chrono::Duration::days(7),
            call_log_limit: 10_000,
        }
    }
}

impl SandboxConfig {
    /// The same settings with a latency per call.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The same settings with a rate limit, in calls per second.
    pub fn with_rate_limit(mut self, per_second: NonZeroU32) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// The same settings with another call log size.
    pub fn with_call_log_limit(mut self, limit: usize) -> Self {
        self.call_log_limit = limit;
        self
    }

    /// The same settings with another hold length.
    pub fn with_hold_duration(mut self, hold: chrono::Duration) -> Self {
        self.hold_duration = hold;
        self
    }
}

/// A fault to inject into upcoming calls (see
/// [`SandboxGateway::inject`](crate::SandboxGateway::inject)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The call is carried out, then its answer is lost: it returns
    /// [`GatewayError::UnknownOutcome`](billing_core::ports::GatewayError::UnknownOutcome).
    /// This is the "did my charge go through?" case the reconciler exists for.
    TimeoutAfterCharge,
    /// The connection could not be made: nothing is done and the call returns
    /// [`GatewayError::Unavailable`](billing_core::ports::GatewayError::Unavailable).
    ConnectionError,
    /// The gateway answered a 5xx: nothing is done, but as with Stripe's own 500s the caller
    /// cannot know that, so the call returns
    /// [`GatewayError::UnknownOutcome`](billing_core::ports::GatewayError::UnknownOutcome).
    ServerError,
}

/// The gateway's operations, to aim faults at one and to read the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `create_customer`.
    CreateCustomer,
    /// `list_cards`.
    ListCards,
    /// `attach_card`.
    AttachCard,
    /// `detach_card`.
    DetachCard,
    /// `set_default_card`.
    SetDefaultCard,
    /// `charge`.
    Charge,
    /// `authorize`.
    Authorize,
    /// `capture`.
    Capture,
    /// `cancel`.
    Cancel,
    /// `refund`.
    Refund,
    /// `find_payment`.
    FindPayment,
    /// `find_refund`.
    FindRefund,
    /// `start_card_setup`.
    StartCardSetup,
}

impl Operation {
    /// The port method's name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateCustomer => "create_customer",
            Operation::ListCards => "list_cards",
            Operation::AttachCard => "attach_card",
            Operation::DetachCard => "detach_card",
            Operation::SetDefaultCard => "set_default_card",
            Operation::Charge => "charge",
            Operation::Authorize => "authorize",
            Operation::Capture => "capture",
            Operation::Cancel => "cancel",
            Operation::Refund => "refund",
            Operation::FindPayment => "find_payment",
            Operation::FindRefund => "find_refund",
            Operation::StartCardSetup => "start_card_setup",
        }
    }

    /// True for the calls that change something at the gateway.
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Operation::ListCards | Operation::FindPayment | Operation::FindRefund
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token bucket: `rate` tokens of capacity, refilled at `rate` a second. Measured by the
/// monotonic clock, not the core's clock: a rate limit is about real load, and a test clock
/// that stands still would otherwise never refill it.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: NonZeroU32) -> Self {
        let rate = f64::from(rate.get());
        TokenBucket {
            rate,
            tokens: rate,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_empties_and_refills_with_time() {
        let rate = NonZeroU32::new(4).expect("non-zero");
        let mut bucket = TokenBucket::new(rate);
        let start = bucket.last;
        let taken = (0..10).filter(|_| bucket.try_take(start)).count();
        assert_eq!(taken, 4, "a full bucket serves its rate at once");
        assert!(!bucket.try_take(start + Duration::from_millis(100)));
        // 250 ms at 4 a second is one token.
        assert!(bucket.try_take(start + Duration::from_millis(260)));
        assert!(!bucket.try_take(start + Duration::from_millis(270)));
        // A long pause refills no more than the capacity.
        let later = start + Duration::from_secs(60);
        let taken = (0..10).filter(|_| bucket.try_take(later)).count();
        assert_eq!(taken, 4);
    }
}
