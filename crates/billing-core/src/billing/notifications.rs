//! The log of what was sent about a customer, and where each message's delivery stands.

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{CustomerId, NotificationId};
use crate::notification::Notification;

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
}
