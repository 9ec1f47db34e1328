//! Refunds: all or part of a charge, capture or collection.

use super::Billing;
use super::commands::resolve;
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::PaymentId;
use crate::money::{Amount, Money};
use crate::payment::{Allocation, KindName, Opening, Origin, Payment, PaymentKind, PaymentState};
use crate::ports::LedgerRead;
use crate::receipt::Receipt;
use crate::status::refundable;

/// Refund all or part of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPayment {
    /// The charge, collection or capture refunded.
    pub payment: PaymentId,
    /// How much; everything still refundable when absent.
    pub amount: Option<Amount>,
    /// Why, for the records.
    pub reason: Option<String>,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
}

impl Billing {
    /// Refunds all or part of a charge, collection or capture, bounded by what is still
    /// refundable. A collection's refund is recorded as handed back at once.
    pub async fn refund(
        &self,
        business: &Business,
        command: RefundPayment,
    ) -> Result<Receipt, BillingError> {
        self.refund_as(business, command, Origin::Command).await
    }

    /// [`Billing::refund`], recorded as made by `origin` (a member of staff, say).
    pub async fn refund_as(
        &self,
        business: &Business,
        command: RefundPayment,
        origin: Origin,
    ) -> Result<Receipt, BillingError> {
        if command.reason.as_ref().is_some_and(|r| r.len() > 500) {
            return Err(BillingError::InvalidInput(
                "a refund reason has at most 500 characters",
            ));
        }
        let key = command.idempotency_key.as_ref();
        let target_id = &command.payment;
        let bookings = self.bookings_of(business, target_id).await?;
        let read = LedgerRead::bookings(&bookings).with_key(key);
        let opened = self
            .open(
                business,
                read,
                |ledgers| {
                    let currency = ledgers.payment(target_id)?.amount.currency();
                    let amount = resolve(command.amount.as_ref(), currency)?;
                    Ok(Fingerprint(format!(
                        "refund|{target_id}|{}|{}",
                        amount.map_or_else(|| "balance".to_owned(), |m| m.to_string()),
                        command.reason.as_deref().unwrap_or("")
                    )))
                },
                |ledgers, _| {
                    let target = ledgers.payment(target_id)?;
                    if !matches!(
                        target.kind.name(),
                        KindName::Charge | KindName::Collection | KindName::Capture
                    ) {
                        return Err(BillingError::NotRefundable {
                            payment: target_id.clone(),
                            reason: "it did not move money",
                        });
                    }
                    if target.state != PaymentState::Succeeded {
                        return Err(BillingError::NotRefundable {
                            payment: target_id.clone(),
                            reason: "it has not succeeded",
                        });
                    }
                    let left = refundable(target, &ledgers.payments)?;
                    let amount = match resolve(command.amount.as_ref(), left.currency())? {
                        None if left.is_positive() => left,
                        None => {
                            return Err(BillingError::NotRefundable {
                                payment: target_id.clone(),
                                reason: "it is fully refunded",
                            });
                        }
                        Some(requested) if !requested.is_positive() => {
                            return Err(BillingError::NonPositiveAmount(requested));
                        }
                        Some(requested) if requested.checked_cmp(&left)?.is_gt() => {
                            return Err(BillingError::RefundExceedsRefundable {
                                requested,
                                refundable: left,
                            });
                        }
                        Some(requested) => requested,
                    };
                    let offline = target.kind.name() == KindName::Collection;
                    let opening = Opening {
                        customer: target.customer.clone(),
                        kind: PaymentKind::Refund {
                            of: target_id.clone(),
                            reason: command.reason.clone(),
                        },
                        amount,
                        allocations: refund_allocations(target, &ledgers.payments, amount)?,
                        state: if offline {
                            PaymentState::Succeeded
                        } else {
                            PaymentState::Pending
                        },
                        origin: origin.clone(),
                    };
                    Ok(opening)
                },
            )
            .await?;
        self.proceed(business, opened, key).await
    }
}

/// Splits a refund (or a dispute) across the bookings of the payment it takes back, in
/// proportion to what each can still get back (less refunds and disputes), so that no booking
/// is refunded more than it paid. When the ledger says nothing is left (money taken back at
/// the gateway beyond it), in proportion to what each paid.
pub(super) fn refund_allocations(
    target: &Payment,
    payments: &[Payment],
    amount: Money,
) -> Result<Vec<Allocation>, BillingError> {
    let takes_back = |p: &Payment| match &p.kind {
        PaymentKind::Refund { of, .. } => {
            of == &target.id && (p.state == PaymentState::Succeeded || p.state.is_in_flight())
        }
        PaymentKind::Dispute { of, .. } => {
            of == &target.id && matches!(p.state, PaymentState::Pending | PaymentState::Succeeded)
        }
        _ => false,
    };
    let mut weights = Vec::with_capacity(target.allocations.len());
    for allocation in &target.allocations {
        let mut left = allocation.amount;
        for earlier in payments.iter().filter(|p| takes_back(p)) {
            left = left.checked_sub(&earlier.share_of(&allocation.booking))?;
        }
        weights.push(u64::try_from(left.clamp_at_zero().to_minor()?).unwrap_or(0));
    }
    if weights.iter().all(|w| *w == 0) {
        weights = target
            .allocations
            .iter()
            .map(|a| Ok(u64::try_from(a.amount.to_minor()?).unwrap_or(0)))
            .collect::<Result<_, BillingError>>()?;
    }
    let parts = amount.allocate(&weights)?;
    Ok(target
        .allocations
        .iter()
        .zip(parts)
        .filter(|(_, part)| !part.is_zero())
        .map(|(allocation, part)| Allocation::of(allocation.booking.clone(), part))
        .collect())
}
