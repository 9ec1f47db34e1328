//! The log of what was sent about a customer, and where each message's delivery stands.

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{BusinessId, CustomerId, NotificationId};
use crate::notification::{CarrierReport, Notification};
use crate::ports::{ReplyIntent, TextEvent};

impl Billing {
    /// A customer's notifications (emails to them, and the business's notices about them),
    /// newest first, at most `limit` (1 to 100). Another business's customer is not found.
    pub async fn customer_notifications(
        &self,
        business: &Business,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, BillingError> {
        self.customer(business, customer).await?;
        Ok(self
            .store
            .customer_log(&business.id, customer, limit.clamp(1, 100))
            .await?)
    }

    /// A notification of the business.
    pub async fn notification(
        &self,
        business: &Business,
        id: &NotificationId,
    ) -> Result<Notification, BillingError> {
        self.store
            .notification(&business.id, id)
            .await?
            .ok_or_else(|| BillingError::NotificationNotFound(id.clone()))
    }

    /// Applies what the text provider reported (its callback, verified by the adapter that
    /// received it): a text's delivery status is kept on its notification; a customer's STOP
    /// refuses every later text to their number, and START welcomes them again. Other replies
    /// ask nothing of the engine. Answers the notification a status was about, when it is one
    /// of ours. A report repeated or late changes nothing.
    pub async fn handle_text_event(
        &self,
        event: &TextEvent,
    ) -> Result<Option<(BusinessId, NotificationId)>, BillingError> {
        let at = self.now();
        match event {
            TextEvent::Status(report) => {
                let carrier = CarrierReport {
                    status: report.status,
                    error_code: report.error_code.clone(),
                    at,
                };
                Ok(self
                    .store
                    .record_carrier_report(&report.reference, &carrier)
                    .await?)
            }
            TextEvent::Inbound(inbound) => {
                let opted_out = match inbound.intent {
                    ReplyIntent::OptOut => true,
                    ReplyIntent::OptIn => false,
                    ReplyIntent::Help | ReplyIntent::Message => return Ok(None),
                };
                self.store
                    .set_text_opt_out(&inbound.from, opted_out, at)
                    .await?;
                Ok(None)
            }
        }
    }
}
