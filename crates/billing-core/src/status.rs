//! A booking's balance and payment status, derived from its price and its payments.
//!
//! Nothing here is stored as truth: the status always follows from the amounts, so it cannot
//! drift from them.

use chrono::{DateTime, Utc};

use crate::booking::{BookingAccount, BookingError};
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::{Currency, Money, MoneyError};
use crate::payment::{KindName, Payment, PaymentKind, PaymentState};

/// Where a booking stands, from the business's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentStatus {
    /// Nothing paid and nothing held.
    NotCharged,
    /// Nothing paid yet, and a hold is in place on the card.
    PreAuthorized,
    /// Some, not all, of the price is paid.
    PartiallyCharged,
    /// The price is paid exactly.
    ChargedInFull,
    /// More than the price is paid (after a price cut): a refund is due.
    Overpaid,
    /// Everything paid was refunded.
    Refunded,
}

impl PaymentStatus {
    /// Every status.
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::NotCharged,
        PaymentStatus::PreAuthorized,
        PaymentStatus::PartiallyCharged,
        PaymentStatus::ChargedInFull,
        PaymentStatus::Overpaid,
        PaymentStatus::Refunded,
    ];

    /// The status's stable name (`charged_in_full`...).
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::NotCharged => "not_charged",
            PaymentStatus::PreAuthorized => "pre_authorized",
            PaymentStatus::PartiallyCharged => "partially_charged",
            PaymentStatus::ChargedInFull => "charged_in_full",
            PaymentStatus::Overpaid => "overpaid",
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The status that the amounts give.
    pub fn derive(price: &Money, paid: &Money, held: &Money, refunded: &Money) -> PaymentStatus {
        let paid_vs_price = paid.checked_cmp(price).unwrap_or(std::cmp::Ordering::Less);
        if paid.is_positive() {
            return match paid_vs_price {
                std::cmp::Ordering::Greater => PaymentStatus::Overpaid,
                std::cmp::Ordering::Equal => PaymentStatus::ChargedInFull,
                std::cmp::Ordering::Less => PaymentStatus::PartiallyCharged,
            };
        }
        if held.is_positive() {
            PaymentStatus::PreAuthorized
        } else if refunded.is_positive() {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::NotCharged
        }
    }
}

/// A booking's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// The sum of the line items.
    pub price: Money,
    /// Succeeded charges, collections and captures, less succeeded refunds.
    pub paid: Money,
    /// Succeeded refunds.
    pub refunded: Money,
    /// Charges, captures and holds sent to the gateway whose outcome is not known yet.
    pub in_flight: Money,
    /// What open, unexpired holds can still capture.
    pub held: Money,
    /// Refunds sent whose outcome is not known yet.
    pub refunds_in_flight: Money,
    /// `price - paid` (negative when overpaid).
    pub balance_due: Money,
}

impl Balance {
    /// What a new charge or collection may take: the balance due less what is in flight and
    /// what holds already cover. Never negative.
    pub fn chargeable(&self) -> Money {
        self.balance_due
            .checked_sub(&self.in_flight)
            .and_then(|m| m.checked_sub(&self.held))
            .map_or_else(
                |_| Money::zero(self.price.currency()),
                |m| m.clamp_at_zero(),
            )
    }
}

/// A booking's status and the flags shown beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingStatus {
    /// The derived status.
    pub status: PaymentStatus,
    /// A charge, capture, hold or refund is waiting for the gateway's outcome.
    pub pending: bool,
    /// The latest charge, hold or capture attempt failed.
    pub last_failed: bool,
}

/// The booking's billing summary: the read model kept beside the ledger for fast queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSummary {
    /// The booking.
    pub booking: BookingId,
    /// Who pays.
    pub customer: CustomerId,
    /// Its currency.
    pub currency: Currency,
    /// Its amounts.
    pub balance: Balance,
    /// Its status and flags.
    pub status: BookingStatus,
    /// When the service is scheduled (from the booking).
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed (from the booking).
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was computed.
    pub as_of: DateTime<Utc>,
}

