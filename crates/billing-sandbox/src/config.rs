//! How a sandbox behaves: latency, rate limit, hold length, multicapture, where its challenge
//! page is served, and injected faults.

use std::fmt;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// Settings of a [`SandboxGateway`](crate::SandboxGateway). The default answers at once, has no
/// rate limit, holds cards for 7 days as Stripe does, allows multicapture on every account, and
/// serves its 3-D Secure challenge page under `/sandbox`.
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
    /// Which accounts may capture a hold in several parts (Stripe's multicapture). Stripe
    /// decides this per account; the sandbox lets every account do it by default, so that the
    /// embedded default shows every flow the engine has, as Stripe's fake and the core's
    /// scripted gateway do by default.
    pub multicapture: MulticaptureAccounts,
    /// Where the page of [`SandboxGateway::challenge_pages`](crate::SandboxGateway::challenge_pages)
    /// is mounted, as the customer's browser reaches it: a path (`/sandbox`, the default) or a
    /// whole URL (`https://billing.example.com/sandbox`). Next actions send the customer to
    /// `{challenge_base}/authenticate/{id}?token=...`.
    pub challenge_base: String,
    /// For a sandbox kept in a data folder: flush every journal write to the disk (fsync)
    /// before the call answers, so that a power cut loses nothing either, at the cost of a
    /// disk flush per call. Off by default: each call's records are written to the journal
    /// before it answers, which a killed process cannot undo.
    pub sync_writes: bool,
}

/// The accounts whose holds can be captured in several parts (Stripe's multicapture).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MulticaptureAccounts {
    /// Every account, and the platform's own.
    All,
    /// No account: a hold is captured once, and a non-final capture is refused.
    None,
    /// Only these connected accounts (`acct_...`); not the platform's own.
    Only(Vec<String>),
}

impl MulticaptureAccounts {
    /// Whether holds on `account` (`None`: the platform's) can be captured in several parts.
    pub fn allows(&self, account: Option<&str>) -> bool {
        match self {
            MulticaptureAccounts::All => true,
            MulticaptureAccounts::None => false,
            MulticaptureAccounts::Only(accounts) => {
                account.is_some_and(|a| accounts.iter().any(|allowed| allowed == a))
            }
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            latency: Duration::ZERO,
            rate_limit: None,
            hold_duration: chrono::Duration::days(7),
            call_log_limit: 10_000,
            multicapture: MulticaptureAccounts::All,
            challenge_base: "/sandbox".to_owned(),
            sync_writes: false,
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

    /// The same settings with another multicapture setting.
    pub fn with_multicapture(mut self, accounts: MulticaptureAccounts) -> Self {
        self.multicapture = accounts;
        self
    }

    /// The same settings with the challenge page mounted elsewhere (a path or a whole URL,
    /// without a trailing slash).
    pub fn with_challenge_base(mut self, base: impl Into<String>) -> Self {
        self.challenge_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// The same settings, flushing every journal write to the disk.
    pub fn with_sync_writes(mut self, sync: bool) -> Self {
        self.sync_writes = sync;
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
    /// `confirm_card_setup`.
    ConfirmCardSetup,
    /// `card_setup`.
    CardSetup,
    /// `payment_record`.
    PaymentRecord,
    /// `events_since`.
    EventsSince,
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
            Operation::ConfirmCardSetup => "confirm_card_setup",
            Operation::CardSetup => "card_setup",
            Operation::PaymentRecord => "payment_record",
            Operation::EventsSince => "events_since",
        }
    }

    /// True for the calls that change something at the gateway.
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Operation::ListCards
                | Operation::FindPayment
                | Operation::FindRefund
                | Operation::CardSetup
                | Operation::PaymentRecord
                | Operation::EventsSince
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

    #[test]
    fn multicapture_accounts() {
        assert!(MulticaptureAccounts::All.allows(None));
        assert!(MulticaptureAccounts::All.allows(Some("acct_1")));
        assert!(!MulticaptureAccounts::None.allows(Some("acct_1")));
        let only = MulticaptureAccounts::Only(vec!["acct_1".into()]);
        assert!(only.allows(Some("acct_1")));
        assert!(!only.allows(Some("acct_2")));
        assert!(!only.allows(None), "the platform is not a listed account");
    }
}
