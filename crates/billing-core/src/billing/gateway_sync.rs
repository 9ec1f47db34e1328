//! Changes made at the gateway reach the ledger: a payment is brought in line with the
//! gateway's record of it, whatever happened there (a capture or a refund in its dashboard, a
//! hold released or run out, a dispute), from a webhook, the periodic sweep, or staff asking.
//! The record is read whole each time and compared with the ledger, so that events delivered
//! late, twice or out of order all end in the same ledger.

use std::sync::Arc;

use super::Billing;
use super::gateway_changes::changes;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::PaymentId;
use crate::payment::{KindName, Payment, PaymentKind};
use crate::receipt::Receipt;
use crate::status::captures_of;

impl Billing {
    /// Brings a payment in line with the gateway: settled first when in flight (as
    /// [`Billing::reconcile`] does, with the payments around it), then what the gateway's
    /// record of its charge or hold shows and the ledger lacks is recorded — captures made
    /// there, the hold released or expired, refunds made there, disputes opened or decided —
    /// as records of the gateway's. Syncing again records nothing more.
    ///
    /// # Errors
    /// A gateway that cannot answer ([`BillingError::Gateway`]: nothing recorded from it), or a
    /// storage failure.
    pub async fn sync_payment(
        &self,
        business: &Business,
        id: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        let (_, ledgers) = self.ledgers_of(business, id).await?;
        let payment = ledgers.payment(id)?.clone();
        let root = root_of(&payment, &ledgers.payments);
        let unsettled: Vec<PaymentId> = ledgers
            .payments
            .iter()
            .filter(|p| {
                p.state.is_in_flight()
                    && p.kind.name() != KindName::Dispute
                    && (p.id == *id
                        || root
                            .as_ref()
                            .is_some_and(|r| belongs_to(p, r, &ledgers.payments)))
            })
            .map(|p| p.id.clone())
            .collect();
        for payment in &unsettled {
            self.reconcile(business, payment).await?;
        }
        let Some(root) = root else {
            return self.receipt_of(business, id).await;
        };
        let (bookings, ledgers) = self.ledgers_of(business, &root).await?;
        let Some(reference) = ledgers.payment(&root)?.gateway_reference.clone() else {
            return self.receipt_of(business, id).await;
        };
        let record = self
            .gateway
            .payment_record(business.gateway_account.clone(), &reference)
            .await
            .map_err(|error| BillingError::Gateway {
                payment: Some(root.clone()),
                error,
            })?;
        let ids = Arc::clone(&self.ids);
        let after = self
            .commit_decided(business, &bookings, |ledgers| {
                changes(ledgers, &root, &record, ids.as_ref())
            })
            .await?;
        // A link's payment settled before a crash may have left its link open.
        let paid = after.payment(&root)?.clone();
        self.complete_link_payment(business, &paid, record.payment.card.clone())
            .await?;
        match after.receipt(id) {
            Ok(receipt) => Ok(receipt),
            // The payment touches bookings the root does not (never, today): read it alone.
            Err(BillingError::PaymentNotFound(_)) => self.receipt_of(business, id).await,
            Err(error) => Err(error),
        }
    }

    /// A payment's receipt as it stands.
    async fn receipt_of(
        &self,
        business: &Business,
        id: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        self.ledgers_of(business, id).await?.1.receipt(id)
    }
}

/// The charge or hold of ours at the gateway that a payment belongs to: itself, a capture's
/// hold, or what a refund or dispute takes back. `None` for what never went there (a
/// collection, and its refunds).
fn root_of(payment: &Payment, payments: &[Payment]) -> Option<PaymentId> {
    match &payment.kind {
        PaymentKind::Charge { .. } | PaymentKind::Authorization { .. } => Some(payment.id.clone()),
        PaymentKind::Capture { authorization, .. } => Some(authorization.clone()),
        PaymentKind::Refund { of, .. } | PaymentKind::Dispute { of, .. } => payments
            .iter()
            .find(|p| &p.id == of)
            .and_then(|taken| root_of(taken, payments)),
        PaymentKind::Collection { .. } => None,
    }
}

/// True when a payment is the root itself, a capture of it, or a refund of either.
fn belongs_to(payment: &Payment, root: &PaymentId, payments: &[Payment]) -> bool {
    match &payment.kind {
        PaymentKind::Refund { of, .. } => {
            of == root || captures_of(root, payments).any(|c| &c.id == of)
        }
        _ => root_of(payment, payments).as_ref() == Some(root),
    }
}