/// Why a balance could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// The booking's price is invalid.
    #[error(transparent)]
    Booking(#[from] BookingError),
    /// A payment is in another currency than its booking.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Computes a booking's balance and status from its account and every payment touching it.
/// Holds that expired by `now` no longer count as held.
pub fn summarize(
    account: &BookingAccount,
    payments: &[Payment],
    now: DateTime<Utc>,
) -> Result<BookingSummary, BalanceError> {
    let currency = account.currency;
    let zero = Money::zero(currency);
    let price = account.price()?;
    let (mut paid, mut refunded, mut in_flight, mut held, mut refunds_in_flight) =
        (zero, zero, zero, zero, zero);
    let mut last_attempt: Option<&Payment> = None;
    let booking = &account.id;
    for payment in payments
        .iter()
        .filter(|p| p.allocations.iter().any(|a| &a.booking == booking))
    {
        let share = payment.share_of(booking);
        match (&payment.kind, &payment.state) {
            (PaymentKind::Refund { .. }, PaymentState::Succeeded) => {
                paid = paid.checked_sub(&share)?;
                refunded = refunded.checked_add(&share)?;
            }
            (PaymentKind::Refund { .. }, state) if state.is_in_flight() => {
                refunds_in_flight = refunds_in_flight.checked_add(&share)?;
            }
            (
                PaymentKind::Authorization { .. },
                PaymentState::Authorized | PaymentState::PartiallyCaptured,
            ) if payment.hold_expires_at.is_none_or(|expiry| now < expiry) => {
                held = held.checked_add(&hold_remaining(payment, booking, payments)?)?;
            }
            // An expired hold holds nothing; it is not in flight either.
            (
                PaymentKind::Authorization { .. },
                PaymentState::Authorized | PaymentState::PartiallyCaptured,
            ) => {}
            (_, PaymentState::Succeeded) => paid = paid.checked_add(&share)?,
            (_, state) if state.is_in_flight() => in_flight = in_flight.checked_add(&share)?,
            _ => {}
        }
        if matches!(
            payment.kind.name(),
            KindName::Charge | KindName::Authorization | KindName::Capture
        ) {
            last_attempt = Some(payment);
        }
    }
    let balance_due = price.checked_sub(&paid)?;
    let status = BookingStatus {
        status: PaymentStatus::derive(&price, &paid, &held, &refunded),
        pending: in_flight.is_positive() || refunds_in_flight.is_positive(),
        last_failed: last_attempt.is_some_and(|p| matches!(p.state, PaymentState::Failed(_))),
    };
    Ok(BookingSummary {
        booking: account.id.clone(),
        customer: account.customer.clone(),
        currency,
        balance: Balance {
            price,
            paid,
            refunded,
            in_flight,
            held,
            refunds_in_flight,
            balance_due,
        },
        status,
        service_at: account.service_at,
        completed_at: account.completed_at,
        as_of: now,
    })
}

/// What a hold can still capture for `booking`: its share less captures that succeeded or are
/// in flight.
pub fn hold_remaining(
    hold: &Payment,
    booking: &BookingId,
    payments: &[Payment],
) -> Result<Money, MoneyError> {
    let mut remaining = hold.share_of(booking);
    for capture in captures_of(&hold.id, payments) {
        if capture.state == PaymentState::Succeeded || capture.state.is_in_flight() {
            remaining = remaining.checked_sub(&capture.share_of(booking))?;
        }
    }
    Ok(remaining.clamp_at_zero())
}

/// The captures of a hold.
pub fn captures_of<'a>(
    hold: &'a PaymentId,
    payments: &'a [Payment],
) -> impl Iterator<Item = &'a Payment> + 'a {
    payments.iter().filter(move |p| {
        matches!(&p.kind, PaymentKind::Capture { authorization, .. } if authorization == hold)
    })
}

/// What can still be refunded of a payment: its succeeded amount less refunds that succeeded or
/// are in flight. Zero for anything that did not move money.
pub fn refundable(payment: &Payment, payments: &[Payment]) -> Result<Money, MoneyError> {
    let moved_money = matches!(
        payment.kind.name(),
        KindName::Charge | KindName::Collection | KindName::Capture
    ) && payment.state == PaymentState::Succeeded;
    if !moved_money {
        return Ok(Money::zero(payment.amount.currency()));
    }
    let mut left = payment.amount;
    for refund in payments
        .iter()
        .filter(|p| matches!(&p.kind, PaymentKind::Refund { of, .. } if of == &payment.id))
    {
        if refund.state == PaymentState::Succeeded || refund.state.is_in_flight() {
            left = left.checked_sub(&refund.amount)?;
        }
    }
    Ok(left.clamp_at_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn status_follows_the_amounts() {
        let z = usd(0);
        assert_eq!(
            PaymentStatus::derive(&usd(100), &z, &z, &z),
            PaymentStatus::NotCharged
        );
        assert_eq!(
            PaymentStatus::derive(&usd(100), &z, &usd(100), &z),
            PaymentStatus::PreAuthorized
        );
        assert_eq!(
            PaymentStatus::derive(&usd(100), &usd(30), &z, &z),
            PaymentStatus::PartiallyCharged
        );
        assert_eq!(
            PaymentStatus::derive(&usd(100), &usd(100), &z, &z),
            PaymentStatus::ChargedInFull
        );
        assert_eq!(
            PaymentStatus::derive(&usd(80), &usd(100), &z, &z),
            PaymentStatus::Overpaid
        );
        assert_eq!(
            PaymentStatus::derive(&usd(100), &z, &z, &usd(100)),
            PaymentStatus::Refunded
        );
        // A new hold after a refund is what matters next.
        assert_eq!(
            PaymentStatus::derive(&usd(100), &z, &usd(5), &usd(100)),
            PaymentStatus::PreAuthorized
        );
    }

    #[test]
    fn status_names_round_trip() {
        for status in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(PaymentStatus::parse("paid"), None);
    }
}
