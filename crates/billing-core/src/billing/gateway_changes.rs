//! What the gateway's record of one payment adds to the ledger: what was done there rather than
//! through us (in its dashboard, or by its own rules) — captures, a hold released or run out,
//! refunds, disputes — and our own refunds it settled. Decided from the ledger as it stands,
//! so that reading the same record twice adds nothing the second time.

use super::Billing;
use super::gateway_calls::{captured_hold_event, refund_moves};
use super::ledgers::Ledgers;
use super::moves::Move;
use super::refunds::refund_allocations;
use crate::error::BillingError;
use crate::ids::PaymentId;
use crate::money::Money;
use crate::payment::{
    Allocation, Entry, KindName, Opening, Origin, Payment, PaymentEvent, PaymentKind, PaymentState,
};
use crate::ports::{
    DisputeStatus, GatewayDispute, GatewayRecord, GatewayRefund, GatewayStatus, IdGenerator,
    RefundStatus,
};
use crate::status::{captures_of, newest_first, refundable};

/// The entries that bring the gateway's `record` of `root` (a charge or a hold of ours) into
/// the ledger, decided from `ledgers`.
pub(super) fn changes(
    ledgers: &Ledgers,
    root: &PaymentId,
    record: &GatewayRecord,
    ids: &dyn IdGenerator,
) -> Result<Vec<Entry>, BillingError> {
    let mut work = Work {
        ledgers: ledgers.clone(),
        entries: Vec::new(),
        ids,
    };
    match work.ledgers.payment(root)?.kind.name() {
        KindName::Authorization => {
            work.captures(root, record)?;
            work.hold_state(root, record)?;
        }
        KindName::Charge => {}
        _ => return Ok(Vec::new()),
    }
    for refund in &record.refunds {
        work.refund(root, refund)?;
    }
    for dispute in &record.disputes {
        work.dispute(root, dispute)?;
    }
    Ok(work.entries)
}

/// The ledger as the entries decided so far leave it.
struct Work<'a> {
    ledgers: Ledgers,
    entries: Vec<Entry>,
    ids: &'a dyn IdGenerator,
}

