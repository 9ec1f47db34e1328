//! Holds: capturing all or part of one, and releasing it.

use super::Billing;
use super::commands::{checked_amount, resolve, single};
use super::gateway_calls::GatewayCall;
use super::moves::{KeyFate, Move, not_recorded};
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::PaymentId;
use crate::money::Amount;
use crate::payment::{KindName, Opening, Origin, PaymentEvent, PaymentKind, PaymentState};
use crate::ports::LedgerRead;
use crate::receipt::Receipt;
use crate::status::{captures_of, hold_remaining};

/// Capture all or part of a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureHold {
    /// The hold.
    pub authorization: PaymentId,
    /// How much; what the hold can still capture (within the balance due) when absent.
    pub amount: Option<Amount>,
    /// Release the rest of the hold after this capture (the usual case).
    pub final_capture: bool,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
}

impl Billing {
    /// Captures all or part of a hold. Bounded by what the hold can still capture and by the
    /// balance due less what is in flight; with a final capture the rest is released. A
    /// non-final capture needs a hold the gateway lets be captured in parts
    /// ([`BillingError::MulticaptureUnavailable`]).
    pub async fn capture(
        &self,
        business: &Business,
        command: CaptureHold,
    ) -> Result<Receipt, BillingError> {
        self.capture_as(business, command, Origin::Command).await
    }

    /// [`Billing::capture`], recorded as made by `origin` (a member of staff, automation).
    pub async fn capture_as(
        &self,
        business: &Business,
        command: CaptureHold,
        origin: Origin,
    ) -> Result<Receipt, BillingError> {
        let key = command.idempotency_key.as_ref();
        let hold_id = &command.authorization;
        let bookings = self.bookings_of(business, hold_id).await?;
        let read = LedgerRead::bookings(&bookings).with_key(key);
        let opened = self
            .open(
                business,
                read,
                |ledgers| {
                    let currency = ledgers.payment(hold_id)?.amount.currency();
                    let amount = resolve(command.amount.as_ref(), currency)?;
                    Ok(Fingerprint(format!(
                        "capture|{hold_id}|{}|{}",
                        amount.map_or_else(|| "balance".to_owned(), |m| m.to_string()),
                        command.final_capture
                    )))
                },
                |ledgers, _| {
                    let hold = ledgers.payment(hold_id)?;
                    if hold.kind.name() != KindName::Authorization {
                        return Err(BillingError::NotAHold(hold_id.clone()));
                    }
                    if !matches!(
                        hold.state,
                        PaymentState::Authorized | PaymentState::PartiallyCaptured
                    ) {
                        return Err(BillingError::HoldNotOpen {
                            payment: hold_id.clone(),
                            state: hold.state.name(),
                        });
                    }
                    if hold.hold_expires_at.is_some_and(|at| ledgers.now >= at) {
                        return Err(BillingError::HoldExpired(hold_id.clone()));
                    }
                    if !command.final_capture && !hold.multicapture {
                        return Err(BillingError::MulticaptureUnavailable(hold_id.clone()));
                    }
                    let booking = hold
                        .allocations
                        .first()
                        .map(|a| a.booking.clone())
                        .ok_or_else(|| BillingError::Inconsistent("hold without booking".into()))?;
                    let summary = ledgers.summary(&booking)?;
                    let capturable = hold_remaining(hold, &booking, &ledgers.payments)?;
                    let due = summary
                        .balance
                        .balance_due
                        .checked_sub(&summary.balance.in_flight)?
                        .clamp_at_zero();
                    let asked = resolve(command.amount.as_ref(), capturable.currency())?;
                    if let Some(requested) = asked
                        && requested.checked_cmp(&capturable)?.is_gt()
                    {
                        return Err(BillingError::CaptureExceedsHold {
                            requested,
                            capturable,
                        });
                    }
                    let amount = checked_amount(asked, summary, capturable.checked_min(&due)?)?;
                    if hold.gateway_reference.is_none() {
                        return Err(BillingError::Inconsistent(
                            "hold without gateway reference".into(),
                        ));
                    }
                    let opening = Opening {
                        customer: hold.customer.clone(),
                        kind: PaymentKind::Capture {
                            authorization: hold_id.clone(),
                            final_capture: command.final_capture,
                        },
                        amount,
                        allocations: single(&booking, amount),
                        state: PaymentState::Pending,
                        origin: origin.clone(),
                    };
                    Ok(opening)
                },
            )
            .await?;
        self.proceed(business, opened, key).await
    }

    /// Releases a hold (what was captured stays captured). Canceling twice is refused as
    /// [`BillingError::HoldNotOpen`]; a hold with a capture in flight as
    /// [`BillingError::CaptureInFlight`]. The check takes the booking's turn, so that no
    /// capture of this process opens meanwhile; between processes, the gateway decides (a
    /// capture of a released hold fails, and the ledger follows).
    pub async fn cancel_hold(
        &self,
        business: &Business,
        hold: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        let bookings = self.bookings_of(business, hold).await?;
        let (ledgers, reference) = {
            let _turn = self.lanes.turn(&business.id, &bookings).await;
            let ledgers = self.ledgers(business, &bookings).await?;
            let reference = Self::releasable(&ledgers, hold)?;
            (ledgers, reference)
        };
        let request = GatewayCall::cancel(business, hold, reference.clone());
        let answer =
            self.gateway
                .cancel(&request)
                .await
                .map_err(|error| BillingError::Gateway {
                    payment: Some(hold.clone()),
                    error,
                })?;
        let payment = ledgers.payment(hold)?.clone();
        // The gateway's answer says what happened (a hold the customer was still
        // authenticating may have been placed meanwhile); a plain release otherwise.
        let moves = match self.payment_moves(&payment, &answer) {
            Ok(moves) if !moves.is_empty() => moves,
            _ => vec![Move {
                gateway_reference: Some(reference),
                ..Move::plain(hold, PaymentEvent::Canceled)
            }],
        };
        self.record(business, ledgers, &bookings, &moves, KeyFate::Untouched)
            .await
            .map_err(not_recorded(hold))?
            .receipt(hold)
    }

    /// The gateway reference of a hold that can be released now, or why it cannot.
    fn releasable(
        ledgers: &super::ledgers::Ledgers,
        hold: &PaymentId,
    ) -> Result<String, BillingError> {
        let payment = ledgers.payment(hold)?;
        if payment.kind.name() != KindName::Authorization {
            return Err(BillingError::NotAHold(hold.clone()));
        }
        let open = matches!(
            payment.state,
            PaymentState::Authorized
                | PaymentState::PartiallyCaptured
                | PaymentState::RequiresAction
        );
        let Some(reference) = payment.gateway_reference.clone().filter(|_| open) else {
            return Err(BillingError::HoldNotOpen {
                payment: hold.clone(),
                state: payment.state.name(),
            });
        };
        if captures_of(hold, &ledgers.payments).any(|c| c.state.is_in_flight()) {
            return Err(BillingError::CaptureInFlight(hold.clone()));
        }
        Ok(reference)
    }
}
