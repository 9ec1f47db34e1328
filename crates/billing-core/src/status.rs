//! A booking's balance and payment status, derived from its price and its payments.
//!
//! Nothing here is stored as truth: the status always follows from the amounts, so it cannot
//! drift from them.

use chrono::{DateTime, Utc};

use crate::booking::{BookingAccount, BookingError, LineItem, LineItemKind};
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
    /// The sum of the line items, with the tips of its succeeded charges (each a line of its
    /// own, [`tip_lines`]).
    pub price: Money,
    /// Succeeded charges, collections and captures, less succeeded refunds and lost disputes.
    pub paid: Money,
    /// Succeeded refunds, and disputes lost (the bank gave the money back to the customer).
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
    /// A payment of the booking is disputed (open, or lost).
    pub disputed: bool,
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
    let mut price = account.price()?;
    let (mut paid, mut refunded, mut in_flight, mut held, mut refunds_in_flight) =
        (zero, zero, zero, zero, zero);
    let mut last_attempt: Option<&Payment> = None;
    let mut disputed = false;
    let booking = &account.id;
    for payment in payments
        .iter()
        .filter(|p| p.allocations.iter().any(|a| &a.booking == booking))
    {
        let share = payment.share_of(booking);
        match (&payment.kind, &payment.state) {
            // A lost dispute took the money back, as a refund does; an open one moves nothing
            // yet, and is no attempt of ours: it never blocks a charge.
            (PaymentKind::Dispute { .. }, PaymentState::Succeeded) => {
                paid = paid.checked_sub(&share)?;
                refunded = refunded.checked_add(&share)?;
                disputed = true;
            }
            (PaymentKind::Dispute { .. }, PaymentState::Pending) => disputed = true,
            (PaymentKind::Dispute { .. }, _) => {}
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
            // A tip joins the price only with the money: the charge that carries it succeeded.
            (_, PaymentState::Succeeded) => {
                paid = paid.checked_add(&share)?;
                price = price.checked_add(&tip_kept(payment, booking, payments)?)?;
            }
            // In flight, a charge's tip is not owed yet: only the rest of its share counts
            // against the balance.
            (_, state) if state.is_in_flight() => {
                let owed = share.checked_sub(&payment.tip_of(booking))?;
                in_flight = in_flight.checked_add(&owed)?;
            }
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
        disputed,
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

/// The tip lines of a booking: one per succeeded charge that carries a tip for it, oldest
/// first, labelled "Tip". They are part of the booking's price ([`Balance::price`]) and
/// never of its own lines.
pub fn tip_lines(booking: &BookingId, payments: &[Payment]) -> Vec<LineItem> {
    payments
        .iter()
        .filter(|p| p.state == PaymentState::Succeeded && p.kind.name() == KindName::Charge)
        .filter_map(|p| {
            p.allocations.iter().find(|a| &a.booking == booking)?.tip?;
            let amount = tip_kept(p, booking, payments).ok()?;
            amount.is_positive().then(|| LineItem {
                kind: LineItemKind::Tip,
                label: "Tip".to_owned(),
                amount,
            })
        })
        .collect()
}

/// The part of a charge's tip for `booking` that the customer kept giving: the tip, less what
/// refunds (and lost disputes) of the charge gave back beyond its service part. A refund
/// gives back the service first — a partial refund is for the service — and whatever goes
/// beyond is the tip returned: a charge refunded in full leaves no tip owed, so the booking
/// owes what it owed before, never the tip again.
pub fn tip_kept(
    charge: &Payment,
    booking: &BookingId,
    payments: &[Payment],
) -> Result<Money, MoneyError> {
    let tip = charge.tip_of(booking);
    if !tip.is_positive() {
        return Ok(tip);
    }
    let service = charge.share_of(booking).checked_sub(&tip)?;
    let mut given_back = Money::zero(tip.currency());
    for payment in payments
        .iter()
        .filter(|p| p.state == PaymentState::Succeeded)
    {
        if let PaymentKind::Refund { of, .. } | PaymentKind::Dispute { of, .. } = &payment.kind
            && of == &charge.id
        {
            given_back = given_back.checked_add(&payment.share_of(booking))?;
        }
    }
    let tip_back = given_back.checked_sub(&service)?;
    if !tip_back.is_positive() {
        return Ok(tip);
    }
    let kept = tip.checked_sub(&tip_back)?;
    Ok(if kept.is_positive() {
        kept
    } else {
        Money::zero(tip.currency())
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
/// are in flight, and less what disputes open or lost hold of it (the gateway refuses to refund
/// a disputed amount). Zero for anything that did not move money.
pub fn refundable(payment: &Payment, payments: &[Payment]) -> Result<Money, MoneyError> {
    if !moved_money(payment) {
        return Ok(Money::zero(payment.amount.currency()));
    }
    let left = unrefunded(payment, payments)?.checked_sub(&disputed_share(payment, payments)?)?;
    Ok(left.clamp_at_zero())
}

/// True for a succeeded charge, collection or capture.
fn moved_money(payment: &Payment) -> bool {
    matches!(
        payment.kind.name(),
        KindName::Charge | KindName::Collection | KindName::Capture
    ) && payment.state == PaymentState::Succeeded
}

/// A payment's amount less its refunds that succeeded or are in flight.
pub fn unrefunded(payment: &Payment, payments: &[Payment]) -> Result<Money, MoneyError> {
    let mut left = payment.amount;
    for refund in payments
        .iter()
        .filter(|p| matches!(&p.kind, PaymentKind::Refund { of, .. } if of == &payment.id))
    {
        if refund.state == PaymentState::Succeeded || refund.state.is_in_flight() {
            left = left.checked_sub(&refund.amount)?;
        }
    }
    Ok(left)
}

/// What disputes of `id` (open or lost) hold, in `currency`.
fn disputed_of(
    id: &PaymentId,
    currency: Currency,
    payments: &[Payment],
) -> Result<Money, MoneyError> {
    let mut disputed = Money::zero(currency);
    for dispute in payments.iter().filter(|p| {
        matches!(&p.kind, PaymentKind::Dispute { of, .. } if of == id)
            && matches!(p.state, PaymentState::Pending | PaymentState::Succeeded)
    }) {
        disputed = disputed.checked_add(&dispute.amount)?;
    }
    Ok(disputed)
}

/// The part of disputes that falls on a payment. A charge's disputes are its own; a hold's
/// disputes fall on its succeeded captures, newest first, each up to what it has left.
fn disputed_share(payment: &Payment, payments: &[Payment]) -> Result<Money, MoneyError> {
    let currency = payment.amount.currency();
    let PaymentKind::Capture { authorization, .. } = &payment.kind else {
        return disputed_of(&payment.id, currency, payments);
    };
    let mut disputed = disputed_of(authorization, currency, payments)?;
    if disputed.is_zero() {
        return Ok(disputed);
    }
    let mut captures: Vec<&Payment> = captures_of(authorization, payments)
        .filter(|c| c.state == PaymentState::Succeeded)
        .collect();
    captures.sort_by(|a, b| newest_first(a, b));
    for capture in captures {
        let room = unrefunded(capture, payments)?.clamp_at_zero();
        let take = room.checked_min(&disputed)?;
        if capture.id == payment.id {
            return Ok(take);
        }
        disputed = disputed.checked_sub(&take)?;
    }
    Ok(Money::zero(currency))
}

/// Orders payments newest first (the later id first among payments made at once).
pub fn newest_first(a: &Payment, b: &Payment) -> std::cmp::Ordering {
    b.created_at
        .cmp(&a.created_at)
        .then_with(|| b.id.cmp(&a.id))
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

    mod disputes {
        use super::*;
        use crate::booking::{LineItem, LineItemKind};
        use crate::payment::{Allocation, CardRef, Origin};
        use chrono::TimeZone;
        use proptest::prelude::*;

        fn at() -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
                .single()
                .unwrap_or_default()
        }

        fn record(n: u32, kind: PaymentKind, minor: i64, state: PaymentState) -> Payment {
            Payment {
                id: PaymentId::new(format!("pay_{n:03}")).expect("id"),
                customer: CustomerId::new("c").expect("id"),
                kind,
                amount: usd(minor),
                allocations: vec![Allocation::of(
                    BookingId::new("b-1").expect("id"),
                    usd(minor),
                )],
                state,
                gateway_reference: None,
                hold_expires_at: None,
                multicapture: false,
                origin: Origin::Gateway,
                created_at: at() + chrono::Duration::seconds(i64::from(n)),
                updated_at: at(),
                entries: 1,
            }
        }

        fn account(price: i64) -> BookingAccount {
            BookingAccount::new(
                BookingId::new("b-1").expect("id"),
                CustomerId::new("c").expect("id"),
                Currency::USD,
                vec![LineItem::new(LineItemKind::Service, "Clean", usd(price)).expect("line")],
            )
            .expect("booking")
        }

        fn charge(minor: i64) -> Payment {
            let card = CardRef {
                gateway_customer: "cus_1".into(),
                payment_method: "pm_card_visa".into(),
            };
            record(
                0,
                PaymentKind::Charge { card },
                minor,
                PaymentState::Succeeded,
            )
        }

        fn dispute_state() -> impl Strategy<Value = PaymentState> {
            prop_oneof![
                Just(PaymentState::Pending),
                Just(PaymentState::Succeeded),
                Just(PaymentState::Canceled),
            ]
        }

        #[test]
        fn an_open_dispute_blocks_nothing_and_a_lost_one_counts_as_refunded() {
            let paid = charge(10_000);
            let of = paid.id.clone();
            let dispute = |state| {
                record(
                    1,
                    PaymentKind::Dispute {
                        of: of.clone(),
                        reason: None,
                    },
                    4_000,
                    state,
                )
            };
            let open = summarize(
                &account(15_000),
                &[paid.clone(), dispute(PaymentState::Pending)],
                at(),
            )
            .expect("summary");
            assert!(open.status.disputed && !open.status.pending);
            assert_eq!(open.balance.paid, usd(10_000));
            assert_eq!(open.balance.chargeable(), usd(5_000));
            assert_eq!(
                refundable(&paid, &[paid.clone(), dispute(PaymentState::Pending)]),
                Ok(usd(6_000))
            );
            let lost = summarize(
                &account(15_000),
                &[paid.clone(), dispute(PaymentState::Succeeded)],
                at(),
            )
            .expect("summary");
            assert!(lost.status.disputed);
            assert_eq!(
                (lost.balance.paid, lost.balance.refunded),
                (usd(6_000), usd(4_000))
            );
            let won = summarize(
                &account(15_000),
                &[paid.clone(), dispute(PaymentState::Canceled)],
                at(),
            )
            .expect("summary");
            assert!(!won.status.disputed);
            assert_eq!(won.balance.paid, usd(10_000));
            assert_eq!(
                refundable(&paid, &[paid.clone(), dispute(PaymentState::Canceled)]),
                Ok(usd(10_000))
            );
        }

        #[test]
        fn a_holds_dispute_falls_on_its_captures_newest_first() {
            let card = CardRef {
                gateway_customer: "cus_1".into(),
                payment_method: "pm_card_visa".into(),
            };
            let hold = record(
                0,
                PaymentKind::Authorization { card },
                10_000,
                PaymentState::Captured,
            );
            let capture = |n, minor| {
                record(
                    n,
                    PaymentKind::Capture {
                        authorization: hold.id.clone(),
                        final_capture: n == 2,
                    },
                    minor,
                    PaymentState::Succeeded,
                )
            };
            let (older, newer) = (capture(1, 3_000), capture(2, 5_000));
            let dispute = record(
                3,
                PaymentKind::Dispute {
                    of: hold.id.clone(),
                    reason: None,
                },
                6_000,
                PaymentState::Pending,
            );
            let all = [hold, older.clone(), newer.clone(), dispute];
            assert_eq!(refundable(&newer, &all), Ok(usd(0)));
            assert_eq!(refundable(&older, &all), Ok(usd(2_000)));
        }

        proptest! {
            /// Whatever refunds and disputes a charge has, and however the disputes ended:
            /// paid is the charge less succeeded refunds and lost disputes, refunded is those,
            /// `disputed` says whether one is open or lost, no dispute is ever in flight, and
            /// what is refundable never goes below zero nor counts a disputed amount.
            #[test]
            fn disputes_keep_the_balance_exact(
                charged in 100_i64..100_000,
                refunds in prop::collection::vec(1_i64..5_000, 0..3),
                disputes in prop::collection::vec((1_i64..5_000, dispute_state()), 0..3),
            ) {
                let paid = charge(charged);
                let mut payments = vec![paid.clone()];
                let mut n = 1;
                let (mut refunded, mut lost, mut held_back) = (0, 0, 0);
                for minor in &refunds {
                    payments.push(record(
                        n,
                        PaymentKind::Refund { of: paid.id.clone(), reason: None },
                        *minor,
                        PaymentState::Succeeded,
                    ));
                    refunded += minor;
                    n += 1;
                }
                let mut disputed = false;
                for (minor, state) in &disputes {
                    payments.push(record(
                        n,
                        PaymentKind::Dispute { of: paid.id.clone(), reason: None },
                        *minor,
                        state.clone(),
                    ));
                    match state {
                        PaymentState::Succeeded => { lost += minor; held_back += minor; disputed = true; }
                        PaymentState::Pending => { held_back += minor; disputed = true; }
                        _ => {}
                    }
                    n += 1;
                }
                let summary = summarize(&account(charged), &payments, at()).expect("summary");
                prop_assert_eq!(summary.balance.paid, usd(charged - refunded - lost));
                prop_assert_eq!(summary.balance.refunded, usd(refunded + lost));
                prop_assert_eq!(summary.balance.in_flight, usd(0));
                prop_assert!(!summary.status.pending);
                prop_assert_eq!(summary.status.disputed, disputed);
                prop_assert_eq!(
                    summary.balance.balance_due,
                    usd(refunded + lost),
                    "the price less what is paid"
                );
                let left = refundable(&paid, &payments).expect("refundable");
                prop_assert_eq!(left, usd((charged - refunded - held_back).max(0)));
            }

            /// A tipped charge and any refunds of it: a refund gives back the service first,
            /// then the tip, so the booking owes at most its own price again — never the tip —
            /// and its lines (its own, then the tips kept) add up to its price.
            #[test]
            fn refunds_give_back_the_service_before_the_tip(
                service in 100_i64..100_000,
                tip in 1_i64..10_000,
                refunds in prop::collection::vec(1_i64..50_000, 0..4),
            ) {
                let mut paid = charge(service + tip);
                paid.allocations[0].tip = Some(usd(tip));
                let mut payments = vec![paid.clone()];
                let mut refunded = 0;
                for (n, minor) in (1..).zip(refunds) {
                    let minor = minor.min(service + tip - refunded);
                    if minor == 0 {
                        break;
                    }
                    payments.push(record(
                        n,
                        PaymentKind::Refund { of: paid.id.clone(), reason: None },
                        minor,
                        PaymentState::Succeeded,
                    ));
                    refunded += minor;
                }
                let booking = account(service);
                let summary = summarize(&booking, &payments, at()).expect("summary");
                let tip_back = (refunded - service).clamp(0, tip);
                prop_assert_eq!(summary.balance.price, usd(service + tip - tip_back));
                prop_assert_eq!(summary.balance.paid, usd(service + tip - refunded));
                prop_assert_eq!(summary.balance.balance_due, usd(refunded.min(service)));
                let lines = booking.line_items.iter().chain(&tip_lines(&booking.id, &payments)).map(|l| l.amount).collect::<Vec<_>>();
                prop_assert_eq!(Money::sum(Currency::USD, lines.iter()), Ok(summary.balance.price));
            }
        }
    }
}
