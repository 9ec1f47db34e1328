//! Staff ending a payment that would otherwise wait: canceling one that waits for the customer
//! to authenticate, and marking failed one the gateway confirms it never had.

use super::Billing;
use super::gateway_calls::{Answered, GatewayCall};
use super::moves::{KeyFate, Move, not_recorded};
use super::reconcile::Looked;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::PaymentId;
use crate::payment::{Failure, KindName, PaymentEvent, PaymentState};
use crate::receipt::Receipt;

impl Billing {
    /// Cancels a charge or hold that waits for the customer to authenticate (the gateway gives
    /// the attempt up), or releases an open hold ([`Billing::cancel_hold`]). The booking's
    /// balance is free again. Anything else is [`BillingError::PaymentNotCancelable`].
    pub async fn cancel_payment(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        let bookings = self.bookings_of(business, payment).await?;
        let (ledgers, record) = {
            let _turn = self.lanes.turn(&business.id, &bookings).await;
            let ledgers = self.ledgers(business, &bookings).await?;
            let record = ledgers.payment(payment)?.clone();
            (ledgers, record)
        };
        let kind = record.kind.name();
        let reference = match (&record.state, &record.gateway_reference) {
            (PaymentState::Authorized | PaymentState::PartiallyCaptured, _)
                if kind == KindName::Authorization =>
            {
                return self.cancel_hold(business, payment).await;
            }
            (PaymentState::RequiresAction, Some(reference))
                if matches!(kind, KindName::Charge | KindName::Authorization) =>
            {
                reference.clone()
            }
            (state, _) => {
                return Err(BillingError::PaymentNotCancelable {
                    payment: payment.clone(),
                    state: state.name(),
                });
            }
        };
        let request = GatewayCall::cancel(business, payment, reference);
        let answer =
            self.gateway
                .cancel(&request)
                .await
                .map_err(|error| BillingError::Gateway {
                    payment: Some(payment.clone()),
                    error,
                })?;
        // The gateway says how the attempt ended: canceled, or made after all (the customer
        // authenticated meanwhile).
        let moves =
            self.payment_moves(&record, &answer)
                .map_err(|error| BillingError::Gateway {
                    payment: Some(payment.clone()),
                    error,
                })?;
        let receipt = self
            .record(business, ledgers, &bookings, &moves, KeyFate::Untouched)
            .await
            .map_err(not_recorded(payment))?
            .receipt(payment)?;
        self.complete_link_payment(business, &receipt.payment, answer.card)
            .await?;
        Ok(receipt)
    }

    /// Ends a pending payment as failed (`marked_failed`) once the gateway confirms it has no
    /// such attempt; nothing is ever sent. Refused while the gateway's search may not show it
    /// yet ([`BillingError::TooRecentToJudge`]); a payment the gateway has is settled from its
    /// record instead, and answered as [`BillingError::PaymentExistsAtGateway`].
    pub async fn mark_failed(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        let (bookings, ledgers) = self.ledgers_of(business, payment).await?;
        let record = ledgers.payment(payment)?.clone();
        if !record.state.is_in_flight() || record.kind.name() == KindName::Dispute {
            return Err(BillingError::PaymentNotPending {
                payment: payment.clone(),
                state: record.state.name(),
            });
        }
        let retry_at = record.created_at + self.gateway.search_lag();
        if self.now() < retry_at {
            return Err(BillingError::TooRecentToJudge {
                payment: payment.clone(),
                retry_at,
            });
        }
        let looked = match GatewayCall::of(business, &record, &ledgers.payments)? {
            Some(call) => self
                .look(&record, &call, &ledgers.payments)
                .await
                .map_err(|error| BillingError::Gateway {
                    payment: Some(payment.clone()),
                    error,
                })?,
            None => Looked::Absent,
        };
        let found = match looked {
            Looked::Absent => None,
            Looked::Settled(answered) => Some(answered),
            Looked::Payment(found) => {
                Some(self.payment_answer(&record, &found).map_err(|error| {
                    BillingError::Gateway {
                        payment: Some(payment.clone()),
                        error,
                    }
                })?)
            }
        };
        let Some(Answered { moves, card, .. }) = found else {
            let failed = Move::plain(payment, PaymentEvent::Failed(Failure::marked_failed()));
            return self
                .record(business, ledgers, &bookings, &[failed], KeyFate::Untouched)
                .await?
                .receipt(payment);
        };
        let receipt = self
            .record(business, ledgers, &bookings, &moves, KeyFate::Untouched)
            .await?
            .receipt(payment)?;
        self.complete_link_payment(business, &receipt.payment, card)
            .await?;
        Err(BillingError::PaymentExistsAtGateway(Box::new(receipt)))
    }
}
