//! Payment automation's decisions: a business's payment settings (when money is taken, a
//! deposit, holds that would run out, the cancellation fee), which declines are tried again
//! and when, and what automation does next for a booking ([`next_action`]).
//!
//! Pure decisions over a booking as it stands: the scheduler that keeps due jobs in the store
//! and runs them is built on them.

mod plan;
mod retry;
mod settings;

pub use plan::{Action, BookingFacts, FailedAttempts, Planned, Reason, next_action};
pub use retry::{DeclineKind, RetrySchedule, RetryScheduleError};
pub use settings::{
    CancellationFee, HoldRenewal, PaymentPolicy, PaymentSettings, Percent, Share, ShareError,
    card_expired_by, hold_lifetime,
};