impl Work<'_> {
    fn payment(&self, id: &PaymentId) -> Result<Payment, BillingError> {
        self.ledgers.payment(id).cloned()
    }

    fn push(&mut self, entry: Entry) -> Result<(), BillingError> {
        self.ledgers.apply(std::slice::from_ref(&entry))?;
        self.entries.push(entry);
        Ok(())
    }

    /// Opens a record of what the gateway did, under its reference; answers its id.
    fn open(&mut self, opening: Opening, reference: &str) -> Result<PaymentId, BillingError> {
        let id = self.ids.payment_id();
        let mut entry = Billing::opening_entry(&id, opening, self.ledgers.now)?;
        entry.gateway_reference = Some(reference.to_owned());
        self.push(entry)?;
        Ok(id)
    }

    /// Moves a record, when its state can still take the move.
    fn make(&mut self, step: &Move) -> Result<(), BillingError> {
        let payment = self.payment(&step.payment)?;
        match step.entry(&payment, self.ledgers.now) {
            Some(entry) => self.push(entry),
            None => Ok(()),
        }
    }

    fn moved(&mut self, id: &PaymentId, event: PaymentEvent) -> Result<(), BillingError> {
        self.make(&Move::plain(id, event))
    }

    /// True when a record of the ledger already carries this gateway reference.
    fn recorded(&self, reference: &str) -> bool {
        self.ledgers
            .payments
            .iter()
            .any(|p| p.gateway_reference.as_deref() == Some(reference))
    }

    /// Captures made at the gateway: what it received beyond the captures recorded, as one
    /// capture of the gateway's. Not judged while a capture of ours is in flight (its own
    /// settling reads the same amounts), nor before the hold is recorded as placed.
    fn captures(
        &mut self,
        hold_id: &PaymentId,
        record: &GatewayRecord,
    ) -> Result<(), BillingError> {
        let hold = self.payment(hold_id)?;
        let payments = &self.ledgers.payments;
        let placed = matches!(
            hold.state,
            PaymentState::Authorized | PaymentState::PartiallyCaptured
        );
        if !placed || captures_of(hold_id, payments).any(|c| c.state.is_in_flight()) {
            return Ok(());
        }
        let recorded = Money::sum(
            hold.amount.currency(),
            captures_of(hold_id, payments)
                .filter(|c| c.state == PaymentState::Succeeded)
                .map(|c| &c.amount),
        )?;
        let extra = record.payment.amount_received.checked_sub(&recorded)?;
        if !extra.is_positive() {
            return Ok(());
        }
        let final_capture = record.payment.status != GatewayStatus::RequiresCapture;
        let weights = hold
            .allocations
            .iter()
            .map(|a| crate::status::hold_remaining(&hold, &a.booking, payments))
            .collect::<Result<Vec<_>, _>>()?;
        let opening = Opening {
            customer: hold.customer.clone(),
            kind: PaymentKind::Capture {
                authorization: hold_id.clone(),
                final_capture,
            },
            amount: extra,
            allocations: proportional(&hold.allocations, &weights, extra)?,
            state: PaymentState::Succeeded,
            origin: Origin::Gateway,
        };
        self.open(opening, &record.payment.reference)?;
        self.moved(
            hold_id,
            captured_hold_event(final_capture, &record.payment.status),
        )
    }

    /// A hold released or run out at the gateway, or closed after captures in parts.
    fn hold_state(
        &mut self,
        hold_id: &PaymentId,
        record: &GatewayRecord,
    ) -> Result<(), BillingError> {
        let payments = &self.ledgers.payments;
        if captures_of(hold_id, payments).any(|c| c.state.is_in_flight()) {
            return Ok(());
        }
        let hold = self.payment(hold_id)?;
        let event = match (&record.payment.status, &hold.state) {
            (
                GatewayStatus::Canceled,
                PaymentState::Authorized | PaymentState::PartiallyCaptured,
            ) => PaymentEvent::Canceled,
            (
                GatewayStatus::Expired,
                PaymentState::Authorized | PaymentState::PartiallyCaptured,
            ) => PaymentEvent::Expired,
            (GatewayStatus::Succeeded, PaymentState::PartiallyCaptured) => {
                PaymentEvent::CaptureClosed
            }
            _ => return Ok(()),
        };
        self.make(&Move {
            gateway_reference: Some(record.payment.reference.clone()),
            ..Move::plain(hold_id, event)
        })
    }

    /// A refund of the payment: ours in flight is settled; one made at the gateway, once it
    /// succeeded, is recorded as the gateway's (split like a staff refund across a charge's
    /// bookings, or across a hold's captures, newest first).
    fn refund(&mut self, root: &PaymentId, refund: &GatewayRefund) -> Result<(), BillingError> {
        let ours = refund
            .refund
            .as_ref()
            .and_then(|id| self.ledgers.payment(id).ok().cloned())
            .filter(|p| p.kind.name() == KindName::Refund);
        if let Some(ours) = ours {
            if ours.state.is_in_flight() {
                for step in refund_moves(&ours, refund) {
                    self.make(&step)?;
                }
            }
            return Ok(());
        }
        if self.recorded(&refund.reference) || refund.status != RefundStatus::Succeeded {
            return Ok(());
        }
        let root_payment = self.payment(root)?;
        let targets: Vec<(PaymentId, Money)> = match root_payment.kind.name() {
            KindName::Charge if root_payment.state == PaymentState::Succeeded => {
                vec![(root.clone(), refund.amount)]
            }
            KindName::Authorization => {
                let payments = &self.ledgers.payments;
                let mut captures: Vec<&Payment> = captures_of(root, payments)
                    .filter(|c| c.state == PaymentState::Succeeded)
                    .collect();
                captures.sort_by(|a, b| newest_first(a, b));
                let rooms = captures
                    .iter()
                    .map(|c| Ok((c.id.clone(), refundable(c, payments)?)))
                    .collect::<Result<Vec<_>, BillingError>>()?;
                split_newest_first(refund.amount, &rooms)?
            }
            _ => Vec::new(),
        };
        for (target, amount) in targets {
            let target = self.payment(&target)?;
            let opening = Opening {
                customer: target.customer.clone(),
                kind: PaymentKind::Refund {
                    of: target.id.clone(),
                    reason: None,
                },
                amount,
                allocations: refund_allocations(&target, &self.ledgers.payments, amount)?,
                state: PaymentState::Succeeded,
                origin: Origin::Gateway,
            };
            self.open(opening, &refund.reference)?;
        }
        Ok(())
    }

    /// A dispute of the payment: opened when new, moved when the bank decided.
    fn dispute(&mut self, root: &PaymentId, dispute: &GatewayDispute) -> Result<(), BillingError> {
        let existing = self
            .ledgers
            .payments
            .iter()
            .find(|p| {
                p.kind.name() == KindName::Dispute
                    && p.gateway_reference.as_deref() == Some(dispute.reference.as_str())
            })
            .map(|p| p.id.clone());
        let id = match existing {
            Some(id) => id,
            None => {
                let disputed = self.payment(root)?;
                let allocations = match disputed.kind.name() {
                    KindName::Authorization => {
                        let weights = disputed
                            .allocations
                            .iter()
                            .map(|a| captured_for(&disputed, &a.booking, &self.ledgers.payments))
                            .collect::<Result<Vec<_>, _>>()?;
                        proportional(&disputed.allocations, &weights, dispute.amount)?
                    }
                    _ => refund_allocations(&disputed, &self.ledgers.payments, dispute.amount)?,
                };
                let opening = Opening {
                    customer: disputed.customer.clone(),
                    kind: PaymentKind::Dispute {
                        of: root.clone(),
                        reason: dispute.reason.clone(),
                    },
                    amount: dispute.amount,
                    allocations,
                    state: PaymentState::Pending,
                    origin: Origin::Gateway,
                };
                self.open(opening, &dispute.reference)?
            }
        };
        match dispute.status {
            DisputeStatus::Open => Ok(()),
            DisputeStatus::Won => self.moved(&id, PaymentEvent::Canceled),
            DisputeStatus::Lost => self.moved(&id, PaymentEvent::Succeeded),
        }
    }
}

