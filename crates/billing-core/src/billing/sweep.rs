//! The periodic sweep of one business: what no command, return or webhook settled gets settled
//! here, so that every payment ends and the ledger follows the gateway even when webhooks are
//! lost.

use super::Billing;
use super::events::EventHandled;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{BookingId, PaymentId};
use crate::payment::{KindName, PaymentState};
use crate::ports::BookingFilter;
use crate::receipt::Receipt;

/// What one sweep did, item by item: one item's failure never stops the others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Payments pending longer than the policy allows, each with how reconciling it went (a
    /// gateway that could not say leaves it pending for the next sweep).
    pub reconciled: Vec<(PaymentId, Result<Receipt, BillingError>)>,
    /// Holds past their expiry, each brought in line with the gateway's record (expired,
    /// released or captured there), or left as they were when the gateway could not say.
    pub holds: Vec<(PaymentId, Result<Receipt, BillingError>)>,
    /// The gateway's recent events, each handled like a webhook delivery (what webhooks
    /// missed), by event id.
    pub events: Vec<(String, Result<EventHandled, BillingError>)>,
    /// Why the gateway's recent events could not be read, when they could not.
    pub events_unread: Option<BillingError>,
}

impl Billing {
    /// Sweeps one business: reconciles payments pending longer than
    /// [`Policy::reconcile_after`](super::Policy::reconcile_after), syncs holds whose expiry
    /// passed with the gateway, and handles the gateway's events of the last
    /// [`Policy::event_lookback`](super::Policy::event_lookback) as webhooks. A background
    /// worker runs it for every business now and then.
    ///
    /// # Errors
    /// Only a storage failure while listing what to sweep; everything else is in the report.
    pub async fn sweep(&self, business: &Business) -> Result<SweepReport, BillingError> {
        let reconciled = self
            .reconcile_pending(business, self.policy.reconcile_after)
            .await?;
        let mut holds = Vec::new();
        for hold in self.holds_past_expiry(business).await? {
            let result = self.sync_payment(business, &hold).await;
            holds.push((hold, result));
        }
        let since = self.now() - self.policy.event_lookback;
        let (events, events_unread) = match self
            .gateway
            .events_since(business.gateway_account.clone(), since)
            .await
        {
            Ok(found) => {
                let mut handled = Vec::with_capacity(found.len());
                for event in found {
                    let result = self.handle_event(&event).await;
                    handled.push((event.id, result));
                }
                (handled, None)
            }
            Err(error) => (
                Vec::new(),
                Some(BillingError::Gateway {
                    payment: None,
                    error,
                }),
            ),
        };
        Ok(SweepReport {
            reconciled,
            holds,
            events,
            events_unread,
        })
    }

    /// Holds the ledger still counts as placed whose expiry passed, from the bookings whose
    /// summary (as last written) counts a hold.
    async fn holds_past_expiry(&self, business: &Business) -> Result<Vec<PaymentId>, BillingError> {
        let now = self.now();
        let mut found: Vec<PaymentId> = Vec::new();
        let mut after = None;
        loop {
            let filter = BookingFilter {
                holding: Some(true),
                after: after.clone(),
                limit: 200,
                ..BookingFilter::default()
            };
            let page = self.store.list_summaries(&business.id, &filter).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.booking.clone());
            let ids: Vec<BookingId> = page.iter().map(|s| s.booking.clone()).collect();
            let ledgers = self.ledgers(business, &ids).await?;
            for hold in ledgers.payments.iter().filter(|p| {
                p.kind.name() == KindName::Authorization
                    && matches!(
                        p.state,
                        PaymentState::Authorized | PaymentState::PartiallyCaptured
                    )
                    && p.hold_expires_at.is_some_and(|at| at <= now)
            }) {
                if !found.contains(&hold.id) {
                    found.push(hold.id.clone());
                }
            }
        }
        Ok(found)
    }
}
