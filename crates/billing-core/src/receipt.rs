//! What a money move answers: the payment, the bookings it touched as they stand after it, and
//! how it ended — settled, pending or declined — and whether it replays an earlier command.
//!
//! A receipt carries everything a driving adapter needs to answer (the bookings' summaries
//! with their dates, whether the key was replayed), so that no adapter reads the store again to
//! answer a money move.

use crate::payment::{Failure, Payment, PaymentState};
use crate::status::BookingSummary;

/// How a money move ended, as its payment says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The gateway answered and the money moved (or the hold was placed or released, or the
    /// collection was recorded).
    Settled,
    /// The gateway's answer is not known yet (a timeout, a lost connection) or waits for the
    /// customer: the payment stays pending, counted as in flight, until the reconciler or a
    /// webhook settles it from the gateway's own record.
    Pending,
    /// The gateway refused it (a declined card, say); the failure is recorded on the payment.
    Declined(&'a Failure),
}

/// The answer to a money-moving command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The payment the command opened (or, on a replay, the one the first command opened).
    pub payment: Payment,
    /// The bookings it touches, with their balances, statuses and dates as they stood once
    /// the command was done.
    pub bookings: Vec<BookingSummary>,
    /// True when an earlier command under the same idempotency key made this payment: the
    /// receipt is then that command's first settled answer, exactly as it was given, however
    /// the payment and its bookings changed since (or the payment as it stands now, when the
    /// first command had no settled answer).
    pub replayed: bool,
}

impl Receipt {
    /// How the move ended.
    pub fn outcome(&self) -> Outcome<'_> {
        match &self.payment.state {
            PaymentState::Failed(failure) => Outcome::Declined(failure),
            state if state.is_in_flight() => Outcome::Pending,
            _ => Outcome::Settled,
        }
    }

    /// True when the outcome is final (settled or declined): the answer a replay must give
    /// again.
    pub fn is_final(&self) -> bool {
        !matches!(self.outcome(), Outcome::Pending)
    }
}