/// What a hold's succeeded captures took for one booking.
fn captured_for(
    hold: &Payment,
    booking: &crate::ids::BookingId,
    payments: &[Payment],
) -> Result<Money, BillingError> {
    let mut taken = Money::zero(hold.amount.currency());
    for capture in captures_of(&hold.id, payments).filter(|c| c.state == PaymentState::Succeeded) {
        taken = taken.checked_add(&capture.share_of(booking))?;
    }
    Ok(taken)
}

/// Shares `amount` across `allocations` in proportion to `weights` (one per allocation), or to
/// the allocations' own amounts when every weight is zero. The shares add up to `amount`.
fn proportional(
    allocations: &[Allocation],
    weights: &[Money],
    amount: Money,
) -> Result<Vec<Allocation>, BillingError> {
    let to_weight = |m: &Money| -> Result<u64, BillingError> {
        Ok(u64::try_from(m.clamp_at_zero().to_minor()?).unwrap_or(0))
    };
    let mut parts: Vec<u64> = weights.iter().map(to_weight).collect::<Result<_, _>>()?;
    if parts.iter().all(|w| *w == 0) {
        parts = allocations
            .iter()
            .map(|a| to_weight(&a.amount))
            .collect::<Result<_, _>>()?;
    }
    let shares = amount.allocate(&parts)?;
    Ok(allocations
        .iter()
        .zip(shares)
        .filter(|(_, share)| !share.is_zero())
        .map(|(allocation, share)| Allocation::of(allocation.booking.clone(), share))
        .collect())
}

/// Splits `amount` across payments given newest first with what each can still take back:
/// each takes what it can, in that order; what none can take goes to the newest (the gateway
/// took it back: the ledger follows). The parts add up to `amount`; none is zero.
pub(super) fn split_newest_first(
    amount: Money,
    rooms: &[(PaymentId, Money)],
) -> Result<Vec<(PaymentId, Money)>, BillingError> {
    let Some((newest, _)) = rooms.first() else {
        return Ok(Vec::new());
    };
    let mut left = amount;
    let mut parts: Vec<(PaymentId, Money)> = Vec::new();
    for (id, room) in rooms {
        let take = room.clamp_at_zero().checked_min(&left)?;
        if take.is_positive() {
            parts.push((id.clone(), take));
            left = left.checked_sub(&take)?;
        }
    }
    if left.is_positive() {
        match parts.iter_mut().find(|(id, _)| id == newest) {
            Some((_, part)) => *part = part.checked_add(&left)?,
            None => parts.insert(0, (newest.clone(), left)),
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn pid(n: usize) -> PaymentId {
        PaymentId::new(format!("pay_{n}")).expect("id")
    }

    proptest! {
        /// However much was refunded at the gateway and whatever each capture has left, the
        /// parts add up to the cent, none is zero, and only the newest takes more than it has.
        #[test]
        fn a_refund_split_over_captures_adds_up(
            amount in 1_i64..1_000_000,
            rooms in prop::collection::vec(0_i64..300_000, 1..6),
        ) {
            let rooms: Vec<(PaymentId, Money)> =
                rooms.iter().enumerate().map(|(n, r)| (pid(n), usd(*r))).collect();
            let parts = split_newest_first(usd(amount), &rooms).expect("split");
            let total: i64 = parts.iter().map(|(_, m)| m.to_minor().expect("minor")).sum();
            prop_assert_eq!(total, amount);
            for (id, part) in &parts {
                prop_assert!(part.is_positive());
                let room = rooms.iter().find(|(r, _)| r == id).map(|(_, m)| *m).expect("known");
                if id != &pid(0) {
                    prop_assert!(part.checked_cmp(&room).expect("same currency").is_le());
                }
            }
            // Newest first: a capture only takes when every newer one is full.
            let room_total: i64 = rooms.iter().map(|(_, m)| m.to_minor().expect("minor")).sum();
            if amount <= room_total {
                for (id, part) in &parts {
                    let room = rooms.iter().find(|(r, _)| r == id).map(|(_, m)| *m).expect("known");
                    prop_assert!(part.checked_cmp(&room).expect("same currency").is_le());
                }
            }
        }

        /// Shares across bookings add up to the cent, whatever the weights.
        #[test]
        fn proportional_shares_add_up(
            amount in 1_i64..1_000_000,
            weights in prop::collection::vec(0_i64..100_000, 1..5),
        ) {
            let allocations: Vec<Allocation> = weights
                .iter()
                .enumerate()
                .map(|(n, _)| Allocation::of(
                    crate::ids::BookingId::new(format!("b-{n}")).expect("id"),
                    usd(100),
                ))
                .collect();
            let weights: Vec<Money> = weights.iter().map(|w| usd(*w)).collect();
            let shares = proportional(&allocations, &weights, usd(amount)).expect("shares");
            let total: i64 = shares.iter().map(|a| a.amount.to_minor().expect("minor")).sum();
            prop_assert_eq!(total, amount);
        }
    }
}
