use async_trait::async_trait;

use crate::customer::{Customer, SavedCard};
use crate::ids::{BusinessId, CustomerId};

/// Why the customer directory failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The store could not be reached or the operation failed; nothing was written.
    #[error("customer directory unavailable: {0}")]
    Unavailable(String),
}

/// Customers and their saved cards, per business. No method can see another business's rows.
#[async_trait]
pub trait CustomerDirectory: Send + Sync {
    /// Creates or replaces a customer.
    async fn put_customer(
        &self,
        business: &BusinessId,
        customer: &Customer,
    ) -> Result<(), DirectoryError>;

    /// A customer, or `None` when the business has no such customer.
    async fn customer(
        &self,
        business: &BusinessId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, DirectoryError>;

    /// Customers ordered by id, after `after`, at most `limit`.
    async fn list_customers(
        &self,
        business: &BusinessId,
        after: Option<&CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, DirectoryError>;

    /// Saves a card (replacing one with the same payment method id). When the card is the
    /// default, every other card of the customer stops being the default.
    async fn put_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        card: &SavedCard,
    ) -> Result<(), DirectoryError>;

    /// Removes a card; `Ok(false)` when the customer had no such card.
    async fn remove_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<bool, DirectoryError>;

    /// The customer's cards, the default first, then by payment method id.
    async fn cards(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<Vec<SavedCard>, DirectoryError>;
}
