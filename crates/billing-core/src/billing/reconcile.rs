//! Settling payments whose gateway outcome is not known yet, from the gateway's own record.

use chrono::Duration;

use super::Billing;
use super::gateway_calls::GatewayCall;
use super::moves::KeyFate;
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, PaymentId};
use crate::ports::BookingFilter;
use crate::receipt::Receipt;

impl Billing {
    /// Settles a pending payment from the gateway's record (or by sending the same request
    /// again under the same idempotency key when the gateway has none: it makes it at most
    /// once). A settled payment is answered as it is. A gateway error leaves the payment
    /// pending: reconciling never fails a payment by guessing.
    pub async fn reconcile(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        self.reconcile_with_key(business, payment, None).await
    }

    /// [`Billing::reconcile`], completing the command's key with the settled answer.
    pub(super) async fn reconcile_with_key(
        &self,
        business: &Business,
        id: &PaymentId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, BillingError> {
        let (bookings, ledgers) = self.ledgers_of(business, id).await?;
        let payment = ledgers.payment(id)?.clone();
        let mut moves = Vec::new();
        if payment.state.is_in_flight()
            && let Some(call) = GatewayCall::of(business, &payment, &ledgers.payments)?
        {
            let answer = match self.look_up(&payment, &call).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => self.send(&payment, &call).await,
                Err(error) => Err(error),
            };
            moves = answer.map_err(|error| BillingError::Gateway {
                payment: Some(id.clone()),
                error,
            })?;
        }
        self.record(
            business,
            ledgers,
            &bookings,
            &moves,
            KeyFate::complete(key, id),
        )
        .await?
        .receipt(id)
    }

    /// Reconciles every payment of the business pending for longer than `older_than`, each
    /// with its own result.
    pub async fn reconcile_pending(
        &self,
        business: &Business,
        older_than: Duration,
    ) -> Result<Vec<(PaymentId, Result<Receipt, BillingError>)>, BillingError> {
        let cutoff = self.now() - older_than;
        let mut results: Vec<(PaymentId, Result<Receipt, BillingError>)> = Vec::new();
        let mut after = None;
        loop {
            let filter = BookingFilter {
                pending: Some(true),
                after: after.clone(),
                limit: 200,
                ..BookingFilter::default()
            };
            let page = self.store.list_summaries(&business.id, &filter).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.booking.clone());
            let ids: Vec<BookingId> = page.iter().map(|s| s.booking.clone()).collect();
            let ledgers = self.ledgers(business, &ids).await?;
            for payment in ledgers
                .payments
                .iter()
                .filter(|p| p.state.is_in_flight() && p.created_at <= cutoff)
            {
                if results.iter().any(|(id, _)| id == &payment.id) {
                    continue;
                }
                let result = self.reconcile(business, &payment.id).await;
                results.push((payment.id.clone(), result));
            }
        }
        Ok(results)
    }
}
